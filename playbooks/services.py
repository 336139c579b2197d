"""Writes of the playbook layer: editing, publishing, versions, import and evaluation.

Every path (the admin editor, imports, the API) saves a playbook through
`playbook_save`, which validates the whole playbook (settings, each trigger's
conditions against the feature catalog, each step's configuration) before writing
anything. Publishing freezes the saved rows into a numbered `PlaybookVersion`; the
evaluator reads versions only, so editing a draft never changes what runs.
"""

import difflib
import json

import yaml
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from simple_history.utils import bulk_create_with_history

from accounts.models import Tier

from . import hooks
from .choices import OPEN_STATUSES, ActivationStatus, ExitReason, PlaybookStatus
from .compiler import compile_snapshot, condition_clean
from .evaluation import evaluation_run
from .models import Activation, Condition, Playbook, PlaybookVersion, Step, Trigger
from .steps import step_config_clean

__all__ = [
    "activations_exit",
    "evaluation_run",
    "playbook_publish",
    "playbook_rollback",
    "playbook_save",
    "playbook_snapshot",
    "playbooks_export",
    "playbooks_import",
    "version_diff",
]

SETTINGS = (
    "description",
    "motion",
    "stages",
    "priority",
    "reentry_policy",
    "cooldown_days",
    "holdout_percent",
    "capacity",
    "exit_policy",
    "blocked_motions",
)
DATA_KEYS = {*SETTINGS, "name", "teams", "tiers", "outcome", "triggers", "steps", "status"}
OUTCOME_KEYS = {"kind", "stage", "window_days"}
TRIGGER_KEYS = {"name", "conditions"}
CONDITION_KEYS = {"feature", "params", "operator", "value"}
STEP_KEYS = {"kind", "delay_days", "config"}
MAX_IMPORT_BYTES = 2 * 1024 * 1024


# Snapshots ----------------------------------------------------------------------------


def playbook_snapshot(playbook: Playbook) -> dict:
    """The playbook as plain data: the version format, the export format, the diff input.

    Tiers and teams are named, not numbered, so a file moves between installations.
    """
    triggers = playbook.triggers.prefetch_related("conditions").order_by("order", "id")
    return {
        "name": playbook.name,
        **{name: getattr(playbook, name) for name in SETTINGS},
        "teams": sorted(playbook.teams.values_list("name", flat=True)),
        "tiers": sorted(playbook.tiers.values_list("name", flat=True)),
        "outcome": {
            "kind": playbook.outcome_kind,
            "stage": playbook.outcome_stage,
            "window_days": playbook.outcome_window_days,
        },
        "triggers": [
            {
                "name": trigger.name,
                "conditions": [
                    {
                        "feature": c.feature,
                        "params": c.params,
                        "operator": c.operator,
                        "value": c.value,
                    }
                    for c in sorted(trigger.conditions.all(), key=lambda c: (c.order, c.id))
                ],
            }
            for trigger in triggers
        ],
        "steps": [
            {"kind": s.kind, "delay_days": s.delay_days, "config": s.config}
            for s in playbook.steps.order_by("order", "id")
        ],
    }


# Saving -------------------------------------------------------------------------------


@transaction.atomic
def playbook_save(*, data: dict, playbook: Playbook | None = None) -> Playbook:
    """Create or replace a playbook (settings, triggers, conditions, steps) from data.

    Everything is validated first; any error raises ValidationError whose keys are paths
    (`triggers.0.conditions.1.value`) and nothing is written.
    """
    cleaned = _validated(data, playbook)
    if playbook is None:
        playbook = Playbook()
    for name, value in cleaned["fields"].items():
        setattr(playbook, name, value)
    playbook.save()
    playbook.teams.set(cleaned["teams"])
    playbook.tiers.set(cleaned["tiers"])
    # Rows are replaced, not patched: a playbook is small and its versions are
    # snapshots, so row identity carries no meaning; history still records each change.
    playbook.triggers.all().delete()
    playbook.steps.all().delete()
    for t_order, trigger in enumerate(cleaned["triggers"]):
        row = Trigger.objects.create(playbook=playbook, name=trigger["name"], order=t_order)
        # With history: a plain bulk_create would leave conditions out of the audit trail.
        bulk_create_with_history(
            [
                Condition(trigger=row, order=c_order, **condition)
                for c_order, condition in enumerate(trigger["conditions"])
            ],
            Condition,
        )
    for s_order, step in enumerate(cleaned["steps"]):
        Step.objects.create(playbook=playbook, order=s_order, **step)
    return playbook


def _validated(data, playbook: Playbook | None) -> dict:
    if not isinstance(data, dict):
        raise ValidationError({"playbook": "A playbook is an object of settings."})
    # Before anything looks a name up: PostgreSQL refuses a NUL character in any text.
    nul = sorted(_nul_paths(data))
    if nul:
        raise ValidationError(dict.fromkeys(nul, "Null characters are not allowed."))
    errors: dict[str, list[str]] = {}

    def add(path, messages):
        errors.setdefault(path, []).extend([messages] if isinstance(messages, str) else messages)

    for key in sorted(set(data) - DATA_KEYS):
        add(key, "Unknown setting.")
    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        add("name", "A playbook needs a name.")
        name = ""
    outcome = data.get("outcome") or {}
    if not isinstance(outcome, dict):
        add("outcome", "Give the outcome as an object: kind, stage, window_days.")
        outcome = {}
    for key in sorted(set(outcome) - OUTCOME_KEYS):
        add(f"outcome.{key}", "Unknown setting.")
    fields = {name_: data[name_] for name_ in SETTINGS if name_ in data}
    fields["name"] = name.strip()
    if "status" in data:
        fields["status"] = data["status"]
    for key, field_name in (
        ("kind", "outcome_kind"),
        ("stage", "outcome_stage"),
        ("window_days", "outcome_window_days"),
    ):
        if key in outcome:
            fields[field_name] = outcome[key] if outcome[key] is not None else ""
    model = Playbook(**{**_current(playbook), **fields})
    if playbook is not None:
        model.pk = playbook.pk
        model._state.adding = False  # unique checks then exclude the playbook itself
    try:
        model.full_clean()
    except ValidationError as exc:
        for field_name, messages in exc.message_dict.items():
            add(_field_path(field_name), messages)

    teams = _named(Group, data.get("teams", []), "teams", add)
    tiers = _named(Tier, data.get("tiers", []), "tiers", add)
    triggers = _validated_triggers(data.get("triggers"), add)
    steps = _validated_steps(data.get("steps", []), add)
    if errors:
        raise ValidationError(errors)
    fields = {f: getattr(model, f) for f in (*SETTINGS, "name", "status", *OUTCOME_FIELDS)}
    return {"fields": fields, "teams": teams, "tiers": tiers, "triggers": triggers, "steps": steps}


OUTCOME_FIELDS = ("outcome_kind", "outcome_stage", "outcome_window_days")


def _nul_paths(value, path: str = ""):
    """The paths (`triggers.0.name`) of the keys and texts in `value` holding a NUL."""
    if isinstance(value, str):
        if "\x00" in value:
            yield path or "playbook"
    elif isinstance(value, dict):
        for key, item in value.items():
            child = f"{path}.{key}" if path else str(key)
            if "\x00" in str(key):
                yield path or "playbook"
            else:
                yield from _nul_paths(item, child)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _nul_paths(item, f"{path}.{index}" if path else str(index))


def _current(playbook: Playbook | None) -> dict:
    if playbook is None:
        return {}
    return {f: getattr(playbook, f) for f in (*SETTINGS, "name", "status", *OUTCOME_FIELDS)}


def _field_path(field_name: str) -> str:
    if field_name.startswith("outcome_"):
        return "outcome." + field_name.removeprefix("outcome_")
    return "playbook" if field_name == "__all__" else field_name


def _named(model, names, path, add) -> list:
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        add(path, "Give a list of names.")
        return []
    found = {row.name: row for row in model.objects.filter(name__in=names)}
    if missing := sorted(set(names) - set(found)):
        add(path, f"Unknown: {', '.join(missing)}.")
    return list(found.values())


def _validated_triggers(triggers, add) -> list[dict]:
    if not isinstance(triggers, list) or not triggers:
        add("triggers", "A playbook needs at least one trigger: when should an account enter?")
        return []
    cleaned = []
    for t, trigger in enumerate(triggers):
        path = f"triggers.{t}"
        if not isinstance(trigger, dict):
            add(path, "A trigger is an object: name, conditions.")
            continue
        for key in sorted(set(trigger) - TRIGGER_KEYS):
            add(f"{path}.{key}", "Unknown setting.")
        conditions = trigger.get("conditions")
        if not isinstance(conditions, list) or not conditions:
            add(f"{path}.conditions", "A trigger needs at least one condition.")
            conditions = []
        rows = []
        for c, condition in enumerate(conditions):
            c_path = f"{path}.conditions.{c}"
            if not isinstance(condition, dict):
                add(c_path, "A condition is an object: feature, params, operator, value.")
                continue
            for key in sorted(set(condition) - CONDITION_KEYS):
                add(f"{c_path}.{key}", "Unknown setting.")
            try:
                params, value = condition_clean(
                    feature=condition.get("feature"),
                    params=condition.get("params") or {},
                    operator=condition.get("operator"),
                    value=condition.get("value"),
                )
            except ValidationError as exc:
                for field_name, messages in exc.message_dict.items():
                    add(f"{c_path}.{field_name}", messages)
                continue
            rows.append(
                {
                    "feature": condition["feature"],
                    "params": params,
                    "operator": condition["operator"],
                    "value": value,
                }
            )
        name = trigger.get("name") or ""
        if not isinstance(name, str):
            add(f"{path}.name", "Give text.")
            name = ""
        cleaned.append({"name": name[:200], "conditions": rows})
    return cleaned


def _validated_steps(steps, add) -> list[dict]:
    if not isinstance(steps, list):
        add("steps", "Give a list of steps.")
        return []
    cleaned = []
    for s, step in enumerate(steps):
        path = f"steps.{s}"
        if not isinstance(step, dict):
            add(path, "A step is an object: kind, delay_days, config.")
            continue
        for key in sorted(set(step) - STEP_KEYS):
            add(f"{path}.{key}", "Unknown setting.")
        delay = step.get("delay_days", 0)
        if isinstance(delay, bool) or not isinstance(delay, int) or delay < 0:
            add(f"{path}.delay_days", "A whole number of days, 0 or more.")
            continue
        try:
            config = step_config_clean(kind=step.get("kind"), config=step.get("config", {}))
        except ValidationError as exc:
            for field_name, messages in exc.message_dict.items():
                add(f"{path}.{field_name}", messages)
            continue
        cleaned.append({"kind": step["kind"], "delay_days": delay, "config": config})
    return cleaned


# Publishing and versions ----------------------------------------------------------------


@transaction.atomic
def playbook_publish(*, playbook: Playbook, user=None, note: str = "") -> PlaybookVersion:
    """Validate the saved playbook and freeze it as the next numbered version.

    A draft becomes active; a paused or archived playbook keeps its status. Activations
    already open keep the version they started on.
    """
    playbook = Playbook.objects.select_for_update().get(pk=playbook.pk)
    snapshot = playbook_snapshot(playbook)
    # Re-validate from the data: a feature may have left the catalog since the save.
    _validated(snapshot, playbook)
    compile_snapshot(snapshot)
    number = (playbook.versions.aggregate(n=Max("number"))["n"] or 0) + 1
    version = PlaybookVersion.objects.create(
        playbook=playbook,
        number=number,
        snapshot=snapshot,
        published_at=timezone.now(),
        published_by=user if user is not None and user.is_authenticated else None,
        note=note[:255],
    )
    if playbook.status == PlaybookStatus.DRAFT:
        playbook.status = PlaybookStatus.ACTIVE
        playbook.save(update_fields=["status", "updated_at"])
    return version


@transaction.atomic
def playbook_rollback(*, playbook: Playbook, number: int, user=None) -> PlaybookVersion:
    """Restore the rows of version `number` and publish them as a new version."""
    try:
        old = playbook.versions.get(number=number)
    except PlaybookVersion.DoesNotExist:
        raise ValidationError({"version": f"This playbook has no version {number}."}) from None
    data = {key: value for key, value in old.snapshot.items() if key != "name"}
    data["name"] = playbook.name
    playbook_save(data=data, playbook=playbook)
    return playbook_publish(playbook=playbook, user=user, note=f"Rolled back to version {number}")


def version_diff(old: dict, new: dict, *, old_label="before", new_label="after") -> list[str]:
    """A unified diff of two snapshots, line by line (empty when they are equal)."""

    def lines(snapshot):
        return json.dumps(snapshot, indent=2, sort_keys=True, ensure_ascii=False).splitlines()

    return list(
        difflib.unified_diff(
            lines(old), lines(new), fromfile=old_label, tofile=new_label, lineterm=""
        )
    )


# Import and export ------------------------------------------------------------------------


def playbooks_export(playbooks, *, fmt: str = "json") -> str:
    """Playbooks as code: `{"playbooks": [snapshot, ...]}` in JSON or YAML."""
    data = {"playbooks": [playbook_snapshot(p) for p in playbooks]}
    if fmt == "yaml":
        return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
    if fmt == "json":
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    raise ValueError(f"Unknown format {fmt!r}: json or yaml.")


def playbooks_parse(text: str | bytes, *, fmt: str) -> list:
    """Parse an export file; raises ValidationError on anything that is not one."""
    if len(text) > MAX_IMPORT_BYTES:
        raise ValidationError({"file": f"The file is over {MAX_IMPORT_BYTES // 1024} KB."})
    try:
        if fmt == "yaml":
            data = yaml.safe_load(text)
        elif fmt == "json":
            data = json.loads(text)
        else:
            raise ValidationError({"format": f"Unknown format {fmt!r}: json or yaml."})
    except (ValueError, yaml.YAMLError) as exc:
        raise ValidationError({"file": f"The file does not parse as {fmt}: {exc}"}) from None
    if isinstance(data, dict) and set(data) == {"playbooks"}:
        data = data["playbooks"]
    if not isinstance(data, list):
        raise ValidationError({"file": 'Give {"playbooks": [...]} or a list of playbooks.'})
    return data


@transaction.atomic
def playbooks_import(*, items: list, publish: bool = False, user=None) -> list[Playbook]:
    """Create or replace playbooks by name; all or nothing.

    Errors are collected over the whole file, keyed `playbooks.<i>.<path>`, and any
    error leaves the database as it was. Imported playbooks are drafts unless the file
    says otherwise; `publish` also publishes each one.
    """
    errors: dict[str, list[str]] = {}
    saved = []
    names = [
        item["name"]
        for item in items
        if isinstance(item, dict)
        and isinstance(item.get("name"), str)
        and "\x00" not in item["name"]
    ]
    existing = {p.name: p for p in Playbook.objects.filter(name__in=names)}
    seen = set()
    for index, item in enumerate(items):
        name = item.get("name") if isinstance(item, dict) else None
        if name in seen:
            errors.setdefault(f"playbooks.{index}.name", []).append("Named twice in the file.")
            continue
        seen.add(name)
        try:
            with transaction.atomic():
                saved.append(playbook_save(data=item, playbook=existing.get(name)))
        except ValidationError as exc:
            for path, messages in exc.message_dict.items():
                errors.setdefault(f"playbooks.{index}.{path}", []).extend(messages)
    if errors:
        raise ValidationError(errors)
    if publish:
        for playbook in saved:
            playbook_publish(playbook=playbook, user=user, note="Imported")
    return saved


# Activations ------------------------------------------------------------------------------


@transaction.atomic
def activations_exit(*, ids: list[int], reason: str = ExitReason.MANUAL) -> int:
    """End open activations by hand; returns how many were open and now exited."""
    open_ids = list(
        Activation.objects.filter(pk__in=ids, status__in=OPEN_STATUSES).values_list("pk", flat=True)
    )
    Activation.objects.filter(pk__in=open_ids).update(
        status=ActivationStatus.EXITED, ended_at=timezone.now(), reason=reason
    )
    hooks.run(hooks.ACTIVATIONS_EXITED, open_ids)
    return len(open_ids)

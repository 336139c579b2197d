"""Admin of the playbook layer: the playbook editor and its Preview, Explain, Backtest,
Publish, Diff and Roll back pages; read-only lists of versions, activations, runs.

Export and import as JSON or YAML live in `admin_files`.

Django's admin has no nested inlines, so a playbook (its settings, triggers with their
conditions, and steps) is edited on one custom page that replaces the add and change
forms. Every save goes through `services.playbook_save`, which validates the whole
playbook against the feature catalog; its errors are shown next to the row and field
they name. A little JavaScript adds and removes rows, shows the parameter inputs the
chosen feature takes and limits the operators to those fitting its type.
"""

import json
import re
from datetime import date, timedelta

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from simple_history.admin import SimpleHistoryAdmin

from . import analysis, catalog, selectors, services
from .admin_files import PlaybookFilesMixin
from .choices import Operator, StepKind
from .compiler import operators_for
from .forms import (
    PlaybookSettingsForm,
    initial_from_snapshot,
    param_text,
    rows_from_post,
    value_text,
)
from .models import (
    Activation,
    Backtest,
    Condition,
    EvaluationRun,
    Playbook,
    PlaybookMembership,
    PlaybookVersion,
    Step,
    Trigger,
)
from .steps import STEP_KEYS

SETTINGS_PATHS = {"outcome.kind": "outcome_kind", "outcome.stage": "outcome_stage"}
SETTINGS_PATHS["outcome.window_days"] = "outcome_window_days"
ROW_PATH = re.compile(r"^(triggers|steps)\.(\d+)(?:\.conditions\.(\d+))?(?:\.(\w+))?$")


def _catalog_for_js() -> list[dict]:
    return [
        {
            "key": f.key,
            "label": f.label,
            "type": str(f.type),
            "description": f.description,
            "operators": operators_for(f.type),
            "params": [p.name for p in f.params],
        }
        for f in catalog.feature_all()
    ]


def _param_inputs() -> list[dict]:
    """One input per parameter name any feature takes (the page shows the right ones)."""
    seen = {}
    for feature in catalog.feature_all():
        for param in feature.params:
            entry = seen.setdefault(
                param.name,
                {
                    "name": param.name,
                    "label": param.label or param.name,
                    "kind": str(param.kind),
                    "choices": [c[0] if isinstance(c, tuple | list) else c for c in param.choices],
                },
            )
            if not entry["choices"] and param.choices:
                entry["choices"] = [
                    c[0] if isinstance(c, tuple | list) else c for c in param.choices
                ]
    return list(seen.values())


@admin.register(Playbook)
class PlaybookAdmin(PlaybookFilesMixin, SimpleHistoryAdmin):
    list_display = [
        "name",
        "motion",
        "status",
        "priority",
        "version_shown",
        "open_shown",
        "updated_at",
    ]
    list_filter = ["motion", "status"]
    search_fields = ["name", "description"]
    ordering = ["priority", "name"]

    def get_queryset(self, request):
        return selectors.playbook_list()

    @admin.display(description="Version", ordering="latest_version")
    def version_shown(self, obj):
        return f"v{obj.latest_version}" if obj.latest_version else "unpublished"

    @admin.display(description="Active activations", ordering="open_activations")
    def open_shown(self, obj):
        return obj.open_activations

    # URLs --------------------------------------------------------------------------------

    def get_urls(self):
        views = [
            ("preview", self.preview_view),
            ("explain", self.explain_view),
            ("backtest", self.backtest_view),
            ("publish", self.publish_view),
            ("diff", self.diff_view),
            ("rollback", self.rollback_view),
        ]
        return [
            *(
                path(
                    f"<int:pk>/{name}/",
                    self.admin_site.admin_view(view),
                    name=f"playbooks_playbook_{name}",
                )
                for name, view in views
            ),
            *super().get_urls(),
        ]

    def _url(self, name, playbook, **query):
        url = reverse(f"admin:playbooks_playbook_{name}", args=[playbook.pk])
        if query:
            url += "?" + "&".join(f"{k}={v}" for k, v in query.items())
        return url

    def _playbook(self, request, pk, *, change=False) -> Playbook:
        playbook = get_object_or_404(Playbook, pk=pk)
        allowed = (
            self.has_change_permission(request, playbook)
            if change
            else self.has_view_permission(request, playbook)
        )
        if not allowed:
            raise PermissionDenied
        return playbook

    # The editor ------------------------------------------------------------------------------

    def add_view(self, request, form_url="", extra_context=None):
        if not self.has_add_permission(request):
            raise PermissionDenied
        return self.editor_view(request, None)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        playbook = get_object_or_404(Playbook, pk=object_id)
        if not self.has_view_or_change_permission(request, playbook):
            raise PermissionDenied
        return self.editor_view(request, playbook)

    def editor_view(self, request, playbook: Playbook | None):
        can_change = (
            self.has_change_permission(request, playbook)
            if playbook
            else self.has_add_permission(request)
        )
        snapshot = services.playbook_snapshot(playbook) if playbook else _blank_snapshot()
        errors: dict[str, list[str]] = {}
        if request.method == "POST":
            if not can_change:
                raise PermissionDenied
            form = PlaybookSettingsForm(request.POST)
            triggers, steps = rows_from_post(request.POST)
            if form.is_valid():
                data = {**form.data_for_service(), "triggers": triggers, "steps": steps}
                try:
                    with transaction.atomic():
                        saved = services.playbook_save(data=data, playbook=playbook)
                        if "_publish" in request.POST:
                            self._check_publish(request)
                            version = services.playbook_publish(playbook=saved, user=request.user)
                except ValidationError as exc:
                    errors = exc.message_dict
                else:
                    if "_publish" in request.POST:
                        self.message_user(
                            request, f"Saved and published as version {version.number}."
                        )
                    else:
                        self.message_user(request, "Saved. Publish to make it run.")
                    return redirect(reverse("admin:playbooks_playbook_change", args=[saved.pk]))
            snapshot = {**snapshot, "triggers": triggers, "steps": steps}
            for path_, messages_ in errors.items():
                field = SETTINGS_PATHS.get(path_, path_)
                if field in form.fields:
                    form.add_error(field, messages_)
        else:
            form = PlaybookSettingsForm(initial=initial_from_snapshot(snapshot))
        row_errors, general = _split_errors(errors, form)
        params = _param_inputs()
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": f"Edit playbook: {playbook}" if playbook else "Add playbook",
            "playbook": playbook,
            "original": playbook,
            "form": form,
            "can_change": can_change,
            "general_errors": general,
            "triggers": _trigger_rows(snapshot["triggers"], row_errors, params),
            "steps": _step_rows(snapshot["steps"], row_errors),
            "blank_trigger": _blank_trigger(params),
            "blank_condition": _blank_trigger(params)["conditions"][0],
            "blank_step": {"index": "__S__", "kind": "", "delay_days": 0, "config": "{}"},
            "catalog": _catalog_for_js(),
            "features": catalog.feature_all(),
            "operators": Operator.choices,
            "step_kinds": StepKind.choices,
            "step_hints": {
                kind: {k: required for k, (required, _) in keys.items()}
                for kind, keys in STEP_KEYS.items()
            },
            "versions": list(selectors.version_list(playbook=playbook)) if playbook else [],
            "has_history": playbook is not None,
        }
        return TemplateResponse(request, "admin/playbooks/playbook/editor.html", context)

    def _check_publish(self, request):
        if not request.user.has_perm("playbooks.add_playbookversion"):
            raise ValidationError({"playbook": "Your team may not publish playbooks."})

    # Buttons -------------------------------------------------------------------------------

    def _page(self, request, playbook, template, title, **context):
        return TemplateResponse(
            request,
            f"admin/playbooks/playbook/{template}",
            {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "original": playbook,
                "playbook": playbook,
                "title": f"{title}: {playbook}",
                **context,
            },
        )

    def preview_view(self, request, pk):
        playbook = self._playbook(request, pk)
        try:
            preview = analysis.playbook_preview(playbook=playbook)
        except ValidationError as exc:
            return self._invalid(request, playbook, exc)
        return self._page(request, playbook, "preview.html", "Preview", preview=preview)

    def explain_view(self, request, pk):
        playbook = self._playbook(request, pk)
        raw = request.GET.get("account", "").strip()
        explained, error = None, ""
        if raw:
            if not raw.isdigit():
                error = "Give an account id (a number)."
            else:
                try:
                    explained = analysis.playbook_explain(playbook=playbook, account_id=int(raw))
                except ValidationError as exc:
                    error = " ".join(exc.messages)
        return self._page(
            request,
            playbook,
            "explain.html",
            "Explain",
            explained=explained,
            error=error,
            account=raw,
        )

    def backtest_view(self, request, pk):
        playbook = self._playbook(request, pk)
        today = timezone.now().date()
        start = request.POST.get("start") or str(today - timedelta(days=56))
        end = request.POST.get("end") or str(today - timedelta(days=playbook.outcome_window_days))
        job, error = None, ""
        if request.GET.get("job", "").isdigit():
            job = Backtest.objects.filter(playbook=playbook, pk=int(request.GET["job"])).first()
        if request.method == "POST":
            try:
                job = analysis.backtest_request(
                    playbook=playbook,
                    start=date.fromisoformat(start),
                    end=date.fromisoformat(end),
                    user=request.user,
                )
            except ValueError:
                error = "Give the dates as YYYY-MM-DD."
            except ValidationError as exc:
                error = " ".join(exc.messages)
            else:
                if job.status != "done":
                    return redirect(self._url("backtest", playbook, job=job.pk))
        return self._page(
            request,
            playbook,
            "backtest.html",
            "Backtest",
            job=job,
            result=job.result if job else None,
            error=error,
            start=start,
            end=end,
        )

    def publish_view(self, request, pk):
        playbook = self._playbook(request, pk, change=True)
        if request.method != "POST":
            return redirect(reverse("admin:playbooks_playbook_change", args=[pk]))
        try:
            self._check_publish(request)
            version = services.playbook_publish(playbook=playbook, user=request.user)
        except ValidationError as exc:
            for message in exc.messages:
                self.message_user(request, f"Not published: {message}", messages.ERROR)
        else:
            self.message_user(request, f"Published version {version.number}.")
        return redirect(reverse("admin:playbooks_playbook_change", args=[pk]))

    def diff_view(self, request, pk):
        playbook = self._playbook(request, pk)
        versions = {v.number: v for v in selectors.version_list(playbook=playbook)}

        def pick(raw):
            if raw.isdigit() and int(raw) in versions:
                return f"version {raw}", versions[int(raw)].snapshot
            return "the saved draft", services.playbook_snapshot(playbook)

        latest = str(max(versions)) if versions else ""
        old_label, old = pick(request.GET.get("a", latest))
        new_label, new = pick(request.GET.get("b", "draft"))
        lines = services.version_diff(old, new, old_label=old_label, new_label=new_label)
        return self._page(
            request,
            playbook,
            "diff.html",
            "Diff",
            lines=lines,
            versions=list(versions.values()),
            a=request.GET.get("a", latest),
            b=request.GET.get("b", "draft"),
        )

    def rollback_view(self, request, pk):
        playbook = self._playbook(request, pk, change=True)
        if request.method == "POST":
            raw = request.POST.get("number", "")
            try:
                self._check_publish(request)
                if not raw.isdigit():
                    raise ValidationError({"version": "Pick a version."})
                version = services.playbook_rollback(
                    playbook=playbook, number=int(raw), user=request.user
                )
            except ValidationError as exc:
                for message in exc.messages:
                    self.message_user(request, f"Not rolled back: {message}", messages.ERROR)
            else:
                self.message_user(
                    request, f"Version {raw} restored and published as version {version.number}."
                )
        return redirect(reverse("admin:playbooks_playbook_change", args=[pk]))

    def _invalid(self, request, playbook, exc):
        for message in exc.messages:
            self.message_user(
                request, f"The saved playbook is not valid: {message}", messages.ERROR
            )
        return redirect(reverse("admin:playbooks_playbook_change", args=[playbook.pk]))


def _blank_snapshot() -> dict:
    return {
        "name": "",
        "motion": "new_logo",
        "status": "draft",
        "priority": 100,
        "reentry_policy": "once",
        "holdout_percent": 0,
        "exit_policy": "on_unmatch",
        "outcome": {"kind": "deal_won", "stage": "", "window_days": 90},
        "teams": [],
        "tiers": [],
        "stages": [],
        "blocked_motions": [],
        "triggers": [{"name": "", "conditions": [{"feature": "", "operator": "", "value": None}]}],
        "steps": [],
    }


def _split_errors(errors: dict, form) -> tuple[dict, list[str]]:
    """Row errors by (kind, index, condition, field); the rest for the top of the page."""
    rows, general = {}, []
    for path_, messages_ in errors.items():
        match = ROW_PATH.match(path_)
        if match:
            kind, index, condition, field = match.groups()
            key = (kind, int(index), int(condition) if condition else None, field or "")
            rows.setdefault(key, []).extend(messages_)
        elif SETTINGS_PATHS.get(path_, path_) not in form.fields:
            general.extend(f"{path_}: {m}" if path_ != "playbook" else m for m in messages_)
    return rows, general


def _blank_trigger(params: list[dict]) -> dict:
    [trigger] = _trigger_rows([{"name": "", "conditions": [{}]}], {}, params)
    trigger["index"] = "__T__"
    trigger["conditions"][0]["index"] = "__C__"
    return trigger


def _trigger_rows(triggers: list, errors: dict, param_inputs: list[dict]) -> list[dict]:
    rows = []
    for t, trigger in enumerate(triggers):
        conditions = []
        for c, cond in enumerate(trigger.get("conditions") or []):
            params = cond.get("params") or {}
            conditions.append(
                {
                    "index": c,
                    "feature": cond.get("feature") or "",
                    "operator": cond.get("operator") or "",
                    "value": value_text(cond.get("value")),
                    "param_fields": [
                        {**p, "value": param_text(params.get(p["name"]))} for p in param_inputs
                    ],
                    "errors": [
                        f"{field or 'condition'}: {m}" if field else m
                        for (kind, i, ci, field), ms in errors.items()
                        if kind == "triggers" and i == t and ci == c
                        for m in ms
                    ],
                }
            )
        rows.append(
            {
                "index": t,
                "name": trigger.get("name") or "",
                "conditions": conditions,
                "errors": [
                    m
                    for (kind, i, ci, _field), ms in errors.items()
                    if kind == "triggers" and i == t and ci is None
                    for m in ms
                ],
            }
        )
    return rows


def _step_rows(steps: list, errors: dict) -> list[dict]:
    return [
        {
            "index": s,
            "kind": step.get("kind") or "",
            "delay_days": step.get("delay_days", 0),
            "config": json.dumps(step.get("config"), indent=1)
            if isinstance(step.get("config"), dict)
            else str(step.get("config") or "{}"),
            "errors": [
                m
                for (kind, i, _ci, _field), ms in errors.items()
                if kind == "steps" and i == s
                for m in ms
            ],
        }
        for s, step in enumerate(steps)
    ]


# Read-only records ------------------------------------------------------------------------


class ReadOnlyAdmin(admin.ModelAdmin):
    """Records written by the evaluator and publishing only: visible, never edited here."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(PlaybookVersion)
class PlaybookVersionAdmin(ReadOnlyAdmin):
    list_display = ["playbook", "number", "published_at", "published_by", "note"]
    list_filter = ["playbook__motion"]
    list_select_related = ["playbook", "published_by"]
    search_fields = ["playbook__name", "note"]
    readonly_fields = ["playbook", "number", "published_at", "published_by", "note", "snapshot"]


@admin.register(Activation)
class ActivationAdmin(ReadOnlyAdmin):
    list_display = [
        "account",
        "playbook",
        "version_number",
        "status",
        "is_holdout",
        "reason",
        "started_at",
        "ended_at",
    ]
    list_filter = ["status", "is_holdout", "playbook__motion", "reason"]
    list_select_related = ["account", "playbook", "version"]
    search_fields = ["account__name", "playbook__name"]
    date_hierarchy = "started_at"
    readonly_fields = [
        "playbook",
        "version",
        "account",
        "trigger_index",
        "status",
        "is_holdout",
        "evidence",
        "started_at",
        "ended_at",
        "reason",
    ]
    actions = ["exit_selected"]

    @admin.display(description="Version", ordering="version__number")
    def version_number(self, obj):
        return obj.version.number

    def has_change_permission(self, request, obj=None):
        # Change permission is what allows ending activations by hand (the action).
        return request.user.has_perm("playbooks.change_activation")

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields

    @admin.action(description="Exit the selected open activations", permissions=["change"])
    def exit_selected(self, request, queryset):
        exited = services.activations_exit(ids=list(queryset.values_list("pk", flat=True)))
        self.message_user(request, f"{exited} activation(s) exited.")


@admin.register(PlaybookMembership)
class PlaybookMembershipAdmin(ReadOnlyAdmin):
    list_display = ["playbook", "account", "since"]
    list_select_related = ["playbook", "account"]
    list_filter = ["playbook__motion"]
    search_fields = ["account__name", "playbook__name"]


@admin.register(EvaluationRun)
class EvaluationRunAdmin(ReadOnlyAdmin):
    list_display = [
        "started_at",
        "origin",
        "playbooks",
        "entered",
        "held_out",
        "skipped",
        "exited",
        "error_count",
        "duration",
    ]
    list_filter = ["origin"]
    readonly_fields = [f.name for f in EvaluationRun._meta.fields]

    @admin.display(description="Errors")
    def error_count(self, obj):
        return len(obj.errors or [])

    @admin.display(description="Seconds")
    def duration(self, obj):
        if obj.finished_at is None:
            return "running"
        return f"{(obj.finished_at - obj.started_at).total_seconds():.2f}"


@admin.register(Backtest)
class BacktestAdmin(ReadOnlyAdmin):
    list_display = ["playbook", "start", "end", "status", "requested_by", "finished_at", "open"]
    list_filter = ["status"]
    list_select_related = ["playbook", "requested_by"]
    search_fields = ["playbook__name"]
    readonly_fields = [f.name for f in Backtest._meta.fields]

    @admin.display(description="Report")
    def open(self, obj):
        url = reverse("admin:playbooks_playbook_backtest", args=[obj.playbook_id])
        return format_html('<a href="{}?job={}">open</a>', url, obj.pk)


class RowHistoryAdmin(SimpleHistoryAdmin, ReadOnlyAdmin):
    """Triggers, conditions and steps are edited on the playbook editor; here each one's
    history shows who changed what."""

    search_fields = ["pk"]


@admin.register(Trigger)
class TriggerAdmin(RowHistoryAdmin):
    list_display = ["__str__", "playbook", "order"]
    list_select_related = ["playbook"]
    search_fields = ["name", "playbook__name"]


@admin.register(Condition)
class ConditionAdmin(RowHistoryAdmin):
    list_display = ["__str__", "trigger", "playbook_name"]
    list_select_related = ["trigger__playbook"]
    search_fields = ["feature", "trigger__playbook__name"]

    @admin.display(description="Playbook")
    def playbook_name(self, obj):
        return obj.trigger.playbook.name


@admin.register(Step)
class StepAdmin(RowHistoryAdmin):
    list_display = ["__str__", "playbook", "delay_days"]
    list_select_related = ["playbook"]
    search_fields = ["kind", "playbook__name"]


from . import tier_rules_admin  # noqa: E402, F401  (registers the tier rule admins)

"""What each step kind needs in its configuration, checked when a step is saved.

Steps are executed by the execution layer (tasks, campaigns, webhooks, personalization);
this module only defines and validates their configuration, so that a playbook that
cannot run is refused at save and publish, with the field and the reason.
"""

from django.core.exceptions import ValidationError
from django.template import Engine, TemplateSyntaxError
from django.template.defaulttags import DebugNode

from accounts.choices import Stage, TeamRole

from .choices import StepKind

PRIORITIES = ("low", "normal", "high")
CHANNELS = ("email", "chat")

# kind -> {key: (required, kind of value)}
STEP_KEYS: dict[str, dict[str, tuple[bool, str]]] = {
    StepKind.CREATE_TASK: {
        "role": (True, "role"),
        "title": (True, "template"),
        "body": (False, "template"),
        "due_days": (False, "days"),
        "priority": (False, "priority"),
    },
    StepKind.NOTIFY: {
        "channel": (True, "channel"),
        "role": (False, "role"),
        "url": (False, "url"),
        "message": (True, "template"),
    },
    StepKind.WEBHOOK: {"endpoint": (True, "text"), "event": (False, "text")},
    StepKind.ENROLL_CAMPAIGN: {"campaign": (True, "text")},
    StepKind.SUPPRESS_CAMPAIGN: {"campaign": (True, "text")},
    StepKind.SET_STAGE: {"stage": (True, "stage")},
    StepKind.SET_TIER: {"tier": (True, "text")},
    StepKind.PERSONALIZE: {"variant": (True, "text"), "content": (False, "object")},
}

_ENGINE = Engine(autoescape=True)
# `{% debug %}` prints the whole context and the server's loaded modules.
FORBIDDEN_TAGS = "the {% debug %} tag is not allowed in step templates."


def forbidden_tags(template) -> bool:
    return bool(template.nodelist.get_nodes_by_type(DebugNode))


def step_config_clean(*, kind: str, config) -> dict:
    """The configuration, checked for `kind`; raises ValidationError on `config`."""
    if kind not in STEP_KEYS:
        raise ValidationError({"kind": f"Unknown step kind {kind!r}."})
    if not isinstance(config, dict):
        raise ValidationError({"config": "The configuration is an object of settings."})
    spec = STEP_KEYS[kind]
    label = StepKind(kind).label
    problems = []
    for key in sorted(set(config) - set(spec)):
        problems.append(f"'{key}' is not a setting of '{label}'.")
    for key, (required, value_kind) in spec.items():
        value = config.get(key)
        if value in (None, ""):
            if required:
                problems.append(f"'{label}' needs '{key}'.")
            continue
        problem = _check(value_kind, value)
        if problem:
            problems.append(f"'{key}': {problem}")
    if kind == StepKind.NOTIFY and not problems:
        if config["channel"] == "email" and not config.get("role"):
            problems.append("An email notification needs the 'role' of the owner to write to.")
        if config["channel"] == "chat" and not config.get("url"):
            problems.append("A chat notification needs the chat webhook 'url'.")
    if problems:
        raise ValidationError({"config": problems})
    return config


def _check(value_kind: str, value) -> str | None:
    if value_kind in ("text", "url", "template") and not isinstance(value, str):
        return "give text."
    if value_kind == "template":
        try:
            template = _ENGINE.from_string(value)
        except TemplateSyntaxError as exc:
            return f"the template does not parse: {exc}."
        if forbidden_tags(template):
            return FORBIDDEN_TAGS
    if value_kind == "url" and not value.startswith(("https://", "http://")):
        return "give an http(s) URL."
    if value_kind == "role" and value not in TeamRole.values:
        return f"not a team role (one of {', '.join(TeamRole.values)})."
    if value_kind == "stage" and value not in Stage.values:
        return f"not a lifecycle stage (one of {', '.join(Stage.values)})."
    if value_kind == "priority" and value not in PRIORITIES:
        return f"one of {', '.join(PRIORITIES)}."
    if value_kind == "channel" and value not in CHANNELS:
        return f"one of {', '.join(CHANNELS)}."
    if value_kind == "days" and (
        isinstance(value, bool) or not isinstance(value, int) or value < 0
    ):
        return "a whole number of days, 0 or more."
    if value_kind == "object" and not isinstance(value, dict):
        return "give an object."
    return None

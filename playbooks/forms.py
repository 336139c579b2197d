"""The playbook editor's form: settings as a form, triggers, conditions and steps as
numbered rows parsed from the POST into the data `services.playbook_save` takes."""

import json
import re

from django import forms
from django.contrib.auth.models import Group

from accounts.choices import Stage
from accounts.selectors import tier_list

from . import catalog
from .choices import Motion, Operator
from .compiler import BOOL, LISTS, NUMBER, PRESENCE
from .models import Playbook

SETTING_FIELDS = [
    "name",
    "description",
    "motion",
    "status",
    "priority",
    "reentry_policy",
    "cooldown_days",
    "holdout_percent",
    "capacity",
    "exit_policy",
    "outcome_kind",
    "outcome_stage",
    "outcome_window_days",
]
OUTCOME = {"outcome_kind": "kind", "outcome_stage": "stage", "outcome_window_days": "window_days"}


class PlaybookSettingsForm(forms.Form):
    """The playbook's own settings (the rows are parsed by `rows_from_post`)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in SETTING_FIELDS:
            self.fields[name] = Playbook._meta.get_field(name).formfield()
        self.fields["teams"] = forms.ModelMultipleChoiceField(
            Group.objects.order_by("name"),
            to_field_name="name",
            required=False,
            widget=forms.CheckboxSelectMultiple,
        )
        self.fields["tiers"] = forms.ModelMultipleChoiceField(
            tier_list(),
            to_field_name="name",
            required=False,
            widget=forms.CheckboxSelectMultiple,
            help_text="None ticked: every tier.",
        )
        self.fields["stages"] = forms.MultipleChoiceField(
            choices=Stage.choices,
            required=False,
            widget=forms.CheckboxSelectMultiple,
            help_text="None ticked: every stage.",
        )
        self.fields["blocked_motions"] = forms.MultipleChoiceField(
            choices=Motion.choices,
            required=False,
            widget=forms.CheckboxSelectMultiple,
            help_text="While this play is open on an account, plays of these motions wait.",
        )

    def data_for_service(self) -> dict:
        data = {name: self.cleaned_data.get(name) for name in SETTING_FIELDS if name not in OUTCOME}
        data["outcome"] = {key: self.cleaned_data.get(name) for name, key in OUTCOME.items()}
        data["teams"] = [g.name for g in self.cleaned_data.get("teams") or []]
        data["tiers"] = [t.name for t in self.cleaned_data.get("tiers") or []]
        data["stages"] = list(self.cleaned_data.get("stages") or [])
        data["blocked_motions"] = list(self.cleaned_data.get("blocked_motions") or [])
        return data


def initial_from_snapshot(snapshot: dict) -> dict:
    initial = {name: snapshot.get(name) for name in SETTING_FIELDS if name not in OUTCOME}
    for name, key in OUTCOME.items():
        initial[name] = (snapshot.get("outcome") or {}).get(key)
    for name in ("teams", "tiers", "stages", "blocked_motions"):
        initial[name] = snapshot.get(name) or []
    return initial


# Rows -----------------------------------------------------------------------------------

CONDITION_KEY = re.compile(r"^trigger-(\d+)-cond-(\d+)-feature$")
TRIGGER_KEY = re.compile(r"^trigger-(\d+)-name$")
STEP_KEY = re.compile(r"^step-(\d+)-kind$")


def rows_from_post(post) -> tuple[list, list]:
    """(triggers, steps) as `playbook_save` takes them, from the editor's numbered inputs.

    Values are read according to the chosen feature's type (a number, true/false, a
    date or text; lists comma-separated); anything that does not parse is passed on as
    typed, so the service's validation names it and says why.
    """
    triggers = []
    for t in sorted({int(m.group(1)) for key in post if (m := TRIGGER_KEY.match(key))}):
        conditions = []
        indexes = sorted(
            int(m.group(2))
            for key in post
            if (m := CONDITION_KEY.match(key)) and int(m.group(1)) == t
        )
        for c in indexes:
            prefix = f"trigger-{t}-cond-{c}-"
            feature = post.get(prefix + "feature", "").strip()
            operator = post.get(prefix + "operator", "").strip()
            spec = catalog.feature_get(feature)
            params = {}
            for param in spec.params if spec else ():
                raw = post.get(prefix + "param-" + param.name, "").strip()
                if raw:
                    params[param.name] = raw
            conditions.append(
                {
                    "feature": feature,
                    "operator": operator,
                    "value": parse_value(spec, operator, post.get(prefix + "value", "")),
                    "params": params,
                }
            )
        triggers.append(
            {"name": post.get(f"trigger-{t}-name", "").strip(), "conditions": conditions}
        )
    steps = []
    for s in sorted({int(m.group(1)) for key in post if (m := STEP_KEY.match(key))}):
        raw_config = post.get(f"step-{s}-config", "").strip() or "{}"
        try:
            config = json.loads(raw_config)
        except ValueError:
            config = raw_config  # refused by the service: "The configuration is an object"
        raw_delay = post.get(f"step-{s}-delay_days", "0").strip() or "0"
        steps.append(
            {
                "kind": post.get(f"step-{s}-kind", ""),
                "delay_days": int(raw_delay) if raw_delay.isdigit() else raw_delay,
                "config": config,
            }
        )
    return triggers, steps


def parse_value(spec, operator: str, raw: str):
    raw = (raw or "").strip()
    if operator in PRESENCE:
        return None
    if operator in LISTS or operator == Operator.BETWEEN:
        return [_scalar(spec, item.strip()) for item in raw.split(",") if item.strip()]
    return _scalar(spec, raw)


def _scalar(spec, raw: str):
    kind = str(spec.type) if spec else ""
    if kind == NUMBER:
        for cast in (int, float):
            try:
                return cast(raw)
            except ValueError:
                continue
    if kind == BOOL and raw.lower() in ("true", "yes", "1", "false", "no", "0"):
        return raw.lower() in ("true", "yes", "1")
    return raw


def value_text(value) -> str:
    """A stored value as the editor shows it."""
    if value is None:
        return ""
    if isinstance(value, list):
        return ", ".join(value_text(v) for v in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def param_text(value) -> str:
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return "" if value is None else str(value)

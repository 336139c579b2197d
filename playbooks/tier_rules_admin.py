"""Admin of tier rules: each rule with its conditions inline (features and operators from
dropdowns, values typed as in the playbook editor), a history of who changed what, a
preview of which accounts would move to which tier, "apply now", and the proposals for
tiers a person chose, which RevOps may accept.

Saves go through `tier_rules.tier_rule_save`, which validates the rule and its
conditions as a playbook's are; the forms show its errors next to the field they name.
"""

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from simple_history.admin import SimpleHistoryAdmin

from . import catalog, tier_rules
from .forms import param_text, parse_value, value_text
from .models import TierProposal, TierRule, TierRuleCondition


def _feature_choices():
    return [("", "---------")] + [
        (f.key, f"{f.label} ({f.key})")
        for f in sorted(catalog.feature_all(), key=lambda f: f.label)
    ]


class TierRuleConditionForm(forms.ModelForm):
    """A condition row: the value is typed as text and read by the feature's type."""

    feature = forms.ChoiceField(choices=_feature_choices)
    params = forms.JSONField(
        required=False,
        widget=forms.TextInput(attrs={"size": 36}),
        help_text='e.g. {"days": 30} or {"signal_types": ["intent.surge"], "days": 7}',
    )
    value = forms.CharField(
        required=False,
        widget=forms.TextInput(attrs={"size": 24}),
        help_text="A number, text, true/false or YYYY-MM-DD; lists comma-separated.",
    )

    class Meta:
        model = TierRuleCondition
        fields = ["feature", "params", "operator", "value"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk is not None:
            self.initial["value"] = value_text(self.instance.value)
            self.initial["params"] = self.instance.params or {}

    def clean(self):
        cleaned = super().clean()
        spec = catalog.feature_get(cleaned.get("feature") or "")
        cleaned["params"] = cleaned.get("params") or {}
        cleaned["value"] = parse_value(spec, cleaned.get("operator") or "", cleaned.get("value"))
        return cleaned


class AtLeastOneCondition(forms.BaseInlineFormSet):
    def clean(self):
        super().clean()
        kept = [
            form
            for form in self.forms
            if form.cleaned_data and not form.cleaned_data.get("DELETE", False)
        ]
        if not kept:
            raise forms.ValidationError(
                "A rule needs at least one condition: which accounts belong here?"
            )


class TierRuleConditionInline(admin.TabularInline):
    model = TierRuleCondition
    form = TierRuleConditionForm
    formset = AtLeastOneCondition
    extra = 1
    fields = ["feature", "params", "operator", "value"]


@admin.register(TierRule)
class TierRuleAdmin(SimpleHistoryAdmin):
    list_display = ["name", "tier", "rank", "is_active", "conditions_shown", "updated_at"]
    list_filter = ["is_active", "tier"]
    list_select_related = ["tier"]
    search_fields = ["name", "description", "tier__name"]
    ordering = ["tier__rank", "order", "id"]
    fields = ["tier", "name", "description", "is_active", "order"]
    inlines = [TierRuleConditionInline]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .prefetch_related(
                Prefetch("conditions", queryset=TierRuleCondition.objects.order_by("order", "id"))
            )
        )

    @admin.display(description="Rank", ordering="tier__rank")
    def rank(self, obj):
        return obj.tier.rank

    @admin.display(description="Conditions (all must hold)")
    def conditions_shown(self, obj):
        return "; ".join(
            f"{c.feature}{_params_text(c.params)} {c.operator} {value_text(c.value)}".strip()
            for c in obj.conditions.all()
        )

    # Saving through the service -----------------------------------------------------------

    def save_model(self, request, obj, form, change):
        """Saved with its conditions in `save_related`, as one validated write."""

    def save_related(self, request, form, formsets, change):
        [conditions] = formsets
        rows = [
            {key: f.cleaned_data[key] for key in ("feature", "params", "operator", "value")}
            for f in conditions.forms
            if f.cleaned_data and not f.cleaned_data.get("DELETE", False)
        ]
        tier_rules.tier_rule_save(
            data={**{k: form.cleaned_data[k] for k in self.fields}, "conditions": rows},
            rule=form.instance,
        )
        # The service replaced the rows; the history records each one, the admin log the rule.
        conditions.new_objects, conditions.changed_objects, conditions.deleted_objects = [], [], []

    # Preview and apply ---------------------------------------------------------------------

    def get_urls(self):
        return [
            path(
                "preview/",
                self.admin_site.admin_view(self.preview_view),
                name="playbooks_tierrule_preview",
            ),
            *super().get_urls(),
        ]

    def preview_view(self, request):
        """What the next application would do; with `?include=<id>` an inactive rule is
        previewed as if it were active. A POST applies the active rules now."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        if request.method == "POST":
            if not self.has_change_permission(request):
                raise PermissionDenied
            result = tier_rules.tier_rules_apply()
            self.message_user(
                request,
                f"Applied {result['rules']} rule(s): {result['changed']} account(s) changed "
                f"tier; {result['proposals']} manual tier(s) kept with a proposal "
                f"({result['proposed']} new, {result['withdrawn']} withdrawn).",
            )
            return redirect(reverse("admin:playbooks_tierrule_preview"))
        raw = request.GET.get("include", "")
        include = {int(raw)} if raw.isdigit() else set()
        preview = tier_rules.tier_rules_preview(include=include)
        included = next((r for r in preview["rules"] if r["id"] in include), None)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Preview of the tier rules",
            "preview": preview,
            "included": included,
            "can_apply": self.has_change_permission(request) and not include,
        }
        return TemplateResponse(request, "admin/playbooks/tierrule/preview.html", context)


def _params_text(params: dict) -> str:
    if not params:
        return ""
    return "(" + ", ".join(f"{k}={param_text(v)}" for k, v in sorted(params.items())) + ")"


@admin.register(TierProposal)
class TierProposalAdmin(admin.ModelAdmin):
    """What the rules would set on accounts whose tier a person chose; kept up to date by
    each application, accepted here (which hands the account's tier to the rules)."""

    list_display = ["account", "current_tier", "tier", "rule", "proposed_at", "account_link"]
    list_select_related = ["account__tier", "tier", "rule__tier"]
    list_filter = ["tier"]
    search_fields = ["account__name"]
    readonly_fields = ["account", "tier", "rule", "evidence", "proposed_at"]
    actions = ["accept_selected"]

    @admin.display(description="Tier now (manual)", ordering="account__tier__rank")
    def current_tier(self, obj):
        return obj.account.tier

    @admin.display(description="Account page")
    def account_link(self, obj):
        return format_html('<a href="{}">open</a>', obj.account.get_absolute_url())

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(
        description="Accept: set the proposed tier (the rules manage it from now on)",
        permissions=["change"],
    )
    def accept_selected(self, request, queryset):
        changed = tier_rules.tier_proposals_accept(proposals=list(queryset), user=request.user)
        self.message_user(request, f"{changed} account(s) moved to the proposed tier.")


@admin.register(TierRuleCondition)
class TierRuleConditionAdmin(SimpleHistoryAdmin):
    """Conditions are edited on their rule's page; here each one's history shows who
    changed what."""

    list_display = ["__str__", "rule"]
    list_select_related = ["rule__tier"]
    search_fields = ["feature", "rule__name"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

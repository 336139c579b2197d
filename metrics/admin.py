import json

from django.contrib import admin
from django.core.exceptions import ValidationError
from django.forms.models import BaseInlineFormSet
from django.utils.html import format_html, format_html_join
from simple_history.admin import SimpleHistoryAdmin

from .models import AccountScore, AccountSnapshot, ScoreBand, ScoreComponent, ScoreModel
from .scoring import cycle_error, dependencies


class ScoreBandInline(admin.TabularInline):
    model = ScoreBand
    extra = 0
    fields = ["name", "min_score"]


class ComponentFormSet(BaseInlineFormSet):
    """Refuses components that would make the model depend on itself (through other
    models' scores); each row's own checks run in `ScoreComponent.clean()`."""

    def clean(self):
        super().clean()
        if any(self.errors):
            return
        kept = [
            form.instance
            for form in self.forms
            if form.cleaned_data and not form.cleaned_data.get("DELETE")
        ]
        if not any(float(c.weight or 0) > 0 for c in kept):
            raise ValidationError("A score model needs at least one component with a weight.")
        key = self.instance.key
        others = ScoreModel.objects.exclude(pk=self.instance.pk).prefetch_related("components")
        graph = {m.key: dependencies(m.components.all()) for m in others}
        error = cycle_error(key, kept, graph)
        if error:
            raise ValidationError(error)


class ScoreComponentInline(admin.StackedInline):
    model = ScoreComponent
    formset = ComponentFormSet
    extra = 0
    fieldsets = [
        (None, {"fields": [("name", "position", "weight"), "source"]}),
        ("Feature", {"fields": [("feature", "feature_params")]}),
        (
            "Signals",
            {
                "fields": [
                    ("signal_types", "aggregate"),
                    ("window_days", "half_life_days"),
                    ("type_weights", "role_multipliers"),
                ]
            },
        ),
        ("Points", {"fields": [("normalisation", "lower", "upper"), "steps"]}),
    ]


@admin.register(ScoreModel)
class ScoreModelAdmin(SimpleHistoryAdmin):
    list_display = ["key", "name", "is_active", "component_count", "band_list", "updated_at"]
    list_filter = ["is_active"]
    search_fields = ["key", "name", "description"]
    inlines = [ScoreBandInline, ScoreComponentInline]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("components", "bands")

    @admin.display(description="Components")
    def component_count(self, obj):
        return len(obj.components.all())

    @admin.display(description="Bands")
    def band_list(self, obj):
        return ", ".join(f"{b.name} >= {b.min_score}" for b in obj.bands.all()) or "—"


@admin.register(AccountScore)
class AccountScoreAdmin(admin.ModelAdmin):
    """Scores are computed, never edited: the page explains one."""

    list_display = ["account", "model", "score", "band", "computed_at"]
    list_filter = ["model", "band"]
    list_select_related = ["account", "model"]
    search_fields = ["account__name"]
    readonly_fields = ["account", "model", "score", "band", "computed_at", "explained"]
    exclude = ["breakdown"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description="Breakdown")
    def explained(self, obj):
        rows = obj.breakdown.get("components", [])
        body = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            ((r["component"], r["raw"], r["points"], r["weight"], r["contribution"]) for r in rows),
        )
        note = obj.breakdown.get("note", "")
        return format_html(
            "<table><tr><th>Component</th><th>Raw</th><th>Points</th><th>Weight</th>"
            "<th>Contribution</th></tr>{}</table><p>{}</p>",
            body,
            note,
        )


@admin.register(AccountSnapshot)
class AccountSnapshotAdmin(admin.ModelAdmin):
    """Snapshots are written by the scoring task and `backfill_snapshots`: read only."""

    list_display = ["account", "day", "stage", "tier", "arr", "pipeline", "score_list"]
    list_filter = ["stage", "tier"]
    list_select_related = ["account", "tier"]
    search_fields = ["account__name"]
    date_hierarchy = "day"
    readonly_fields = ["account", "day", "stage", "tier", "arr", "pipeline", "scores", "bands"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description="Scores")
    def score_list(self, obj):
        return json.dumps(obj.scores, sort_keys=True)

from django.contrib import admin

from .models import AccountSignalDaily, Signal, SignalType, Source, WebhookReceipt


@admin.register(Source)
class SourceAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "kind", "active", "created_at")
    list_filter = ("kind", "active")
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}
    fields = ("name", "slug", "kind", "active", "webhook_secret", "created_at")
    readonly_fields = ("created_at",)


@admin.register(SignalType)
class SignalTypeAdmin(admin.ModelAdmin):
    list_display = ("key", "name", "category", "aggregation", "default_weight", "unit")
    list_filter = ("category", "aggregation")
    search_fields = ("key", "name", "description")


@admin.register(Signal)
class SignalAdmin(admin.ModelAdmin):
    """Signals arrive through the API, webhooks and imports; the admin reads them."""

    list_display = (
        "occurred_at",
        "type",
        "source",
        "account",
        "contact",
        "value",
        "topic",
        "match_method",
        "confidence",
    )
    list_filter = ("source", "type", "match_method", ("account", admin.EmptyFieldListFilter))
    list_select_related = ("type", "source", "account", "contact")
    search_fields = ("external_id", "topic", "account__name", "contact__email")
    date_hierarchy = "occurred_at"
    raw_id_fields = ("account", "contact")
    fieldsets = (
        (None, {"fields": ("source", "type", "external_id", "occurred_at", "received_at")}),
        ("Content", {"fields": ("value", "topic", "attributes")}),
        (
            "Identity",
            {"fields": ("account", "contact", "hints", "match_method", "match_confidence")},
        ),
    )
    show_full_result_count = False

    @admin.display(description="Confidence", ordering="match_confidence")
    def confidence(self, obj):
        return "" if obj.match_confidence is None else f"{obj.match_confidence:.0%}"

    def has_add_permission(self, request):
        # A signal typed or edited by hand would skip validation, identity resolution
        # and rollups; corrections go through the review queue and re-resolution.
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(AccountSignalDaily)
class AccountSignalDailyAdmin(admin.ModelAdmin):
    """Rollups are derived from the signals table: readable here, never edited."""

    list_display = (
        "day",
        "account",
        "type",
        "count",
        "value_sum",
        "last_value",
        "distinct_contacts",
    )
    list_filter = ("type",)
    list_select_related = ("account", "type")
    search_fields = ("account__name",)
    date_hierarchy = "day"
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(WebhookReceipt)
class WebhookReceiptAdmin(admin.ModelAdmin):
    """Which webhook deliveries were taken in: a log, written by the webhook endpoint only."""

    list_display = ("received_at", "source", "webhook_id", "items")
    list_filter = ("source",)
    list_select_related = ("source",)
    search_fields = ("webhook_id",)
    date_hierarchy = "received_at"
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

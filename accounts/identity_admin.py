"""Admin for the identity resolution steps (registered from `AccountsConfig.ready`)."""

from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from .models import IdentityStep


@admin.register(IdentityStep)
class IdentityStepAdmin(SimpleHistoryAdmin):
    """RevOps reorders, disables and tunes the steps; the set of steps itself is fixed."""

    list_display = ("key", "position", "enabled", "threshold", "margin")
    list_editable = ("position", "enabled", "threshold", "margin")
    list_display_links = ("key",)
    list_filter = ("enabled",)
    search_fields = ("key",)
    ordering = ("position", "key")
    fields = ("key", "position", "enabled", "threshold", "margin")
    readonly_fields = ("key",)

    def has_add_permission(self, request):
        # Every step is created by the migration; a step without code behind it means nothing.
        return False

    def has_delete_permission(self, request, obj=None):
        return False

"""Admin for the execution layer: tasks, step runs, campaigns, webhooks, personalization."""

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.db import models
from simple_history.admin import SimpleHistoryAdmin

from .execution.delivery import delivery_requeue
from .models_execution import (
    AccountExperience,
    Campaign,
    CampaignMembership,
    Delivery,
    DeliveryAttempt,
    ExperienceDefault,
    StepRun,
    Task,
    WebhookEndpoint,
)
from .services_execution import task_update


@admin.register(StepRun)
class StepRunAdmin(admin.ModelAdmin):
    list_display = ["id", "activation", "step_index", "kind", "status", "due_at", "reason"]
    list_filter = ["status", "kind"]
    search_fields = ["activation__account__name", "activation__playbook__name", "reason"]
    list_select_related = ["activation"]
    readonly_fields = [
        "activation",
        "step_index",
        "kind",
        "config",
        "attempts",
        "result",
        "deferred_since",
        "finished_at",
        "created_at",
    ]
    fields = [*readonly_fields[:3], "status", "due_at", "reason", *readonly_fields[3:]]
    date_hierarchy = "due_at"

    def has_add_permission(self, request):
        return False  # runs are made by activations only


class TaskReassignForm(admin.helpers.ActionForm):
    assignee = forms.ModelChoiceField(
        queryset=get_user_model().objects.filter(is_staff=True, is_active=True),
        required=False,
        label="Reassign to",
    )


@admin.register(Task)
class TaskAdmin(admin.ModelAdmin):
    list_display = ["title", "account", "assignee", "due_date", "priority", "status"]
    list_filter = ["status", "priority", "due_date"]
    search_fields = ["title", "account__name", "assignee__username"]
    list_select_related = ["account", "assignee"]
    autocomplete_fields = ["account", "assignee"]
    readonly_fields = ["activation", "step_run", "created_at", "updated_at", "completed_at"]
    action_form = TaskReassignForm
    actions = ["reassign"]

    @admin.action(description="Reassign the selected tasks", permissions=["change"])
    def reassign(self, request, queryset):
        user_id = request.POST.get("assignee")
        user = get_user_model().objects.filter(pk=user_id).first() if user_id else None
        if user is None:
            self.message_user(request, "Choose who gets the tasks.", messages.ERROR)
            return
        for task in queryset:
            task_update(task=task, data={"assignee": user})
        self.message_user(request, f"{queryset.count()} task(s) reassigned to {user}.")


@admin.register(Campaign)
class CampaignAdmin(SimpleHistoryAdmin):
    list_display = ["name", "channel", "is_pressure", "external_id"]
    list_filter = ["channel", "is_pressure"]
    search_fields = ["name", "external_id"]


@admin.register(CampaignMembership)
class CampaignMembershipAdmin(admin.ModelAdmin):
    list_display = ["campaign", "account", "contact", "status", "source", "why", "updated_at"]
    list_filter = ["status", "source", "campaign"]
    search_fields = ["account__name", "contact__email", "campaign__name"]
    list_select_related = ["campaign", "account", "contact"]
    autocomplete_fields = ["account", "contact"]
    readonly_fields = ["activation", "updated_at"]


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(SimpleHistoryAdmin):
    list_display = ["name", "url", "active", "created_at"]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    list_filter = ["active"]
    search_fields = ["name", "url"]


class DeliveryAttemptInline(admin.TabularInline):
    model = DeliveryAttempt
    extra = 0
    can_delete = False
    readonly_fields = ["attempted_at", "status_code", "error", "duration_ms"]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = ["id", "event", "url", "status", "attempts", "next_attempt_at", "last_error"]
    list_filter = ["status", "event"]
    search_fields = ["url", "idempotency_key", "event"]
    list_select_related = ["endpoint"]
    readonly_fields = [
        "endpoint",
        "url",
        "event",
        "payload",
        "idempotency_key",
        "status",
        "attempts",
        "next_attempt_at",
        "last_error",
        "created_at",
        "delivered_at",
    ]
    inlines = [DeliveryAttemptInline]
    actions = ["requeue"]

    def has_add_permission(self, request):
        return False

    @admin.action(description="Requeue: send again now", permissions=["change"])
    def requeue(self, request, queryset):
        count = delivery_requeue(delivery_ids=queryset.values_list("pk", flat=True))
        self.message_user(request, f"{count} delivery(ies) requeued.")


@admin.register(AccountExperience)
class AccountExperienceAdmin(admin.ModelAdmin):
    list_display = ["account", "variant", "updated_at"]
    search_fields = ["account__name", "variant"]
    list_select_related = ["account"]
    autocomplete_fields = ["account"]
    readonly_fields = ["activation", "updated_at"]


@admin.register(ExperienceDefault)
class ExperienceDefaultAdmin(SimpleHistoryAdmin):
    list_display = ["tier", "industry", "variant"]
    list_filter = ["tier"]
    search_fields = ["industry", "variant"]
    list_select_related = ["tier"]

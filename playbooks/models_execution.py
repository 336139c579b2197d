"""The execution layer's models: step runs, tasks, campaigns, webhooks, personalization.

Kept apart from the playbook definitions (`models.py`, which re-exports these) so that
the two halves of the app read on their own: what a playbook is, and what it did.
"""

from django.conf import settings
from django.db import models
from simple_history.models import HistoricalRecords

from accounts.models import Account, Contact, Tier

from .choices_execution import (
    CampaignChannel,
    DeliveryStatus,
    MembershipSource,
    MembershipStatus,
    StepRunStatus,
    TaskPriority,
    TaskStatus,
)

__all__ = [
    "AccountExperience",
    "Campaign",
    "CampaignMembership",
    "Delivery",
    "DeliveryAttempt",
    "ExperienceDefault",
    "StepRun",
    "Task",
    "WebhookEndpoint",
]


class StepRun(models.Model):
    """One step of one activation: the claim that makes a step take effect once."""

    activation = models.ForeignKey(
        "playbooks.Activation", on_delete=models.CASCADE, related_name="step_runs"
    )
    step_index = models.PositiveSmallIntegerField(help_text="The step's place in the version.")
    kind = models.CharField(max_length=20)
    config = models.JSONField(default=dict, blank=True, help_text="As published in the version.")
    status = models.CharField(
        max_length=10, choices=StepRunStatus.choices, default=StepRunStatus.PENDING
    )
    due_at = models.DateTimeField()
    reason = models.CharField(max_length=255, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    result = models.JSONField(default=dict, blank=True)
    deferred_since = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["activation", "step_index"]
        constraints = [
            models.UniqueConstraint(
                fields=["activation", "step_index"],
                name="%(app_label)s_%(class)s_one_per_step",
                violation_error_message="This step already has a run for this activation.",
            ),
        ]
        indexes = [
            # The sweeper: pending or deferred runs that are due.
            models.Index(fields=["status", "due_at"], name="playbooks_steprun_due"),
            # The touch cap: an account's recent campaign enrollments (via activation).
            models.Index(fields=["kind", "status", "finished_at"], name="playbooks_steprun_touch"),
        ]

    def __str__(self):
        return f"{self.activation_id}#{self.step_index} {self.kind} {self.status}"


class Task(models.Model):
    """Work for a person on an account, made by a playbook step or by hand."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="tasks")
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="abx_tasks",
    )
    title = models.CharField(max_length=255)
    body = models.TextField(blank=True)
    due_date = models.DateField(null=True, blank=True)
    priority = models.CharField(
        max_length=10, choices=TaskPriority.choices, default=TaskPriority.NORMAL
    )
    status = models.CharField(max_length=10, choices=TaskStatus.choices, default=TaskStatus.OPEN)
    snoozed_until = models.DateField(null=True, blank=True)
    activation = models.ForeignKey(
        "playbooks.Activation",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="tasks",
    )
    step_run = models.OneToOneField(
        StepRun,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="task",
        help_text="The step that made it: one task per step run, however often it ran.",
    )
    note = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["due_date", "-priority", "id"]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(status=TaskStatus.SNOOZED)
                | models.Q(snoozed_until__isnull=False),
                name="%(app_label)s_%(class)s_snooze_has_date",
                violation_error_message="A snoozed task needs the date it wakes up.",
            ),
        ]
        indexes = [
            # The inbox and the digest: a person's tasks by status and due date.
            models.Index(fields=["assignee", "status", "due_date"], name="playbooks_task_inbox"),
            # The account page and the timeline: an account's tasks.
            models.Index(fields=["account", "created_at"], name="playbooks_task_account"),
        ]

    def __str__(self):
        return self.title


class Campaign(models.Model):
    """A marketing or sales campaign whose audience the playbooks shape."""

    name = models.CharField(max_length=200, unique=True)
    channel = models.CharField(max_length=20, choices=CampaignChannel.choices)
    is_pressure = models.BooleanField(
        default=False,
        help_text="Pushes to buy (nurture, promotion): accounts in a retention play leave it.",
    )
    external_id = models.CharField(max_length=200, blank=True, help_text="Its id in the tool.")
    description = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class CampaignMembership(models.Model):
    """An account (or one of its people) in a campaign's audience, and why."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="memberships")
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")
    contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    status = models.CharField(max_length=10, choices=MembershipStatus.choices)
    source = models.CharField(
        max_length=10, choices=MembershipSource.choices, default=MembershipSource.MANUAL
    )
    why = models.CharField(max_length=255, blank=True)
    activation = models.ForeignKey(
        "playbooks.Activation",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The play that enrolled it, for memberships made by playbooks.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["campaign", "account"]
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "account"],
                condition=models.Q(contact__isnull=True),
                name="%(app_label)s_%(class)s_one_per_account",
                violation_error_message="This account is already in this campaign.",
            ),
            models.UniqueConstraint(
                fields=["campaign", "contact"],
                condition=models.Q(contact__isnull=False),
                name="%(app_label)s_%(class)s_one_per_contact",
                violation_error_message="This person is already in this campaign.",
            ),
        ]
        indexes = [
            # The audience API: a campaign's members by status.
            models.Index(fields=["campaign", "status"], name="playbooks_member_audience"),
            # Recomputing an account's memberships.
            models.Index(fields=["account", "campaign"], name="playbooks_member_account"),
        ]

    def __str__(self):
        return f"{self.account_id} in {self.campaign_id}: {self.status}"


class WebhookEndpoint(models.Model):
    """A receiver of outbound events (a CRM sync, a chat room), with its signing secret."""

    name = models.CharField(max_length=100, unique=True)
    url = models.URLField(max_length=500)
    secret = models.CharField(
        max_length=200, help_text="Signs each delivery (Standard Webhooks, HMAC-SHA256)."
    )
    event_types = models.JSONField(
        default=list, blank=True, help_text="Events sent here; empty: every event."
    )
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords(excluded_fields=["secret"])

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class Delivery(models.Model):
    """An outbound message in the outbox, written in the transaction of its event."""

    endpoint = models.ForeignKey(
        WebhookEndpoint, null=True, blank=True, on_delete=models.CASCADE, related_name="deliveries"
    )
    url = models.URLField(
        max_length=500, help_text="Where it goes (the endpoint's, or a chat URL)."
    )
    event = models.CharField(max_length=50)
    payload = models.JSONField()
    idempotency_key = models.CharField(
        max_length=100, help_text="The same key for a repeat of the same effect."
    )
    status = models.CharField(
        max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    last_error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField()
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "deliveries"
        constraints = [
            # A step that runs twice (a worker killed after sending) queues one message.
            models.UniqueConstraint(
                fields=["url", "event", "idempotency_key"],
                name="%(app_label)s_%(class)s_once",
                violation_error_message="This message is already in the outbox.",
            ),
        ]
        indexes = [
            # The delivery sweep: pending messages that are due.
            models.Index(fields=["status", "next_attempt_at"], name="playbooks_delivery_due"),
        ]

    def __str__(self):
        return f"{self.event} -> {self.url} ({self.status})"


class DeliveryAttempt(models.Model):
    """One try at sending a delivery: what came back, or what went wrong."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempt_log")
    attempted_at = models.DateTimeField()
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["delivery", "attempted_at", "id"]

    def __str__(self):
        return f"{self.delivery_id} at {self.attempted_at:%Y-%m-%d %H:%M:%S}: {self.status_code}"


class AccountExperience(models.Model):
    """The website experience variant a `personalize` step chose for an account."""

    account = models.OneToOneField(Account, on_delete=models.CASCADE, related_name="experience")
    variant = models.CharField(max_length=100)
    content = models.JSONField(default=dict, blank=True)
    activation = models.ForeignKey(
        "playbooks.Activation", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["account"]

    def __str__(self):
        return f"{self.account_id}: {self.variant}"


class ExperienceDefault(models.Model):
    """The variant for accounts no play personalized, by tier and industry (blank: any)."""

    tier = models.ForeignKey(
        Tier, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    industry = models.CharField(max_length=100, blank=True)
    variant = models.CharField(max_length=100)
    content = models.JSONField(default=dict, blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["tier__rank", "industry"]
        constraints = [
            models.UniqueConstraint(
                fields=["tier", "industry"],
                name="%(app_label)s_%(class)s_one_per_tier_industry",
                nulls_distinct=False,
                violation_error_message="There is already a default for this tier and industry.",
            ),
        ]

    def __str__(self):
        return f"{self.tier or 'any tier'} / {self.industry or 'any industry'}: {self.variant}"

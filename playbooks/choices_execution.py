"""Choices of the execution layer (step runs, tasks, campaigns, deliveries)."""

from django.db import models


class StepRunStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"
    SKIPPED = "skipped", "Skipped"
    DEFERRED = "deferred", "Deferred"
    CANCELLED = "cancelled", "Cancelled"


# Runs the sweeper still has to do something about.
WAITING_STATUSES = (StepRunStatus.PENDING, StepRunStatus.DEFERRED)


class StepSkipReason(models.TextChoices):
    TOUCH_CAP = "touch_cap", "Over the touch cap for too long"
    DO_NOT_CONTACT = "do_not_contact", "The account is do-not-contact"
    MANUAL_TIER = "manual_tier", "The tier was set by hand"
    EXITED = "exited", "The activation ended"


class TaskStatus(models.TextChoices):
    OPEN = "open", "Open"
    SNOOZED = "snoozed", "Snoozed"
    DONE = "done", "Done"
    DISMISSED = "dismissed", "Dismissed"


OPEN_TASK_STATUSES = (TaskStatus.OPEN, TaskStatus.SNOOZED)


class TaskPriority(models.TextChoices):
    LOW = "low", "Low"
    NORMAL = "normal", "Normal"
    HIGH = "high", "High"


class CampaignChannel(models.TextChoices):
    EMAIL = "email", "Email"
    ADS = "ads", "Ads"
    EVENT = "event", "Event"
    DIRECT_MAIL = "direct_mail", "Direct mail"
    SEQUENCE = "sequence", "Sales sequence"


class MembershipStatus(models.TextChoices):
    ENROLLED = "enrolled", "Enrolled"
    SUPPRESSED = "suppressed", "Suppressed"
    REMOVED = "removed", "Removed"


class MembershipSource(models.TextChoices):
    MANUAL = "manual", "Added by hand or by import"
    PLAYBOOK = "playbook", "Added by a playbook"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    DELIVERED = "delivered", "Delivered"
    DEAD = "dead", "Dead-lettered"


class WebhookEvent(models.TextChoices):
    ACTIVATION_STARTED = "activation.started", "An activation started"
    ACTIVATION_EXITED = "activation.exited", "An activation ended"
    TASK_CREATED = "task.created", "A task was created"
    STAGE_CHANGED = "account.stage_changed", "An account's stage changed"
    TIER_CHANGED = "account.tier_changed", "An account's tier changed"
    SCORE_BAND_CHANGED = "score.band_changed", "A score's band changed"
    STEP_WEBHOOK = "playbook.step", "A playbook's webhook step"
    CHAT_MESSAGE = "chat.message", "A chat notification"

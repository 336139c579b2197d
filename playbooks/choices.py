from django.db import models


class Motion(models.TextChoices):
    NEW_LOGO = "new_logo", "New logo"
    EXPANSION = "expansion", "Expansion"
    RETENTION = "retention", "Retention"
    ADVOCACY = "advocacy", "Advocacy"
    PARTNER = "partner", "Partner"


class PlaybookStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    ACTIVE = "active", "Active"
    PAUSED = "paused", "Paused"
    ARCHIVED = "archived", "Archived"


class ReentryPolicy(models.TextChoices):
    ONCE = "once", "Once ever"
    AFTER_COOLDOWN = "after_cooldown", "Again after a cooldown"
    EVERY_ENTRY = "every_entry", "Every time it enters"


class ExitPolicy(models.TextChoices):
    ON_UNMATCH = "on_unmatch", "When it no longer matches"
    ON_COMPLETION = "on_completion", "When its last step is done"
    MANUAL = "manual", "Manually"


class OutcomeKind(models.TextChoices):
    DEAL_WON = "deal_won", "A deal won"
    EXPANSION = "expansion", "An ARR expansion"
    CHURN = "churn", "Churn (ARR to zero)"
    STAGE_REACHED = "stage_reached", "A stage reached"


class Operator(models.TextChoices):
    EQ = "eq", "equals"
    NE = "ne", "does not equal"
    GT = "gt", "is greater than"
    GTE = "gte", "is at least"
    LT = "lt", "is less than"
    LTE = "lte", "is at most"
    BETWEEN = "between", "is between"
    IN = "in", "is one of"
    NOT_IN = "not_in", "is none of"
    IS_SET = "is_set", "has a value"
    IS_NOT_SET = "is_not_set", "has no value"
    CONTAINS = "contains", "contains"


class StepKind(models.TextChoices):
    CREATE_TASK = "create_task", "Create a task"
    NOTIFY = "notify", "Notify"
    WEBHOOK = "webhook", "Call a webhook"
    ENROLL_CAMPAIGN = "enroll_campaign", "Enroll in a campaign"
    SUPPRESS_CAMPAIGN = "suppress_campaign", "Suppress from a campaign"
    SET_STAGE = "set_stage", "Set the stage"
    SET_TIER = "set_tier", "Set the tier"
    PERSONALIZE = "personalize", "Personalize the website"


class ActivationStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    HOLDOUT = "holdout", "Holdout (control group)"
    EXITED = "exited", "Exited"
    COMPLETED = "completed", "Completed"
    SKIPPED = "skipped", "Skipped"


# An activation is open while it is active or held out: at most one per playbook and account.
OPEN_STATUSES = (ActivationStatus.ACTIVE, ActivationStatus.HOLDOUT)


class SkipReason(models.TextChoices):
    CAPACITY = "capacity", "The playbook was at capacity"
    BLOCKED = "blocked", "Another open play blocks this motion"
    REENTRY = "reentry", "The re-entry policy allows one entry"
    COOLDOWN = "cooldown", "Still in the re-entry cooldown"


class ExitReason(models.TextChoices):
    UNMATCHED = "unmatched", "No longer matches"
    MERGED = "merged", "The account was merged"
    MANUAL = "manual", "Exited by hand"
    PAUSED = "paused", "The playbook was archived"


class RunOrigin(models.TextChoices):
    SCHEDULE = "schedule", "Schedule"
    INGEST = "ingest", "After ingest"
    MANUAL = "manual", "By hand"


class JobStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"

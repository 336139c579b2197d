from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from simple_history.models import HistoricalRecords

from accounts.choices import Stage
from accounts.models import Account, Tier

from .choices import (
    OPEN_STATUSES,
    ActivationStatus,
    ExitPolicy,
    JobStatus,
    Motion,
    Operator,
    OutcomeKind,
    PlaybookStatus,
    ReentryPolicy,
    RunOrigin,
    StepKind,
)

MAX_HOLDOUT_PERCENT = 50


class Playbook(models.Model):
    """Rules of engagement: when accounts enter (triggers) and what happens (steps)."""

    name = models.CharField(max_length=200, unique=True)
    description = models.TextField(blank=True)
    motion = models.CharField(max_length=20, choices=Motion.choices)
    teams = models.ManyToManyField(
        "auth.Group", blank=True, related_name="playbooks", help_text="The teams involved."
    )
    tiers = models.ManyToManyField(
        Tier, blank=True, related_name="playbooks", help_text="Empty: every tier."
    )
    stages = models.JSONField(
        default=list, blank=True, help_text="Lifecycle stages it applies to; empty: every stage."
    )
    status = models.CharField(
        max_length=10, choices=PlaybookStatus.choices, default=PlaybookStatus.DRAFT
    )
    priority = models.PositiveSmallIntegerField(
        default=100,
        validators=[MinValueValidator(1)],
        help_text="1 is the highest: it takes capacity-limited accounts first.",
    )
    reentry_policy = models.CharField(
        max_length=20, choices=ReentryPolicy.choices, default=ReentryPolicy.ONCE
    )
    cooldown_days = models.PositiveIntegerField(
        null=True, blank=True, help_text="With 'again after a cooldown': days since the last start."
    )
    holdout_percent = models.PositiveSmallIntegerField(
        default=0,
        validators=[MaxValueValidator(MAX_HOLDOUT_PERCENT)],
        help_text="0-50: this share of entering accounts forms a control group (no steps run).",
    )
    capacity = models.PositiveIntegerField(
        null=True, blank=True, help_text="Most active activations at once; empty: unlimited."
    )
    exit_policy = models.CharField(
        max_length=20, choices=ExitPolicy.choices, default=ExitPolicy.ON_UNMATCH
    )
    blocked_motions = models.JSONField(
        default=list,
        blank=True,
        help_text="While this play is open on an account, plays of these motions do not start.",
    )
    outcome_kind = models.CharField(
        max_length=20, choices=OutcomeKind.choices, default=OutcomeKind.DEAL_WON
    )
    outcome_stage = models.CharField(
        max_length=20, choices=Stage.choices, blank=True, help_text="For 'a stage reached'."
    )
    outcome_window_days = models.PositiveIntegerField(
        default=90, help_text="The outcome counts when it happens within this many days."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["priority", "name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(holdout_percent__lte=MAX_HOLDOUT_PERCENT),
                name="%(app_label)s_%(class)s_holdout_max_50",
                violation_error_message="The holdout is at most 50 percent.",
            ),
            models.CheckConstraint(
                condition=models.Q(priority__gte=1),
                name="%(app_label)s_%(class)s_priority_positive",
                violation_error_message="Priority starts at 1.",
            ),
            models.CheckConstraint(
                condition=models.Q(outcome_window_days__gte=1),
                name="%(app_label)s_%(class)s_outcome_window_positive",
                violation_error_message="The outcome window is at least one day.",
            ),
            models.CheckConstraint(
                condition=~models.Q(reentry_policy=ReentryPolicy.AFTER_COOLDOWN)
                | models.Q(cooldown_days__isnull=False, cooldown_days__gte=1),
                name="%(app_label)s_%(class)s_cooldown_has_days",
                violation_error_message="A cooldown re-entry policy needs its days (at least 1).",
            ),
        ]
        # The evaluator reads active playbooks in priority order.
        indexes = [models.Index(fields=["status", "priority"], name="playbooks_pb_status_prio")]

    def __str__(self):
        return self.name

    def clean(self):
        errors = {}
        stages = self.stages
        if not isinstance(stages, list) or not all(isinstance(s, str) for s in stages):
            errors["stages"] = "Give a list of lifecycle stages."
        elif unknown := sorted(set(stages) - set(Stage.values)):
            errors["stages"] = f"Not a lifecycle stage: {', '.join(unknown)}."
        motions = self.blocked_motions
        if not isinstance(motions, list) or not all(isinstance(m, str) for m in motions):
            errors["blocked_motions"] = "Give a list of motions."
        elif unknown := sorted(set(motions) - set(Motion.values)):
            errors["blocked_motions"] = f"Not a motion: {', '.join(unknown)}."
        if self.reentry_policy == ReentryPolicy.AFTER_COOLDOWN and not self.cooldown_days:
            errors["cooldown_days"] = "A cooldown re-entry policy needs its days (at least 1)."
        if self.outcome_kind == OutcomeKind.STAGE_REACHED and not self.outcome_stage:
            errors["outcome_stage"] = "Say which stage the outcome is."
        if self.outcome_window_days is not None and self.outcome_window_days < 1:
            errors["outcome_window_days"] = "The outcome window is at least one day."
        if errors:
            raise ValidationError(errors)


class Trigger(models.Model):
    """A way into a playbook: it matches when all its conditions do."""

    playbook = models.ForeignKey(Playbook, on_delete=models.CASCADE, related_name="triggers")
    name = models.CharField(max_length=200, blank=True)
    order = models.PositiveSmallIntegerField(default=0)

    history = HistoricalRecords()

    class Meta:
        ordering = ["playbook", "order", "id"]

    def __str__(self):
        return self.name or f"Trigger {self.order + 1}"


class Condition(models.Model):
    """`feature(params) operator value`, chosen from the feature catalog; never eval'ed."""

    trigger = models.ForeignKey(Trigger, on_delete=models.CASCADE, related_name="conditions")
    feature = models.CharField(max_length=100, help_text="A key of the feature catalog.")
    params = models.JSONField(default=dict, blank=True, help_text="The feature's parameters.")
    operator = models.CharField(max_length=12, choices=Operator.choices)
    value = models.JSONField(null=True, blank=True)
    order = models.PositiveSmallIntegerField(default=0)

    history = HistoricalRecords()

    class Meta:
        ordering = ["trigger", "order", "id"]

    def __str__(self):
        return f"{self.feature} {self.operator} {self.value!r}"

    def clean(self):
        from .compiler import condition_clean

        self.params, self.value = condition_clean(
            feature=self.feature, params=self.params, operator=self.operator, value=self.value
        )


class Step(models.Model):
    """One action of a playbook's execution plan, run after an optional delay."""

    playbook = models.ForeignKey(Playbook, on_delete=models.CASCADE, related_name="steps")
    order = models.PositiveSmallIntegerField(default=0)
    kind = models.CharField(max_length=20, choices=StepKind.choices)
    delay_days = models.PositiveIntegerField(default=0)
    config = models.JSONField(default=dict, blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["playbook", "order", "id"]

    def __str__(self):
        return f"{self.order + 1}. {self.get_kind_display()}"

    def clean(self):
        from .steps import step_config_clean

        self.config = step_config_clean(kind=self.kind, config=self.config)


class PlaybookVersion(models.Model):
    """A published, frozen snapshot of a playbook; evaluation runs versions only."""

    playbook = models.ForeignKey(Playbook, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    snapshot = models.JSONField()
    published_at = models.DateTimeField()
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    note = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["playbook", "-number"]
        constraints = [
            models.UniqueConstraint(
                fields=["playbook", "number"],
                name="%(app_label)s_%(class)s_unique_number",
                violation_error_message="This version number already exists.",
            ),
        ]

    def __str__(self):
        return f"{self.playbook} v{self.number}"


class PlaybookMembership(models.Model):
    """An account in a playbook's matching set as of the last evaluation."""

    playbook = models.ForeignKey(Playbook, on_delete=models.CASCADE, related_name="memberships")
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")
    since = models.DateTimeField()

    class Meta:
        ordering = ["playbook", "account"]
        constraints = [
            models.UniqueConstraint(
                fields=["playbook", "account"],
                name="%(app_label)s_%(class)s_unique_member",
                violation_error_message="This account is already a member.",
            ),
        ]

    def __str__(self):
        return f"{self.account_id} in {self.playbook_id}"


class Activation(models.Model):
    """An account's entry into a playbook, with the evidence of why it entered."""

    playbook = models.ForeignKey(Playbook, on_delete=models.CASCADE, related_name="activations")
    # RESTRICT: a version with activations stays, unless its whole playbook is deleted.
    version = models.ForeignKey(
        PlaybookVersion, on_delete=models.RESTRICT, related_name="activations"
    )
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="activations")
    trigger_index = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Which trigger of the version matched (0 = first)."
    )
    status = models.CharField(max_length=10, choices=ActivationStatus.choices)
    is_holdout = models.BooleanField(
        default=False, help_text="Drawn into the control group; kept after it ends."
    )
    evidence = models.JSONField(default=dict, blank=True)
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    reason = models.CharField(max_length=20, blank=True, help_text="Why it was skipped or ended.")

    class Meta:
        ordering = ["-started_at", "-id"]
        constraints = [
            # Two evaluators running at once cannot open the same play twice on an account.
            models.UniqueConstraint(
                fields=["playbook", "account"],
                condition=models.Q(status__in=OPEN_STATUSES),
                name="%(app_label)s_%(class)s_one_open",
                violation_error_message="This account already has an open activation here.",
            ),
            models.CheckConstraint(
                condition=models.Q(ended_at__isnull=True)
                | models.Q(ended_at__gte=models.F("started_at")),
                name="%(app_label)s_%(class)s_ends_after_start",
            ),
        ]
        indexes = [
            # Re-entry, capacity and effectiveness: a playbook's activations by status.
            models.Index(fields=["playbook", "status"], name="playbooks_act_pb_status"),
            # The account's open plays (in_playbook, motion blocking, the account page).
            models.Index(fields=["account", "status"], name="playbooks_act_acct_status"),
        ]

    def __str__(self):
        return f"{self.playbook_id}:{self.account_id} {self.status}"


class Backtest(models.Model):
    """A backtest of a playbook over a past range, run in the background when long."""

    playbook = models.ForeignKey(Playbook, on_delete=models.CASCADE, related_name="backtests")
    start = models.DateField()
    end = models.DateField()
    status = models.CharField(max_length=10, choices=JobStatus.choices, default=JobStatus.QUEUED)
    result = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(start__lte=models.F("end")),
                name="%(app_label)s_%(class)s_start_before_end",
                violation_error_message="The range starts before it ends.",
            ),
        ]

    def __str__(self):
        return f"Backtest of {self.playbook} {self.start} - {self.end}"


class EvaluationRun(models.Model):
    """One evaluation of every active playbook: what entered, exited, was skipped, failed."""

    origin = models.CharField(max_length=10, choices=RunOrigin.choices, default=RunOrigin.SCHEDULE)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    playbooks = models.PositiveIntegerField(default=0)
    entered = models.PositiveIntegerField(default=0)
    exited = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)
    held_out = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]

    def __str__(self):
        return f"Evaluation {self.started_at:%Y-%m-%d %H:%M}"


from .models_execution import *  # noqa: E402,F403
from .models_tiers import *  # noqa: E402,F403

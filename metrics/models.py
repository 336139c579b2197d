from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from simple_history.models import HistoricalRecords

from accounts.choices import Stage
from accounts.models import Account, Tier

from .choices import Aggregate, ComponentSource, Normalisation

SCORE = {"max_digits": 5, "decimal_places": 2}
MONEY = {"max_digits": 16, "decimal_places": 2}


class ScoreModel(models.Model):
    """A scoring model (fit, intent, engagement, health, ...): weighted components, bands."""

    key = models.SlugField(
        max_length=50, unique=True, help_text="Used by features and the API, e.g. health."
    )
    name = models.CharField(max_length=100)
    description = models.TextField(blank=True)
    is_active = models.BooleanField(default=True, help_text="Inactive models are not computed.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["key"]

    def __str__(self):
        return self.name


class ScoreBand(models.Model):
    """A named range of a model's score: the highest band whose minimum is reached wins."""

    model = models.ForeignKey(ScoreModel, on_delete=models.CASCADE, related_name="bands")
    name = models.SlugField(max_length=30, help_text="e.g. green, yellow, red.")
    min_score = models.DecimalField(**SCORE, help_text="The band starts at this score.")

    history = HistoricalRecords()

    class Meta:
        ordering = ["model", "-min_score"]
        constraints = [
            models.UniqueConstraint(
                fields=["model", "name"],
                name="%(app_label)s_%(class)s_unique_name",
                violation_error_message="This model already has a band with this name.",
            ),
            models.UniqueConstraint(
                fields=["model", "min_score"],
                name="%(app_label)s_%(class)s_unique_min",
                violation_error_message="Two bands of a model cannot start at the same score.",
            ),
            models.CheckConstraint(
                condition=models.Q(min_score__gte=0, min_score__lte=100),
                name="%(app_label)s_%(class)s_min_in_range",
                violation_error_message="A band starts between 0 and 100.",
            ),
        ]

    def __str__(self):
        return f"{self.name} (>= {self.min_score})"


class ScoreComponent(models.Model):
    """One weighted part of a score model: a raw value, mapped to 0-100 points.

    The raw value is a catalog feature (with its parameters) or an aggregate of signals
    over a window of whole UTC days, optionally decayed (half-life in days), weighted by
    signal type and by the buying role of the contact who sent it.
    """

    model = models.ForeignKey(ScoreModel, on_delete=models.CASCADE, related_name="components")
    name = models.CharField(max_length=100)
    position = models.PositiveSmallIntegerField(default=0)
    source = models.CharField(
        max_length=10, choices=ComponentSource.choices, default=ComponentSource.FEATURE
    )
    feature = models.CharField(
        max_length=50, blank=True, help_text="Feature key (feature components)."
    )
    feature_params = models.JSONField(
        default=dict, blank=True, help_text='e.g. {"signal_types": ["web.visit"], "days": 30}'
    )
    signal_types = models.JSONField(
        default=list, blank=True, help_text="Signal type keys (signal components)."
    )
    aggregate = models.CharField(
        max_length=10, choices=Aggregate.choices, default=Aggregate.COUNT, blank=True
    )
    window_days = models.PositiveSmallIntegerField(
        default=30, validators=[MinValueValidator(1), MaxValueValidator(730)]
    )
    half_life_days = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1)],
        help_text="Exponential decay: a signal this many days old counts half.",
    )
    type_weights = models.JSONField(
        default=dict,
        blank=True,
        help_text="Points per signal by type for the 'points' aggregate, overriding the "
        'types\' default weights, e.g. {"meeting.held": 20}.',
    )
    role_multipliers = models.JSONField(
        default=dict,
        blank=True,
        help_text='Multiplier by the contact\'s buying role, e.g. {"decision_maker": 2}.',
    )
    normalisation = models.CharField(
        max_length=10, choices=Normalisation.choices, default=Normalisation.LINEAR
    )
    lower = models.FloatField(
        null=True, blank=True, help_text="Linear: the raw value worth 0 points."
    )
    upper = models.FloatField(
        null=True,
        blank=True,
        help_text="Linear: the raw value worth 100 points (below `lower` to reward less).",
    )
    steps = models.JSONField(
        default=list,
        blank=True,
        help_text="Steps: [[threshold, points], ...]; the highest threshold reached wins; "
        "below all, 0. Mapping (text, choice, yes/no features): "
        '{"value": points, "default": points}.',
    )
    weight = models.DecimalField(
        max_digits=6, decimal_places=2, default=1, validators=[MinValueValidator(0)]
    )

    history = HistoricalRecords()

    class Meta:
        ordering = ["model", "position", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(weight__gte=0),
                name="%(app_label)s_%(class)s_weight_not_negative",
                violation_error_message="A weight cannot be negative.",
            ),
        ]

    def __str__(self):
        return self.name

    def clean(self):
        from .scoring import component_errors

        errors = component_errors(self)
        if errors:
            from django.core.exceptions import ValidationError

            raise ValidationError(errors)


class AccountScore(models.Model):
    """An account's current score on one model, with the breakdown that explains it."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="scores")
    model = models.ForeignKey(ScoreModel, on_delete=models.CASCADE, related_name="scores")
    score = models.DecimalField(
        **SCORE, null=True, blank=True, help_text="Empty when no component had a value."
    )
    band = models.CharField(max_length=30, blank=True)
    breakdown = models.JSONField(default=dict, blank=True)
    digest = models.CharField(
        max_length=32,
        blank=True,
        editable=False,
        help_text="A hash of the score, band and breakdown as a recompute last wrote them: "
        "a recompute compares it instead of the breakdown, and rewrites only what changed.",
    )
    computed_at = models.DateTimeField()

    class Meta:
        ordering = ["account", "model"]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "model"],
                name="%(app_label)s_%(class)s_one_per_model",
            ),
        ]
        indexes = [
            # Score features and scoreboards: every account's score on one model.
            models.Index(fields=["model", "account"], name="metrics_score_model_acct"),
        ]

    def __str__(self):
        return f"{self.account_id} {self.model_id}: {self.score}"


class AccountSnapshot(models.Model):
    """An account's state at the end of a UTC day: scores, bands, ARR, pipeline, stage, tier.

    Written only when something changed since the account's previous snapshot: a day
    without a row means "as the day before".
    """

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="snapshots")
    day = models.DateField()
    scores = models.JSONField(default=dict, blank=True, help_text="Model key -> score.")
    bands = models.JSONField(default=dict, blank=True, help_text="Model key -> band.")
    arr = models.DecimalField(**MONEY, default=0)
    pipeline = models.DecimalField(**MONEY, default=0)
    stage = models.CharField(max_length=20, choices=Stage.choices)
    tier = models.ForeignKey(
        Tier, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["account", "-day"]
        constraints = [
            # Its index, (account, day), serves "the snapshot on or before a date".
            models.UniqueConstraint(
                fields=["account", "day"],
                name="%(app_label)s_%(class)s_one_per_day",
            ),
        ]

    def __str__(self):
        return f"{self.account_id} {self.day}"

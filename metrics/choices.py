from django.db import models


class Normalisation(models.TextChoices):
    """How a component maps its raw value to 0-100 points."""

    LINEAR = "linear", "Linear between bounds"
    STEPS = "steps", "Steps (thresholds)"


class Aggregate(models.TextChoices):
    """What a signal component computes over its window."""

    COUNT = "count", "Count"
    SUM = "sum", "Sum of values"
    AVERAGE = "average", "Average value"
    LATEST = "latest", "Latest value"


class ComponentSource(models.TextChoices):
    FEATURE = "feature", "A catalog feature"
    SIGNALS = "signals", "A signal aggregate"

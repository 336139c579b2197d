from django.db import models


class Normalisation(models.TextChoices):
    """How a component maps its raw value to 0-100 points."""

    LINEAR = "linear", "Linear between bounds"
    STEPS = "steps", "Steps (thresholds)"
    MAPPING = "mapping", "Mapping (value -> points)"


class Aggregate(models.TextChoices):
    """What a signal component computes over its window."""

    COUNT = "count", "Count"
    SUM = "sum", "Sum of values"
    AVERAGE = "average", "Average value"
    LATEST = "latest", "Latest value"
    POINTS = "points", "Points (weight per signal type)"


class ComponentSource(models.TextChoices):
    FEATURE = "feature", "A catalog feature"
    SIGNALS = "signals", "A signal aggregate"

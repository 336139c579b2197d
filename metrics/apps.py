from django.apps import AppConfig


class MetricsConfig(AppConfig):
    """Measurement: feature catalog, scores, snapshots, revenue metrics, scoreboards."""

    name = "metrics"

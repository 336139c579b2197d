from django.apps import AppConfig


class MetricsConfig(AppConfig):
    """Measurement: feature catalog, scores, snapshots, revenue metrics, scoreboards."""

    name = "metrics"

    def ready(self):
        # Scores on the account page, score bands on the scoreboard, the health column
        # and filter of the account list.
        from . import panels

        panels.register()

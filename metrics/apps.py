from django.apps import AppConfig


class MetricsConfig(AppConfig):
    """Measurement: feature catalog, scores, snapshots, revenue metrics, scoreboards."""

    name = "metrics"

    def ready(self):
        # The built-in features register themselves when the catalog is imported.
        # Demo scores and snapshots, after the demo signals (accounts never imports metrics).
        from accounts.demo import register_phase

        from . import features  # noqa: F401
        from .demo import seed_scores

        register_phase(seed_scores)

        # Scores on the account page, score bands on the scoreboard, the health column
        # and filter of the account list.
        from . import panels

        panels.register()

from django.apps import AppConfig


class MetricsConfig(AppConfig):
    """Measurement: feature catalog, scores, snapshots, revenue metrics, scoreboards."""

    name = "metrics"

    def ready(self):
        # The built-in features register themselves when the catalog is imported. Demo
        # scores and snapshots, and a generated data set's scores, come after the signals
        # (accounts never imports metrics).
        from accounts.dataset import register_phase as register_dataset_phase
        from accounts.demo import register_phase as register_demo_phase

        from . import features  # noqa: F401
        from .dataset import scores_phase
        from .demo import seed_scores

        register_demo_phase(seed_scores)
        register_dataset_phase(scores_phase)

        # Scores on the account page, score bands on the scoreboard, the health column
        # and filter of the account list.
        from . import panels

        panels.register()

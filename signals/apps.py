from django.apps import AppConfig


class SignalsConfig(AppConfig):
    """Signals: sources, signal types, ingestion, identity review, rollups."""

    name = "signals"

    def ready(self):
        # The signal timeline panel of the account page.
        from . import panels

        panels.register()

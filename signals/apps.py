from django.apps import AppConfig


class SignalsConfig(AppConfig):
    """Signals: sources, signal types, ingestion, identity review, rollups."""

    name = "signals"

    def ready(self):
        # The signal timeline panel of the account page.
        from . import panels

        panels.register()

        # The signal layer's part of an account merge (accounts never imports signals).
        from accounts.services import register_merge_hook

        from .merge import HOOK

        register_merge_hook(HOOK)

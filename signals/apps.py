from django.apps import AppConfig


class SignalsConfig(AppConfig):
    """Signals: sources, signal types, ingestion, identity review, rollups."""

    name = "signals"

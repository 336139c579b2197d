from django.apps import AppConfig


class SignalsConfig(AppConfig):
    """Signals: sources, signal types, ingestion, identity review, rollups."""

    name = "signals"

    def ready(self):
        from accounts.dataset import register_phase

        from .dataset import signals_phase

        register_phase(signals_phase)

        # The signal timeline panel of the account page.
        from . import panels

        panels.register()

        # The signal layer's part of an account merge (accounts never imports signals).
        from accounts.services import register_merge_hook

        from .merge import HOOK

        register_merge_hook(HOOK)

        # A person's signals stay, anonymised, when the person is erased.
        from accounts.services import register_eraser

        from .erasure import erase_person

        register_eraser(erase_person)

        # The daily purge of raw signals past ABX_SIGNAL_RETENTION_DAYS, scheduled after
        # every migrate.
        from django.db.models.signals import post_migrate

        from .retention import ensure_after_migrate

        post_migrate.connect(ensure_after_migrate, dispatch_uid="signals-retention-schedule")

        # Demo signals, after the demo account graph (accounts never imports signals).
        from accounts.demo import register_phase as register_demo_phase

        from .demo import seed_signals

        register_demo_phase(seed_signals)

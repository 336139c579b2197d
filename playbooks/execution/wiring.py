"""Connects the execution layer to the evaluator's, the account services' and the
scores' hooks, the admin, the staff pages and the account timeline."""

from .. import hooks


def connect() -> None:
    from accounts.hooks import register_account_event_hook
    from metrics.hooks import register_band_change_hook

    from .. import execution_admin  # noqa: F401  (registers the ModelAdmins)
    from . import events, pages, runner, timeline

    hooks.on_activations_started(runner.activations_started)
    hooks.on_activations_exited(runner.activations_exited)
    # Stage and tier changes, however made, go out as webhooks (accounts never imports us).
    register_account_event_hook(events.account_events_emit)
    # So do scores moving into another band (metrics never imports us either).
    register_band_change_hook(events.band_changes_emit)
    pages.register()
    # Activations, step runs and tasks on the account timeline API (accounts.timeline).
    timeline.register()

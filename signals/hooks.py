"""Extension points of the signal layer, for higher apps (evaluation after ingest).

Once a batch of signals has committed, `signals_ingest` hands its result to each hook
registered here (`IngestResult`: accepted, matched, ...). Playbooks fill this in
`PlaybooksConfig.ready()` to ask for an evaluation soon after the batch (DESIGN §6);
this app never imports them. A hook runs after the commit, so the signals it reacts to
are there for whoever reads them, and a hook that fails is logged and never undoes or
fails the ingest.
"""

from collections.abc import Callable

from django.db import transaction

__all__ = ["INGEST_HOOKS", "register_ingest_hook", "signals_ingested_announce"]

IngestHook = Callable[..., object]
INGEST_HOOKS: list[IngestHook] = []


def register_ingest_hook(hook: IngestHook) -> IngestHook:
    """Call `hook(result=IngestResult)` after each batch that stored a matched signal
    (idempotent per function)."""
    if hook not in INGEST_HOOKS:
        INGEST_HOOKS.append(hook)
    return hook


def signals_ingested_announce(result) -> None:
    """Run every hook once the caller's transaction commits (at once outside one)."""
    if result.matched:
        for hook in INGEST_HOOKS:
            transaction.on_commit(lambda hook=hook: hook(result=result), robust=True)

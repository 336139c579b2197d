"""Extension points of the account services, for higher apps (outbound webhooks).

Every stage, tier, owner and parent change goes through `accounts.services`, which
records it as an `AccountEvent` and then hands the event to each hook registered here,
inside the same transaction: what a hook writes (an outbox row telling a CRM that the
stage changed) commits with the change or rolls back with it. Playbooks fill this in
`PlaybooksConfig.ready()`; this app never imports them.

A hook sees every change the services record, whoever made it (a person in the admin,
an API key, a CSV import or a playbook step), so a change is announced once, here, and
the step that made it does not announce it again.
"""

from collections.abc import Callable

from .models import AccountEvent

__all__ = ["ACCOUNT_EVENT_HOOKS", "account_events_announce", "register_account_event_hook"]

AccountEventHook = Callable[[list[AccountEvent]], None]
ACCOUNT_EVENT_HOOKS: list[AccountEventHook] = []


def register_account_event_hook(hook: AccountEventHook) -> AccountEventHook:
    """Call `hook(events)` with the events the services record (idempotent per function)."""
    if hook not in ACCOUNT_EVENT_HOOKS:
        ACCOUNT_EVENT_HOOKS.append(hook)
    return hook


def account_events_announce(events: list[AccountEvent]) -> None:
    """Hand freshly recorded events to every hook; runs in the caller's transaction."""
    if events:
        for hook in ACCOUNT_EVENT_HOOKS:
            hook(events)

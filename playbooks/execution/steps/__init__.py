"""The step kinds: one function per kind, run inside the transaction that marks it done.

A kind function takes the claimed StepRun (with its activation, playbook and account
loaded) and returns the run's result (a small dict of what it did). It raises
`StepFailed` (the step cannot run: a missing campaign, a template that does not parse),
`StepSkipped` (it must not run: do-not-contact, a manual tier) or `StepDeferred` (not
now: the touch cap), each with the reason recorded on the run.
"""

from collections.abc import Callable
from datetime import datetime, timedelta

from ...choices import StepKind

__all__ = ["KINDS", "StepDeferred", "StepFailed", "StepSkipped", "run_step"]


class StepStop(Exception):
    def __init__(self, reason: str, result: dict | None = None):
        super().__init__(reason)
        self.reason = reason
        self.result = result or {}


class StepFailed(StepStop):
    """The step cannot run as configured; it is marked failed with the reason."""


class StepSkipped(StepStop):
    """The step must not run for this account; it is marked skipped with the reason."""


class StepDeferred(Exception):
    """Not now: run it again at `until`, and give up (skipped) after `give_up_after`."""

    def __init__(self, reason: str, *, until: datetime, give_up_after: timedelta):
        super().__init__(reason)
        self.reason = reason
        self.until = until
        self.give_up_after = give_up_after


def _kinds() -> dict[str, Callable]:
    from . import account, campaign, outbound, people

    return {
        StepKind.CREATE_TASK: people.create_task,
        StepKind.NOTIFY: people.notify,
        StepKind.WEBHOOK: outbound.webhook,
        StepKind.ENROLL_CAMPAIGN: campaign.enroll_campaign,
        StepKind.SUPPRESS_CAMPAIGN: campaign.suppress_campaign,
        StepKind.SET_STAGE: account.set_stage,
        StepKind.SET_TIER: account.set_tier,
        StepKind.PERSONALIZE: account.personalize,
    }


KINDS: dict[str, Callable] = {}


def run_step(run, *, now: datetime) -> dict:
    if not KINDS:
        KINDS.update(_kinds())
    kind = KINDS.get(run.kind)
    if kind is None:
        raise StepFailed(f"Unknown step kind {run.kind!r}.")
    return kind(run, now=now) or {}


def actor_label(run) -> str:
    """How changes made by a step are signed in the account's history."""
    return f"Playbook '{run.activation.playbook.name}', step {run.step_index + 1}"

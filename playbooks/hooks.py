"""Extension points of the evaluator, for the execution layer (tasks, campaigns, steps).

The evaluator calls each registered hook inside the transaction that writes the
activations, with their ids, so that what a hook writes (step runs, campaign
memberships) commits or rolls back with them:

- `ACTIVATIONS_STARTED`: new `active` activations (holdouts run no steps).
- `ACTIVATIONS_EXITED`: activations just exited; their pending steps are to be
  cancelled and the campaign memberships they made removed (DESIGN §6, exit policy).
"""

from collections.abc import Callable

ActivationHook = Callable[[list[int]], None]
ACTIVATIONS_STARTED: list[ActivationHook] = []
ACTIVATIONS_EXITED: list[ActivationHook] = []


def on_activations_started(hook: ActivationHook) -> ActivationHook:
    if hook not in ACTIVATIONS_STARTED:
        ACTIVATIONS_STARTED.append(hook)
    return hook


def on_activations_exited(hook: ActivationHook) -> ActivationHook:
    if hook not in ACTIVATIONS_EXITED:
        ACTIVATIONS_EXITED.append(hook)
    return hook


def run(hooks: list[ActivationHook], ids: list[int]) -> None:
    if ids:
        for hook in hooks:
            hook(ids)

"""Connects the execution layer to the evaluator's hooks, the admin and the staff pages."""

from .. import hooks


def connect() -> None:
    from .. import execution_admin  # noqa: F401  (registers the ModelAdmins)
    from . import pages, runner

    hooks.on_activations_started(runner.activations_started)
    hooks.on_activations_exited(runner.activations_exited)
    pages.register()

from django.apps import AppConfig


class PlaybooksConfig(AppConfig):
    """Playbooks: triggers, conditions, steps, evaluation, activations and execution."""

    name = "playbooks"

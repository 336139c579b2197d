from django.apps import AppConfig


class PlaybooksConfig(AppConfig):
    """Playbooks: triggers, conditions, steps, evaluation, activations and execution."""

    name = "playbooks"

    def ready(self):
        from signals.hooks import register_ingest_hook

        from . import catalog, receivers
        from .features import in_playbook_feature

        catalog.register(in_playbook_feature())

        # Every ingested batch asks for an evaluation soon after (debounced).
        register_ingest_hook(receivers.evaluation_after_ingest)

        # The periodic evaluation follows ABX_EVALUATION_MINUTES after every migrate.
        from django.db.models.signals import post_migrate

        from .schedules import ensure_after_migrate

        post_migrate.connect(ensure_after_migrate, dispatch_uid="playbooks-evaluation-schedule")

        # The demo library of playbooks, and a generated data set's, after the accounts,
        # signals and scores.
        from accounts.dataset import register_phase as register_dataset_phase
        from accounts.demo import register_phase as register_demo_phase

        from .dataset import playbooks_phase
        from .demo import seed_playbooks

        register_demo_phase(seed_playbooks)
        register_dataset_phase(playbooks_phase)

        from .execution import wiring  # the execution layer: evaluator hooks, admin, panels

        wiring.connect()

        # Erasing a person: their campaign memberships go, task texts and the outbox
        # lose their name and email (accounts never imports playbooks).
        from accounts.services import register_eraser

        from .erasure import erase_person

        register_eraser(erase_person)

        # Merging accounts: the loser's open plays exit with reason `merged`; its tasks,
        # campaign memberships and website experience go to the survivor.
        from accounts.services import register_merge_hook

        from .merge import HOOK as MERGE_HOOK

        register_merge_hook(MERGE_HOOK)

        # The account page's plays panel, the task inbox, the account list's filters and
        # the scoreboard page's playbook effectiveness.
        from . import panels

        panels.register()

        # Scoreboards: rollups by motion in play; an account's open plays and tasks.
        from metrics import scoreboard as metrics_scoreboard

        from . import scoreboard

        metrics_scoreboard.register_grouping("motion", scoreboard.motions_by_account)
        metrics_scoreboard.register_section("active_plays", scoreboard.account_active_plays)
        metrics_scoreboard.register_section("open_tasks", scoreboard.account_open_tasks)

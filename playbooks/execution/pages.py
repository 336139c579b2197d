"""The account page's "Play steps" panel: what each play did, skipped or deferred, and why.

Skipped and deferred work is never silent (DESIGN §6): this panel shows it on the account
page next to the plays, with the reason recorded on each step run.
"""

from accounts.web import registry

from ..models_execution import StepRun

SHOWN = 30


def _steps(account, request):
    runs = list(
        StepRun.objects.filter(activation__account_id=account.pk)
        .select_related("activation__playbook")
        .order_by("-due_at", "-id")[:SHOWN]
    )
    return {"step_runs": runs}


def register():
    registry.register_account_panel(
        "play_steps",
        order=6,
        title="Play steps",
        template="playbooks/panels/steps.html",
        context=_steps,
    )

"""The playbook layer's part of an account merge (registered in `PlaybooksConfig.ready()`).

DESIGN §3: the loser's open activations (active or held out) are exited with reason
`merged`, through the same path as any exit, so their pending steps are cancelled, their
open tasks get a note, `activation.exited` goes out and the campaign memberships they
made are removed. A merged account is no longer evaluated, so its rows in the
playbooks' matching sets go too. Its closed activations stay on it, like its own events:
that is its history.

What moves to the survivor:
- every task (open or closed), with the activation that made it;
- campaign memberships of people (their contacts moved with the merge);
- account-level memberships added by hand or by import, for campaigns the survivor is
  not in. Where the survivor already has a row, a person's decision on the survivor
  stands (a removal is kept); a play-made row of the survivor becomes a manual one, so
  the loser's enrolment is not lost when that play ends. The loser's rows left behind
  are marked removed, saying why, and the survivor's memberships are recomputed;
- the website experience a play chose, when the survivor has none (the survivor's own
  wins otherwise).

Runs inside the merge's transaction; a constant number of queries whatever the sizes.
"""

from django.db.models import Q

from accounts.services import MergeHook

from .choices import OPEN_STATUSES, ExitReason
from .choices_execution import MembershipSource, MembershipStatus
from .execution import campaigns
from .models import Activation, PlaybookMembership
from .models_execution import AccountExperience, CampaignMembership, Task
from .services import activations_exit

__all__ = ["HOOK", "merge_move", "merge_preview"]

EXITED = "open activations exited"
TASKS = "tasks"
MEMBERSHIPS = "campaign memberships"
EXPERIENCE = "website experience"
# A manual row someone removed is not carried over: there is nothing to keep.
_KEPT_STATUSES = (MembershipStatus.ENROLLED, MembershipStatus.SUPPRESSED)


def _moving_memberships(loser_id: int):
    """The loser's memberships that follow it: people's rows, and manual account rows."""
    return CampaignMembership.objects.filter(account_id=loser_id).filter(
        Q(contact__isnull=False) | Q(source=MembershipSource.MANUAL, status__in=_KEPT_STATUSES)
    )


def merge_preview(loser_id: int) -> dict[str, int]:
    return {
        EXITED: Activation.objects.filter(account_id=loser_id, status__in=OPEN_STATUSES).count(),
        TASKS: Task.objects.filter(account_id=loser_id).count(),
        MEMBERSHIPS: _moving_memberships(loser_id).count(),
        EXPERIENCE: AccountExperience.objects.filter(account_id=loser_id).count(),
    }


def merge_move(*, loser_id: int, survivor_id: int) -> dict[str, int]:
    open_ids = list(
        Activation.objects.filter(account_id=loser_id, status__in=OPEN_STATUSES).values_list(
            "pk", flat=True
        )
    )
    exited = activations_exit(ids=open_ids, reason=ExitReason.MERGED) if open_ids else 0
    PlaybookMembership.objects.filter(account_id=loser_id).delete()
    tasks = Task.objects.filter(account_id=loser_id).update(account_id=survivor_id)
    return {
        EXITED: exited,
        TASKS: tasks,
        MEMBERSHIPS: _move_memberships(loser_id, survivor_id),
        EXPERIENCE: _move_experience(loser_id, survivor_id),
    }


def _move_memberships(loser_id: int, survivor_id: int) -> int:
    people = CampaignMembership.objects.filter(account_id=loser_id, contact__isnull=False).update(
        account_id=survivor_id
    )
    survivor_rows = dict(
        CampaignMembership.objects.filter(account_id=survivor_id, contact__isnull=True).values_list(
            "campaign_id", "source"
        )
    )
    manual = list(
        _moving_memberships(loser_id).filter(contact__isnull=True).values_list("pk", "campaign_id")
    )
    free = [pk for pk, campaign_id in manual if campaign_id not in survivor_rows]
    adopted = [
        campaign_id
        for _, campaign_id in manual
        if survivor_rows.get(campaign_id) == MembershipSource.PLAYBOOK
    ]
    moved = CampaignMembership.objects.filter(pk__in=free).update(account_id=survivor_id)
    CampaignMembership.objects.filter(
        account_id=survivor_id, contact__isnull=True, campaign_id__in=adopted
    ).update(source=MembershipSource.MANUAL)
    CampaignMembership.objects.filter(account_id=loser_id, contact__isnull=True).exclude(
        status=MembershipStatus.REMOVED
    ).update(status=MembershipStatus.REMOVED, why="The account was merged into another one.")
    # What the loser brought in, as the survivor's open plays and do-not-contact see it.
    campaigns.memberships_compute(account_ids={survivor_id})
    return people + moved + len(adopted)


def _move_experience(loser_id: int, survivor_id: int) -> int:
    if AccountExperience.objects.filter(account_id=survivor_id).exists():
        AccountExperience.objects.filter(account_id=loser_id).delete()
        return 0
    return AccountExperience.objects.filter(account_id=loser_id).update(account_id=survivor_id)


HOOK = MergeHook(preview=merge_preview, move=merge_move)

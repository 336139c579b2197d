"""Campaign membership, computed from the open activations: one coordinated motion.

Membership is never toggled step by step. For the accounts concerned, each computation
derives the whole wanted state from what is true now, and writes the difference:

1. Rows added by hand or by import (source `manual`) are the base audience: enrolled,
   unless a person removed them.
2. Every `enroll_campaign` step done by an open activation enrolls the account.
3. Every `suppress_campaign` step done by an open activation suppresses it.
4. While a `retention` activation is open, the account is suppressed from every pressure
   campaign (its own re-engagement enrollments stand).
5. A do-not-contact account is never enrolled: what would be enrolled is suppressed.
6. What a play added and no open play still wants is removed, with the reason.

So two retention plays ending at different times cannot leave a wrong state: whichever
ends last lifts the suppression, because the computation sees no open retention play.
A constant number of queries per call, whatever the number of accounts.
"""

from collections import defaultdict

from django.utils import timezone

from accounts.models import Account

from ..choices import ActivationStatus, Motion, StepKind
from ..choices_execution import MembershipSource, MembershipStatus, StepRunStatus
from ..models import Activation
from ..models_execution import Campaign, CampaignMembership, StepRun

__all__ = ["memberships_compute"]


def memberships_compute(*, account_ids, pending_run: StepRun | None = None) -> dict:
    """Recompute the account-level memberships of `account_ids`; returns counts written.

    `pending_run` is a campaign step being marked done in the caller's transaction: it
    counts as done.
    """
    account_ids = set(account_ids)
    if not account_ids:
        return {"created": 0, "updated": 0}
    dnc = set(
        Account.objects.filter(pk__in=account_ids, do_not_contact=True).values_list("pk", flat=True)
    )
    open_acts = {
        row["pk"]: row
        for row in Activation.objects.filter(
            account_id__in=account_ids, status=ActivationStatus.ACTIVE
        ).values("pk", "account_id", "playbook__name", "playbook__motion")
    }
    runs = list(
        StepRun.objects.filter(
            activation_id__in=list(open_acts),
            kind__in=(StepKind.ENROLL_CAMPAIGN, StepKind.SUPPRESS_CAMPAIGN),
            status=StepRunStatus.DONE,
        ).values("activation_id", "kind", "result")
    )
    if pending_run is not None and pending_run.activation_id in open_acts:
        runs.append(
            {
                "activation_id": pending_run.activation_id,
                "kind": pending_run.kind,
                "result": pending_run.result,
            }
        )
    pressure = list(Campaign.objects.filter(is_pressure=True).values_list("pk", flat=True))
    existing = {
        (m.campaign_id, m.account_id): m
        for m in CampaignMembership.objects.filter(account_id__in=account_ids, contact__isnull=True)
    }

    # (campaign, account) -> (status, source, why, activation id)
    wanted: dict[tuple[int, int], tuple[str, str, str, int | None]] = {}
    for key, row in existing.items():
        if row.source == MembershipSource.MANUAL and row.status != MembershipStatus.REMOVED:
            wanted[key] = (MembershipStatus.ENROLLED, MembershipSource.MANUAL, "", None)
    enrolled_by: dict[tuple[int, int], int] = {}
    suppressions = []
    for run in runs:
        campaign_id = (run["result"] or {}).get("campaign")
        if campaign_id is None:
            continue
        act = open_acts[run["activation_id"]]
        key = (campaign_id, act["account_id"])
        if run["kind"] == StepKind.ENROLL_CAMPAIGN:
            source = existing[key].source if key in existing else MembershipSource.PLAYBOOK
            why = f"Enrolled by the play '{act['playbook__name']}'."
            wanted[key] = (MembershipStatus.ENROLLED, source, why, act["pk"])
            enrolled_by[key] = act["pk"]
        else:
            suppressions.append((key, f"Suppressed by the play '{act['playbook__name']}'.", act))
    retention = defaultdict(list)
    for act in open_acts.values():
        if act["playbook__motion"] == Motion.RETENTION:
            retention[act["account_id"]].append(act)
    for account_id, acts in retention.items():
        for campaign_id in pressure:
            key = (campaign_id, account_id)
            if enrolled_by.get(key) in {a["pk"] for a in acts}:
                continue  # the retention play's own enrollment stands
            why = f"The retention play '{acts[0]['playbook__name']}' is open."
            suppressions.append((key, why, acts[0]))
    for key, why, act in suppressions:
        source = existing[key].source if key in existing else MembershipSource.PLAYBOOK
        if key in wanted and wanted[key][1] == MembershipSource.MANUAL:
            source = MembershipSource.MANUAL
        wanted[key] = (MembershipStatus.SUPPRESSED, source, why, act["pk"])
    for key, (status, source, _why, act_id) in list(wanted.items()):
        if key[1] in dnc and status == MembershipStatus.ENROLLED:
            wanted[key] = (
                MembershipStatus.SUPPRESSED,
                source,
                "The account is do-not-contact.",
                act_id,
            )

    to_create, to_update = [], []
    for key, (status, source, why, act_id) in wanted.items():
        row = existing.get(key)
        if row is None:
            to_create.append(
                CampaignMembership(
                    campaign_id=key[0],
                    account_id=key[1],
                    status=status,
                    source=source,
                    why=why,
                    activation_id=act_id,
                )
            )
        elif (row.status, row.source, row.why, row.activation_id) != (status, source, why, act_id):
            row.status, row.source, row.why, row.activation_id = status, source, why, act_id
            to_update.append(row)
    for key, row in existing.items():
        if key not in wanted and row.status != MembershipStatus.REMOVED:
            row.status = MembershipStatus.REMOVED
            row.why = "No open play keeps it in this campaign any more."
            to_update.append(row)
    now = timezone.now()
    for row in to_update:
        row.updated_at = now  # bulk_update does not apply auto_now
    CampaignMembership.objects.bulk_create(to_create, batch_size=500)
    CampaignMembership.objects.bulk_update(
        to_update, ["status", "source", "why", "activation", "updated_at"], batch_size=500
    )
    return {"created": len(to_create), "updated": len(to_update)}

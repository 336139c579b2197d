"""`enroll_campaign` and `suppress_campaign`: recorded on the run, applied by recomputing.

Membership is computed from the open activations (`campaigns.memberships_compute`), so
these steps only record their decision on the run (done, with the campaign) and ask for
the account's memberships to be recomputed in the same transaction.
"""

from ...choices_execution import StepSkipReason
from ...models_execution import Campaign
from .. import campaigns, touch_cap
from . import StepFailed, StepSkipped


def _campaign(run) -> Campaign:
    campaign = Campaign.objects.filter(name=run.config.get("campaign")).first()
    if campaign is None:
        raise StepFailed(f"No campaign is named '{run.config.get('campaign')}'.")
    return campaign


def enroll_campaign(run, *, now) -> dict:
    campaign = _campaign(run)
    account = run.activation.account
    if account.do_not_contact:
        raise StepSkipped(StepSkipReason.DO_NOT_CONTACT, {"campaign": campaign.pk})
    # An enrollment reaches the account's people: it is a touch, and touches are capped.
    touch_cap.check(account_id=account.pk, now=now)
    run.result = {"campaign": campaign.pk}
    run.save(update_fields=["result"])
    campaigns.memberships_compute(account_ids={account.pk}, pending_run=run)
    return {"campaign": campaign.pk}


def suppress_campaign(run, *, now) -> dict:
    campaign = _campaign(run)
    run.result = {"campaign": campaign.pk}
    run.save(update_fields=["result"])
    campaigns.memberships_compute(account_ids={run.activation.account_id}, pending_run=run)
    return {"campaign": campaign.pk}

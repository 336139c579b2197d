"""Reads of the execution layer: tasks, campaign audiences, experience variants."""

from django.db.models import Prefetch, Q, QuerySet

from accounts.models import Account, AccountDomain, AccountIdentifier, Contact

from .choices_execution import MembershipStatus
from .models_execution import Campaign, CampaignMembership, ExperienceDefault, Task

__all__ = ["audience", "experience_for", "task_list"]

STRANGER = {"variant": "default", "content": {}}


def task_list(*, assignee) -> QuerySet[Task]:
    """A person's tasks, soonest due first, with what the API and pages show."""
    return (
        Task.objects.filter(assignee=assignee)
        .select_related("account", "assignee", "activation__playbook")
        .order_by("due_date", "id")
    )


def audience(*, campaign: Campaign) -> QuerySet[CampaignMembership]:
    """The enrolled members of a campaign, without do-not-contact accounts or people.

    Each account-level membership carries the account's contacts that may be reached
    (prefetched: a constant number of queries per page).
    """
    reachable = Contact.objects.filter(do_not_contact=False).order_by("id")
    return (
        CampaignMembership.objects.filter(
            campaign=campaign, status=MembershipStatus.ENROLLED, account__do_not_contact=False
        )
        .filter(Q(contact__isnull=True) | Q(contact__do_not_contact=False))
        .select_related("account", "contact")
        .prefetch_related(
            Prefetch("account__contacts", queryset=reachable, to_attr="reachable"),
            Prefetch(
                "account__domains",
                queryset=AccountDomain.objects.filter(is_primary=True),
                to_attr="primary_domains",
            ),
            Prefetch("account__identifiers", queryset=AccountIdentifier.objects.all()),
        )
        .order_by("account_id", "id")
    )


def experience_for(*, account_id: int | None) -> dict:
    """The variant for an account: its play's, else the closest default, else strangers'.

    One query for the account and its chosen variant, one more for the defaults.
    """
    if account_id is None:
        return dict(STRANGER)
    account = (
        Account.objects.filter(pk=account_id)
        .values("tier_id", "industry", "experience__variant", "experience__content")
        .first()
    )
    if account is None:
        return dict(STRANGER)
    if account["experience__variant"]:
        return {
            "variant": account["experience__variant"],
            "content": account["experience__content"],
        }
    tier_id, industry = account["tier_id"], account["industry"]
    # The most specific default wins: tier and industry, tier, industry, then any.
    defaults = {
        (row["tier_id"], row["industry"]): row
        for row in ExperienceDefault.objects.filter(
            Q(tier_id=tier_id) | Q(tier__isnull=True), industry__in=[industry, ""]
        ).values("tier_id", "industry", "variant", "content")
    }
    for key in ((tier_id, industry), (tier_id, ""), (None, industry), (None, "")):
        if key in defaults:
            return {"variant": defaults[key]["variant"], "content": defaults[key]["content"]}
    return dict(STRANGER)

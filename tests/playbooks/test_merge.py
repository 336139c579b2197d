"""The playbook layer's part of an account merge: the loser's open plays exit with reason
`merged`; its tasks, campaign memberships and website experience go to the survivor."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.services import account_merge, account_merge_preview
from playbooks import merge
from playbooks.choices import ActivationStatus, ExitReason
from playbooks.choices_execution import (
    MembershipSource,
    MembershipStatus,
    StepRunStatus,
    TaskStatus,
)
from playbooks.execution import runner
from playbooks.models import (
    AccountExperience,
    Activation,
    CampaignMembership,
    Delivery,
    PlaybookMembership,
    StepRun,
    Task,
)
from tests.accounts.factories import AccountFactory, ContactFactory
from tests.playbooks.execution.factories import (
    CampaignFactory,
    TaskFactory,
    WebhookEndpointFactory,
    started,
)
from tests.playbooks.factories import ActivationFactory, MembershipFactory

pytestmark = pytest.mark.django_db


def membership(campaign, account):
    row = CampaignMembership.objects.get(campaign=campaign, account=account, contact=None)
    return row.status, row.source


def test_the_loser_s_plays_exit_as_merged_and_its_work_moves_to_the_survivor():
    # given a loser in two open plays (one held out) and one closed play, with tasks,
    # memberships by hand and by play, a person's membership and a website experience
    survivor, loser = AccountFactory(name="Acme"), AccountFactory(name="ACME Holdings")
    endpoint = WebhookEndpointFactory(event_types=["activation.exited"])
    by_hand, shared, made_by_play = (
        CampaignFactory(name="Newsletter"),
        CampaignFactory(name="Webinar"),
        CampaignFactory(name="Case study"),
    )
    now = timezone.now()
    play = started(
        ("enroll_campaign", {"campaign": "Case study"}),
        ("create_task", {"role": "ae", "title": "Call {{ account.name }}"}),
        ("create_task", {"role": "ae", "title": "Follow up"}, 5),
        account=loser,
        name="Loser's play",
        now=now,
    )
    runner.step_sweep(now=now)
    held_out = ActivationFactory(account=loser, status=ActivationStatus.HOLDOUT)
    closed = ActivationFactory(
        account=loser,
        status=ActivationStatus.EXITED,
        reason=ExitReason.UNMATCHED,
        started_at=now - timedelta(days=30),
        ended_at=now - timedelta(days=20),
    )
    MembershipFactory(playbook=play.playbook, account=loser)
    done = TaskFactory(account=loser, status=TaskStatus.DONE)
    CampaignMembership.objects.create(
        campaign=by_hand, account=loser, status=MembershipStatus.ENROLLED
    )
    CampaignMembership.objects.create(
        campaign=shared, account=loser, status=MembershipStatus.ENROLLED
    )
    survivor_play = started(("enroll_campaign", {"campaign": "Webinar"}), account=survivor, now=now)
    runner.step_sweep(now=now)
    assert membership(shared, survivor) == (MembershipStatus.ENROLLED, MembershipSource.PLAYBOOK)
    person = ContactFactory(account=loser)
    CampaignMembership.objects.create(
        campaign=by_hand, account=loser, contact=person, status=MembershipStatus.ENROLLED
    )
    AccountExperience.objects.create(account=loser, variant="strategic-prospect")
    assert membership(made_by_play, loser) == (
        MembershipStatus.ENROLLED,
        MembershipSource.PLAYBOOK,
    )

    # when
    preview = account_merge_preview(loser=loser, survivor=survivor)
    moved = account_merge(loser=loser, survivor=survivor)

    # then the open plays exited as merged, the closed one is left as it was
    assert preview[merge.EXITED] == moved[merge.EXITED] == 2
    exits = dict(Activation.objects.filter(account=loser).values_list("pk", "reason"))
    assert exits == {
        play.pk: ExitReason.MERGED,
        held_out.pk: ExitReason.MERGED,
        closed.pk: ExitReason.UNMATCHED,
    }
    assert set(Activation.objects.filter(account=loser).values_list("status", flat=True)) == {
        ActivationStatus.EXITED
    }
    later = StepRun.objects.get(activation=play, step_index=2)
    assert (later.status, later.reason) == (StepRunStatus.CANCELLED, "exited")
    exited = Delivery.objects.filter(endpoint=endpoint, event="activation.exited")
    assert {d.payload["data"]["reason"] for d in exited} == {ExitReason.MERGED}
    assert exited.count() == 2
    assert not PlaybookMembership.objects.filter(account=loser).exists()

    # and every task is the survivor's; the open one says its play ended
    assert preview[merge.TASKS] == moved[merge.TASKS] == 2
    assert set(Task.objects.values_list("account", flat=True)) == {survivor.pk}
    made = Task.objects.get(activation=play)
    assert made.title == "Call ACME Holdings"
    assert "has ended" in made.note
    done.refresh_from_db()
    assert done.account == survivor

    # and the campaigns: the manual row moved, the survivor's play row became manual,
    # the person's row followed them, the loser's play-made row is removed
    assert membership(by_hand, survivor) == (MembershipStatus.ENROLLED, MembershipSource.MANUAL)
    assert membership(shared, survivor) == (MembershipStatus.ENROLLED, MembershipSource.MANUAL)
    assert CampaignMembership.objects.get(contact=person).account == survivor
    assert membership(made_by_play, loser)[0] == MembershipStatus.REMOVED
    assert membership(shared, loser)[0] == MembershipStatus.REMOVED
    assert not CampaignMembership.objects.filter(campaign=made_by_play, account=survivor).exists()
    assert moved[merge.MEMBERSHIPS] == 3
    assert preview[merge.MEMBERSHIPS] == 3

    # and the experience follows the company
    assert AccountExperience.objects.get().account == survivor
    assert preview[merge.EXPERIENCE] == moved[merge.EXPERIENCE] == 1

    # and the survivor's own play is untouched: when it ends, the Webinar stays (by hand)
    runner.activations_exited([survivor_play.pk])
    assert membership(shared, survivor) == (MembershipStatus.ENROLLED, MembershipSource.MANUAL)


def test_the_survivor_keeps_its_experience_and_a_person_s_removal():
    survivor, loser = AccountFactory(), AccountFactory()
    AccountExperience.objects.create(account=survivor, variant="customer-care")
    AccountExperience.objects.create(account=loser, variant="strategic-prospect")
    newsletter = CampaignFactory()
    CampaignMembership.objects.create(
        campaign=newsletter, account=survivor, status=MembershipStatus.REMOVED
    )
    CampaignMembership.objects.create(
        campaign=newsletter, account=loser, status=MembershipStatus.ENROLLED
    )

    moved = account_merge(loser=loser, survivor=survivor)

    assert list(AccountExperience.objects.values_list("account", "variant")) == [
        (survivor.pk, "customer-care")
    ]
    assert membership(newsletter, survivor) == (MembershipStatus.REMOVED, MembershipSource.MANUAL)
    assert membership(newsletter, loser)[0] == MembershipStatus.REMOVED
    assert merge.EXPERIENCE not in moved
    assert merge.MEMBERSHIPS not in moved


def test_a_retention_play_s_suppression_does_not_follow_the_loser():
    # given a loser in a retention play, pulled out of a pressure campaign it was put in
    survivor, loser = AccountFactory(), AccountFactory()
    nurture = CampaignFactory(is_pressure=True)
    CampaignMembership.objects.create(
        campaign=nurture, account=loser, status=MembershipStatus.ENROLLED
    )
    started(account=loser, motion="retention")
    assert membership(nurture, loser)[0] == MembershipStatus.SUPPRESSED

    # when
    account_merge(loser=loser, survivor=survivor)

    # then the survivor, in no retention play, is in the campaign; the loser is out
    assert membership(nurture, survivor) == (MembershipStatus.ENROLLED, MembershipSource.MANUAL)
    assert not CampaignMembership.objects.filter(account=loser).exists()


def test_a_do_not_contact_survivor_is_not_enrolled_by_the_loser_s_campaigns():
    survivor, loser = AccountFactory(do_not_contact=True), AccountFactory()
    newsletter = CampaignFactory()
    CampaignMembership.objects.create(
        campaign=newsletter, account=loser, status=MembershipStatus.ENROLLED
    )

    account_merge(loser=loser, survivor=survivor)

    assert membership(newsletter, survivor)[0] == MembershipStatus.SUPPRESSED


def loser_with(n: int):
    """A loser with `n` of everything the hook moves, and its survivor."""
    survivor, loser = AccountFactory(), AccountFactory()
    for _ in range(n):
        ActivationFactory(account=loser)
        TaskFactory(account=loser)
        CampaignMembership.objects.create(
            campaign=CampaignFactory(), account=loser, status=MembershipStatus.ENROLLED
        )
        CampaignMembership.objects.create(
            campaign=CampaignFactory(),
            account=loser,
            contact=ContactFactory(account=survivor),
            status=MembershipStatus.ENROLLED,
        )
    started(account=survivor, motion="retention", now=timezone.now() - timedelta(days=1))
    return loser, survivor


@pytest.mark.parametrize("n", [1, 4])
def test_the_merge_hook_runs_a_constant_number_of_queries(django_assert_num_queries, n):
    loser, survivor = loser_with(n)

    with django_assert_num_queries(27):
        moved = merge.merge_move(loser_id=loser.pk, survivor_id=survivor.pk)

    assert moved == {
        merge.EXITED: n,
        merge.TASKS: n,
        merge.MEMBERSHIPS: 2 * n,
        merge.EXPERIENCE: 0,
    }

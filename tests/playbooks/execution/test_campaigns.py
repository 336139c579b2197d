from datetime import timedelta

import pytest
from django.utils import timezone

from playbooks.choices import ActivationStatus
from playbooks.choices_execution import MembershipSource, MembershipStatus, StepRunStatus
from playbooks.execution import runner
from playbooks.models import CampaignMembership, StepRun
from tests.accounts.factories import AccountFactory

from .factories import CampaignFactory, started

pytestmark = pytest.mark.django_db


def status(campaign, account):
    row = CampaignMembership.objects.get(campaign=campaign, account=account)
    return row.status, row.why


def end(activation):
    activation.status = ActivationStatus.EXITED
    activation.ended_at = timezone.now()
    activation.save()
    runner.activations_exited([activation.pk])


def test_retention_suppresses_pressure_campaigns_and_enrolls_re_engagement_until_it_ends():
    # given: an account in a pressure campaign (by hand) and in a non-pressure one
    account = AccountFactory()
    nurture = CampaignFactory(name="Nurture", is_pressure=True)
    newsletter = CampaignFactory(name="Newsletter", is_pressure=False)
    care = CampaignFactory(name="Customer care", is_pressure=False)
    for campaign in (nurture, newsletter):
        CampaignMembership.objects.create(
            campaign=campaign, account=account, status=MembershipStatus.ENROLLED
        )
    # when: a retention play opens, enrolling in re-engagement
    play = started(
        ("enroll_campaign", {"campaign": "Customer care"}),
        account=account,
        motion="retention",
        name="Usage drop",
    )
    # then: suppressed from pressure at once, the rest untouched
    assert status(nurture, account) == (
        MembershipStatus.SUPPRESSED,
        "The retention play 'Usage drop' is open.",
    )
    assert status(newsletter, account)[0] == MembershipStatus.ENROLLED
    runner.step_sweep()
    assert status(care, account) == (
        MembershipStatus.ENROLLED,
        "Enrolled by the play 'Usage drop'.",
    )
    # when: it ends, the suppression is lifted and its enrollment removed
    end(play)
    assert status(nurture, account) == (MembershipStatus.ENROLLED, "")
    assert status(care, account)[0] == MembershipStatus.REMOVED


def test_two_retention_plays_ending_at_different_times_leave_the_right_state():
    account = AccountFactory()
    nurture = CampaignFactory(is_pressure=True)
    CampaignMembership.objects.create(
        campaign=nurture, account=account, status=MembershipStatus.ENROLLED
    )
    first = started(account=account, motion="retention", name="Drop")
    second = started(account=account, motion="retention", name="Tickets")
    end(first)
    assert status(nurture, account)[0] == MembershipStatus.SUPPRESSED
    end(second)
    assert status(nurture, account)[0] == MembershipStatus.ENROLLED


def test_a_retention_play_suppresses_pressure_campaigns_the_account_was_not_in():
    account = AccountFactory()
    ads = CampaignFactory(is_pressure=True, channel="ads")
    play = started(account=account, motion="retention")
    assert status(ads, account)[0] == MembershipStatus.SUPPRESSED
    end(play)
    assert status(ads, account)[0] == MembershipStatus.REMOVED


def test_do_not_contact_accounts_are_never_enrolled():
    account = AccountFactory(do_not_contact=True)
    campaign = CampaignFactory(name="Case study")
    CampaignMembership.objects.create(
        campaign=CampaignFactory(), account=account, status=MembershipStatus.ENROLLED
    )
    activation = started(("enroll_campaign", {"campaign": "Case study"}), account=account)
    assert runner.step_sweep() == {"skipped": 1}
    run = StepRun.objects.get(activation=activation)
    assert run.reason == "do_not_contact"
    assert not CampaignMembership.objects.filter(campaign=campaign).exists()
    manual = CampaignMembership.objects.exclude(campaign=campaign).get()
    assert manual.source == MembershipSource.MANUAL


def test_a_suppress_step_suppresses_while_its_play_is_open():
    account = AccountFactory()
    campaign = CampaignFactory(name="Promo")
    CampaignMembership.objects.create(
        campaign=campaign, account=account, status=MembershipStatus.ENROLLED
    )
    play = started(("suppress_campaign", {"campaign": "Promo"}), account=account, name="Open deal")
    runner.step_sweep()
    assert status(campaign, account) == (
        MembershipStatus.SUPPRESSED,
        "Suppressed by the play 'Open deal'.",
    )
    end(play)
    assert status(campaign, account)[0] == MembershipStatus.ENROLLED


def test_over_the_touch_cap_a_step_is_deferred_and_runs_when_room_frees(settings):
    settings.ABX_TOUCH_CAP = 2
    now = timezone.now()
    account = AccountFactory()
    for name in ("A", "B", "C"):
        CampaignFactory(name=name)
    plays = [
        started(("enroll_campaign", {"campaign": name}), account=account, now=now)
        for name in ("A", "B", "C")
    ]
    # Tasks and alerts are not touches.
    started(("create_task", {"role": "ae", "title": "Call"}), account=account, now=now)

    assert runner.step_sweep(now=now) == {"done": 3, "deferred": 1}
    deferred = StepRun.objects.get(activation=plays[2])
    assert (deferred.status, deferred.reason) == (StepRunStatus.DEFERRED, "touch_cap")
    assert deferred.due_at == now + timedelta(days=7)
    assert runner.step_sweep(now=now + timedelta(days=3)) == {}
    assert runner.step_sweep(now=now + timedelta(days=7)) == {"done": 1}
    deferred.refresh_from_db()
    assert deferred.status == StepRunStatus.DONE


def test_a_step_deferred_too_long_is_skipped_with_the_reason(settings):
    settings.ABX_TOUCH_CAP = 1
    settings.ABX_DEFER_DAYS = 3
    now = timezone.now()
    account = AccountFactory()
    CampaignFactory(name="A")
    CampaignFactory(name="B")
    started(("enroll_campaign", {"campaign": "A"}), account=account, now=now)
    late = started(("enroll_campaign", {"campaign": "B"}), account=account, now=now)
    assert runner.step_sweep(now=now) == {"done": 1, "deferred": 1}
    run = StepRun.objects.get(activation=late)
    assert run.due_at == now + timedelta(days=3)
    assert runner.step_sweep(now=now + timedelta(days=3)) == {"skipped": 1}
    run.refresh_from_db()
    assert (run.status, run.reason) == (StepRunStatus.SKIPPED, "touch_cap")

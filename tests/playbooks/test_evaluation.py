"""The evaluator: entering and leaving, re-entry and cooldown, holdout, capacity, motion
blocking, exits, evidence, and one recorded run."""

import hashlib
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import Account
from playbooks import services
from playbooks.choices import ActivationStatus, SkipReason
from playbooks.evaluation import PlaybookState, in_holdout, plan_playbook
from playbooks.models import Activation, EvaluationRun, PlaybookMembership
from tests.accounts.factories import AccountFactory

from .helpers import published

NOW = timezone.now()


# The rules over hand-built sets ------------------------------------------------------


def plan(matched, state=None, *, blocked=(), intent=None, playbook_id=1, **settings):
    return plan_playbook(
        playbook_id=playbook_id,
        settings={"reentry_policy": "every_entry", **settings},
        matched=set(matched),
        state=state or PlaybookState(),
        blocked=set(blocked),
        intent=intent or {},
        now=NOW,
    )


def test_accounts_entering_start_and_staying_ones_do_not_fire_again():
    result = plan({1, 2, 3}, PlaybookState(members={2, 3, 4}, open={4: "active"}))
    assert result.start == {1: "active"}
    assert result.join == {1}
    assert result.leave == {4}
    assert result.exit == {4}


def test_exit_policies_other_than_on_unmatch_leave_the_activation_open():
    state = PlaybookState(members={4}, open={4: "active"})
    for policy in ("on_completion", "manual"):
        result = plan(set(), state, exit_policy=policy)
        assert (result.leave, result.exit) == ({4}, set())


def test_reentry_once_never_starts_twice():
    state = PlaybookState(last_start={1: NOW - timedelta(days=400)})
    result = plan({1, 2}, state, reentry_policy="once")
    assert result.start == {2: "active"}
    assert result.skip == {1: SkipReason.REENTRY}
    assert result.join == {1, 2}  # members: they do not try again while they stay


def test_reentry_after_cooldown_counts_days_since_the_last_start():
    state = PlaybookState(last_start={1: NOW - timedelta(days=29), 2: NOW - timedelta(days=30)})
    result = plan({1, 2}, state, reentry_policy="after_cooldown", cooldown_days=30)
    assert result.start == {2: "active"}
    assert result.skip == {1: SkipReason.COOLDOWN}


def test_every_entry_starts_again_whenever_it_enters():
    state = PlaybookState(last_start={1: NOW - timedelta(hours=1)})
    assert plan({1}, state, reentry_policy="every_entry").start == {1: "active"}


def test_holdout_is_the_sha256_draw():
    # sha256("7:42") read as an integer, modulo 10,000 (computed independently here)
    draw = int(hashlib.sha256(b"7:42").hexdigest(), 16) % 10_000
    assert in_holdout(7, 42, 50) == (draw < 5000)
    assert in_holdout(7, 42, draw // 100 + 1) is True
    assert in_holdout(7, 42, draw // 100) is (draw < (draw // 100) * 100)
    assert in_holdout(7, 42, 0) is False


def test_holdout_is_deterministic_and_takes_its_share():
    accounts = range(1, 10_001)
    held = {a for a in accounts if in_holdout(3, a, 20)}
    assert held == {a for a in accounts if in_holdout(3, a, 20)}
    # 20% of 10,000 draws: within 4 standard deviations (sqrt(10000 * .2 * .8) = 40)
    assert abs(len(held) - 2000) < 160
    result = plan(set(accounts), holdout_percent=20, playbook_id=3)
    assert {a for a, s in result.start.items() if s == "holdout"} == held


def test_capacity_takes_the_highest_intent_first_and_holdouts_do_not_count():
    state = PlaybookState(open={9: "active", 8: "holdout"}, members={9, 8})
    intent = {1: 10.0, 2: 90.0, 3: 50.0}
    result = plan({1, 2, 3, 4, 8, 9}, state, capacity=3, intent=intent)
    # one seat was taken by 9 (the holdout 8 takes none): two left, for 2 and 3
    assert result.start == {2: "active", 3: "active"}
    assert result.skip == {1: SkipReason.CAPACITY, 4: SkipReason.CAPACITY}
    assert 1 not in result.join and 4 not in result.join  # considered again next run


def test_a_capacity_skip_is_recorded_once_until_something_else_happens():
    earlier = NOW - timedelta(hours=1)
    state = PlaybookState(last_skip={(1, "capacity"): earlier})
    assert plan({1}, state, capacity=0).skip == {}
    # after a real activation since, a new skip is news again
    state.last_start[1] = earlier + timedelta(minutes=1)
    assert plan({1}, state, capacity=0).skip == {1: "capacity"}


def test_blocked_accounts_are_skipped_and_tried_again():
    result = plan({1, 2}, blocked={1})
    assert result.start == {2: "active"}
    assert result.skip == {1: SkipReason.BLOCKED}
    assert 1 not in result.join


# Runs over the database ---------------------------------------------------------------

pytestmark_db = pytest.mark.django_db


def accounts_with(*sizes):
    return [AccountFactory(employee_count=size) for size in sizes]


@pytest.mark.django_db
def test_a_run_activates_entering_accounts_with_evidence_and_records_itself():
    big, _small, other_big = accounts_with(500, 10, 150)
    playbook = published()

    run = services.evaluation_run()

    activations = Activation.objects.filter(playbook=playbook)
    assert {a.account_id for a in activations} == {big.pk, other_big.pk}
    activation = activations.get(account=big)
    assert activation.status == ActivationStatus.ACTIVE
    assert activation.version.number == 1
    assert activation.evidence["conditions"][0]["actual"] == 500
    assert set(
        PlaybookMembership.objects.filter(playbook=playbook).values_list("account_id", flat=True)
    ) == {big.pk, other_big.pk}
    run.refresh_from_db()
    assert (run.playbooks, run.entered, run.exited, run.skipped, run.errors) == (1, 2, 0, 0, [])
    assert run.finished_at >= run.started_at

    # a second run changes nothing
    again = services.evaluation_run()
    assert (again.entered, again.exited) == (0, 0)
    assert Activation.objects.count() == 2


@pytest.mark.django_db
def test_leaving_exits_and_coming_back_follows_the_reentry_policy():
    [account] = accounts_with(500)
    playbook = published(reentry_policy="once")
    services.evaluation_run()

    Account.objects.filter(pk=account.pk).update(employee_count=5)
    run = services.evaluation_run()
    activation = Activation.objects.get()
    assert (run.exited, activation.status, activation.reason) == (1, "exited", "unmatched")
    assert not PlaybookMembership.objects.exists()

    Account.objects.filter(pk=account.pk).update(employee_count=600)
    services.evaluation_run()
    skipped = Activation.objects.get(status=ActivationStatus.SKIPPED)
    assert skipped.reason == SkipReason.REENTRY
    assert PlaybookMembership.objects.filter(playbook=playbook, account=account).exists()
    services.evaluation_run()
    assert Activation.objects.count() == 2  # staying in the set does not record again


@pytest.mark.django_db
def test_in_flight_activations_keep_their_version():
    [account] = accounts_with(500)
    playbook = published()
    services.evaluation_run()
    services.playbook_save(
        data={**services.playbook_snapshot(playbook), "priority": 3}, playbook=playbook
    )
    services.playbook_publish(playbook=playbook)
    services.evaluation_run()
    assert Activation.objects.get(account=account).version.number == 1


@pytest.mark.django_db
def test_capacity_leaves_the_rest_skipped_once_and_takes_them_when_room_frees():
    first, second, _third = accounts_with(500, 400, 300)
    playbook = published(capacity=1)

    services.evaluation_run()
    assert list(
        Activation.objects.filter(status="active").values_list("account_id", flat=True)
    ) == [first.pk]
    assert Activation.objects.filter(status="skipped", reason="capacity").count() == 2
    services.evaluation_run()
    assert Activation.objects.filter(status="skipped", reason="capacity").count() == 2

    # the first leaves: a seat frees, the next account (by id: no intent score) takes it
    Account.objects.filter(pk=first.pk).update(employee_count=1)
    services.evaluation_run()
    active = Activation.objects.filter(playbook=playbook, status="active")
    assert list(active.values_list("account_id", flat=True)) == [second.pk]


@pytest.mark.django_db
def test_an_open_retention_play_blocks_other_motions():
    accounts_with(500)
    retention = published(
        "Save the account", motion="retention", priority=1, blocked_motions=["new_logo"]
    )
    new_logo = published("Land", motion="new_logo", priority=2)

    services.evaluation_run()

    assert Activation.objects.get(playbook=retention).status == "active"
    blocked = Activation.objects.get(playbook=new_logo)
    assert (blocked.status, blocked.reason) == ("skipped", "blocked")
    assert not PlaybookMembership.objects.filter(playbook=new_logo).exists()

    # when the retention play ends, the new-logo play starts on the next run
    Activation.objects.filter(playbook=retention).update(
        status="completed", ended_at=timezone.now()
    )
    services.evaluation_run()
    assert Activation.objects.filter(playbook=new_logo, status="active").count() == 1


@pytest.mark.django_db
def test_holdout_accounts_get_a_holdout_activation():
    accounts = accounts_with(*[500] * 40)
    playbook = published(holdout_percent=50)
    services.evaluation_run()
    held = {a.pk for a in accounts if in_holdout(playbook.pk, a.pk, 50)}
    assert (
        set(Activation.objects.filter(status="holdout").values_list("account_id", flat=True))
        == held
    )
    assert Activation.objects.filter(status="active").count() == 40 - len(held)


@pytest.mark.django_db
def test_paused_and_unpublished_playbooks_do_not_run():
    accounts_with(500)
    paused = published("Paused")
    paused.status = "paused"
    paused.save()
    services.playbook_save(data={**services.playbook_snapshot(paused), "name": "Draft only"})
    run = services.evaluation_run()
    assert run.playbooks == 0 and not Activation.objects.exists()


@pytest.mark.django_db
def test_a_playbook_that_no_longer_compiles_is_reported_and_the_others_run():
    accounts_with(500)
    broken = published("Broken")
    version = broken.versions.get()
    version.snapshot["triggers"][0]["conditions"][0]["feature"] = "retired_feature"
    version.save()
    published("Fine")

    run = services.evaluation_run()

    assert run.playbooks == 1 and run.entered == 1
    assert run.errors[0]["playbook"] == broken.pk
    assert "retired_feature" in run.errors[0]["error"]
    assert EvaluationRun.objects.count() == 1

"""What playbooks add to the scoreboards: rollups by motion in play, and an account's
open plays and tasks on its scoreboard."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from abx_site.common.scopes import Scope
from accounts.models import ArrChange
from playbooks.choices import ActivationStatus, Motion
from playbooks.choices_execution import TaskStatus
from playbooks.models import Task
from tests.accounts.factories import AccountFactory, UserFactory
from tests.playbooks.factories import ActivationFactory, PlaybookFactory

pytestmark = pytest.mark.django_db

ROLLUP = "/api/v1/scoreboards/rollup/?group_by=motion"
EXITED = {
    "status": ActivationStatus.EXITED,
    "started_at": timezone.now() - timedelta(days=9),
    "ended_at": timezone.now() - timedelta(days=2),
}


@pytest.fixture
def client(api_client, api_key_for):
    api_client.credentials(HTTP_AUTHORIZATION=f"Api-Key {api_key_for(Scope.SCOREBOARDS_READ)}")
    return api_client


@pytest.fixture
def staff_client(staff_user):
    from django.test import Client

    session = Client()
    session.force_login(staff_user)
    return session


def with_arr(arr, **fields):
    account = AccountFactory(**fields)
    ArrChange.objects.create(
        account=account,
        effective_date=timezone.now().date() - timedelta(days=30),
        arr=Decimal(arr),
    )
    return account


# Rollup by motion ------------------------------------------------------------------------


def test_rollup_by_motion_counts_an_account_in_each_motion_it_is_worked_in(client):
    # given: one account worked in two motions, one in one, one held out, one whose play
    # ended, one with no play; and a merged duplicate, which never counts
    new_logo = PlaybookFactory(motion=Motion.NEW_LOGO)
    expansion = PlaybookFactory(motion=Motion.EXPANSION)
    expansion_too = PlaybookFactory(motion=Motion.EXPANSION)
    retention = PlaybookFactory(motion=Motion.RETENTION)
    both = with_arr(1000)
    ActivationFactory(account=both, playbook=new_logo)
    ActivationFactory(account=both, playbook=expansion)
    ActivationFactory(account=both, playbook=expansion_too)  # same motion twice: once
    grower = with_arr(250)
    ActivationFactory(account=grower, playbook=expansion)
    held_out = with_arr(400)
    ActivationFactory(
        account=held_out, playbook=retention, status=ActivationStatus.HOLDOUT, is_holdout=True
    )
    ended = with_arr(70)
    ActivationFactory(account=ended, playbook=new_logo, **EXITED)
    with_arr(5)
    merged = with_arr(9000, merged_into=both)
    ActivationFactory(account=merged, playbook=retention)

    # when
    response = client.get(ROLLUP)

    # then
    assert response.status_code == 200
    body = response.json()
    groups = {g["key"]: g for g in body["groups"]}
    assert set(groups) == {"new_logo", "expansion"}
    assert groups["new_logo"]["accounts"] == 1
    assert groups["new_logo"]["arr"] == "1000.00"
    assert groups["expansion"]["accounts"] == 2
    assert groups["expansion"]["arr"] == "1250.00"  # 1,000 + 250
    assert body["total"]["accounts"] == 5
    assert body["total"]["arr"] == "1725.00"  # 1,000 + 250 + 400 + 70 + 5
    assert body["sums_to_total"] is False
    assert "do not sum to the total" in body["note"]


def test_rollup_by_motion_agrees_with_the_account_list_filter(staff_client):
    # given
    worked = AccountFactory(name="Worked")
    ActivationFactory(account=worked, playbook__motion=Motion.ADVOCACY)
    held = AccountFactory(name="Held out")
    ActivationFactory(
        account=held,
        playbook__motion=Motion.ADVOCACY,
        status=ActivationStatus.HOLDOUT,
        is_holdout=True,
    )

    # when
    listed = staff_client.get(reverse("pages:account-list"), {"motion": Motion.ADVOCACY})
    rollup = staff_client.get(ROLLUP).json()

    # then
    assert [a.name for a in listed.context["accounts"]] == ["Worked"]
    [group] = rollup["groups"]
    assert (group["key"], group["accounts"]) == ("advocacy", 1)


def build_worked(count):
    for index in range(count):
        account = with_arr(100 * (index + 1))
        ActivationFactory(account=account, playbook__motion=Motion.values[index % 5])


def test_rollup_by_motion_runs_the_same_queries_for_more_accounts(
    client, django_assert_num_queries
):
    build_worked(3)
    client.get(ROLLUP)  # the key's first use is recorded once
    with CaptureQueriesContext(connection) as first:
        assert client.get(ROLLUP).status_code == 200
    build_worked(6)
    with django_assert_num_queries(len(first)):
        body = client.get(ROLLUP).json()
    assert body["total"]["accounts"] == 9
    assert sum(g["accounts"] for g in body["groups"]) == 9


def test_the_scoreboard_page_groups_by_motion(staff_client):
    ActivationFactory(account=with_arr(300), playbook__motion=Motion.PARTNER)
    html = staff_client.get(reverse("pages:scoreboard"), {"group_by": "motion"}).content.decode()
    link = '<a href="?group_by=motion#section-rollup" aria-current="true">Motion in play</a>'
    assert link in html
    assert '<th scope="row">partner</th>' in html
    assert "do not sum to the total" in html


# Account scoreboard sections ----------------------------------------------------------------


def test_account_scoreboard_lists_open_plays_and_open_tasks(client):
    # given
    account = AccountFactory()
    other = AccountFactory()
    play = PlaybookFactory(name="Expansion on usage", motion=Motion.EXPANSION)
    evidence = {"trigger": 0, "trigger_name": "Usage", "conditions": []}
    active = ActivationFactory(account=account, playbook=play, evidence=evidence)
    held = ActivationFactory(
        account=account,
        playbook__name="Advocacy",
        playbook__motion=Motion.ADVOCACY,
        status=ActivationStatus.HOLDOUT,
        is_holdout=True,
        started_at=timezone.now() - timedelta(days=3),
    )
    ActivationFactory(account=account, **EXITED)
    ActivationFactory(account=other)
    owner = UserFactory(username="ae-anna")
    today = timezone.localdate()

    def task(title, due_in, **extra):
        return Task.objects.create(
            account=extra.pop("account", account),
            assignee=owner,
            title=title,
            due_date=None if due_in is None else today + timedelta(days=due_in),
            **extra,
        )

    late = task("Call the champion", -2, activation=active)
    snoozed = task(
        "Send the deck", 5, status=TaskStatus.SNOOZED, snoozed_until=today + timedelta(days=1)
    )
    undated = task("Plan the QBR", None)
    task("Done already", -9, status=TaskStatus.DONE)
    task("Someone else's", 1, account=other)

    # when
    body = client.get(f"/api/v1/accounts/{account.pk}/scoreboard/").json()

    # then
    plays = body["active_plays"]
    assert [p["id"] for p in plays] == [active.pk, held.pk]
    assert plays[0] == {
        "id": active.pk,
        "playbook": play.pk,
        "playbook_name": "Expansion on usage",
        "motion": "expansion",
        "version": active.version.number,
        "status": "active",
        "is_holdout": False,
        "started_at": plays[0]["started_at"],
        "evidence": evidence,
    }
    assert plays[1]["status"] == "holdout" and plays[1]["is_holdout"] is True
    tasks = body["open_tasks"]
    assert [t["id"] for t in tasks] == [late.pk, snoozed.pk, undated.pk]
    assert tasks[0]["overdue"] is True and tasks[1]["overdue"] is False
    assert tasks[0]["playbook"] == {"id": play.pk, "name": "Expansion on usage"}
    assert tasks[1]["playbook"] is None and tasks[1]["status"] == "snoozed"
    assert tasks[0]["assignee"] == "ae-anna"


def test_an_account_without_plays_has_empty_sections(client):
    body = client.get(f"/api/v1/accounts/{AccountFactory().pk}/scoreboard/").json()
    assert body["active_plays"] == [] and body["open_tasks"] == []


def test_account_scoreboard_queries_stay_within_the_budget_whatever_the_plays(
    client, django_assert_num_queries
):
    # given: an account with one play and one task
    account = AccountFactory()
    ActivationFactory(account=account)
    Task.objects.create(account=account, title="First")
    url = f"/api/v1/accounts/{account.pk}/scoreboard/"
    client.get(url)  # the key's first use is recorded once
    with CaptureQueriesContext(connection) as first:
        assert client.get(url).status_code == 200
    # DESIGN §10: at most 10 queries for the scoreboard itself, plus the key's lookup.
    assert len(first) <= 11

    # when: many more plays and tasks
    for _ in range(5):
        activation = ActivationFactory(account=account)
        Task.objects.create(account=account, title="More", activation=activation)

    # then
    with django_assert_num_queries(len(first)):
        body = client.get(url).json()
    assert len(body["active_plays"]) == 6 and len(body["open_tasks"]) == 6

"""`GET /api/v1/accounts/<id>/timeline/`: one stream, newest first, of every kind of
entry (the account's events and deals, signals, activations, step runs and tasks), with
a `(time, kind, id)` cursor that neither skips nor repeats, at a constant query count."""

from datetime import UTC, date, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.auth.models import Group, User

from abx_site.common.scopes import Scope
from accounts import services
from accounts.choices import DealStatus, Stage
from accounts.models import AccountEvent
from playbooks.choices import ActivationStatus, ExitReason, SkipReason
from playbooks.choices_execution import StepRunStatus, StepSkipReason, TaskStatus
from playbooks.models import Activation, StepRun, Task
from tests.accounts.factories import (
    AccountEventFactory,
    AccountFactory,
    DealFactory,
    UserFactory,
)
from tests.playbooks.execution.factories import TaskFactory
from tests.playbooks.factories import ActivationFactory, PlaybookFactory
from tests.signals.factories import SignalFactory

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def url(account, **query) -> str:
    base = f"/api/v1/accounts/{account.pk}/timeline/"
    if not query:
        return base
    pairs = [
        (k, v)
        for k, values in query.items()
        for v in (values if isinstance(values, list) else [values])
    ]
    return base + "?" + "&".join(f"{k}={v}" for k, v in pairs)


@pytest.fixture
def reader(api_client, api_key_for):
    api_client.credentials(HTTP_AUTHORIZATION=f"Api-Key {api_key_for(Scope.ACCOUNTS_READ)}")
    return api_client


def signal(account, when, **fields):
    return SignalFactory(account=account, occurred_at=when, **fields)


def event(account, when, **fields):
    services.account_update(account=account, data=fields, actor_label="crm-sync")
    row = AccountEvent.objects.filter(account=account).latest("id")
    AccountEvent.objects.filter(pk=row.pk).update(occurred_at=when)
    return row


def task(account, created, completed=None, **fields):
    row = TaskFactory(account=account, **fields)
    Task.objects.filter(pk=row.pk).update(created_at=created, completed_at=completed)
    return row


def step_run(activation, index, status, when, *, reason="", deferred=False):
    return StepRun.objects.create(
        activation=activation,
        step_index=index,
        kind="enroll_campaign" if deferred else "create_task",
        status=status,
        reason=reason,
        due_at=when,
        finished_at=None if deferred else when,
        deferred_since=when if deferred else None,
    )


def kinds_and_actions(response) -> list[tuple[str, str, str]]:
    return [(e["kind"], e["action"], e["reason"]) for e in response.json()["results"]]


# Every kind, in one stream ------------------------------------------------------------


def test_every_kind_merges_into_one_stream_newest_first(reader):
    # given an account with one of everything, at known moments
    account = AccountFactory(stage=Stage.PROSPECT)
    rep = UserFactory(username="ana")
    deal = DealFactory(
        account=account,
        name="Platform",
        created_date=date(2026, 3, 1),
        close_date=date(2026, 3, 3),
        status=DealStatus.WON,
    )
    signal(account, at(0), topic="pricing")
    event(account, at(10), stage=Stage.ENGAGED)
    play = PlaybookFactory(name="Surge")
    activation = ActivationFactory(account=account, playbook=play, started_at=at(20))
    step_run(activation, 0, StepRunStatus.DONE, at(30))
    step_run(activation, 1, StepRunStatus.DEFERRED, at(40), reason="touch_cap", deferred=True)
    ActivationFactory(
        account=account,
        playbook=PlaybookFactory(name="Full"),
        status=ActivationStatus.SKIPPED,
        reason=SkipReason.CAPACITY,
        started_at=at(50),
        ended_at=at(50),
    )
    made = task(account, at(60), at(70), assignee=rep, activation=activation, status="done")
    Activation.objects.filter(pk=activation.pk).update(
        status=ActivationStatus.EXITED, reason=ExitReason.UNMATCHED, ended_at=at(80)
    )
    step_run(activation, 2, StepRunStatus.CANCELLED, at(80), reason=StepSkipReason.EXITED)
    other = AccountFactory()
    signal(other, at(5))

    # when
    response = reader.get(url(account))

    # then, newest first; at 09:20 (activation exited and step cancelled) by kind, descending
    assert response.status_code == 200, response.json()
    assert kinds_and_actions(response) == [
        ("deal_closed", "won", ""),  # 3 March, midnight UTC
        ("step_run", "cancelled", "exited"),  # 2 March 10:20
        ("activation_ended", "exited", "unmatched"),  # 10:20
        ("task_closed", "done", ""),  # 10:10
        ("task", "created", ""),  # 10:00
        ("activation", "skipped", "capacity"),  # 09:50
        ("step_run", "deferred", "touch_cap"),  # 09:40
        ("step_run", "done", ""),  # 09:30
        ("activation", "started", ""),  # 09:20
        ("account_event", "stage_changed", ""),  # 09:10
        ("signal", "web.visit", ""),  # 09:00
        ("deal", "opened", ""),  # 1 March, midnight UTC
    ]
    first, *_, last = response.json()["results"]
    assert first == {
        "time": "2026-03-03T00:00:00Z",
        "kind": "deal_closed",
        "id": deal.pk,
        "action": "won",
        "summary": f"Deal 'Platform' won: {deal.amount} {deal.currency}",
        "reason": "",
        "data": {
            "name": "Platform",
            "kind": deal.kind,
            "stage": deal.stage,
            "status": "won",
            "amount": str(deal.amount),
            "currency": deal.currency,
            "created_date": "2026-03-01",
            "close_date": "2026-03-03",
        },
    }
    by_kind = {(e["kind"], e["action"]): e for e in response.json()["results"]}
    assert by_kind[("account_event", "stage_changed")]["summary"] == (
        "Stage changed: prospect → engaged"
    )
    assert by_kind[("account_event", "stage_changed")]["data"]["by"] == "crm-sync"
    assert by_kind[("step_run", "deferred")]["summary"] == (
        f"Step 2 of '{play.name}' (enroll_campaign): deferred, Over the touch cap for too long"
    )
    assert by_kind[("activation", "skipped")]["summary"] == (
        "Not entered in the play 'Full': The playbook was at capacity"
    )
    assert by_kind[("task", "created")]["data"]["assignee"] == "ana"
    assert by_kind[("task", "created")]["data"]["playbook"]["name"] == "Surge"
    assert by_kind[("task_closed", "done")]["id"] == made.pk
    assert last["time"] == "2026-03-01T00:00:00Z"
    assert response.json()["next"] is None


def test_kinds_can_be_chosen(reader):
    account = AccountFactory()
    signal(account, at(0))
    task(account, at(1))
    event(account, at(2), stage=Stage.ENGAGED)

    response = reader.get(url(account, kind=["signal", "task"]))

    assert [e["kind"] for e in response.json()["results"]] == ["task", "signal"]


# The cursor ---------------------------------------------------------------------------


def crowd(account, moment: datetime) -> None:
    """Three entries of each of several kinds, all at the same moment."""
    for _ in range(3):
        signal(account, moment)
        task(account, moment)
        AccountEventFactory(account=account, occurred_at=moment)
        DealFactory(account=account, created_date=moment.date())


def walk(client, account, page_size: int) -> list[tuple[str, int]]:
    seen, link = [], url(account, page_size=page_size)
    for _ in range(100):  # a cursor that does not move on would loop for ever
        body = client.get(link).json()
        seen.extend((e["kind"], e["id"]) for e in body["results"])
        assert len(body["results"]) <= page_size
        link = body["next"]
        if link is None:
            return seen
    raise AssertionError(f"The pages never end: {seen[:20]}...")


@pytest.mark.parametrize("page_size", [1, 2, 5])
def test_pages_neither_skip_nor_repeat_entries_that_share_a_timestamp(reader, page_size):
    # given twelve entries at midnight UTC (where deals stand too) and more around them
    account = AccountFactory()
    midnight = datetime(2026, 3, 2, tzinfo=UTC)
    crowd(account, midnight)
    signal(account, midnight + timedelta(microseconds=1))
    task(account, midnight - timedelta(microseconds=1))
    whole = reader.get(url(account, page_size=200)).json()["results"]

    # when
    pages = walk(reader, account, page_size)

    # then the pages add up to the whole stream, in its order, each entry once
    assert pages == [(e["kind"], e["id"]) for e in whole]
    assert len(set(pages)) == len(pages) == 14
    keys = [(datetime.fromisoformat(e["time"]), e["kind"], e["id"]) for e in whole]
    assert keys == sorted(keys, reverse=True)
    assert [e["kind"] for e in whole[1:13]] == ["task"] * 3 + ["signal"] * 3 + ["deal"] * 3 + [
        "account_event"
    ] * 3


def test_a_cursor_is_not_moved_by_newer_entries(reader):
    account = AccountFactory()
    for minute in range(6):
        signal(account, at(minute))
    first = reader.get(url(account, page_size=3)).json()

    signal(account, at(60))  # arrives while the client reads
    second = reader.get(first["next"]).json()

    assert [e["time"] for e in second["results"]] == [
        "2026-03-02T09:02:00Z",
        "2026-03-02T09:01:00Z",
        "2026-03-02T09:00:00Z",
    ]
    assert second["next"] is None
    assert parse_qs(urlsplit(first["next"]).query)["page_size"] == ["3"]


def test_a_cursor_from_one_kind_works_for_the_others(reader):
    # A deal's midnight and a signal's instant compare as moments, whatever the kinds.
    account = AccountFactory()
    DealFactory(account=account, created_date=date(2026, 3, 2))
    signal(account, datetime(2026, 3, 2, 12, tzinfo=UTC))
    signal(account, datetime(2026, 3, 1, 12, tzinfo=UTC))

    first = reader.get(url(account, page_size=1)).json()
    second = reader.get(first["next"]).json()
    third = reader.get(second["next"]).json()

    assert [(e["kind"], e["time"]) for p in (first, second, third) for e in p["results"]] == [
        ("signal", "2026-03-02T12:00:00Z"),
        ("deal", "2026-03-02T00:00:00Z"),
        ("signal", "2026-03-01T12:00:00Z"),
    ]
    assert third["next"] is None


# Access and bad input -----------------------------------------------------------------


def test_no_key_is_401_a_key_without_the_scope_403_and_with_it_200(api_client, api_key_for):
    account = AccountFactory()

    assert api_client.get(url(account)).status_code == 401

    api_client.credentials(HTTP_AUTHORIZATION=f"Api-Key {api_key_for(Scope.SIGNALS_READ)}")
    refused = api_client.get(url(account))
    assert refused.status_code == 403
    assert "accounts:read" in refused.json()["message"]

    api_client.credentials(HTTP_AUTHORIZATION=f"Api-Key {api_key_for(Scope.ACCOUNTS_READ)}")
    assert api_client.get(url(account)).status_code == 200


def test_staff_read_it_with_their_team_s_permission(api_client):
    account = AccountFactory()
    viewer = User.objects.create_user("viewer", password="pw", is_staff=True)
    viewer.groups.add(Group.objects.get(name="Viewer"))
    outsider = User.objects.create_user("outsider", password="pw", is_staff=True)

    api_client.force_login(outsider)
    assert api_client.get(url(account)).status_code == 403
    api_client.force_login(viewer)
    assert api_client.get(url(account)).status_code == 200


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"cursor": "not-a-cursor"}, "cursor"),
        ({"cursor": "MjAyNi0wMy0wMnxzaWduYWx8eA"}, "cursor"),  # "2026-03-02|signal|x"
        ({"page_size": "0"}, "page_size"),
        ({"page_size": "201"}, "page_size"),
        ({"page_size": "ten"}, "page_size"),
        ({"kind": "signals"}, "kind"),
    ],
)
def test_bad_parameters_are_a_400_naming_the_field(reader, query, field):
    account = AccountFactory()

    response = reader.get(url(account, **query))

    assert response.status_code == 400
    assert set(response.json()["errors"]) == {field}


def test_an_unknown_account_is_404(reader):
    assert reader.get("/api/v1/accounts/999999/timeline/").status_code == 404


# Query count --------------------------------------------------------------------------


def every_kind(account, n: int) -> None:
    play = PlaybookFactory()
    for i in range(n):
        signal(account, at(i))
        AccountEventFactory(account=account, occurred_at=at(i))
        DealFactory(account=account, status=DealStatus.LOST, close_date=date(2026, 3, 3))
        activation = ActivationFactory(
            account=account,
            playbook=play if i == 0 else PlaybookFactory(),
            status=ActivationStatus.EXITED,
            started_at=at(i),
            ended_at=at(i + 1),
        )
        step_run(activation, 0, StepRunStatus.SKIPPED, at(i), reason="do_not_contact")
        task(account, at(i), at(i + 1), activation=activation, assignee=UserFactory(),
             status=TaskStatus.DONE)  # fmt: skip


@pytest.mark.parametrize(("rows", "page_size"), [(3, 1), (3, 50), (8, 50)])
def test_a_page_costs_the_same_queries_whatever_its_size(
    reader, django_assert_num_queries, rows, page_size
):
    account = AccountFactory()
    every_kind(account, rows)

    # the key (2), the account, then one per kind of entry (9)
    with django_assert_num_queries(12):
        response = reader.get(url(account, page_size=page_size))

    assert response.status_code == 200
    assert len(response.json()["results"]) == min(page_size, rows * 9)

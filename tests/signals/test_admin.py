from datetime import UTC, date

import pytest

from signals.models import AccountSignalDaily, Signal, SignalType
from signals.services import rollups_refresh
from tests.accounts.factories import AccountFactory, ContactFactory
from tests.signals.factories import SignalFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, superuser):
    client.force_login(superuser)
    return client


@pytest.mark.parametrize(
    "url",
    [
        "/admin/signals/source/",
        "/admin/signals/source/add/",
        "/admin/signals/source/1/change/",
        "/admin/signals/signaltype/",
        "/admin/signals/signaltype/?q=web",
        "/admin/signals/signaltype/1/change/",
        "/admin/signals/signal/",
        "/admin/signals/signal/?q=evt",
        "/admin/signals/accountsignaldaily/",
        "/admin/accounts/identitystep/",
        "/admin/accounts/identitystep/1/change/",
    ],
)
def test_admin_pages_open(admin_client, url):
    assert admin_client.get(url).status_code == 200


def test_a_signal_change_page_opens_read_only(admin_client):
    signal = SignalFactory(account=AccountFactory())

    response = admin_client.get(f"/admin/signals/signal/{signal.pk}/change/")

    assert response.status_code == 200
    assert b'name="_save"' not in response.content


def _signals(count):
    account = AccountFactory()
    contact = ContactFactory(account=account)
    for _ in range(count):
        SignalFactory(account=account, contact=contact)


@pytest.mark.parametrize("count", [3, 12])
def test_the_signal_changelist_runs_constant_queries(
    admin_client, count, django_assert_num_queries
):
    _signals(count)

    with django_assert_num_queries(8):
        response = admin_client.get("/admin/signals/signal/")

    assert response.status_code == 200


@pytest.mark.parametrize("count", [3, 12])
def test_the_rollup_changelist_runs_constant_queries(
    admin_client, count, django_assert_num_queries
):
    web = SignalType.objects.get(key="web.visit")
    for n in range(count):
        AccountSignalDaily.objects.create(
            account=AccountFactory(), type=web, day=date(2026, 1, 1 + n % 28), count=1
        )

    with django_assert_num_queries(7):
        response = admin_client.get("/admin/signals/accountsignaldaily/")

    assert response.status_code == 200


# Signals leave by erasure and the retention purge only: the admin deletes none ----------


@pytest.fixture
def rolled_up():
    """Two signals of one account and day, with the rollup ingestion keeps for them."""
    account = AccountFactory()
    signals = [SignalFactory(account=account) for _ in range(2)]
    day = signals[0].occurred_at.astimezone(UTC).date()
    rollups_refresh(keys={(account.pk, signals[0].type_id, day)})
    return signals, AccountSignalDaily.objects.get(account=account)


def test_the_admin_deletes_no_signal_and_no_rollup(admin_client, rolled_up):
    signals, rollup = rolled_up
    assert rollup.count == 2

    # when a superuser tries the delete page, and the bulk action, of both
    pages = [
        f"/admin/signals/signal/{signals[0].pk}/delete/",
        f"/admin/signals/accountsignaldaily/{rollup.pk}/delete/",
    ]
    answers = [admin_client.post(page, {"post": "yes"}).status_code for page in pages]
    bulk = admin_client.post(
        "/admin/signals/signal/",
        {"action": "delete_selected", "_selected_action": [s.pk for s in signals], "post": "yes"},
    )

    # then both are refused, the action is not offered, and the figures still agree
    assert answers == [403, 403]
    assert bulk.status_code == 200
    assert admin_client.get("/admin/signals/signal/").context["action_form"] is None
    assert Signal.objects.filter(account=signals[0].account).count() == 2
    rollup.refresh_from_db()
    assert rollup.count == 2

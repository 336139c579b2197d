from datetime import date

import pytest

from signals.models import AccountSignalDaily, SignalType
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

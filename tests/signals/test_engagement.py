from datetime import timedelta

import pytest
from django.utils import timezone

from signals.services import signals_ingest
from tests.accounts.factories import AccountDomainFactory, ContactFactory

pytestmark = pytest.mark.django_db

NOW = timezone.now().replace(microsecond=0)


def item(external_id, email, at):
    return {
        "source": "marketing",
        "type": "email.click",
        "occurred_at": at.isoformat(),
        "external_id": external_id,
        "contact": {"email": email},
    }


def test_known_contacts_last_engaged_at_follows_their_newest_signal():
    # given
    account = AccountDomainFactory(domain="acme.com").account
    stale = ContactFactory(
        account=account, email="a@acme.com", last_engaged_at=NOW - timedelta(days=30)
    )
    fresh = ContactFactory(account=account, email="b@acme.com", last_engaged_at=NOW)
    never = ContactFactory(account=account, email="c@acme.com", last_engaged_at=None)

    # when: two signals for the stale contact (the newer one counts), an older one for
    # the fresh contact, and one for the contact never engaged
    signals_ingest(
        items=[
            item("1", "a@acme.com", NOW - timedelta(days=3)),
            item("2", "a@acme.com", NOW - timedelta(days=2)),
            item("3", "b@acme.com", NOW - timedelta(days=5)),
            item("4", "c@acme.com", NOW - timedelta(hours=1)),
        ]
    )

    # then
    for contact in (stale, fresh, never):
        contact.refresh_from_db()
    assert stale.last_engaged_at == NOW - timedelta(days=2)
    assert fresh.last_engaged_at == NOW
    assert never.last_engaged_at == NOW - timedelta(hours=1)

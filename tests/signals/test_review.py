from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from accounts.models import Account, AccountAlias, AccountDomain, AccountIdentifier, Contact
from signals.choices import IdentityKind, ReviewStatus
from signals.models import AccountSignalDaily, Signal, UnmatchedIdentity
from signals.queue import identities_refresh
from signals.review import review_assign, review_create_account, review_ignore
from signals.services import signals_ingest
from tests.accounts.factories import AccountDomainFactory, AccountFactory

pytestmark = pytest.mark.django_db

# Two whole UTC days a few days back, so that the hand-computed rollups are per day.
DAY1 = (
    (timezone.now() - timedelta(days=3))
    .astimezone(UTC)
    .replace(hour=9, minute=0, second=0, microsecond=0)
)
DAY2 = DAY1 + timedelta(days=1)


def item(external_id, at=DAY1, **fields):
    return {
        "source": "website",
        "type": "web.visit",
        "occurred_at": at.isoformat(),
        "external_id": external_id,
        **fields,
    }


def queue():
    return {
        entry.key: (entry.kind, entry.signal_count, entry.first_seen, entry.last_seen)
        for entry in UnmatchedIdentity.objects.all()
    }


def test_ingest_queues_unmatched_signals_by_identity_with_counts_and_first_last_seen():
    # when
    result = signals_ingest(
        items=[
            item("a", account={"domain": "https://www.newco.io/pricing"}),
            item("b", DAY2, contact={"email": "jane@newco.io"}),
            item("c", account={"name": "Globex Corporation"}),
            item("d", DAY2, account={"name": "GLOBEX corp."}),
            item("e", account={"identifier": {"system": "crm", "id": "001A"}}),
            item("f", ip="203.0.113.9"),
            item("g", contact={"email": "someone@gmail.com"}),
            item("h", account={"domain": "outlook.com"}),
        ]
    )

    # then
    assert result.unmatched == 8
    assert queue() == {
        "domain:newco.io": ("domain", 2, DAY1, DAY2),
        "name:globex": ("name", 2, DAY1, DAY2),
        "identifier:crm:001A": ("identifier", 1, DAY1, DAY1),
        "ip:203.0.113.9": ("ip", 1, DAY1, DAY1),
    }
    # a free-mail address or domain names no company: stored, not queued
    assert Signal.objects.get(external_id="g").review_key == ""
    assert Signal.objects.get(external_id="h").review_key == ""
    assert UnmatchedIdentity.objects.get(key="name:globex").label == "Globex Corporation"


def test_a_queue_entry_lost_while_signals_wait_is_made_again_from_its_key():
    # given signals waiting under a domain whose entry is gone
    signals_ingest(
        items=[item("a", account={"domain": "newco.io"}), item("b", DAY2, ip="10.0.0.1")]
    )
    UnmatchedIdentity.objects.filter(key="domain:newco.io").delete()

    # when the keys are refreshed without their identities (as a purge or re-resolution does)
    identities_refresh(keys=["domain:newco.io", "ip:10.0.0.1", "domain:nobody.org"])

    # then the entry is back, read from its key; a key with nothing waiting gets none
    assert queue() == {
        "domain:newco.io": ("domain", 1, DAY1, DAY1),
        "ip:10.0.0.1": ("ip", 1, DAY2, DAY2),
    }
    entry = UnmatchedIdentity.objects.get(key="domain:newco.io")
    assert (entry.value, entry.label, entry.status) == ("newco.io", "newco.io", ReviewStatus.OPEN)


def test_an_ambiguous_name_is_queued_with_its_candidates():
    first = AccountFactory(name="Initech Software", country="US")
    second = AccountFactory(name="Initech Software", country="US")

    signals_ingest(items=[item("a", account={"name": "Initech Software Inc"})])

    entry = UnmatchedIdentity.objects.get()
    assert entry.key == "name:initech software"
    assert {c["id"] for c in entry.candidates} == {first.pk, second.pk}
    assert all(c["confidence"] == 1.0 for c in entry.candidates)


def test_assigning_a_domain_adds_the_rule_and_re_resolves_with_rollups(staff_user):
    # given: three waiting signals, two on day 1 (values 1 and 2), one on day 2 (value 5)
    account = AccountFactory(name="NewCo")
    signals_ingest(
        items=[
            item("a", value=1, account={"domain": "newco.io"}),
            item("b", value=2, contact={"email": "jane@newco.io", "title": "CTO"}),
            item("c", DAY2, value=5, account={"url": "https://app.newco.io"}),
        ]
    )
    entry = UnmatchedIdentity.objects.get(key="domain:newco.io")
    assert not AccountSignalDaily.objects.exists()

    # when (the task runs inline in tests: Q_CLUSTER sync)
    review_assign(identity=entry, account=account, actor=staff_user)

    # then: the rule
    assert AccountDomain.objects.get(domain="newco.io").account == account
    # the signals, with the method of the rule that matched them
    signals = {s.external_id: s for s in Signal.objects.all()}
    assert {s.account_id for s in signals.values()} == {account.pk}
    assert signals["a"].match_method == "domain"
    assert signals["b"].match_method == "email_domain"
    assert signals["b"].contact.email == "jane@newco.io"
    assert Contact.objects.get().account == account
    # the rollups, by hand: day 1 = 2 signals summing 3 with one contact, day 2 = 1 of 5
    days = {
        row.day: (row.count, row.value_sum, row.distinct_contacts)
        for row in AccountSignalDaily.objects.filter(account=account)
    }
    assert days == {
        DAY1.date(): (2, Decimal(3), 1),
        DAY2.date(): (1, Decimal(5), 0),
    }
    # the queue entry is decided and has nothing waiting
    entry.refresh_from_db()
    assert (entry.status, entry.account, entry.signal_count) == (
        ReviewStatus.ASSIGNED,
        account,
        0,
    )
    assert entry.decided_by == staff_user


def test_a_later_signal_with_a_decided_domain_matches_directly():
    account = AccountFactory()
    signals_ingest(items=[item("a", account={"domain": "newco.io"})])
    review_assign(identity=UnmatchedIdentity.objects.get(), account=account)

    result = signals_ingest(items=[item("later", account={"domain": "www.newco.io"})])

    assert (result.matched, result.unmatched) == (1, 0)
    assert Signal.objects.get(external_id="later").account == account


def test_assigning_a_name_adds_an_alias_that_matches_exactly():
    account = AccountFactory(name="Umbrella Holdings")
    signals_ingest(items=[item("a", account={"name": "Umbrela Corp"})])
    entry = UnmatchedIdentity.objects.get()

    review_assign(identity=entry, account=account)

    alias = AccountAlias.objects.get()
    assert (alias.account, alias.name, alias.normalised) == (account, "Umbrela Corp", "umbrela")
    signal = Signal.objects.get()
    assert (signal.account, signal.match_method, signal.match_confidence) == (
        account,
        "name",
        Decimal("1.0000"),
    )
    later = signals_ingest(items=[item("b", account={"name": "UMBRELA CORP."})])
    assert later.matched == 1


def test_assigning_an_identifier_or_an_ip_adds_those_rules():
    account = AccountFactory()
    signals_ingest(
        items=[
            item("a", account={"identifier": {"system": "crm", "id": "001A"}}),
            item("b", ip="203.0.113.9"),
        ]
    )

    for entry in UnmatchedIdentity.objects.all():
        review_assign(identity=entry, account=account)

    identifier = AccountIdentifier.objects.get()
    assert (identifier.system, identifier.external_id, identifier.account) == (
        "crm",
        "001A",
        account,
    )
    assert account.ip_ranges.get().network == "203.0.113.9/32"
    assert dict(Signal.objects.values_list("external_id", "match_method")) == {
        "a": "identifier",
        "b": "ip",
    }


def test_creating_an_account_from_a_domain():
    signals_ingest(items=[item("a", account={"domain": "newco.io", "name": "NewCo"})])
    entry = UnmatchedIdentity.objects.get()

    account = review_create_account(identity=entry, name="NewCo Inc")

    assert account.name == "NewCo Inc"
    assert account.domains.get().domain == "newco.io"
    assert Signal.objects.get().account == account


def test_a_domain_another_account_owns_is_refused_and_nothing_changes():
    AccountDomainFactory(domain="taken.io")
    # the signal was stored while the domain was unknown
    signals_ingest(items=[item("a", account={"domain": "taken.io"})])
    AccountDomain.objects.all().delete()
    signals_ingest(items=[item("b", account={"domain": "taken.io"})])
    entry = UnmatchedIdentity.objects.get()
    owner = AccountDomainFactory(domain="taken.io").account
    other = AccountFactory()

    with pytest.raises(ValidationError, match="already belongs"):
        review_assign(identity=entry, account=other)

    entry.refresh_from_db()
    assert entry.status == ReviewStatus.OPEN
    assert AccountDomain.objects.get().account == owner


def test_ignoring_hides_the_identity_and_keeps_it_out_of_the_queue(admin_client_):
    signals_ingest(items=[item("a", account={"domain": "spam.io"})])
    review_ignore(identities=UnmatchedIdentity.objects.all())

    signals_ingest(items=[item("b", DAY2, account={"domain": "spam.io"})])

    entry = UnmatchedIdentity.objects.get()
    assert (entry.status, entry.signal_count) == (ReviewStatus.IGNORED, 2)
    response = admin_client_.get(reverse("admin:signals_unmatchedidentity_changelist"))
    assert response.context["cl"].result_count == 0
    response = admin_client_.get(
        reverse("admin:signals_unmatchedidentity_changelist") + "?status=ignored"
    )
    assert response.context["cl"].result_count == 1


# Admin --------------------------------------------------------------------------------


@pytest.fixture
def admin_client_(client, superuser):
    client.force_login(superuser)
    return client


def test_the_queue_changelist_runs_constant_queries(admin_client_, django_assert_num_queries):
    account = AccountFactory()
    signals_ingest(
        items=[item(f"n{n}", account={"domain": f"firm{n}.io"}) for n in range(4)]
        + [item("x", account={"domain": "gone.io"})]
    )
    review_assign(identity=UnmatchedIdentity.objects.get(key="domain:gone.io"), account=account)
    UnmatchedIdentity.objects.update(candidates=[{"id": 1, "name": "A", "confidence": 0.8}])

    # session, user, count, page
    with django_assert_num_queries(4):
        response = admin_client_.get(
            reverse("admin:signals_unmatchedidentity_changelist") + "?status=all"
        )

    assert response.status_code == 200
    assert response.context["cl"].result_count == 5
    assert b"A (80%)" in response.content


def test_the_assign_page_decides_and_redirects_to_the_queue(admin_client_, superuser):
    account = AccountFactory()
    signals_ingest(items=[item("a", account={"domain": "newco.io"})])
    entry = UnmatchedIdentity.objects.get()
    url = reverse("admin:signals_unmatchedidentity_assign", args=[entry.pk])

    assert admin_client_.get(url).status_code == 200
    response = admin_client_.post(url, {"account": account.pk})

    assert response.status_code == 302
    entry.refresh_from_db()
    assert (entry.status, entry.decided_by) == (ReviewStatus.ASSIGNED, superuser)
    assert Signal.objects.get().account == account
    # a second decision on the same entry changes nothing
    other = AccountFactory()
    assert admin_client_.post(url, {"account": other.pk}).status_code == 200
    assert Signal.objects.get().account == account


def test_the_assign_page_shows_a_refused_rule_as_an_error(admin_client_):
    signals_ingest(items=[item("a", account={"domain": "taken.io"})])
    AccountDomainFactory(domain="taken.io")
    entry = UnmatchedIdentity.objects.get()
    url = reverse("admin:signals_unmatchedidentity_assign", args=[entry.pk])

    response = admin_client_.post(url, {"account": AccountFactory().pk})

    assert response.status_code == 200
    assert "already belongs" in response.content.decode()
    entry.refresh_from_db()
    assert entry.status == ReviewStatus.OPEN


def test_the_create_account_page_and_the_bulk_actions(admin_client_):
    signals_ingest(
        items=[
            item("a", account={"name": "Hooli"}),
            item("b", account={"domain": "piedpiper.com"}),
            item("c", account={"domain": "spam.io"}),
        ]
    )
    hooli = UnmatchedIdentity.objects.get(kind=IdentityKind.NAME)
    changelist = reverse("admin:signals_unmatchedidentity_changelist")

    response = admin_client_.post(
        reverse("admin:signals_unmatchedidentity_create_account", args=[hooli.pk]),
        {"name": "Hooli XYZ"},
    )
    assert response.status_code == 302
    assert Signal.objects.get(external_id="a").account.name == "Hooli XYZ"

    piper = UnmatchedIdentity.objects.get(key="domain:piedpiper.com")
    admin_client_.post(changelist, {"action": "create_accounts", "_selected_action": [piper.pk]})
    assert Account.objects.get(domains__domain="piedpiper.com").name == "piedpiper.com"

    spam = UnmatchedIdentity.objects.get(key="domain:spam.io")
    admin_client_.post(changelist, {"action": "ignore", "_selected_action": [spam.pk]})
    spam.refresh_from_db()
    assert spam.status == ReviewStatus.IGNORED
    admin_client_.post(
        changelist + "?status=ignored", {"action": "reopen", "_selected_action": [spam.pk]}
    )
    spam.refresh_from_db()
    assert spam.status == ReviewStatus.OPEN


def test_decisions_need_the_change_permission(client, django_user_model):
    from django.contrib.auth.models import Group

    viewer = django_user_model.objects.create_user("viewer", password="pw", is_staff=True)
    viewer.groups.add(Group.objects.get(name="Viewer"))
    client.force_login(viewer)
    signals_ingest(items=[item("a", account={"domain": "newco.io"})])
    entry = UnmatchedIdentity.objects.get()

    response = client.post(
        reverse("admin:signals_unmatchedidentity_assign", args=[entry.pk]),
        {"account": AccountFactory().pk},
    )

    assert response.status_code == 403
    assert UnmatchedIdentity.objects.get().status == ReviewStatus.OPEN


def test_queue_times_are_aware_utc():
    signals_ingest(items=[item("a", account={"domain": "newco.io"})])
    assert UnmatchedIdentity.objects.get().first_seen == datetime.fromisoformat(DAY1.isoformat())


def test_the_assign_form_finds_accounts_by_autocomplete(admin_client_):
    AccountFactory(name="Wayne Enterprises")
    AccountFactory(name="Stark Industries")

    response = admin_client_.get(
        "/admin/autocomplete/",
        {
            "app_label": "signals",
            "model_name": "unmatchedidentity",
            "field_name": "account",
            "term": "wayne",
        },
    )

    assert response.status_code == 200
    assert [r["text"] for r in response.json()["results"]] == ["Wayne Enterprises"]

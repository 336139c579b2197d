import json
from datetime import timedelta

import pytest
from django.utils import timezone

from abx_site.common.scopes import Scope
from signals.models import Signal
from tests.accounts.factories import (
    AccountDomainFactory,
    AccountFactory,
    AccountIdentifierFactory,
    ContactFactory,
)
from tests.signals.factories import SignalFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/signals/"
RESOLVE_URL = "/api/v1/accounts/resolve/"


def item(external_id, **fields):
    return {
        "source": "website",
        "type": "web.visit",
        "occurred_at": (timezone.now() - timedelta(minutes=5)).isoformat(),
        "external_id": external_id,
        **fields,
    }


@pytest.fixture
def writer(api_client, api_key_for):
    api_client.credentials(HTTP_AUTHORIZATION=f"Api-Key {api_key_for(Scope.SIGNALS_WRITE)}")
    return api_client


def test_ingest_answers_with_the_counts_and_rejections_by_index(writer):
    AccountDomainFactory(domain="acme.com")
    body = {
        "signals": [
            item("a", account={"domain": "acme.com"}),
            item("b", type="nope"),
            item("c"),
            item("a"),
        ]
    }

    response = writer.post(URL, body, format="json")

    assert response.status_code == 200
    assert response.json() == {
        "accepted": 2,
        "duplicates": 1,
        "matched": 1,
        "unmatched": 1,
        "rejected": [{"index": 1, "errors": {"type": ["Unknown type 'nope'."]}}],
    }
    assert Signal.objects.count() == 2


def test_re_sending_the_same_request_is_safe(writer):
    body = {"signals": [item("a"), item("b")]}

    writer.post(URL, body, format="json")
    response = writer.post(URL, body, format="json")

    assert response.json()["duplicates"] == 2
    assert Signal.objects.count() == 2


def test_a_body_that_is_not_json_is_refused_whole(writer):
    response = writer.post(URL, "{not json", content_type="application/json")

    assert response.status_code == 400
    assert "JSON parse error" in response.json()["message"]
    assert not Signal.objects.exists()


@pytest.mark.parametrize(
    "body",
    [[item("a")], {"signal": [item("a")]}, {"signals": item("a")}, {"signals": [], "x": 1}],
)
def test_a_body_of_the_wrong_shape_is_refused_whole(writer, body):
    response = writer.post(URL, body, format="json")

    assert response.status_code == 400
    assert response.json()["errors"]
    assert not Signal.objects.exists()


def test_text_that_cannot_be_stored_is_refused_by_item_and_echoed_escaped(writer):
    # given items whose unknown field, source and topic hold a lone surrogate or a NUL
    # (valid JSON escapes, but no database can store them)
    body = (
        '{"signals": ['
        + json.dumps(item("ok"))
        + ', {"source": "web\\ud800", "type": "web.visit", "external_id": "1",'
        ' "occurred_at": "2026-12-01T10:00:00Z", "x\\udfff": 1, "topic": "a\\u0000"}'
        "]}"
    )

    # when
    response = writer.post(URL, body, content_type="application/json")

    # then an answer, not a server error: the neighbour is stored, the item rejected
    assert response.status_code == 200, response.content[:300]
    answer = response.json()
    assert answer["accepted"] == 1
    [rejected] = answer["rejected"]
    assert rejected["errors"]["source"] == ["Unknown source 'web\\ud800'."]
    assert rejected["errors"]["x\\udfff"] == ["Unknown field; extra data goes in 'attributes'."]
    assert rejected["errors"]["topic"] == ["Null characters are not allowed."]
    assert list(Signal.objects.values_list("external_id", flat=True)) == ["ok"]


def test_more_than_five_thousand_items_are_refused_whole(writer):
    body = {"signals": [{"external_id": str(n)} for n in range(5_001)]}

    response = writer.post(URL, body, format="json")

    assert response.status_code == 413
    assert response.json()["message"] == "A batch holds at most 5,000 signals; this one has 5,001."


def test_a_body_over_five_megabytes_is_refused_whole(writer):
    padding = "x" * 1_000
    body = json.dumps({"signals": [item(str(n), attributes={"p": padding}) for n in range(5_300)]})

    response = writer.post(URL, body, content_type="application/json")

    assert response.status_code == 413
    assert "at most 5,242,880 bytes" in response.json()["message"]
    assert not Signal.objects.exists()


def test_a_source_bound_key_is_refused_other_sources_by_index(api_client, api_key_for):
    key = api_key_for(Scope.SIGNALS_WRITE, source="product")
    api_client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    body = {
        "signals": [
            item("a", source="product", type="product.feature_used"),
            item("b", source="website"),
        ]
    }

    response = api_client.post(URL, body, format="json")

    assert response.json()["accepted"] == 1
    assert response.json()["rejected"][0]["index"] == 1
    assert list(Signal.objects.values_list("source__slug", flat=True)) == ["product"]


def test_ingest_needs_a_key(api_client):
    response = api_client.post(URL, {"signals": []}, format="json")

    assert response.status_code == 401


@pytest.mark.parametrize("scope", [Scope.SIGNALS_READ, Scope.ACCOUNTS_WRITE])
def test_ingest_needs_the_write_scope(api_client, api_key_for, scope):
    api_client.credentials(HTTP_AUTHORIZATION=f"Api-Key {api_key_for(scope)}")

    response = api_client.post(URL, {"signals": [item("a")]}, format="json")

    assert response.status_code == 403
    assert "signals:write" in response.json()["message"]
    assert not Signal.objects.exists()


def test_the_list_needs_the_read_scope(api_client, api_key_for):
    api_client.credentials(HTTP_AUTHORIZATION=f"Api-Key {api_key_for(Scope.SIGNALS_WRITE)}")

    assert api_client.get(URL).status_code == 403


def test_the_list_is_cursor_paginated_newest_first_in_constant_queries(
    api_client, api_key_for, django_assert_num_queries
):
    # given
    now = timezone.now()
    account = AccountFactory()
    contact = ContactFactory(account=account)
    for n in range(5):
        SignalFactory(
            external_id=f"s{n}",
            occurred_at=now - timedelta(hours=n),
            account=account,
            contact=contact,
        )
    api_client.credentials(HTTP_AUTHORIZATION=f"Api-Key {api_key_for(Scope.SIGNALS_READ)}")

    # when: the key lookup, its last-used stamp and one page of signals
    with django_assert_num_queries(3):
        first = api_client.get(URL, {"page_size": 3})

    # then
    page = first.json()
    assert [s["external_id"] for s in page["results"]] == ["s0", "s1", "s2"]
    assert page["results"][0]["account_name"] == account.name
    assert page["results"][0]["contact_email"] == contact.email
    assert page["results"][0]["source"] == "website"
    second = api_client.get(page["next"]).json()
    assert [s["external_id"] for s in second["results"]] == ["s3", "s4"]
    assert second["next"] is None


def test_the_list_filters_by_account_and_matched(api_client, api_key_for):
    account = AccountFactory()
    SignalFactory(external_id="mine", account=account)
    SignalFactory(external_id="lost")
    api_client.credentials(HTTP_AUTHORIZATION=f"Api-Key {api_key_for(Scope.SIGNALS_READ)}")

    mine = api_client.get(URL, {"account": account.pk}).json()["results"]
    lost = api_client.get(URL, {"matched": "false"}).json()["results"]

    assert [s["external_id"] for s in mine] == ["mine"]
    assert [s["external_id"] for s in lost] == ["lost"]


@pytest.fixture
def reader(api_client, api_key_for):
    api_client.credentials(HTTP_AUTHORIZATION=f"Api-Key {api_key_for(Scope.ACCOUNTS_READ)}")
    return api_client


def test_resolve_answers_the_account_method_and_confidence(reader):
    owned = AccountDomainFactory(domain="acme.co.uk", account__name="Acme Ltd")

    response = reader.get(RESOLVE_URL, {"email": "jane@mail.acme.co.uk"})

    assert response.status_code == 200
    assert response.json() == {
        "account": {
            "id": owned.account_id,
            "name": "Acme Ltd",
            "domain": "acme.co.uk",
            "country": "US",
            "stage": "prospect",
            "tier": None,
        },
        "method": "email_domain",
        "confidence": 1.0,
        "candidates": [],
    }


def test_resolve_returns_candidates_when_ambiguous(reader):
    first = AccountFactory(name="Acme Ltd")
    second = AccountFactory(name="Acme Limited")

    body = reader.get(RESOLVE_URL, {"name": "Acme"}).json()

    assert body["account"] is None
    assert body["method"] == "unmatched"
    assert {c["id"] for c in body["candidates"]} == {first.pk, second.pk}


def test_resolve_by_identifier(reader):
    identifier = AccountIdentifierFactory(system="billing", external_id="cus_1")

    body = reader.get(RESOLVE_URL, {"system": "billing", "external_id": "cus_1"}).json()

    assert (body["account"]["id"], body["method"]) == (identifier.account_id, "identifier")


def test_resolve_needs_a_hint(reader):
    response = reader.get(RESOLVE_URL)

    assert response.status_code == 400
    assert "Give at least one" in str(response.json()["errors"])


def test_resolve_needs_the_accounts_read_scope(api_client, api_key_for):
    api_client.credentials(HTTP_AUTHORIZATION=f"Api-Key {api_key_for(Scope.SIGNALS_READ)}")

    assert api_client.get(RESOLVE_URL, {"domain": "acme.com"}).status_code == 403
    api_client.credentials()
    assert api_client.get(RESOLVE_URL, {"domain": "acme.com"}).status_code == 401

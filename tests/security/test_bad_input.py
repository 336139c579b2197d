"""Hostile input on every write path: a clear 4xx naming the problem, and nothing
changed (row counts of every table the paths write are the same before and after)."""

import base64
import hashlib
import hmac
import json
import time

import pytest
from django.apps import apps
from django.core.cache import cache

from abx_site.common.scopes import Scope
from signals.models import Source
from tests.accounts.factories import AccountFactory

pytestmark = pytest.mark.django_db

DEEP = 50_000  # nesting levels: past any parser's recursion limit
TABLES = [
    "accounts.Account",
    "accounts.AccountDomain",
    "accounts.Contact",
    "accounts.Deal",
    "accounts.ArrChange",
    "signals.Signal",
    "signals.AccountSignalDaily",
]

# (label, raw body) sent as application/json to every write endpoint.
HOSTILE_BODIES = [
    ("malformed JSON", b'{"name": "Acme",'),
    ("not JSON at all", b"name=Acme&stage=customer"),
    ("a list, not an object", b'[{"name": "Acme"}]'),
    ("a bare string", b'"Acme"'),
    ("null", b"null"),
    ("deep nesting", b"[" * DEEP + b"]" * DEEP),
    ("deep nesting in a field", b'{"name": ' + b"[" * DEEP + b"]" * DEEP + b"}"),
    ("wrong types", json.dumps({"name": ["Acme"], "employee_count": "many"}).encode()),
    ("a huge string", json.dumps({"name": "A" * 1_000_000}).encode()),
    ("a NUL character", json.dumps({"name": "Ac\x00me", "email": "a\x00@acme.com"}).encode()),
    ("a lone surrogate", b'{"name": "Acme \\ud800", "email": "\\udfff@acme.com"}'),
    ("an unknown key", json.dumps({"name": "Acme", "is_admin": True}).encode()),
    ("NaN", b'{"name": "Acme", "employee_count": NaN, "amount": NaN, "value": NaN}'),
    ("a huge number", b'{"name": "Acme", "employee_count": 1e400, "amount": 1' + b"0" * 400 + b"}"),
]
WRITE_PATHS = [
    ("post", "/api/v1/accounts/", Scope.ACCOUNTS_WRITE),
    ("patch", "/api/v1/accounts/{account}/", Scope.ACCOUNTS_WRITE),
    ("post", "/api/v1/contacts/", Scope.ACCOUNTS_WRITE),
    ("post", "/api/v1/deals/", Scope.ACCOUNTS_WRITE),
    ("post", "/api/v1/accounts/{account}/arr/", Scope.ACCOUNTS_WRITE),
    ("post", "/api/v1/signals/", Scope.SIGNALS_WRITE),
]


def counts() -> dict[str, int]:
    return {label: apps.get_model(label).objects.count() for label in TABLES}


@pytest.fixture(autouse=True)
def _fresh_throttle_counts():
    cache.clear()


@pytest.fixture
def account():
    return AccountFactory(name="Existing")


@pytest.mark.parametrize(("label", "body"), HOSTILE_BODIES, ids=[b[0] for b in HOSTILE_BODIES])
@pytest.mark.parametrize(("method", "path", "scope"), WRITE_PATHS, ids=lambda v: str(v))
def test_hostile_bodies_get_a_clear_4xx_and_change_nothing(
    api_client, api_key_for, account, method, path, scope, label, body
):
    # given
    api_client.credentials(HTTP_AUTHORIZATION=f"Api-Key {api_key_for(scope)}")
    before = counts()
    name_before = account.name

    # when
    response = getattr(api_client, method)(
        path.format(account=account.pk), body, content_type="application/json"
    )

    # then a client error that says what is wrong, and no row added or changed
    assert 400 <= response.status_code < 500, (response.status_code, response.content[:300])
    payload = response.json()
    assert payload["message"]
    assert counts() == before
    account.refresh_from_db()
    assert account.name == name_before


RAW_KEY = b"0123456789abcdef0123456789abcdef"


def signed(body: bytes, webhook_id: str) -> dict:
    timestamp = str(int(time.time()))
    mac = hmac.new(RAW_KEY, f"{webhook_id}.{timestamp}.".encode() + body, hashlib.sha256)
    return {
        "HTTP_WEBHOOK_ID": webhook_id,
        "HTTP_WEBHOOK_TIMESTAMP": timestamp,
        "HTTP_WEBHOOK_SIGNATURE": "v1," + base64.b64encode(mac.digest()).decode(),
    }


@pytest.mark.parametrize(("label", "body"), HOSTILE_BODIES, ids=[b[0] for b in HOSTILE_BODIES])
def test_hostile_bodies_on_the_signed_webhook_change_nothing(api_client, label, body):
    # given a source with a secret, and a body correctly signed with it
    Source.objects.filter(slug="website").update(
        webhook_secret="whsec_" + base64.b64encode(RAW_KEY).decode()
    )
    before = counts()

    # when
    response = api_client.post(
        "/api/v1/signals/webhook/website/",
        body,
        content_type="application/json",
        **signed(body, f"msg-{label}"),
    )

    # then refused whole (4xx), or taken with every item rejected: nothing stored
    assert response.status_code < 500, response.content[:300]
    if response.status_code == 200:
        assert response.json()["accepted"] == 0
    assert counts() == before


@pytest.mark.parametrize(
    "attributes",
    [
        {"a": {"b": {"c": {"d": {"e": {"f": 1}}}}}},
        {"blob": "x" * 9000},
        {"nested": [[[[[[1]]]]]]},
    ],
    ids=["6 levels", "over 8 KB", "lists 6 deep"],
)
def test_signal_attributes_too_deep_or_too_big_are_rejected_by_item(
    api_client, api_key_for, attributes
):
    api_client.credentials(HTTP_AUTHORIZATION=f"Api-Key {api_key_for(Scope.SIGNALS_WRITE)}")
    item = {
        "source": "website",
        "type": "web.visit",
        "occurred_at": "2026-11-30T10:00:00Z",
        "external_id": "hostile-1",
        "attributes": attributes,
    }

    response = api_client.post("/api/v1/signals/", {"signals": [item]}, format="json")

    assert response.status_code == 200
    assert response.json()["accepted"] == 0
    assert "attributes" in response.json()["rejected"][0]["errors"]
    assert counts()["signals.Signal"] == 0


def test_a_batch_over_five_megabytes_is_refused_whole(api_client, api_key_for):
    api_client.credentials(HTTP_AUTHORIZATION=f"Api-Key {api_key_for(Scope.SIGNALS_WRITE)}")
    body = json.dumps({"signals": [], "padding": "x" * (6 * 1024 * 1024)}).encode()

    response = api_client.post("/api/v1/signals/", body, content_type="application/json")

    assert response.status_code in (400, 413)
    assert response.json()["message"]

"""Rate limits: each API key, staff user and anonymous address has its own budget."""

import pytest
from django.core.cache import cache

from abx_site.common.scopes import Scope

ACCOUNTS = "/api/v1/accounts/"


@pytest.fixture(autouse=True)
def _rate(settings):
    settings.ABX_API_THROTTLE_RATE = "5/min"
    settings.ABX_API_ANON_THROTTLE_RATE = "3/min"
    cache.clear()
    yield
    cache.clear()


def get(client, key=None):
    headers = {"HTTP_AUTHORIZATION": f"Api-Key {key}"} if key else {}
    return client.get(ACCOUNTS, **headers)


@pytest.mark.django_db
def test_the_call_past_the_budget_gets_429_and_other_keys_keep_theirs(api_client, api_key_for):
    # given two keys
    first, second = api_key_for(Scope.ACCOUNTS_READ), api_key_for(Scope.ACCOUNTS_READ)

    # when the first spends its five calls
    assert [get(api_client, first).status_code for _ in range(5)] == [200] * 5
    refused = get(api_client, first)

    # then the sixth is refused with a wait time, and the second key still has its budget
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 0
    assert "throttled" in refused.json()["message"].lower()
    assert get(api_client, second).status_code == 200


@pytest.mark.django_db
def test_staff_sessions_are_counted_per_user(api_client, staff_user):
    api_client.force_login(staff_user)

    statuses = [api_client.get(ACCOUNTS).status_code for _ in range(6)]

    assert statuses == [200] * 5 + [429]


@pytest.mark.django_db
def test_callers_without_a_key_are_counted_per_address(api_client):
    # Key-less calls are refused before any count, except on the signed webhooks, which
    # verify their signature in the view: those are counted per address.
    statuses = [
        api_client.post("/api/v1/signals/webhook/website/", {}, format="json").status_code
        for _ in range(4)
    ]

    assert statuses == [401] * 3 + [429]


@pytest.mark.django_db
def test_an_empty_rate_turns_the_limit_off(api_client, api_key_for, settings):
    settings.ABX_API_THROTTLE_RATE = ""
    key = api_key_for(Scope.ACCOUNTS_READ)

    assert {get(api_client, key).status_code for _ in range(8)} == {200}


def test_the_rates_come_from_the_environment(monkeypatch):
    import importlib

    from abx_site.settings import base

    monkeypatch.setenv("ABX_API_THROTTLE_RATE", "42/s")
    try:
        assert importlib.reload(base).ABX_API_THROTTLE_RATE == "42/s"
    finally:
        monkeypatch.delenv("ABX_API_THROTTLE_RATE")
        importlib.reload(base)

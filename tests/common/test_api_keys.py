"""API keys: `create_api_key`, `revoke_api_key`, and how keys authenticate."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from abx_site.common.models import ApiKey
from abx_site.common.scopes import Scope
from tests.accounts.factories import UserFactory

ACCOUNTS = "/api/v1/accounts/"


def create_key(*args) -> tuple[str, str]:
    """Run create_api_key; return (all output, the key from the last line)."""
    out = StringIO()
    call_command("create_api_key", *args, stdout=out)
    text = out.getvalue()
    return text, text.strip().splitlines()[-1]


@pytest.mark.django_db
def test_create_api_key_prints_a_working_key_once_and_stores_only_its_hash(api_client):
    # when
    text, key = create_key("--name", "CRM sync", "--scopes", "accounts:read,accounts:write")

    # then the key works
    api_client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    assert api_client.get(ACCOUNTS).status_code == 200
    # and the output says it cannot be shown again
    assert "cannot be shown again" in text
    # and only a hash of it is stored
    api_key = ApiKey.objects.get()
    assert api_key.name == "CRM sync"
    assert api_key.scopes == ["accounts:read", "accounts:write"]
    assert key.startswith(f"{api_key.prefix}.")
    secret = key.split(".", 1)[1]
    stored = [str(value) for value in ApiKey.objects.values().get().values()]
    assert not any(secret in value for value in stored)
    assert api_key.is_valid(key)


@pytest.mark.django_db
def test_create_api_key_binds_a_user_a_source_and_an_expiry():
    user = UserFactory(username="jane")

    create_key(
        "--name",
        "Jane's inbox",
        "--scopes",
        "tasks:read",
        "--user",
        "jane",
        "--source",
        "website",
        "--expires-days",
        "30",
    )

    api_key = ApiKey.objects.get()
    assert api_key.user == user
    assert api_key.source == "website"
    expected = timezone.now() + timedelta(days=30)
    assert abs(api_key.expiry_date - expected) < timedelta(minutes=1)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--scopes", "accounts:read,acounts:write"], "acounts:write"),
        (["--scopes", " , "], "--scopes"),
        (["--scopes", "accounts:read", "--user", "nobody"], "nobody"),
        (["--scopes", "accounts:read", "--source", "Web Site"], "Web Site"),
        (["--scopes", "accounts:read", "--expires-days", "0"], "--expires-days"),
    ],
)
def test_create_api_key_refuses_bad_arguments_and_creates_nothing(args, named):
    with pytest.raises(CommandError, match=named):
        call_command("create_api_key", "--name", "x", *args, stdout=StringIO())

    assert not ApiKey.objects.exists()


@pytest.mark.django_db
def test_a_key_records_when_it_was_last_used(api_client):
    _, key = create_key("--name", "n", "--scopes", "accounts:read")
    assert ApiKey.objects.get().last_used_at is None
    api_client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")

    api_client.get(ACCOUNTS)

    last_used = ApiKey.objects.get().last_used_at
    assert last_used is not None
    assert timezone.now() - last_used < timedelta(minutes=1)


@pytest.mark.django_db
def test_a_key_without_the_scope_is_forbidden(api_client):
    _, key = create_key("--name", "n", "--scopes", Scope.SIGNALS_WRITE)
    api_client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")

    response = api_client.get(ACCOUNTS)

    assert response.status_code == 403
    assert response.json()["message"] == "This API key lacks the 'accounts:read' scope."


@pytest.mark.django_db
def test_no_key_is_unauthorized(api_client):
    response = api_client.get(ACCOUNTS)

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Api-Key"


@pytest.mark.django_db
def test_revoke_api_key_stops_the_key(api_client):
    _, key = create_key("--name", "n", "--scopes", "accounts:read")
    api_client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    assert api_client.get(ACCOUNTS).status_code == 200
    out = StringIO()

    call_command("revoke_api_key", key.split(".")[0], stdout=out)

    assert "Revoked" in out.getvalue()
    assert ApiKey.objects.get().revoked
    assert api_client.get(ACCOUNTS).status_code == 401


@pytest.mark.django_db
def test_revoke_api_key_names_an_unknown_prefix():
    with pytest.raises(CommandError, match="nosuchpx"):
        call_command("revoke_api_key", "nosuchpx", stdout=StringIO())


@pytest.mark.django_db
def test_an_expired_key_is_unauthorized(api_client):
    _, key = create_key("--name", "n", "--scopes", "accounts:read", "--expires-days", "1")
    ApiKey.objects.update(expiry_date=timezone.now() - timedelta(seconds=1))
    api_client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")

    response = api_client.get(ACCOUNTS)

    assert response.status_code == 401
    assert "expired" in response.json()["message"]


@pytest.mark.django_db
def test_a_key_bound_to_an_inactive_user_is_unauthorized(api_client):
    UserFactory(username="gone", is_active=False)
    _, key = create_key("--name", "n", "--scopes", "accounts:read", "--user", "gone")
    api_client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")

    assert api_client.get(ACCOUNTS).status_code == 401

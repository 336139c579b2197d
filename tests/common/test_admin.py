"""The API key admin: scopes are ticked, the raw key is shown once, the list is cheap."""

import re

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from abx_site.common.models import ApiKey
from abx_site.common.scopes import Scope
from tests.accounts.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client_(client, superuser):
    client.force_login(superuser)
    return client


def key_form(**fields):
    data = {"name": "CRM sync", "user": "", "source": "", "expiry_date": ""}
    data.update(fields)
    return data


def test_creating_a_key_shows_the_raw_key_once_and_keeps_the_scopes(admin_client_):
    owner = UserFactory()

    response = admin_client_.post(
        reverse("admin:common_apikey_add"),
        key_form(
            user=owner.pk,
            source="crm",
            scopes=[Scope.ACCOUNTS_READ, Scope.SIGNALS_WRITE],
        ),
    )

    assert response.status_code == 302
    [message] = [
        str(m)
        for m in get_messages(response.wsgi_request)
        if "you will not be able to see it again" in str(m)
    ]
    raw = re.search(r"is: (\S+)\. ", message).group(1)
    key = ApiKey.objects.get_from_key(raw)
    assert (key.name, key.user, key.source) == ("CRM sync", owner, "crm")
    assert sorted(key.scopes) == sorted([Scope.ACCOUNTS_READ, Scope.SIGNALS_WRITE])
    # Only the hash is stored: once the message was shown, no page shows the key again.
    assert raw in admin_client_.get(response.url).text
    page = admin_client_.get(reverse("admin:common_apikey_change", args=[key.pk]))
    assert raw not in page.text
    assert key.prefix in page.text


def test_an_unknown_scope_is_refused(admin_client_):
    response = admin_client_.post(
        reverse("admin:common_apikey_add"), key_form(scopes=["everything"])
    )

    assert response.status_code == 200
    assert "everything is not one of the available choices" in str(response.context["errors"])
    assert not ApiKey.objects.exists()


def test_scopes_can_be_changed_and_a_key_revoked(admin_client_):
    key, _raw = ApiKey.objects.create_key(name="BI", scopes=[Scope.SCOREBOARDS_READ])

    response = admin_client_.post(
        reverse("admin:common_apikey_change", args=[key.pk]),
        key_form(name="BI", scopes=[Scope.SCOREBOARDS_READ, Scope.TASKS_READ], revoked="on"),
    )

    assert response.status_code == 302
    key.refresh_from_db()
    assert key.revoked
    assert sorted(key.scopes) == [Scope.SCOREBOARDS_READ, Scope.TASKS_READ]
    # A revoked key stays revoked: its name, expiry and revocation are read-only now.
    page = admin_client_.get(reverse("admin:common_apikey_change", args=[key.pk]))
    assert page.status_code == 200
    assert "revoked" in page.context["adminform"].readonly_fields


def test_api_key_changelist_queries(admin_client_, django_assert_num_queries):
    for n in range(3):
        ApiKey.objects.create_key(
            name=f"key {n}", scopes=[Scope.ACCOUNTS_READ], user=UserFactory(), source="web"
        )

    # session, user, 2 counts, the source filter's values, rows with their users
    with django_assert_num_queries(6):
        response = admin_client_.get(reverse("admin:common_apikey_changelist"))

    assert response.context["cl"].result_count == 3
    assert "accounts:read" in response.text

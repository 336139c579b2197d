"""Least privilege, generated over every operation of the OpenAPI schema: no key is
401, a key without the endpoint's scope is 403, a key with only that scope passes the
auth layer (a write with an empty body is then refused as bad input, not as forbidden).
"""

import pytest
from django.contrib.auth.models import User
from django.core.cache import cache

from abx_site.common.scopes import Scope
from tests.security.openapi import concrete, operations, scope_for

KEYED = [(method, path) for method, path, keyed in operations() if keyed]
UNKEYED = [(method, path) for method, path, keyed in operations() if not keyed]
STAFF_PAGES = ["/accounts/", "/accounts/1/", "/scoreboard/", "/tasks/", "/admin/", "/api/docs/"]


@pytest.fixture(autouse=True)
def _fresh_throttle_counts():
    cache.clear()


def call(client, method: str, path: str, key: str | None = None):
    headers = {"HTTP_AUTHORIZATION": f"Api-Key {key}"} if key is not None else {}
    return getattr(client, method.lower())(concrete(path), {}, format="json", **headers)


def test_the_schema_lists_the_api():
    assert len(KEYED) >= 15
    assert ("POST", "/api/v1/signals/") in KEYED


@pytest.mark.parametrize(("method", "path"), KEYED)
def test_every_endpoint_names_a_known_scope(method, path):
    assert scope_for(method, path) in Scope.values


@pytest.mark.django_db
@pytest.mark.parametrize(("method", "path"), KEYED)
def test_no_key_is_401(api_client, method, path):
    response = call(api_client, method, path)

    assert response.status_code == 401, response.content
    assert response["WWW-Authenticate"] == "Api-Key"
    assert response.json()["message"]


@pytest.mark.django_db
@pytest.mark.parametrize(("method", "path"), KEYED)
def test_an_unknown_key_is_401(api_client, method, path):
    assert call(api_client, method, path, key="nope.not-a-key").status_code == 401


@pytest.mark.django_db
@pytest.mark.parametrize(("method", "path"), KEYED)
def test_a_key_without_scopes_is_403(api_client, api_key_for, method, path):
    response = call(api_client, method, path, key=api_key_for())

    assert response.status_code == 403, response.content
    assert scope_for(method, path) in response.json()["message"]


@pytest.mark.django_db
@pytest.mark.parametrize(("method", "path"), KEYED)
def test_a_key_with_every_other_scope_is_403(api_client, api_key_for, method, path):
    others = [scope for scope in Scope.values if scope != scope_for(method, path)]

    assert call(api_client, method, path, key=api_key_for(*others)).status_code == 403


@pytest.mark.django_db
@pytest.mark.parametrize(("method", "path"), KEYED)
def test_a_key_with_the_scope_passes_the_auth_layer(api_client, api_key_for, method, path):
    response = call(api_client, method, path, key=api_key_for(scope_for(method, path)))

    assert response.status_code not in (401, 403), response.content
    assert response.status_code < 500
    if method in ("POST", "PUT", "PATCH") and "{" not in path:
        assert response.status_code == 400, response.content


@pytest.mark.django_db
@pytest.mark.parametrize(("method", "path"), UNKEYED)
def test_endpoints_without_a_key_are_signed_webhooks_that_refuse_unsigned_calls(
    api_client, method, path
):
    assert "/webhook/" in path
    assert call(api_client, method, path).status_code == 401


@pytest.mark.django_db
@pytest.mark.parametrize(("method", "path"), KEYED)
def test_staff_without_the_model_permission_is_403(api_client, method, path):
    # a staff member of no team: logged in, but with no permission at all
    user = User.objects.create_user("nobody", password="pw", is_staff=True)
    api_client.force_login(user)

    response = call(api_client, method, path)

    assert response.status_code == 403, response.content


@pytest.mark.django_db
@pytest.mark.parametrize("path", STAFF_PAGES)
def test_staff_pages_need_a_login(client, path):
    response = client.get(path)

    assert response.status_code == 302
    assert "login" in response["Location"]


@pytest.mark.django_db
def test_the_schema_needs_a_key_or_a_staff_login(api_client, api_key_for):
    assert api_client.get("/api/schema/").status_code == 401
    api_client.credentials(HTTP_AUTHORIZATION=f"Api-Key {api_key_for()}")
    assert api_client.get("/api/schema/").status_code == 200

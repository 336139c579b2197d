import pytest
from django.contrib.auth.models import Group, User

from abx_site.common.models import ApiKey
from abx_site.common.scopes import Scope


@pytest.fixture
def staff_user(db):
    """A staff member of the RevOps team."""
    user = User.objects.create_user("revops", "revops@example.com", "pw", is_staff=True)
    user.groups.add(Group.objects.get(name="RevOps"))
    return user


@pytest.fixture
def superuser(db):
    return User.objects.create_superuser("admin", "admin@example.com", "pw")


@pytest.fixture
def api_key_for(db):
    """`api_key_for(*scopes, user=None)` -> the raw key of a new API key holding scopes."""

    def make(*scopes, user=None, source=""):
        _, key = ApiKey.objects.create_key(
            name="test", scopes=[str(s) for s in scopes], user=user, source=source
        )
        return key

    return make


@pytest.fixture
def api_client():
    from rest_framework.test import APIClient

    return APIClient()


@pytest.fixture
def all_scopes():
    return list(Scope.values)

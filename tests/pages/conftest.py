import pytest
from django.contrib.auth.models import User


@pytest.fixture
def staff_client(client, staff_user):
    client.force_login(staff_user)
    return client


@pytest.fixture
def plain_user(db):
    """A logged-in user who is not staff: the pages refuse them."""
    return User.objects.create_user("outsider", "outsider@example.com", "pw")

"""Login failures are limited: after ABX_LOGIN_FAILURE_LIMIT failures from one address
for one username, even the right password is refused until the cool-off ends."""

import pytest
from axes.models import AccessAttempt
from django.contrib.auth.models import User


@pytest.fixture
def jane(db):
    return User.objects.create_user("jane", password="right-password", is_staff=True)


def log_in(client, password, path="/login/", address="198.51.100.7"):
    return client.post(
        path, {"username": "jane", "password": password}, REMOTE_ADDR=address, follow=False
    )


@pytest.mark.parametrize("path", ["/login/", "/admin/login/"])
def test_after_the_limit_even_the_right_password_is_refused(client, jane, settings, path):
    # given five failures (the limit): the form comes back with an error, then the lockout
    statuses = [log_in(client, "wrong", path).status_code for _ in range(5)]
    assert settings.AXES_FAILURE_LIMIT == 5
    assert statuses == [200, 200, 200, 200, 429]

    # when the right password comes next
    response = log_in(client, "right-password", path)

    # then it is refused, and the session holds nobody
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session
    # (the refused right password counts as one more failure)
    assert AccessAttempt.objects.get(username="jane").failures_since_start == 6


def test_below_the_limit_the_right_password_works_and_clears_the_count(client, jane, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        log_in(client, "wrong")

    response = log_in(client, "right-password")

    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(jane.pk)
    assert not AccessAttempt.objects.filter(username="jane").exists()


def test_the_lockout_is_per_address_so_others_are_not_locked_out(client, jane, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        log_in(client, "wrong", address="203.0.113.66")

    response = log_in(client, "right-password", address="198.51.100.7")

    assert response.status_code == 302

"""Login failure limits (django-axes), fitted to how the project authenticates."""

from axes.backends import AxesStandaloneBackend


class LoginLimitBackend(AxesStandaloneBackend):
    """Refuses logins from a username and address after too many failures.

    Every login over HTTP (the staff login page, the admin) passes its request and is
    counted. A call without a request cannot come from a visitor (a shell, the test
    client's `login()`), so there is nothing to count and it is let through to the
    model backend instead of failing.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)

import pytest
from django.contrib.auth.models import User

from accounts.web import registry


@pytest.fixture(autouse=True)
def fresh_cache():
    """The scoreboard keeps rollups for a few minutes: every test starts without them."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def staff_client(client, staff_user):
    client.force_login(staff_user)
    return client


@pytest.fixture
def plain_user(db):
    """A logged-in user who is not staff: the pages refuse them."""
    return User.objects.create_user("outsider", "outsider@example.com", "pw")


STORES = ("_panels", "_scoreboard", "_tasks", "_columns", "_filters")


@pytest.fixture
def clean_registry():
    """Registrations a test makes or removes are undone after it."""
    saved = {name: dict(getattr(registry, name)) for name in STORES}
    yield registry
    for name, items in saved.items():
        store = getattr(registry, name)
        store.clear()
        store.update(items)


@pytest.fixture
def accounts_only(clean_registry):
    """The pages as the account graph alone makes them: what higher apps registered is
    left out (their own tests count their queries)."""
    for name in STORES:
        store = getattr(registry, name)
        for key, item in list(store.items()):
            fn = next(
                getattr(item, attr)
                for attr in ("context", "annotate", "apply")
                if hasattr(item, attr)
            )
            if not fn.__module__.startswith("accounts."):
                del store[key]
    return registry

"""The API surface as the OpenAPI schema describes it, so new endpoints are covered."""

import re
from functools import cache

from django.urls import resolve
from drf_spectacular.generators import SchemaGenerator

from abx_site.common.api.permissions import required_scope

PATH_PARAMETER = re.compile(r"\{([^}]+)\}")
# Parameters that name something rather than number it; the seeded sources exist.
NAMED_PARAMETERS = {"source": "website"}


@cache
def api_schema() -> dict:
    return SchemaGenerator().get_schema(request=None, public=True)


def operations() -> list[tuple[str, str, bool]]:
    """(method, path template, takes an API key) for every operation in the schema."""
    found = []
    for path, items in api_schema()["paths"].items():
        for method, operation in items.items():
            schemes = {name for rule in operation.get("security") or [] for name in rule}
            found.append((method.upper(), path, "ApiKeyAuth" in schemes))
    return sorted(found)


def concrete(path: str) -> str:
    """The path with every parameter filled (ids that need not exist: the auth layer
    answers before any object is looked up)."""
    return PATH_PARAMETER.sub(lambda m: NAMED_PARAMETERS.get(m[1], "1"), path)


def scope_for(method: str, path: str) -> str | None:
    """The scope the endpoint's view asks of an API key for this method."""
    func = resolve(concrete(path)).func
    # A viewset's action may set its own scope (`@action(..., write_scope=...)`).
    view = type("View", (func.cls,), dict(getattr(func, "initkwargs", {})))

    class Probe:
        pass

    probe = Probe()
    probe.method = method
    return required_scope(probe, view)

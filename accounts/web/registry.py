"""Registries through which higher apps add to the account graph's pages.

The pages live in `accounts`, the lowest app, which must never import `signals`,
`metrics` or `playbooks`. Each higher app registers what it shows (a panel on the
account page, a scoreboard section, a task inbox section, a column or a filter of the
account list) in its `AppConfig.ready()`; a part that is not installed simply does not
appear.

Contract for every callable registered here: it runs a constant number of queries,
whatever the data size (the pages' query-count tests hold every registrant to it).
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest

__all__ = [
    "AccountColumn",
    "AccountFilter",
    "AccountPanel",
    "PageSection",
    "account_columns",
    "account_filters",
    "account_panels",
    "register_account_column",
    "register_account_filter",
    "register_account_panel",
    "register_scoreboard_section",
    "register_task_section",
    "scoreboard_sections",
    "task_sections",
]


@dataclass(frozen=True)
class AccountPanel:
    """A panel of the account page.

    `context(account, request)` returns the template's context (it is given the account
    as loaded by the page: tier, partner, parent, team, `arr` already there). `column` is
    `main` (wide) or `side`. A panel that pages (the signal timeline) reads its cursor
    from `request.GET` and is also served alone at `/accounts/<id>/panels/<key>/` for htmx.
    """

    key: str
    order: int
    title: str
    template: str
    context: Callable[[Any, HttpRequest], dict]
    column: str = "main"


@dataclass(frozen=True)
class PageSection:
    """A section of the scoreboard or the task inbox: `context(request) -> dict`."""

    key: str
    order: int
    title: str
    template: str
    context: Callable[[HttpRequest], dict]


@dataclass(frozen=True)
class AccountColumn:
    """An extra column of the account list.

    `annotate(queryset) -> queryset` adds what the column shows (in the list's one
    query); `template` renders one cell with `account` in its context; `sort_field`,
    when given, makes the column sortable by that annotation or field.
    """

    key: str
    order: int
    title: str
    annotate: Callable[[QuerySet], QuerySet]
    template: str
    sort_field: str | None = None


@dataclass(frozen=True)
class AccountFilter:
    """An extra filter of the account list.

    `choices()` -> [(value, label), ...] for its select box; `apply(queryset, value)`
    narrows the list (an unknown value leaves it as it is).
    """

    key: str
    order: int
    label: str
    choices: Callable[[], list[tuple[str, str]]]
    apply: Callable[[QuerySet, str], QuerySet]


_panels: dict[str, AccountPanel] = {}
_scoreboard: dict[str, PageSection] = {}
_tasks: dict[str, PageSection] = {}
_columns: dict[str, AccountColumn] = {}
_filters: dict[str, AccountFilter] = {}

# Keys the account list reads itself: a registered filter must not shadow them.
RESERVED_LIST_KEYS = frozenset({"q", "tier", "stage", "owner", "mine", "sort", "page"})


def register_account_panel(key, *, order, title, template, context, column="main"):
    if column not in {"main", "side"}:
        raise ValueError(f"Panel {key!r}: column is 'main' or 'side', not {column!r}.")
    # Registering a key again replaces it, so a reloaded ready() does not double a panel.
    _panels[key] = AccountPanel(key, order, title, template, context, column)
    return _panels[key]


def register_scoreboard_section(key, *, order, title, template, context):
    _scoreboard[key] = PageSection(key, order, title, template, context)
    return _scoreboard[key]


def register_task_section(key, *, order, title, template, context):
    _tasks[key] = PageSection(key, order, title, template, context)
    return _tasks[key]


def register_account_column(key, *, order, title, annotate, template, sort_field=None):
    _columns[key] = AccountColumn(key, order, title, annotate, template, sort_field)
    return _columns[key]


def register_account_filter(key, *, order, label, choices, apply):
    if key in RESERVED_LIST_KEYS:
        raise ValueError(f"Filter {key!r}: the account list already uses this parameter.")
    _filters[key] = AccountFilter(key, order, label, choices, apply)
    return _filters[key]


def _ordered(registry):
    return sorted(registry.values(), key=lambda item: (item.order, item.key))


def account_panels() -> list[AccountPanel]:
    return _ordered(_panels)


def scoreboard_sections() -> list[PageSection]:
    return _ordered(_scoreboard)


def task_sections() -> list[PageSection]:
    return _ordered(_tasks)


def account_columns() -> list[AccountColumn]:
    return _ordered(_columns)


def account_filters() -> list[AccountFilter]:
    return _ordered(_filters)

"""The staff pages: account list, account 360, scoreboard and task inbox.

Server-rendered and complete without JavaScript; htmx (when present) only swaps
fragments. What higher apps show comes from `accounts.web.registry`.
"""

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import F
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils.safestring import mark_safe

from ..choices import Stage
from ..models import Account
from . import registry, selectors

PAGE_SIZE = 50
MINE_SESSION_KEY = "accounts.mine"


def staff_required(view):
    """Logged-in staff only: others are sent to log in; non-staff users get 403."""

    @wraps(view)
    @login_required
    def wrapped(request, *args, **kwargs):
        if not request.user.is_staff:
            raise PermissionDenied("These pages are for staff.")
        return view(request, *args, **kwargs)

    return wrapped


def _mine(request) -> bool:
    """`?mine=1` / `?mine=0` switches "my accounts" on or off and remembers the choice
    in the session; without the parameter the remembered choice applies."""
    if "mine" in request.GET:
        mine = request.GET["mine"] == "1"
        if request.session.get(MINE_SESSION_KEY, False) != mine:
            request.session[MINE_SESSION_KEY] = mine
        return mine
    return bool(request.session.get(MINE_SESSION_KEY, False))


@staff_required
def account_list(request):
    params = request.GET
    mine = _mine(request)
    sort = params.get("sort", "name")
    rows = selectors.account_rows(
        user=request.user,
        q=params.get("q", "").strip(),
        tier=params.get("tier", ""),
        stage=params.get("stage", ""),
        owner=params.get("owner", ""),
        mine=mine,
        sort=sort,
    )
    columns = registry.account_columns()
    for column in columns:
        rows = column.annotate(rows)
        if sort.lstrip("-") == column.key and column.sort_field:
            # Accounts without a value go last either way (PostgreSQL sorts NULL first
            # when descending, SQLite last).
            field = F(column.sort_field)
            first = (
                field.desc(nulls_last=True) if sort.startswith("-") else field.asc(nulls_last=True)
            )
            rows = rows.order_by(first, "id")
    extra_filters = []
    for extra in registry.account_filters():
        value = params.get(extra.key, "")
        if value:
            rows = extra.apply(rows, value)
        extra_filters.append({"filter": extra, "value": value, "choices": extra.choices()})
    page = Paginator(rows, PAGE_SIZE).get_page(params.get("page"))
    sortable = [
        ("name", "Account"),
        ("tier", "Tier"),
        ("stage", "Stage"),
        ("arr", "ARR"),
        ("renewal", "Renewal"),
    ]
    context = {
        "page": page,
        "accounts": page.object_list,
        "mine": mine,
        "sort": sort,
        "sortable": sortable,
        "columns": columns,
        "extra_filters": extra_filters,
        "tiers": selectors.tier_choices(),
        "stages": Stage.choices,
        "owners": selectors.owner_choices(),
        "values": {key: params.get(key, "") for key in ("q", "tier", "stage", "owner")},
    }
    template = "accounts/_account_rows.html" if request.htmx else "accounts/account_list.html"
    return render(request, template, context)


def _render_panel(panel, account, request, **extra):
    context = {"panel": panel, "account": account, **panel.context(account, request), **extra}
    return mark_safe(render_to_string(panel.template, context, request=request))  # noqa: S308


@staff_required
def account_detail(request, pk):
    try:
        account = selectors.account_page_get(pk=pk)
    except Account.DoesNotExist:
        raise Http404("No such account.") from None
    if account.merged_into_id:
        # A merged account lives on in its survivor: old links keep working.
        return redirect("pages:account-detail", pk=account.merged_into_id)
    rendered = [
        {"panel": panel, "html": _render_panel(panel, account, request)}
        for panel in registry.account_panels()
    ]
    owners = sorted(account.team.all(), key=lambda m: m.role)
    return render(
        request,
        "accounts/account_detail.html",
        {
            "account": account,
            "owners": owners,
            "nrr": selectors.nrr(account.arr, account.arr_year_ago),
            "main_panels": [p for p in rendered if p["panel"].column == "main"],
            "side_panels": [p for p in rendered if p["panel"].column == "side"],
        },
    )


@staff_required
def account_panel(request, pk, key):
    """One panel alone: what htmx swaps in (the next page of the signal timeline).
    Without htmx the same links lead to the whole account page."""
    panel = next((p for p in registry.account_panels() if p.key == key), None)
    if panel is None:
        raise Http404("No such panel.")
    try:
        account = selectors.account_page_get(pk=pk)
    except Account.DoesNotExist:
        raise Http404("No such account.") from None
    return HttpResponse(_render_panel(panel, account, request, fragment=True))


def _sections(request, sections):
    return [
        {
            "section": section,
            "html": mark_safe(  # noqa: S308
                render_to_string(
                    section.template,
                    {"section": section, **section.context(request)},
                    request=request,
                )
            ),
        }
        for section in sections
    ]


@staff_required
def scoreboard(request):
    sections = _sections(request, registry.scoreboard_sections())
    return render(request, "accounts/scoreboard.html", {"sections": sections})


@staff_required
def task_inbox(request):
    sections = _sections(request, registry.task_sections())
    return render(request, "accounts/tasks.html", {"sections": sections})

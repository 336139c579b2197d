"""The account graph's own panels and scoreboard section, registered like any other."""

from django.utils import timezone

from ..choices import Stage
from ..models import Contact
from . import registry, selectors

CONTACTS_SHOWN = 25


def _committee(account, request):
    return {"committee": selectors.committee(account=account)}


def _arr_trend(account, request):
    series = selectors.arr_series(account=account, today=timezone.localdate())
    return {"points": [(day.strftime("%b %y"), arr) for day, arr in series]}


def _deals(account, request):
    deals = selectors.account_deals(account=account)
    return {"deals": deals}


def _contacts(account, request):
    contacts = list(
        Contact.objects.filter(account=account).order_by("-last_engaged_at", "email")[
            : CONTACTS_SHOWN + 1
        ]
    )
    return {"contacts": contacts[:CONTACTS_SHOWN], "more": len(contacts) > CONTACTS_SHOWN}


def _hierarchy(account, request):
    return {"children": selectors.account_children(account=account)}


def _stage_matrix(request):
    rows = selectors.stage_matrix()
    for row in rows:
        name = row["tier"].name if row["tier"] else "No tier"
        row["label"] = f"{name}: accounts by stage"
        row["segments"] = [(label, n, f"s{i}") for i, (_, label, n) in enumerate(row["stages"])]
    return {"rows": rows, "stages": Stage.choices}


def register():
    registry.register_account_panel(
        "committee",
        order=10,
        title="Buying committee",
        template="accounts/panels/committee.html",
        context=_committee,
    )
    registry.register_account_panel(
        "arr",
        order=20,
        title="ARR, last 12 months",
        template="accounts/panels/arr_trend.html",
        context=_arr_trend,
    )
    registry.register_account_panel(
        "deals", order=40, title="Deals", template="accounts/panels/deals.html", context=_deals
    )
    registry.register_account_panel(
        "contacts",
        order=50,
        title="Contacts",
        template="accounts/panels/contacts.html",
        context=_contacts,
    )
    registry.register_account_panel(
        "details",
        order=10,
        title="Details",
        template="accounts/panels/details.html",
        context=lambda account, request: {},
        column="side",
    )
    registry.register_account_panel(
        "hierarchy",
        order=20,
        title="Hierarchy",
        template="accounts/panels/hierarchy.html",
        context=_hierarchy,
        column="side",
    )
    registry.register_scoreboard_section(
        "accounts-by-tier",
        order=90,
        title="Accounts by tier and stage",
        template="accounts/sections/stage_matrix.html",
        context=_stage_matrix,
    )

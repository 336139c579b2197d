"""Formatting filters of the pages: money, percentages, query strings."""

from decimal import Decimal

from django import template
from django.conf import settings

register = template.Library()

_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£"}


@register.filter
def money(value):
    """Whole currency units with thousands separators: 1234567.8 -> "$1,234,568"."""
    if value is None or value == "":
        return "—"
    amount = Decimal(value).quantize(Decimal(1))
    symbol = _SYMBOLS.get(settings.ABX_CURRENCY)
    text = f"{abs(amount):,}"
    sign = "-" if amount < 0 else ""
    return f"{sign}{symbol}{text}" if symbol else f"{sign}{text} {settings.ABX_CURRENCY}"


@register.filter
def percent(value, digits=0):
    """A ratio as a percentage: 1.125 -> "112.5%" with digits=1; None -> "—"."""
    if value is None or value == "":
        return "—"
    return f"{Decimal(value) * 100:.{int(digits)}f}%"


@register.simple_tag(takes_context=True)
def query(context, **changes):
    """The current query string with `changes` applied (None removes a key); changing
    anything but the page goes back to page 1."""
    params = context["request"].GET.copy()
    for key, value in changes.items():
        if value is None or value == "":
            params.pop(key, None)
        else:
            params[key] = value
    if "page" not in changes:
        params.pop("page", None)
    encoded = params.urlencode()
    return f"?{encoded}" if encoded else "?"

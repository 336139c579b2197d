"""Reads of the signal layer with business meaning."""

from django.db.models import QuerySet

from .models import Signal


def signal_list() -> QuerySet[Signal]:
    """Signals, newest first, with what a list shows: source, type, account, contact."""
    return Signal.objects.select_related("source", "type", "account", "contact").order_by(
        "-occurred_at", "-id"
    )

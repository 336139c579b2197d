"""Background tasks of the signal layer (django-q2): fetch by id, call one service."""

import logging

from .models import UnmatchedIdentity
from .retention import signals_retention_purge
from .review import signals_reresolve
from .webhooks import webhook_receipts_purge

logger = logging.getLogger(__name__)


def review_reresolve_task(identity_id: int) -> int:
    """Re-resolve the signals waiting under a reviewed identity; returns how many matched."""
    key = UnmatchedIdentity.objects.filter(pk=identity_id).values_list("key", flat=True).first()
    if key is None:
        return 0
    matched = signals_reresolve(review_key=key)
    logger.info("Review decision on %s matched %s waiting signal(s).", key, matched)
    return matched


def webhook_receipts_purge_task() -> int:
    """Forget webhook receipts older than any sender still retries."""
    return webhook_receipts_purge()


def signals_retention_purge_task() -> int:
    """Purge the raw signals past ABX_SIGNAL_RETENTION_DAYS (their rollups stay)."""
    deleted = signals_retention_purge()
    logger.info("Retention purge deleted %s signal(s).", deleted)
    return deleted

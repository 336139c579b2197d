"""Test helpers: signals through the real ingestion service (rollups included)."""

import itertools
from datetime import datetime

from metrics import features
from signals.services import signals_ingest

_ids = itertools.count(1)


def send(account, type_key, at: datetime, *, value=None, email=None, source="website"):
    """Ingest one signal for `account` through the real service (writes the rollups)."""
    item = {
        "source": source,
        "type": type_key,
        "occurred_at": at.isoformat(),
        "external_id": f"t-{next(_ids)}",
        "account": {"id": account.pk},
    }
    if value is not None:
        item["value"] = value
    if email:
        item["contact"] = {"email": email}
    result = signals_ingest(items=[item])
    assert result.matched == 1, result.rejected


def values(queryset, key, params=None, *, as_of=None):
    """{account id: feature value} over `queryset`."""
    rows = features.annotate(queryset, [("v", key, params or {})], as_of=as_of)
    return dict(rows.values_list("pk", "v"))

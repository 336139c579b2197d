"""Keeping the review queue in step with the unmatched signals (DESIGN §3).

Every unmatched signal carries a `review_key`: the identity it waits under. The
`UnmatchedIdentity` rows hold, per key, how many signals wait and when they were first
and last seen, recomputed from the signals for the keys a write touched (as the rollups
are after a merge or a re-resolution), so the queue lists in one query however many
signals wait.
"""

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from ipaddress import ip_address

from django.db import connection, transaction

from abx_site.common.rowsets import rowset
from accounts.domains import registrable_domain
from accounts.freemail import is_freemail
from accounts.identity import Resolution, clean_company_name

from .choices import IdentityKind, ReviewStatus

# An ingestion batch's worth of keys per transaction.
CHUNK = 5_000


@dataclass(frozen=True)
class Identity:
    kind: str
    value: str
    label: str

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.value}"[:300]


def identity_of(hints: Mapping) -> Identity | None:
    """The identity an unmatched signal is queued under: its registrable domain (from the
    account's domain or URL, else a company email), else its external identifier, else
    its normalised company name, else its IP address; None when it names none of these.
    Free-mail domains are skipped: they cannot be assigned to a company."""
    account = hints.get("account") or {}
    for raw in (account.get("domain"), account.get("url")):
        domain = _domain(raw)
        # A free-mail domain is never a company's: assigning it would capture everyone.
        if domain and not is_freemail(domain):
            return Identity(IdentityKind.DOMAIN, domain, domain)
    email = (hints.get("contact") or {}).get("email")
    if isinstance(email, str) and "@" in email:
        domain = _domain(email.rsplit("@", 1)[1])
        if domain and not is_freemail(domain):
            return Identity(IdentityKind.DOMAIN, domain, domain)
    identifier = account.get("identifier")
    if isinstance(identifier, Mapping):
        system, external_id = identifier.get("system"), identifier.get("id")
        if isinstance(system, str) and isinstance(external_id, str) and external_id.strip():
            value = f"{system}:{external_id.strip()}"
            return Identity(IdentityKind.IDENTIFIER, value, value)
    name = account.get("name")
    if isinstance(name, str) and clean_company_name(name):
        return Identity(IdentityKind.NAME, clean_company_name(name), name.strip()[:255])
    ip = hints.get("ip")
    if isinstance(ip, str):
        try:
            address = str(ip_address(ip.strip()))
        except ValueError:
            return None
        return Identity(IdentityKind.IP, address, address)
    return None


def _domain(value) -> str:
    if not isinstance(value, str) or not value.strip():
        return ""
    try:
        return registrable_domain(value)
    except ValueError:
        return ""


def candidates_of(resolution: Resolution) -> list[dict]:
    return [
        {"id": c.account_id, "name": c.name, "confidence": c.confidence}
        for c in resolution.candidates
    ]


QUEUE_KEYS = (
    ("key", "text"),
    ("kind", "text"),
    ("value", "text"),
    ("label", "text"),
    ("candidates", "jsonb"),
)
# Creates an open entry for every key that has none and, on PostgreSQL, locks them all
# in key order before the signals are counted, so that a second writer counts after the
# first has committed. `WHERE false` locks an existing row without writing it.
_ENSURE = f"""
INSERT INTO signals_unmatchedidentity
    (key, kind, value, label, status, signal_count, candidates, created_at)
SELECT k.key, k.kind, k.value, k.label, '{ReviewStatus.OPEN.value}', 0, '[]', CURRENT_TIMESTAMP
FROM {{keys}} WHERE true ORDER BY k.key
ON CONFLICT (key) DO {{on_conflict}}
"""  # noqa: S608 - no input in the text: keys are bound parameters
_ON_CONFLICT = {
    "postgresql": "UPDATE SET signal_count = excluded.signal_count WHERE false",
    "sqlite": "NOTHING",
}
# The waiting signals of each key, counted through the (review_key, id) index of the
# unmatched ones, one key at a time: a join would let PostgreSQL's planner read every
# unmatched signal instead. SQLite is told the index: for MIN/MAX(occurred_at) it would
# otherwise walk the (account, occurred_at) index through every unmatched signal until
# one has the key (tens of seconds a batch with 60,000 waiting). Written as an upsert so that each
# entry is found by its unique key (every entry exists by now); given candidates
# replace the entry's.
_WAITING = "FROM signals_signal s {indexed} WHERE s.review_key = k.key AND s.account_id IS NULL"
_INDEXED = {"sqlite": "INDEXED BY signals_signal_review_key"}
_RECOUNT = f"""
INSERT INTO signals_unmatchedidentity (key, kind, value, label, status, signal_count,
    first_seen, last_seen, candidates, created_at)
SELECT k.key, k.kind, k.value, k.label, '{ReviewStatus.OPEN.value}',
    (SELECT COUNT(*) {_WAITING}),
    (SELECT MIN(s.occurred_at) {_WAITING}),
    (SELECT MAX(s.occurred_at) {_WAITING}),
    COALESCE(k.candidates, '[]'), CURRENT_TIMESTAMP
FROM {{keys}} WHERE true
ON CONFLICT (key) DO UPDATE SET signal_count = excluded.signal_count,
    first_seen = COALESCE(excluded.first_seen, signals_unmatchedidentity.first_seen),
    last_seen = COALESCE(excluded.last_seen, signals_unmatchedidentity.last_seen),
    candidates = CASE WHEN excluded.candidates = '[]' THEN signals_unmatchedidentity.candidates
        ELSE excluded.candidates END
"""  # noqa: S608 - no input in the text: keys are bound parameters
_PRUNE = f"""
DELETE FROM signals_unmatchedidentity
WHERE status = '{ReviewStatus.OPEN.value}' AND signal_count = 0
    AND key IN (SELECT k.key FROM {{keys}})
"""  # noqa: S608 - no input in the text: keys are bound parameters


def identities_refresh(
    *,
    keys: Iterable[str],
    identities: Mapping[str, Identity] | None = None,
    candidates: Mapping[str, list[dict]] | None = None,
) -> None:
    """Recompute the queue entries of these keys from the signals waiting under them.

    New keys get an entry (from `identities`, else read from the key itself); open
    entries left with nothing waiting are removed; decided entries (assigned, ignored)
    stay, as the rules they are. `candidates` replaces an entry's candidates where
    given. Three statements per `CHUNK` keys, each in its own short transaction.
    """
    keys = sorted(set(keys) - {""})
    identities = identities or {}
    candidates = candidates or {}
    on_conflict = _ON_CONFLICT.get(connection.vendor, _ON_CONFLICT["postgresql"])
    recount = _RECOUNT.replace("{indexed}", _INDEXED.get(connection.vendor, ""))
    for start in range(0, len(keys), CHUNK):
        rows = []
        for key in keys[start : start + CHUNK]:
            identity = identities.get(key) or _identity_in(key)
            near = candidates.get(key)
            rows.append(
                (
                    key,
                    identity.kind,
                    identity.value,
                    identity.label,
                    json.dumps(near) if near else None,
                )
            )
        table, params = rowset("k", QUEUE_KEYS, rows)
        with transaction.atomic(savepoint=False), connection.cursor() as cursor:
            cursor.execute(_ENSURE.format(keys=table, on_conflict=on_conflict), params)
            cursor.execute(recount.format(keys=table), params)
            cursor.execute(_PRUNE.format(keys=table), params)


def _identity_in(key: str) -> Identity:
    """The identity a key was made from (`kind:value`), for a key met without it."""
    kind, _, value = key.partition(":")
    return Identity(kind, value, value[:255])

"""Keeping the review queue in step with the unmatched signals (DESIGN §3).

Every unmatched signal carries a `review_key`: the identity it waits under. The
`UnmatchedIdentity` rows hold, per key, how many signals wait and when they were first
and last seen, recomputed from the signals for the keys a write touched (the same
pattern as the rollups), so the queue lists in one query however many signals wait.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from ipaddress import ip_address

from django.db import transaction
from django.db.models import Count, Max, Min

from accounts.domains import registrable_domain
from accounts.freemail import is_freemail
from accounts.identity import Resolution, clean_company_name

from .choices import IdentityKind, ReviewStatus
from .models import Signal, UnmatchedIdentity

CHUNK = 500


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


def identities_refresh(
    *,
    keys: Iterable[str],
    identities: Mapping[str, Identity] | None = None,
    candidates: Mapping[str, list[dict]] | None = None,
) -> None:
    """Recompute the queue entries of these keys from the signals waiting under them.

    New keys get an entry (from `identities`); open entries left with nothing waiting
    are removed; decided entries (assigned, ignored) stay, as the rules they are.
    `candidates` replaces an entry's candidates where given.
    """
    keys = sorted(set(keys) - {""})
    identities = identities or {}
    candidates = candidates or {}
    for start in range(0, len(keys), CHUNK):
        chunk = keys[start : start + CHUNK]
        stats = {
            row["review_key"]: row
            for row in Signal.objects.filter(account__isnull=True, review_key__in=chunk)
            .values("review_key")
            .annotate(n=Count("pk"), first=Min("occurred_at"), last=Max("occurred_at"))
            .order_by()
        }
        with transaction.atomic():
            UnmatchedIdentity.objects.bulk_create(
                [
                    UnmatchedIdentity(
                        key=key,
                        kind=identities[key].kind,
                        value=identities[key].value,
                        label=identities[key].label,
                    )
                    for key in chunk
                    if key in stats and key in identities
                ],
                ignore_conflicts=True,
            )
            entries = list(UnmatchedIdentity.objects.filter(key__in=chunk))
            changed, empty = [], []
            for entry in entries:
                row = stats.get(entry.key)
                if row is None and entry.status == ReviewStatus.OPEN:
                    empty.append(entry.pk)
                    continue
                entry.signal_count = row["n"] if row else 0
                entry.first_seen = row["first"] if row else entry.first_seen
                entry.last_seen = row["last"] if row else entry.last_seen
                if candidates.get(entry.key):
                    entry.candidates = candidates[entry.key]
                changed.append(entry)
            UnmatchedIdentity.objects.bulk_update(
                changed, ["signal_count", "first_seen", "last_seen", "candidates"]
            )
            if empty:
                UnmatchedIdentity.objects.filter(pk__in=empty).delete()

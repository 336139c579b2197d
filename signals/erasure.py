"""The signal layer's part of erasing a person (registered in `SignalsConfig.ready()`).

A person's signals stay, since the account's counts, rollups and scores are built from
them, but nothing in them names the person any more:

- the contact link is cleared;
- the identity hints lose what came from the person (`contact`: email, name, title; and
  `ip`) and keep what names the company (`account`: domain, name, identifier);
- attributes lose entries under personal keys (email, phone, IP, first/last/full name)
  and every value that holds the person's email or IP address, or equals their name or
  title;
- an unmatched signal is queued again under the identity its remaining hints name (an
  IP-keyed review entry that only this person's signals fed goes away).

The daily rollups are left as they are: they hold counts, not people. Runs inside the
erasure's transaction.
"""

from django.db.models import Q

from accounts.erasure import Person

from .models import Signal
from .queue import identities_refresh, identity_of

PERSON_HINTS = ("contact", "ip")
PERSONAL_KEYS = {
    "email",
    "e-mail",
    "email_address",
    "phone",
    "phone_number",
    "mobile",
    "ip",
    "ip_address",
    "first_name",
    "last_name",
    "full_name",
    "contact",
    "contact_name",
    "contact_email",
}
UPDATE_BATCH = 500


def erase_person(person: Person) -> dict[str, int]:
    """Anonymise every signal of the person; returns {"signals": how many}."""
    named = Q(hints__contact__email__iexact=person.email)
    if person.contact_id is not None:
        named |= Q(contact_id=person.contact_id)
    rows = list(
        Signal.objects.filter(named).only("id", "account_id", "hints", "attributes", "review_key")
    )
    if not rows:
        return {}
    addresses = {row.hints["ip"] for row in rows if isinstance(row.hints.get("ip"), str)}
    contains = {person.email, *addresses}
    equals = {value.casefold() for value in (person.name, person.title) if value.strip()}
    for hints in (row.hints.get("contact") for row in rows):
        if isinstance(hints, dict):
            equals |= {
                hints[key].strip().casefold()
                for key in ("name", "title")
                if isinstance(hints.get(key), str) and hints[key].strip()
            }
    refresh, identities = set(), {}
    for row in rows:
        row.contact_id = None
        row.hints = {key: value for key, value in row.hints.items() if key not in PERSON_HINTS}
        row.attributes = _scrubbed(row.attributes, contains=contains, equals=equals)
        if row.account_id is None:
            identity = identity_of(row.hints)
            refresh.add(row.review_key)
            row.review_key = identity.key if identity else ""
            if identity:
                identities[identity.key] = identity
                refresh.add(identity.key)
    Signal.objects.bulk_update(
        rows, ["contact", "hints", "attributes", "review_key"], batch_size=UPDATE_BATCH
    )
    if refresh:
        identities_refresh(keys=refresh, identities=identities)
    return {"signals": len(rows)}


def _scrubbed(value, *, contains: set[str], equals: set[str]):
    """`value` without the person's data (dict entries and list items that hold it)."""
    if isinstance(value, dict):
        return {
            key: _scrubbed(item, contains=contains, equals=equals)
            for key, item in value.items()
            if str(key).casefold() not in PERSONAL_KEYS
            and not _personal(item, contains=contains, equals=equals)
        }
    if isinstance(value, list):
        return [
            _scrubbed(item, contains=contains, equals=equals)
            for item in value
            if not _personal(item, contains=contains, equals=equals)
        ]
    return value


def _personal(value, *, contains: set[str], equals: set[str]) -> bool:
    if not isinstance(value, str):
        return False
    folded = value.strip().casefold()
    return folded in equals or any(part.casefold() in folded for part in contains if part)

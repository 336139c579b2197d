"""Writes to the account graph. Every path (admin, API, imports, tasks) comes through here."""

import re
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from abx_site.common.rowsets import insert_new, rowset, values_in

from .choices import AccountEventKind, BuyingRole, TierSource
from .domains import registrable_domain
from .hooks import account_events_announce
from .models import (
    Account,
    AccountAlias,
    AccountDomain,
    AccountEvent,
    AccountIdentifier,
    AccountTeamMember,
    ArrChange,
    Contact,
    Deal,
    IpRange,
    PersonaRule,
)

# Parent chains deeper than this are refused: hierarchies are a few levels in practice,
# and the bound keeps the cycle check's walk finite.
MAX_HIERARCHY_DEPTH = 50

ACCOUNT_EDITABLE_FIELDS = {
    "name",
    "website",
    "industry",
    "employee_count",
    "annual_revenue",
    "country",
    "stage",
    "tier",
    "tier_source",
    "parent",
    "partner",
    "renewal_date",
    "do_not_contact",
}


# Accounts -----------------------------------------------------------------------------


def hierarchy_cycle_error(*, account: Account, parent_id: int) -> str | None:
    """Why `parent_id` cannot be `account`'s parent, or None when it can."""
    if account.pk is not None and parent_id == account.pk:
        return "An account cannot be its own parent."
    seen = set()
    current = parent_id
    for _ in range(MAX_HIERARCHY_DEPTH):
        if current is None:
            return None
        if account.pk is not None and current == account.pk:
            return "This parent is a descendant of the account: the hierarchy would loop."
        if current in seen:
            return "The parent's hierarchy already loops."
        seen.add(current)
        current = Account.objects.filter(pk=current).values_list("parent_id", flat=True).first()
    return f"Hierarchies are limited to {MAX_HIERARCHY_DEPTH} levels."


@transaction.atomic
def account_create(
    *, name: str, domain: str = "", actor=None, actor_label: str = "", **fields
) -> Account:
    """Create an account, with its primary domain when one is given."""
    _refuse_unknown_fields(fields)
    account = Account(name=name, **fields)
    if account.tier_id and "tier_source" not in fields:
        account.tier_source = TierSource.MANUAL
    account.full_clean()
    account.save()
    if domain:
        account_domain_add(account=account, domain=domain, is_primary=True)
    _record_event(
        account,
        AccountEventKind.CREATED,
        new=account.name,
        actor=actor,
        actor_label=actor_label,
    )
    if account.tier_id:
        _record_event(
            account,
            AccountEventKind.TIER_CHANGED,
            new=str(account.tier),
            actor=actor,
            actor_label=actor_label,
        )
    return account


@transaction.atomic
def account_update(*, account: Account, data: dict, actor=None, actor_label: str = "") -> Account:
    """Change an account's fields, recording stage, tier and parent changes as events.

    `data` maps field names to new values (a tier or parent as an instance or None). A
    primary `domain` may be given too.
    """
    data = dict(data)
    domain = data.pop("domain", None)
    _refuse_unknown_fields(data)
    before = Account.objects.select_related("tier", "parent").get(pk=account.pk)
    for field, value in data.items():
        setattr(account, field, value)
    if "tier" in data and "tier_source" not in data and account.tier_id != before.tier_id:
        # A person choosing a tier makes it manual; tier rules pass tier_source=rule.
        account.tier_source = TierSource.MANUAL
    account.full_clean()
    account.save()
    if domain is not None:
        account_primary_domain_set(account=account, domain=domain)
    changes = [
        (AccountEventKind.STAGE_CHANGED, before.stage, account.stage),
        (AccountEventKind.TIER_CHANGED, _name(before.tier), _name(account.tier)),
        (AccountEventKind.PARENT_CHANGED, _name(before.parent), _name(account.parent)),
    ]
    for kind, old, new in changes:
        if old != new:
            _record_event(account, kind, old=old, new=new, actor=actor, actor_label=actor_label)
    return account


def _refuse_unknown_fields(fields: dict, allowed: set[str] = ACCOUNT_EDITABLE_FIELDS) -> None:
    unknown = sorted(set(fields) - allowed)
    if unknown:
        raise ValidationError(dict.fromkeys(unknown, "This field cannot be set here."))


def _name(obj) -> str:
    return str(obj) if obj is not None else ""


def _record_event(account, kind, *, old="", new="", actor=None, actor_label="", data=None):
    event = AccountEvent.objects.create(
        account=account,
        kind=kind,
        old_value=str(old)[:255],
        new_value=str(new)[:255],
        actor=actor if actor is not None and actor.is_authenticated else None,
        actor_label=actor_label,
        occurred_at=timezone.now(),
        data=data or {},
    )
    # Higher apps tell the outside world (webhooks), in the transaction of the change.
    account_events_announce([event])
    return event


# Domains and identifiers --------------------------------------------------------------


def _normalised_domain(domain: str) -> str:
    try:
        return registrable_domain(domain)
    except ValueError as exc:
        raise ValidationError({"domain": str(exc)}) from None


def _refuse_taken_domain(domain: str, account: Account) -> None:
    owner = (
        AccountDomain.objects.filter(domain=domain)
        .exclude(account=account)
        .values_list("account__name", "account_id")
        .first()
    )
    if owner:
        raise ValidationError(
            {"domain": f"{domain} already belongs to {owner[0]} (account {owner[1]})."}
        )


@transaction.atomic
def account_domain_add(*, account: Account, domain: str, is_primary: bool = False) -> AccountDomain:
    """Give an account a domain (normalised to the registrable domain)."""
    domain = _normalised_domain(domain)
    _refuse_taken_domain(domain, account)
    if is_primary:
        AccountDomain.objects.filter(account=account, is_primary=True).exclude(
            domain=domain
        ).update(is_primary=False)
    row, created = AccountDomain.objects.get_or_create(
        domain=domain, defaults={"account": account, "is_primary": is_primary}
    )
    if not created and is_primary and not row.is_primary:
        row.is_primary = True
        row.save(update_fields=["is_primary"])
    return row


def account_primary_domain_set(*, account: Account, domain: str) -> AccountDomain | None:
    """Make `domain` the primary one; an empty value clears the primary flag."""
    if not domain:
        AccountDomain.objects.filter(account=account, is_primary=True).update(is_primary=False)
        return None
    return account_domain_add(account=account, domain=domain, is_primary=True)


def account_identifier_add(*, account: Account, system: str, external_id: str) -> AccountIdentifier:
    identifier = AccountIdentifier(account=account, system=system, external_id=external_id.strip())
    identifier.full_clean()
    identifier.save()
    return identifier


def account_alias_add(*, account: Account, name: str) -> AccountAlias:
    """Let identity resolution match `name` (normalised) to the account exactly."""
    alias = AccountAlias(account=account, name=(name or "").strip()[:255])
    alias.full_clean()
    alias.save()
    return alias


def ip_range_add(*, account: Account, network: str, provider: str = "") -> IpRange:
    """Give an account an IP range (a CIDR network, a start-end range or one address)."""
    ip_range = IpRange(account=account, network=network, provider=provider)
    ip_range.full_clean()
    ip_range.save()
    return ip_range


# Team ---------------------------------------------------------------------------------


@transaction.atomic
def account_team_member_set(
    *, account: Account, role: str, user, actor=None, actor_label: str = ""
) -> AccountTeamMember | None:
    """Put `user` in `role` on the account (None removes whoever holds it)."""
    current = AccountTeamMember.objects.filter(account=account, role=role).select_related("user")
    member = current.first()
    old_user = member.user if member else None
    if old_user == user:
        return member
    if user is None:
        current.delete()
        member = None
    elif member is None:
        member = AccountTeamMember.objects.create(account=account, role=role, user=user)
    else:
        member.user = user
        member.save(update_fields=["user"])
    _record_event(
        account,
        AccountEventKind.OWNER_CHANGED,
        old=old_user.get_username() if old_user else "",
        new=user.get_username() if user else "",
        actor=actor,
        actor_label=actor_label,
        data={"role": role},
    )
    return member


# Contacts and persona rules -----------------------------------------------------------

CONTACT_EDITABLE_FIELDS = {
    "account",
    "email",
    "name",
    "title",
    "seniority",
    "department",
    "buying_role",
    "do_not_contact",
    "first_seen_at",
    "last_engaged_at",
}


@transaction.atomic
def contact_create(*, account: Account, email: str, **fields) -> Contact:
    """Create a contact; persona rules fill its role when it is unknown."""
    _refuse_unknown_fields(fields, CONTACT_EDITABLE_FIELDS)
    contact = Contact(account=account, email=(email or "").strip().lower(), **fields)
    contact.first_seen_at = contact.first_seen_at or timezone.now()
    apply_persona(contact, persona_rules_active())
    contact.full_clean()
    contact.save()
    return contact


@transaction.atomic
def contact_update(*, contact: Contact, data: dict) -> Contact:
    _refuse_unknown_fields(data, CONTACT_EDITABLE_FIELDS)
    for field, value in data.items():
        setattr(contact, field, value)
    contact.email = contact.email.strip().lower()
    if "title" in data:
        apply_persona(contact, persona_rules_active())
    contact.full_clean()
    contact.save()
    return contact


def persona_rules_active() -> list[tuple[re.Pattern, PersonaRule]]:
    return [
        (re.compile(rule.title_pattern, re.IGNORECASE), rule)
        for rule in PersonaRule.objects.filter(is_active=True).order_by("priority", "name")
    ]


def apply_persona(contact: Contact, rules) -> bool:
    """Fill an unknown role (and blank seniority/department) from the first matching rule."""
    if contact.buying_role != BuyingRole.UNKNOWN or not contact.title:
        return False
    for pattern, rule in rules:
        if pattern.search(contact.title):
            contact.buying_role = rule.buying_role
            contact.seniority = contact.seniority or rule.seniority
            contact.department = contact.department or rule.department
            return True
    return False


def contacts_get_or_create_bulk(*, people: Iterable[Mapping]) -> dict[str, int]:
    """Contact ids by email for people seen at accounts (signals, imports), creating the
    ones not yet known with persona rules applied.

    Each person is a mapping with `account_id`, `email` and optionally `name`, `title`
    and `seen_at`. A known email keeps its contact and account; among new ones the first
    mention wins. A constant number of queries for any number of people; concurrent
    callers creating the same email end with one contact.
    """
    wanted: dict[str, Mapping] = {}
    for person in people:
        email = (person.get("email") or "").strip().lower()
        if email and email not in wanted:
            wanted[email] = person
    if not wanted:
        return {}
    ids = dict(
        Contact.objects.filter(email__in=values_in(wanted, "text"))
        .order_by()
        .values_list("email", "pk")
    )
    missing = [email for email in wanted if email not in ids]
    if not missing:
        return ids
    rules = persona_rules_active()
    now = timezone.now()
    new = []
    for email in missing:
        person = wanted[email]
        contact = Contact(
            account_id=person["account_id"],
            email=email,
            name=(person.get("name") or "")[:200],
            title=(person.get("title") or "")[:200],
            first_seen_at=person.get("seen_at") or now,
            last_engaged_at=person.get("seen_at") or now,
        )
        apply_persona(contact, rules)
        new.append(contact)
    with transaction.atomic():
        ids.update(insert_new(Contact, new, unique="email", returning=("email", "id")))
    if len(ids) < len(wanted):
        # Another caller created some of them since they were looked up.
        ids.update(
            Contact.objects.filter(email__in=values_in(missing, "text"))
            .order_by()
            .values_list("email", "pk")
        )
    return ids


ENGAGEMENT_CHUNK = 5_000
# Contacts whose last engagement is older than the moment given (or unset) move to it.
_ENGAGEMENT_UPDATE = """
UPDATE accounts_contact SET last_engaged_at = v.seen_at FROM {seen}
WHERE accounts_contact.id = v.id {by_key}
    AND (accounts_contact.last_engaged_at IS NULL OR accounts_contact.last_engaged_at < v.seen_at)
"""
# PostgreSQL's planner, with the moments joined alone, would rather scan every contact:
# the `IN` makes it find them by primary key. (SQLite already does, and would read the
# moments again for every contact with it.)
_BY_KEY = "AND accounts_contact.id IN (SELECT w.id FROM {ids})"
# PostgreSQL: lock the rows in id order first, so two writers never deadlock on them.
_ENGAGEMENT_LOCK = """
SELECT c.id FROM accounts_contact c WHERE c.id IN (SELECT w.id FROM {ids}) ORDER BY c.id FOR UPDATE
"""


def contacts_engagement_record(*, seen: Mapping[int, datetime]) -> int:
    """Move contacts' `last_engaged_at` forward to when they were last seen (signals).

    `seen` maps contact ids to a moment; a contact already engaged later keeps its
    value. One statement per `ENGAGEMENT_CHUNK` contacts (two on PostgreSQL, which first
    locks the rows in id order), whatever changes. Returns how many changed.
    """
    ids = sorted(seen)
    changed = 0
    for start in range(0, len(ids), ENGAGEMENT_CHUNK):
        chunk = ids[start : start + ENGAGEMENT_CHUNK]
        table, params = rowset(
            "v", [("id", "bigint"), ("seen_at", "timestamptz")], [(pk, seen[pk]) for pk in chunk]
        )
        with transaction.atomic(savepoint=False), connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                keys, key_params = rowset("w", [("id", "bigint")], [(pk,) for pk in chunk])
                cursor.execute(_ENGAGEMENT_LOCK.format(ids=keys), key_params)
                update = _ENGAGEMENT_UPDATE.format(seen=table, by_key=_BY_KEY.format(ids=keys))
                cursor.execute(update, [*params, *key_params])
            else:
                cursor.execute(_ENGAGEMENT_UPDATE.format(seen=table, by_key=""), params)
            changed += cursor.rowcount
    return changed


PERSONA_CHUNK = 2_000


def persona_rules_apply() -> int:
    """Apply the active persona rules to every contact whose role is unknown.

    Reads candidates in chunks of ids and writes each chunk with one bulk update, in
    its own short transaction, so a large run never holds SQLite's write lock for long.
    Returns how many contacts were updated.
    """
    rules = persona_rules_active()
    if not rules:
        return 0
    updated = 0
    last_id = 0
    candidates = Contact.objects.filter(buying_role=BuyingRole.UNKNOWN).exclude(title="")
    while True:
        chunk = list(
            candidates.filter(pk__gt=last_id)
            .order_by("pk")
            .only("id", "title", "buying_role", "seniority", "department")[:PERSONA_CHUNK]
        )
        if not chunk:
            return updated
        last_id = chunk[-1].pk
        changed = [contact for contact in chunk if apply_persona(contact, rules)]
        with transaction.atomic():
            Contact.objects.bulk_update(changed, ["buying_role", "seniority", "department"])
        updated += len(changed)


# Deals and ARR ------------------------------------------------------------------------

DEAL_EDITABLE_FIELDS = {
    "account",
    "name",
    "external_id",
    "kind",
    "stage",
    "status",
    "amount",
    "currency",
    "created_date",
    "close_date",
    "partner_influence",
    "partner",
}


@transaction.atomic
def deal_create(**fields) -> Deal:
    _refuse_unknown_fields(fields, DEAL_EDITABLE_FIELDS)
    deal = Deal(**fields)
    deal.full_clean()
    deal.save()
    return deal


@transaction.atomic
def deal_update(*, deal: Deal, data: dict) -> Deal:
    _refuse_unknown_fields(data, DEAL_EDITABLE_FIELDS)
    for field, value in data.items():
        setattr(deal, field, value)
    deal.full_clean()
    deal.save()
    return deal


@transaction.atomic
def arr_change_record(
    *, account: Account, effective_date: date, arr: Decimal, note: str = ""
) -> ArrChange:
    """Set the account's ARR from `effective_date` on (replacing a change on that date)."""
    change = ArrChange.objects.filter(account=account, effective_date=effective_date).first()
    change = change or ArrChange(account=account, effective_date=effective_date)
    change.arr = arr
    change.note = note
    change.full_clean()
    change.save()
    return change


# Merging duplicates and erasing a person live in their own modules; their writes are
# services like the above, and higher apps register their parts of them.
from .erasure import (  # noqa: E402, F401 - re-exported: accounts.services.contact_erase
    ERASERS,
    Person,
    contact_erase,
    register_eraser,
)
from .merge import (  # noqa: E402, F401 - re-exported: accounts.services.account_merge
    MERGE_HOOKS,
    MergeHook,
    account_merge,
    account_merge_error,
    account_merge_preview,
    register_merge_hook,
)
from .tiers import (  # noqa: E402, F401 - re-exported: accounts.services.account_tiers_set_by_rules
    RuleTier,
    account_tiers_set_by_rules,
)

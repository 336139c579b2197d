"""The rules an ingestion item must follow (DESIGN §4), checked one item at a time.

An item either becomes a `ValidItem` or gets its field errors, named the way the API
answers them (`source`, `contact.email`, `account.identifier.system`, ...). Every
item of a 5,000-item batch passes here, so the common case is kept to plain dict and
type checks: lookups are prepared once per batch (`ItemValidator`), and an email
address or a company domain already checked is not checked again.
"""

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from ipaddress import ip_address

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.dateparse import parse_datetime

from accounts.choices import IdentifierSystem

from .models import SignalType, Source

MAX_ATTRIBUTES_BYTES = 8 * 1024
MAX_ATTRIBUTES_DEPTH = 5
MAX_FUTURE = timedelta(days=1)
MAX_PAST = timedelta(days=5 * 365 + 1)
# |value| below 10^14 fits the value column (20 digits, 6 after the point).
MAX_VALUE = Decimal(10) ** 14
MAX_STRING = 255
MAX_TOPIC = 200

ITEM_KEYS = frozenset(
    {
        "source",
        "type",
        "occurred_at",
        "external_id",
        "value",
        "topic",
        "account",
        "contact",
        "ip",
        "attributes",
    }
)
REQUIRED_KEYS = ("source", "type", "occurred_at", "external_id")
ACCOUNT_KEYS = frozenset({"id", "domain", "url", "name", "country", "identifier"})
# Account and contact fields given as strings (the others are checked on their own).
ACCOUNT_STRINGS = ("country", "domain", "name", "url")
IDENTIFIER_KEYS = frozenset({"system", "id"})
CONTACT_KEYS = frozenset({"email", "name", "title"})
CONTACT_STRINGS = ("email", "name", "title")
IDENTIFIER_SYSTEMS = frozenset(IdentifierSystem.values)
IDENTIFIER_SYSTEMS_TEXT = ", ".join(IdentifierSystem.values)
MICRO = Decimal("0.000001")

UNKNOWN_FIELD = "Unknown field; extra data goes in 'attributes'."
NUL_CHARACTER = "Null characters are not allowed."
NOT_UNICODE = "Not valid Unicode text (a lone surrogate)."
REQUIRED = "This field is required."
NOT_AN_OBJECT = "Each signal is a JSON object."


@dataclass(slots=True)
class ValidItem:
    """A validated item on its way to the signals table."""

    index: int
    source: Source
    type: SignalType
    occurred_at: datetime
    external_id: str
    value: Decimal | None
    topic: str
    attributes: dict
    hints: dict
    contact: dict | None


class ItemValidator:
    """Checks items against the sources and types known when the batch came in.

    `key_source` is the slug of the source an API key is bound to (or the webhook's
    source); an item for another source is refused with `refusal`.
    """

    def __init__(
        self,
        *,
        sources: Mapping[str, Source],
        types: Mapping[str, SignalType],
        now: datetime,
        key_source: str | None,
        refusal: str,
    ):
        self.sources, self.types = sources, types
        self.earliest, self.latest = now - MAX_PAST, now + MAX_FUTURE
        self.key_source, self.refusal = key_source, refusal

    def __call__(self, item, index: int) -> tuple[ValidItem | None, dict[str, list[str]]]:
        """`(item, {})` when the item is valid, else `(None, field errors)`."""
        errors: dict[str, list[str]] = {}
        if not isinstance(item, Mapping):
            return None, {"non_field_errors": [NOT_AN_OBJECT]}
        if not ITEM_KEYS.issuperset(item):
            for key in sorted(set(item) - ITEM_KEYS):
                _add(errors, shown(key), UNKNOWN_FIELD)
        get = item.get
        for key in REQUIRED_KEYS:
            if get(key) in (None, ""):
                _add(errors, key, REQUIRED)

        source = _lookup(get("source"), self.sources, "source", errors)
        if source is not None:
            if not source.active:
                _add(errors, "source", f"The source '{source.slug}' is inactive.")
            if self.key_source and source.slug != self.key_source:
                _add(errors, "source", self.refusal.format(source=self.key_source))
        signal_type = _lookup(get("type"), self.types, "type", errors)
        occurred_at = self._occurred_at(get("occurred_at"), errors)
        external_id = get("external_id")
        if external_id not in (None, ""):
            if not isinstance(external_id, str):
                _add(errors, "external_id", "Give the id as a string.")
            elif len(external_id) > MAX_STRING:
                _add(errors, "external_id", f"At most {MAX_STRING} characters.")
            elif problem := text_problem(external_id):
                _add(errors, "external_id", problem)
        value = get("value")
        if value is not None:
            value = _value(value, errors)
        topic = get("topic")
        if topic is None:
            topic = ""
        elif not isinstance(topic, str):
            _add(errors, "topic", "Give the topic as a string.")
        elif len(topic) > MAX_TOPIC:
            _add(errors, "topic", f"At most {MAX_TOPIC} characters.")
        elif problem := text_problem(topic):
            _add(errors, "topic", problem)
        attributes = get("attributes")
        attributes = {} if attributes is None else _attributes(attributes, errors)
        hints, contact = _hints(get("account"), get("contact"), get("ip"), errors)
        if errors:
            return None, errors
        return ValidItem(
            index=index,
            source=source,
            type=signal_type,
            occurred_at=occurred_at,
            external_id=external_id,
            value=value,
            topic=topic,
            attributes=attributes,
            hints=hints,
            contact=contact,
        ), errors

    def _occurred_at(self, value, errors) -> datetime | None:
        if value in (None, ""):
            return None
        if not isinstance(value, str):
            _add(errors, "occurred_at", "Give an ISO 8601 time, e.g. 2026-11-30T10:00:00Z.")
            return None
        try:
            # Django's parser tries `fromisoformat` first too; its own pattern is the
            # fallback for the forms that one refuses.
            moment = datetime.fromisoformat(value)
        except ValueError:
            try:
                moment = parse_datetime(value)
            except ValueError:
                moment = None
        if moment is None:
            _add(errors, "occurred_at", "Not an ISO 8601 time, e.g. 2026-11-30T10:00:00Z.")
            return None
        if moment.utcoffset() is None:
            _add(errors, "occurred_at", "Give a time zone, e.g. 2026-11-30T10:00:00Z.")
            return None
        if moment > self.latest:
            _add(errors, "occurred_at", "More than a day in the future.")
        elif moment < self.earliest:
            _add(errors, "occurred_at", "More than five years ago.")
        return moment


def _add(errors: dict, name: str, message: str) -> None:
    errors.setdefault(name, []).append(message)


def _lookup(value, known: Mapping, name: str, errors):
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        _add(errors, name, f"Give the {name} as a string.")
        return None
    found = known.get(value)
    if found is None:
        _add(errors, name, f"Unknown {name} '{shown(value[:100])}'.")
    return found


def _value(value, errors) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        _add(errors, "value", "Give a number.")
        return None
    if isinstance(value, float) and not math.isfinite(value):
        _add(errors, "value", "Give a finite number.")
        return None
    try:
        # An int converts exactly; a float by its shortest repr, as it was sent.
        number = Decimal(value) if type(value) is int else Decimal(str(value).strip())
    except InvalidOperation:
        _add(errors, "value", "Give a number.")
        return None
    if not number.is_finite():
        _add(errors, "value", "Give a finite number.")
        return None
    if abs(number) >= MAX_VALUE:
        _add(errors, "value", "Too large: at most 14 digits before the decimal point.")
        return None
    return number.quantize(MICRO)


def _attributes(value, errors) -> dict:
    if not isinstance(value, dict):
        _add(errors, "attributes", "Give an object.")
        return {}
    if not value:
        return value
    if _depth(value) > MAX_ATTRIBUTES_DEPTH:
        _add(errors, "attributes", f"Nested deeper than {MAX_ATTRIBUTES_DEPTH} levels.")
        return {}
    if problem := _text_problem_within(value):
        _add(errors, "attributes", problem)
        return {}
    size = len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))
    if size > MAX_ATTRIBUTES_BYTES:
        _add(errors, "attributes", f"Over {MAX_ATTRIBUTES_BYTES // 1024} KB once serialised.")
        return {}
    return value


def _depth(value, level: int = 1) -> int:
    """An object or list is one level; the values inside it add theirs."""
    if level > MAX_ATTRIBUTES_DEPTH + 1:
        return level
    children = value.values() if isinstance(value, dict) else value
    deepest = level
    for child in children:
        if isinstance(child, dict | list):
            deepest = max(deepest, _depth(child, level + 1))
    return deepest


def _text_problem_within(value) -> str | None:
    """The first problem of a text (key or value) anywhere in an attributes object."""
    if isinstance(value, str):
        return text_problem(value)
    if isinstance(value, dict):
        for key, child in value.items():
            if problem := text_problem(key) or _text_problem_within(child):
                return problem
    elif isinstance(value, list):
        for child in value:
            if problem := _text_problem_within(child):
                return problem
    return None


def text_problem(text: str) -> str | None:
    """Why a text cannot be stored as sent: a NUL character (PostgreSQL refuses it in
    text and JSON) or a lone surrogate (not Unicode, so not UTF-8); None when it can."""
    if "\x00" in text:
        return NUL_CHARACTER
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            return NOT_UNICODE
    return None


def shown(text: str) -> str:
    """A text to echo in an error message, any lone surrogate escaped."""
    if text.isascii():
        return text
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _hints(account, contact, ip, errors) -> tuple[dict, dict | None]:
    """The identity hints as stored on the signal and given to resolution."""
    hints: dict = {}
    if account is not None:
        if not isinstance(account, dict):
            _add(errors, "account", "Give an object.")
        else:
            _check_object(account, ACCOUNT_KEYS, ACCOUNT_STRINGS, "account", errors)
            _check_account(account, errors)
            hints["account"] = account
    if contact is not None:
        if not isinstance(contact, dict):
            _add(errors, "contact", "Give an object.")
            contact = None
        else:
            _check_object(contact, CONTACT_KEYS, CONTACT_STRINGS, "contact", errors)
            email = contact.get("email")
            if email is not None and not (isinstance(email, str) and email_is_valid(email)):
                _add(errors, "contact.email", "Not a valid email address.")
            hints["contact"] = contact
    if ip is not None:
        if isinstance(ip, str) and _ip_is_valid(ip):
            hints["ip"] = ip
        else:
            _add(errors, "ip", "Not an IPv4 or IPv6 address.")
    return hints, contact


def _check_object(value: dict, allowed: frozenset, strings: tuple, name: str, errors) -> None:
    if not allowed.issuperset(value):
        for key in sorted(set(value) - allowed):
            _add(errors, f"{name}.{shown(key)}", "Unknown field.")
    for key in strings:
        field_value = value.get(key)
        if field_value is None:
            continue
        if not isinstance(field_value, str):
            _add(errors, f"{name}.{key}", "Give a string.")
        elif len(field_value) > MAX_STRING:
            _add(errors, f"{name}.{key}", f"At most {MAX_STRING} characters.")
        elif problem := text_problem(field_value):
            _add(errors, f"{name}.{key}", problem)


def _check_account(account: dict, errors) -> None:
    account_id = account.get("id")
    if account_id is not None and (isinstance(account_id, bool) or not isinstance(account_id, int)):
        _add(errors, "account.id", "Give the account id as an integer.")
    identifier = account.get("identifier")
    if identifier is None:
        return
    if not isinstance(identifier, dict):
        _add(errors, "account.identifier", "Give an object with 'system' and 'id'.")
        return
    if not IDENTIFIER_KEYS.issuperset(identifier):
        for key in sorted(set(identifier) - IDENTIFIER_KEYS):
            _add(errors, f"account.identifier.{shown(key)}", "Unknown field.")
    system = identifier.get("system")
    if not (isinstance(system, str) and system in IDENTIFIER_SYSTEMS):
        _add(errors, "account.identifier.system", f"Give one of: {IDENTIFIER_SYSTEMS_TEXT}.")
    external_id = identifier.get("id")
    if not isinstance(external_id, str) or not external_id.strip():
        _add(errors, "account.identifier.id", "Give the id in that system as a string.")
    elif problem := text_problem(external_id):
        _add(errors, "account.identifier.id", problem)


@lru_cache(maxsize=65_536)
def email_is_valid(email: str) -> bool:
    """Django's email validation, remembered: the same people come back batch after batch."""
    try:
        validate_email(email.strip())
    except ValidationError:
        return False
    return True


def _ip_is_valid(ip: str) -> bool:
    try:
        ip_address(ip)
    except ValueError:
        return False
    return True

"""The playbook layer's part of erasing a person (registered in `PlaybooksConfig.ready()`).

- Campaign memberships that name the person go (the account's own memberships stay).
- Task titles, bodies and notes were rendered from templates that may print the
  account's contacts: the person's email and name in them become "[erased]", on the
  person's account, where such tasks were made.
- The outbox keeps what it sent (task.created events, chat messages): the same
  replacement runs over the payloads that hold the person's email or name.

Runs inside the erasure's transaction.
"""

import json
import re

from django.db.models import Q, TextField
from django.db.models.functions import Cast
from django.utils.html import escape

from accounts.erasure import ERASED, Person

from .models_execution import CampaignMembership, Delivery, Task

TASK_FIELDS = ("title", "body", "note")


def erase_person(person: Person) -> dict[str, int]:
    erased = {}
    if person.contact_id is not None:
        erased["campaign memberships"] = CampaignMembership.objects.filter(
            contact_id=person.contact_id
        ).delete()[0]
    needles = _needles(person)
    pattern = _pattern(needles)
    if person.account_id is not None:
        erased["tasks"] = _scrub_tasks(person.account_id, needles, pattern)
    erased["webhook deliveries"] = _scrub_deliveries(needles, pattern)
    return erased


def _needles(person: Person) -> list[str]:
    """The person's email and name as stored, as rendered (HTML-escaped) and as JSON text
    writes them (non-ASCII letters escaped)."""
    needles = set()
    for value in (person.email, person.name.strip()):
        if value:
            needles |= {value, escape(value), json.dumps(value)[1:-1]}
    return sorted(needles, key=len, reverse=True)


def _pattern(needles: list[str]) -> re.Pattern | None:
    if not needles:
        return None
    # Whole words only: a short name must not eat the middle of another word.
    return re.compile("|".join(rf"(?<!\w){re.escape(n)}(?!\w)" for n in needles), re.IGNORECASE)


def _containing(field: str, needles: list[str]) -> Q:
    query = Q()
    for needle in needles:
        query |= Q(**{f"{field}__icontains": needle})
    return query


def _scrub_tasks(account_id: int, needles: list[str], pattern) -> int:
    query = Q()
    for field in TASK_FIELDS:
        query |= _containing(field, needles)
    tasks = list(Task.objects.filter(query, account_id=account_id).only("id", *TASK_FIELDS))
    changed = []
    for task in tasks:
        before = [getattr(task, field) for field in TASK_FIELDS]
        for field in TASK_FIELDS:
            setattr(task, field, pattern.sub(ERASED, getattr(task, field)))
        if [getattr(task, field) for field in TASK_FIELDS] != before:
            changed.append(task)
    Task.objects.bulk_update(changed, TASK_FIELDS)
    return len(changed)


def _scrub_deliveries(needles: list[str], pattern) -> int:
    if pattern is None:
        return 0
    deliveries = list(
        Delivery.objects.annotate(text=Cast("payload", TextField()))
        .filter(_containing("text", needles))
        .only("id", "payload")
    )
    changed = []
    for delivery in deliveries:
        payload = _replaced(delivery.payload, pattern)
        if payload != delivery.payload:
            delivery.payload = payload
            changed.append(delivery)
    Delivery.objects.bulk_update(changed, ["payload"])
    return len(changed)


def _replaced(value, pattern: re.Pattern):
    if isinstance(value, str):
        return pattern.sub(ERASED, value)
    if isinstance(value, dict):
        return {key: _replaced(item, pattern) for key, item in value.items()}
    if isinstance(value, list):
        return [_replaced(item, pattern) for item in value]
    return value

"""Erasing a person (DESIGN §3 Contact, §9 Privacy): `manage.py erase_contact EMAIL`.

What goes: the contact row (email, name, title, roles, first seen and last engaged), its
history rows where the model keeps history, and everything a higher app holds about the
person. What stays: the signals, anonymised (no contact link, no personal data in their
identity hints or attributes), the daily rollups and the scores, so the account's
figures do not change. The account's own history records that an erasure happened, with
counts and without personal data.

Higher apps own most of a person's traces (signals, campaign memberships, task texts)
and scrub them through `ERASERS`, filled in their `AppConfig.ready()`: this app never
imports them. Everything runs in one transaction, erasers included, so an erasure is
never half done. An email that nothing holds is refused and nothing changes.
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from .choices import AccountEventKind
from .models import AccountEvent, Contact

ERASED = "[erased]"


@dataclass(frozen=True)
class Person:
    """Who is being erased: the email, and the contact it named (when there was one)."""

    email: str
    contact_id: int | None = None
    account_id: int | None = None
    name: str = ""
    title: str = ""


# An eraser takes the `Person` and returns what it scrubbed, by kind (e.g. "signals").
Eraser = Callable[[Person], dict[str, int]]
ERASERS: list[Eraser] = []


def register_eraser(eraser: Eraser) -> Eraser:
    """Add a higher app's part of an erasure (idempotent per function)."""
    if eraser not in ERASERS:
        ERASERS.append(eraser)
    return eraser


def normalised_email(email: str) -> str:
    return (email or "").strip().lower()


def contact_erase(*, email: str, actor=None) -> dict[str, int]:
    """Erase the person with this email everywhere; returns what was erased, by kind.

    Raises `ValidationError` (on `email`) when no contact and nothing else holds it.
    """
    email = normalised_email(email)
    if "@" not in email:
        raise ValidationError({"email": "Give the person's email address."})
    with transaction.atomic():
        contact = Contact.objects.select_for_update().filter(email=email).first()
        person = Person(
            email=email,
            contact_id=contact.pk if contact else None,
            account_id=contact.account_id if contact else None,
            name=contact.name if contact else "",
            title=contact.title if contact else "",
        )
        erased: dict[str, int] = {}
        for eraser in ERASERS:
            for kind, n in eraser(person).items():
                erased[kind] = erased.get(kind, 0) + n
        if contact is not None:
            # No model that keeps history holds people today; one that does loses them too.
            history = getattr(Contact, "history", None)
            if history is not None:
                erased["history rows"] = history.filter(id=contact.pk).delete()[0]
            contact.delete()
            erased["contacts"] = 1
        erased = {kind: n for kind, n in erased.items() if n}
        if not erased:
            raise ValidationError({"email": f"No contact or signal holds {email}: nothing erased."})
        if contact is not None:
            AccountEvent.objects.create(
                account_id=contact.account_id,
                kind=AccountEventKind.CONTACT_ERASED,
                actor=actor if actor is not None and actor.is_authenticated else None,
                actor_label="" if actor is not None else "erase_contact",
                occurred_at=timezone.now(),
                data={"erased": erased},
            )
    return erased

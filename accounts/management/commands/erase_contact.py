"""`manage.py erase_contact EMAIL`: remove a person's personal data (see accounts/erasure.py)."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from accounts.services import contact_erase


class Command(BaseCommand):
    help = (
        "Erase a person: their contact (email, name, title, roles, engagement dates), "
        "campaign memberships, and their name, email and IP address wherever signals, "
        "tasks and the outbox hold them. Their signals stay, anonymised, with the "
        "rollups and scores. Exits non-zero, changing nothing, when nothing holds EMAIL."
    )

    def add_arguments(self, parser):
        parser.add_argument("email", help="The person's email address (any case).")

    def handle(self, *args, email, **options):
        try:
            erased = contact_erase(email=email)
        except ValidationError as exc:
            messages = exc.message_dict.get("email") or exc.messages
            raise CommandError(" ".join(messages)) from None
        summary = ", ".join(f"{n} {kind}" for kind, n in erased.items())
        self.stdout.write(self.style.SUCCESS(f"Erased: {summary}."))

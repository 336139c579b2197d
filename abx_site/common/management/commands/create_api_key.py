"""`manage.py create_api_key --name NAME --scopes a,b`: a new API key, printed once."""

from datetime import timedelta

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.text import slugify

from abx_site.common.models import ApiKey
from abx_site.common.scopes import Scope


class Command(BaseCommand):
    help = (
        "Create an API key holding scopes and print it once. Only its hash is stored: "
        "the key cannot be shown again. The key is alone on the last line of output."
    )

    def add_arguments(self, parser):
        parser.add_argument("--name", required=True, help="What the key is for (50 chars max).")
        parser.add_argument(
            "--scopes",
            required=True,
            help=f"Comma-separated scopes: {', '.join(Scope.values)}.",
        )
        parser.add_argument("--user", help="Username the key acts for (e.g. for 'my tasks').")
        parser.add_argument("--source", help="Source slug: the key may only ingest for it.")
        parser.add_argument(
            "--expires-days", type=int, help="Days until the key stops working (default: never)."
        )

    def handle(self, *args, name, scopes, user=None, source=None, expires_days=None, **options):
        name = name.strip()
        if not name or len(name) > 50:
            raise CommandError("--name must be 1 to 50 characters.")
        scope_list = _parse_scopes(scopes)
        bound_user = None
        if user:
            bound_user = get_user_model().objects.filter(username=user).first()
            if bound_user is None:
                raise CommandError(f"No user named '{user}'.")
        if source and slugify(source) != source:
            raise CommandError(f"'{source}' is not a source slug (e.g. 'website').")
        expiry = None
        if expires_days is not None:
            if expires_days < 1:
                raise CommandError("--expires-days must be at least 1.")
            expiry = timezone.now() + timedelta(days=expires_days)

        api_key, key = ApiKey.objects.create_key(
            name=name,
            scopes=scope_list,
            user=bound_user,
            source=source or "",
            expiry_date=expiry,
        )
        self.stdout.write(
            f"Created API key '{api_key.name}' (prefix {api_key.prefix}) with scopes "
            f"{', '.join(scope_list)}"
            + (f", acting for {bound_user.get_username()}" if bound_user else "")
            + (f", for source {source}" if source else "")
            + (f", expiring {expiry:%Y-%m-%d %H:%M} UTC" if expiry else "")
            + "."
        )
        self.stdout.write(
            "Store it now: it cannot be shown again. Send it as 'Authorization: Api-Key <key>'."
        )
        self.stdout.write(key)


def _parse_scopes(text: str) -> list[str]:
    scopes = [part.strip() for part in text.split(",") if part.strip()]
    if not scopes:
        raise CommandError("Give at least one scope with --scopes.")
    unknown = [scope for scope in scopes if scope not in Scope.values]
    if unknown:
        raise CommandError(
            f"Unknown scope(s): {', '.join(unknown)}. Known: {', '.join(Scope.values)}."
        )
    # Keep the order given, without repeats.
    return list(dict.fromkeys(scopes))

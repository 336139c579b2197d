"""`manage.py revoke_api_key PREFIX`: stop a key from working, for good."""

from django.core.management.base import BaseCommand, CommandError

from abx_site.common.models import ApiKey


class Command(BaseCommand):
    help = "Revoke an API key by its prefix (the part of the key before the dot)."

    def add_arguments(self, parser):
        parser.add_argument("prefix", help="The key's prefix, as shown in the admin.")

    def handle(self, *args, prefix, **options):
        prefix = prefix.split(".", 1)[0].strip()
        api_key = ApiKey.objects.filter(prefix=prefix).first()
        if api_key is None:
            raise CommandError(f"No API key with prefix '{prefix}'.")
        if api_key.revoked:
            self.stdout.write(f"API key '{api_key.name}' ({prefix}) was already revoked.")
            return
        api_key.revoked = True
        api_key.save(update_fields=["revoked"])
        self.stdout.write(f"Revoked API key '{api_key.name}' ({prefix}).")

"""`manage.py import_playbooks FILE`: create or replace playbooks from JSON or YAML."""

from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from playbooks import services


class Command(BaseCommand):
    help = (
        "Create or replace playbooks by name from a JSON or YAML file, all or nothing: "
        "any error leaves every playbook as it was."
    )

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument(
            "--format", choices=["json", "yaml"], help="Default: from the file extension."
        )
        parser.add_argument("--publish", action="store_true", help="Publish each one too.")

    def handle(self, *args, file, format, publish, **options):
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"No such file: {file}.")
        fmt = format or ("json" if path.suffix.lower() == ".json" else "yaml")
        try:
            items = services.playbooks_parse(path.read_text(encoding="utf-8"), fmt=fmt)
            saved = services.playbooks_import(items=items, publish=publish)
        except ValidationError as exc:
            lines = [f"  {key}: {' '.join(msgs)}" for key, msgs in exc.message_dict.items()]
            raise CommandError("Nothing was imported:\n" + "\n".join(lines)) from None
        verb = "Imported and published" if publish else "Imported"
        self.stdout.write(f"{verb} {len(saved)} playbook(s): {', '.join(p.name for p in saved)}.")

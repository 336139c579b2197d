"""`manage.py export_playbooks`: playbooks as code, in JSON or YAML."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from playbooks import services
from playbooks.models import Playbook


class Command(BaseCommand):
    help = "Write playbooks (the saved definitions) as JSON or YAML, to a file or stdout."

    def add_arguments(self, parser):
        parser.add_argument("names", nargs="*", help="Playbook names (default: all).")
        parser.add_argument("--format", choices=["json", "yaml"], default="yaml")
        parser.add_argument("--output", "-o", help="A file to write (default: stdout).")

    def handle(self, *args, names, format, output, **options):
        playbooks = Playbook.objects.order_by("priority", "name")
        if names:
            playbooks = playbooks.filter(name__in=names)
            missing = sorted(set(names) - set(playbooks.values_list("name", flat=True)))
            if missing:
                raise CommandError(f"No playbook named: {', '.join(missing)}.")
        text = services.playbooks_export(playbooks, fmt=format)
        if output:
            Path(output).write_text(text, encoding="utf-8")
            self.stdout.write(f"Wrote {playbooks.count()} playbook(s) to {output}.")
        else:
            self.stdout.write(text, ending="")

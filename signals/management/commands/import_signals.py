"""`manage.py import_signals FILE`: ingest signals from a CSV or JSON-lines file."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from signals.imports import ImportFileError, detect_format, signals_import, text_lines

MAX_ERRORS_SHOWN = 50


class Command(BaseCommand):
    help = (
        "Ingest signals from a CSV file (header row; see signals.imports for the columns) "
        "or a JSON-lines file (one API item per line), with the rules of POST "
        "/api/v1/signals/. Exits non-zero when rows were rejected."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="A .csv, .jsonl or .ndjson file.")
        parser.add_argument(
            "--format", choices=["csv", "jsonl"], help="Default: from the name or content."
        )
        parser.add_argument("--source", help="The source slug of rows that name none.")

    def handle(self, *args, file, format=None, source=None, **options):
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"No such file: {file}")
        try:
            # As the admin's import reads an upload: UTF-8 (with or without a BOM) or nothing.
            lines = text_lines(path.read_bytes())
            first = lines.readline()
            lines.seek(0)
            result = signals_import(
                lines=lines, format=format or detect_format(path.name, first), source=source
            )
        except ImportFileError as exc:
            raise CommandError(f"{exc} Nothing was stored.") from None
        ingest = result.ingest
        self.stdout.write(
            f"rows: {result.rows}, accepted: {ingest.accepted}, duplicates: "
            f"{ingest.duplicates}, matched: {ingest.matched}, unmatched: {ingest.unmatched}, "
            f"rejected: {len(ingest.rejected)}"
        )
        for entry in ingest.rejected[:MAX_ERRORS_SHOWN]:
            errors = "; ".join(
                f"{name}: {' '.join(messages)}" for name, messages in entry["errors"].items()
            )
            self.stderr.write(f"line {entry['line']}: {errors}")
        if len(ingest.rejected) > MAX_ERRORS_SHOWN:
            self.stderr.write(f"... and {len(ingest.rejected) - MAX_ERRORS_SHOWN} more.")
        if ingest.rejected:
            raise CommandError(
                f"{len(ingest.rejected)} row(s) rejected; the other rows were stored."
            )

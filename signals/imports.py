"""Signals from files: CSV (the admin's import, `manage.py import_signals`) or JSON lines.

Every row becomes an ingestion item and goes through `signals_ingest`, in batches of
`MAX_ITEMS`, so a file follows exactly the rules of the API: the same validation, the
same per-item errors, idempotent re-imports (by source and external id), identity
resolution, contacts and rollups.

CSV columns (a header row; empty cells are left out; unknown columns refuse the file):
`source, type, occurred_at, external_id, value, topic, account_id, account_domain,
account_url, account_name, account_country, identifier_system, identifier_id,
contact_email, contact_name, contact_title, ip, attributes` (a JSON object).
JSON lines: one ingestion item (as in the API) per line.
"""

import contextlib
import csv
import io
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from .services import MAX_ITEMS, IngestResult, signals_ingest

CSV_COLUMNS = {
    "source": ("source",),
    "type": ("type",),
    "occurred_at": ("occurred_at",),
    "external_id": ("external_id",),
    "value": ("value",),
    "topic": ("topic",),
    "account_id": ("account", "id"),
    "account_domain": ("account", "domain"),
    "account_url": ("account", "url"),
    "account_name": ("account", "name"),
    "account_country": ("account", "country"),
    "identifier_system": ("account", "identifier", "system"),
    "identifier_id": ("account", "identifier", "id"),
    "contact_email": ("contact", "email"),
    "contact_name": ("contact", "name"),
    "contact_title": ("contact", "title"),
    "ip": ("ip",),
    "attributes": ("attributes",),
}


class ImportFileError(ValueError):
    """The file as a whole cannot be read (nothing was stored)."""


@dataclass
class ImportResult:
    """The ingestion counts over the whole file; rejected rows carry their line number."""

    rows: int = 0
    ingest: IngestResult = field(default_factory=IngestResult)

    def as_dict(self) -> dict:
        return {"rows": self.rows, **self.ingest.as_dict()}


def signals_import(*, lines: Iterable[str], format: str, source: str | None = None) -> ImportResult:
    """Ingest the rows of a CSV or JSON-lines file; `source` fills rows that give none.

    Raises `ImportFileError` before storing anything when the header or a line cannot be
    parsed at all; rows that parse but break an item rule are reported by line.
    """
    if format == "csv":
        parsed = list(_csv_items(lines))
    elif format == "jsonl":
        parsed = list(_jsonl_items(lines))
    else:
        raise ImportFileError(f"Unknown format '{format}': give csv or jsonl.")
    result = ImportResult(rows=len(parsed))
    total = result.ingest
    for start in range(0, len(parsed), MAX_ITEMS):
        batch = parsed[start : start + MAX_ITEMS]
        items = [_with_source(item, source) for _, item in batch]
        part = signals_ingest(items=items)
        total.accepted += part.accepted
        total.duplicates += part.duplicates
        total.matched += part.matched
        total.unmatched += part.unmatched
        total.rejected.extend(
            {"line": batch[entry["index"]][0], "errors": entry["errors"]} for entry in part.rejected
        )
    return result


def detect_format(name: str, first_line: str) -> str:
    """JSON lines when the name says so or the first line is an object; CSV otherwise."""
    if name.lower().endswith((".jsonl", ".ndjson", ".json")):
        return "jsonl"
    if first_line.lstrip().startswith("{"):
        return "jsonl"
    return "csv"


def _with_source(item, source):
    if source and isinstance(item, dict) and not item.get("source"):
        return {**item, "source": source}
    return item


def _csv_items(lines: Iterable[str]) -> Iterator[tuple[int, dict]]:
    reader = csv.DictReader(lines)
    header = [name.strip() for name in (reader.fieldnames or [])]
    if not header:
        raise ImportFileError("The file is empty: a CSV file starts with a header row.")
    unknown = [name for name in header if name not in CSV_COLUMNS]
    if unknown:
        raise ImportFileError(
            f"Unknown column(s): {', '.join(unknown)}. Known: {', '.join(CSV_COLUMNS)}."
        )
    reader.fieldnames = header
    for row in reader:
        yield reader.line_num, _csv_item(row)


def _csv_item(row: dict) -> dict:
    item: dict = {}
    for column, value in row.items():
        if column is None:
            # More cells than headers: keep them visible as an unknown field.
            item["extra_cells"] = value
            continue
        if value is None or not value.strip():
            continue
        value = value.strip()
        path = CSV_COLUMNS[column]
        if column == "account_id" and value.isdigit():
            value = int(value)
        elif column == "attributes":
            # Text that is not JSON stays text: ingestion answers "Give an object."
            with contextlib.suppress(ValueError):
                value = json.loads(value)
        target = item
        for key in path[:-1]:
            target = target.setdefault(key, {})
        target[path[-1]] = value
    return item


def _jsonl_items(lines: Iterable[str]) -> Iterator[tuple[int, dict]]:
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except ValueError as exc:
            raise ImportFileError(f"Line {number} is not JSON: {exc}.") from None
        except RecursionError:
            raise ImportFileError(f"Line {number} is nested too deeply to read.") from None
        yield number, item


def text_lines(data: bytes) -> io.StringIO:
    """An uploaded file's bytes as lines of text (UTF-8, with or without a BOM)."""
    try:
        return io.StringIO(data.decode("utf-8-sig"), newline="")
    except UnicodeDecodeError:
        raise ImportFileError("The file is not UTF-8 text.") from None

"""Hostile input on the CSV import paths: the admin's imports of the account graph
(django-import-export), the admin's signal import and `manage.py import_signals FILE`.

Invalid files and cells get an error that names the column, and nothing changes (row
counts of every model before and after); valid but hostile text is stored verbatim and
shown escaped."""

import csv
import io
import json
from datetime import UTC, timedelta

import pytest
from django.contrib import admin
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from accounts.models import Account, ArrChange, Contact, Deal, Partner, PersonaRule, Tier
from signals.models import Signal
from tests.accounts.factories import AccountDomainFactory

from .hostile import HOSTILE_TEXT, HUGE, NUL, escaped, row_counts

pytestmark = pytest.mark.django_db

TEXTS = list(HOSTILE_TEXT.values())


def url(model, view):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}")


def csv_text(header: list[str], rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def upload(client, model, data: bytes, name="rows.csv"):
    formats = admin.site._registry[model].get_import_formats()
    index = next(i for i, f in enumerate(formats) if f().get_title() == "csv")
    return client.post(
        url(model, "import"),
        {
            "resource": "0",
            "format": str(index),
            "import_file": SimpleUploadedFile(name, data, "text/csv"),
        },
    )


def import_errors(response) -> str:
    """Everything the import page says is wrong: form, file, row and cell errors."""
    parts = []
    form = response.context.get("form")
    if form is not None:
        parts.append(str(form.errors))
    result = response.context.get("result")
    if result is not None:
        parts += [str(row.error_dict) for row in result.invalid_rows]
        parts += [str(error.error) for _, errors in result.row_errors() for error in errors]
        parts += [str(error.error) for error in result.base_errors]
    return " ".join(parts)


@pytest.fixture
def admin_client_(client, superuser):
    client.force_login(superuser)
    return client


@pytest.fixture
def acme():
    return AccountDomainFactory(domain="acme.com", account__name="Acme").account


# Valid hostile text: stored verbatim, shown escaped -------------------------------------

# model, header, one row per text, the field that holds the text
VALID_IMPORTS = [
    (
        Account,
        ["domain", "name", "industry"],
        lambda n, text: [f"hostile{n}.com", text, text[:100]],
        "name",
    ),
    (
        Contact,
        ["email", "account", "name", "title"],
        lambda n, text: [f"person{n}@acme.com", "acme.com", text, text],
        "name",
    ),
    (
        Deal,
        ["external_id", "account", "name", "kind", "amount", "created_date"],
        lambda n, text: [f"OPP-{n}", "acme.com", text, "new_business", "100", "2026-01-01"],
        "name",
    ),
    (
        ArrChange,
        ["account", "effective_date", "arr", "note"],
        lambda n, text: ["acme.com", f"2026-01-{n + 1:02d}", "100", text],
        "note",
    ),
    (
        Tier,
        ["name", "rank", "treatment", "description"],
        lambda n, text: [text[:50], str(n + 10), "one_to_many", text],
        "description",
    ),
    (Partner, ["name", "kind"], lambda n, text: [text, "reseller"], "name"),
    (
        PersonaRule,
        ["name", "title_pattern", "buying_role"],
        lambda n, text: [text, r"\bvp\b", "champion"],
        "name",
    ),
]


@pytest.mark.parametrize(
    ("model", "header", "row", "field"), VALID_IMPORTS, ids=[m[0].__name__ for m in VALID_IMPORTS]
)
def test_hostile_text_is_imported_verbatim_and_listed_escaped(
    admin_client_, acme, model, header, row, field
):
    # given a file with one row per hostile text
    data = csv_text(header, [row(n, text) for n, text in enumerate(TEXTS)])

    # when it is checked, then confirmed
    checked = upload(admin_client_, model, data)
    confirm = checked.context.get("confirm_form")
    assert confirm is not None, import_errors(checked)
    done = admin_client_.post(url(model, "process_import"), confirm.initial)
    assert done.status_code == 302

    # then every text is stored exactly as written
    stored = set(model.objects.values_list(field, flat=True))
    assert {row(n, text)[header.index(field)] for n, text in enumerate(TEXTS)} <= stored
    # ... and the changelist shows it escaped, never as markup or evaluated template
    page = admin_client_.get(url(model, "changelist") + "?all=")
    assert page.status_code == 200
    html = page.content.decode()
    assert "<script>alert" not in html and "<img src=x" not in html
    if field in ("name",):
        for text in TEXTS:
            assert escaped(text) in html, text


# Invalid cells: refused with the column named, nothing changed --------------------------

INVALID_CELLS = [
    (Account, "name", NUL, "Null characters are not allowed"),
    (Account, "name", "A" * 300, "at most 255 characters"),
    (Account, "employee_count", "many", "employee_count"),
    (Account, "employee_count", "-5", "employee_count"),
    (Account, "stage", HOSTILE_TEXT["sql drop table"], "at most 20 characters"),
    (Account, "stage", "<b>won</b>", "is not a valid choice"),
    (Account, "country", HOSTILE_TEXT["script tag"], "at most 2 characters"),
    (Account, "country", "<>", "two-letter ISO country code"),
    (Account, "tier", HOSTILE_TEXT["template secret"], "No tier is named"),
    (Account, "parent", HOSTILE_TEXT["sql or 1=1"], "No account has the domain or name"),
    (Account, "renewal_date", HOSTILE_TEXT["sql or 1=1"], "renewal_date"),
    (Contact, "email", HOSTILE_TEXT["sql or 1=1"], "Enter a valid email address"),
    (Contact, "email", "a\x00@acme.com", "email"),
    (Contact, "account", HOSTILE_TEXT["sql drop table"], "No account has the domain or name"),
    (Contact, "buying_role", HOSTILE_TEXT["img onerror"], "is not a valid choice"),
    (Deal, "amount", "NaN", "amount"),
    (Deal, "amount", "1e400", "amount"),
    (Deal, "amount", "-1", "amount"),
    (Deal, "created_date", HOSTILE_TEXT["sql drop table"], "created_date"),
    (Deal, "kind", HOSTILE_TEXT["script tag"], "at most 20 characters"),
    (Deal, "kind", "' OR 1=1", "is not a valid choice"),
    (ArrChange, "arr", "lots", "arr"),
    (ArrChange, "effective_date", "2026-13-45", "effective_date"),
    (Tier, "rank", "0", "greater than or equal to 1"),
    (Tier, "treatment", "{% debug %}", "is not a valid choice"),
    (Tier, "required_roles", HOSTILE_TEXT["script tag"], "Not a buying role"),
    (Tier, "name", NUL, "Null characters are not allowed"),
    (PersonaRule, "title_pattern", "([", "Not a valid regular expression"),
    (PersonaRule, "name", HUGE, "at most 100 characters"),
]
VALID_ROWS = {
    Account: {"domain": "newco.com", "name": "NewCo", "employee_count": "10"},
    Contact: {"email": "new@acme.com", "account": "acme.com", "name": "New"},
    Deal: {
        "external_id": "OPP-9",
        "account": "acme.com",
        "name": "New deal",
        "kind": "new_business",
        "amount": "10",
        "created_date": "2026-01-01",
    },
    ArrChange: {"account": "acme.com", "effective_date": "2026-01-01", "arr": "10"},
    Tier: {"name": "New tier", "rank": "7", "treatment": "one_to_many"},
    PersonaRule: {"name": "New rule", "title_pattern": "cto", "buying_role": "champion"},
}


@pytest.mark.parametrize(
    ("model", "column", "value", "message"),
    INVALID_CELLS,
    ids=[f"{m.__name__}.{c}={v[:12]!r}" for m, c, v, _ in INVALID_CELLS],
)
def test_an_invalid_cell_is_refused_naming_its_column_and_nothing_changes(
    admin_client_, acme, model, column, value, message
):
    # given a file whose second row has one bad cell
    good = VALID_ROWS[model]
    bad = {**good, column: value}
    # ... and nothing else wrong with it: its keys differ from the first row's
    for key, other in {
        "domain": "other.com",
        "email": "other@acme.com",
        "external_id": "OPP-10",
        "name": "Other",
        "rank": "8",
    }.items():
        if key in good and key != column:
            bad[key] = other
    if model is ArrChange and column != "effective_date":
        bad["effective_date"] = "2026-02-01"
    header = list(dict.fromkeys([*good, column]))
    data = csv_text(header, [[good.get(h, "") for h in header], [bad.get(h, "") for h in header]])
    before = row_counts()

    # when
    response = upload(admin_client_, model, data)

    # then no confirmation is offered, the error says what is wrong where, nothing changed
    assert response.status_code == 200
    assert response.context.get("confirm_form") is None
    errors = import_errors(response)
    assert message in errors, errors
    assert f"'{column}'" in errors, errors
    assert row_counts() == before


MALFORMED_FILES = [
    ("binary garbage", b"\x00\x01\x02\xff\xfe\x89PNG\r\n\x1a\n" * 20, "UnicodeDecodeError"),
    ("invalid UTF-8", b"domain,name\nacme.org,Ac\xed\xa0\x80me\n", "UnicodeDecodeError"),
    ("empty", b"", "empty"),
    ("a header only", b"domain,name\n", "No valid data to import"),
    ("another delimiter", b"domain;name\nnewco.com;NewCo\n", "not present in the file headers"),
    ("no key column", b"name,industry\nNewCo,Software\n", "not present in the file headers"),
]


@pytest.mark.parametrize(
    ("label", "data", "message"), MALFORMED_FILES, ids=[f[0] for f in MALFORMED_FILES]
)
def test_a_malformed_file_is_refused_and_nothing_changes(admin_client_, label, data, message):
    before = row_counts()

    response = upload(admin_client_, Account, data)

    assert response.status_code == 200
    assert response.context.get("confirm_form") is None
    assert message in import_errors(response)
    assert row_counts() == before


def test_a_tampered_confirmation_is_refused_and_changes_nothing(admin_client_):
    # given a checked file waiting for confirmation
    checked = upload(admin_client_, Account, csv_text(["domain", "name"], [["newco.com", "New"]]))
    confirm = checked.context["confirm_form"]
    before = row_counts()

    # when the confirmation names another file (one that does not exist, or a path)
    for name in ("not-an-import.csv", "../../etc/hostname", "/etc/hostname"):
        response = admin_client_.post(
            url(Account, "process_import"), {**confirm.initial, "import_file_name": name}
        )

        # then a clear refusal, and nothing imported
        assert response.status_code == 400, (name, response.status_code)
        assert "upload the file again" in response.content.decode()
    assert row_counts() == before
    # ... and the real confirmation still works
    done = admin_client_.post(url(Account, "process_import"), confirm.initial)
    assert done.status_code == 302
    assert Account.objects.filter(name="New").exists()


# The admin's signal import and `manage.py import_signals` -------------------------------

WHEN = (timezone.now() - timedelta(days=1)).astimezone(UTC).replace(microsecond=0).isoformat()
SIGNAL_HEADER = ["source", "type", "occurred_at", "external_id", "topic", "account_domain"]

BAD_SIGNAL_FILES = [
    ("binary garbage", "x.csv", b"\x00\x01\xff\xfe\x89PNG" * 30, "not UTF-8"),
    ("invalid UTF-8", "x.csv", b"source,type\nwebsite,web.visit\xed\xa0\x80\n", "not UTF-8"),
    ("empty", "x.csv", b"", "empty"),
    (
        "SQL as a column name",
        "x.csv",
        b"source,'; DROP TABLE signals_signal; --\nwebsite,x\n",
        "Unknown column",
    ),
    ("markup as a column", "x.csv", b"source,<script>x</script>\nwebsite,x\n", "Unknown column"),
    ("malformed JSON lines", "x.jsonl", b'{"source": "website",\n', "not JSON"),
    ("JSON lines of lists", "x.jsonl", b"[1, 2]\n", ""),
    ("deep JSON", "x.jsonl", b"[" * 50_000 + b"]" * 50_000 + b"\n", "nested too deeply"),
]


def run_import_signals(path):
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("import_signals", str(path), stdout=out, stderr=err)
    except CommandError as exc:
        return 1, out.getvalue(), err.getvalue() + str(exc)
    return 0, out.getvalue(), err.getvalue()


@pytest.mark.parametrize(
    ("label", "name", "data", "message"), BAD_SIGNAL_FILES, ids=[f[0] for f in BAD_SIGNAL_FILES]
)
def test_a_bad_signal_file_changes_nothing_in_the_admin_or_the_command(
    admin_client_, tmp_path, label, name, data, message
):
    before = row_counts()

    # the admin's import: the page answers with what is wrong
    response = admin_client_.post(
        reverse("admin:signals_signal_import"),
        {"file": SimpleUploadedFile(name, data, "text/csv")},
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert message in html
    assert "<script>x</script>" not in html
    assert row_counts() == before

    # the command: a non-zero exit that says what is wrong
    path = tmp_path / name
    path.write_bytes(data)
    code, _, err = run_import_signals(path)
    assert code == 1
    assert message in err
    assert row_counts() == before


BAD_SIGNAL_CELLS = [
    ("occurred_at", HOSTILE_TEXT["sql drop table"], "occurred_at"),
    ("type", HOSTILE_TEXT["script tag"], "type"),
    ("source", HOSTILE_TEXT["template secret"], "source"),
    ("value", "NaN", "value"),
    ("value", "1e400", "value"),
    ("topic", NUL, "topic"),
    ("external_id", NUL, "external_id"),
    ("topic", HUGE, "topic"),
    ("attributes", '{"a": "b\\u0000c"}', "attributes"),
    ("ip", HOSTILE_TEXT["sql or 1=1"], "ip"),
    ("contact_email", HOSTILE_TEXT["img onerror"], "contact.email"),
]


@pytest.mark.parametrize(
    ("column", "value", "field"),
    BAD_SIGNAL_CELLS,
    ids=[f"{c}={v[:12]!r}" for c, v, _ in (getattr(p, "values", p) for p in BAD_SIGNAL_CELLS)],
)
def test_a_bad_signal_row_is_rejected_naming_its_field_and_stores_nothing(
    admin_client_, tmp_path, acme, column, value, field
):
    # given a file of one row with a bad cell
    row = {
        "source": "website",
        "type": "web.visit",
        "occurred_at": WHEN,
        "external_id": "hostile-1",
        "account_domain": "acme.com",
        column: value,
    }
    header = list(row)
    data = csv_text(header, [[row[h] for h in header]])
    path = tmp_path / "signals.csv"
    path.write_bytes(data)
    before = row_counts()

    # when imported by the command
    code, _, err = run_import_signals(path)

    # then the row is rejected with its field named, and nothing is stored
    assert code == 1
    assert f"line 2: {field}" in err, err
    assert row_counts() == before
    # ... and the same through the admin
    response = admin_client_.post(
        reverse("admin:signals_signal_import"),
        {"file": SimpleUploadedFile("signals.csv", data, "text/csv")},
    )
    assert response.status_code == 200
    assert field in response.content.decode()
    assert row_counts() == before


def test_hostile_text_in_signals_is_stored_verbatim_and_shown_escaped(admin_client_, acme):
    # given a JSON-lines file whose topics and attributes hold hostile text
    lines = [
        json.dumps(
            {
                "source": "website",
                "type": "web.visit",
                "occurred_at": WHEN,
                "external_id": f"h-{n}",
                "topic": text,
                "account": {"domain": "acme.com"},
                "attributes": {"note": text},
            }
        )
        for n, text in enumerate(TEXTS)
    ]
    data = "\n".join(lines).encode()

    # when
    response = admin_client_.post(
        reverse("admin:signals_signal_import"),
        {"file": SimpleUploadedFile("signals.jsonl", data, "application/x-ndjson")},
    )

    # then every signal is stored with its text as written
    assert response.status_code == 200
    assert dict(Signal.objects.values_list("external_id", "topic")) == {
        f"h-{n}": text for n, text in enumerate(TEXTS)
    }
    # ... and the signal list shows it escaped
    html = admin_client_.get(url(Signal, "changelist")).content.decode()
    assert "<script>alert" not in html and "<img src=x" not in html
    for text in TEXTS:
        assert escaped(text) in html, text

import json
from datetime import UTC, timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from signals.models import Signal
from tests.accounts.factories import AccountDomainFactory

pytestmark = pytest.mark.django_db

WHEN = (timezone.now() - timedelta(days=2)).astimezone(UTC).replace(microsecond=0).isoformat()

CSV = f"""source,type,occurred_at,external_id,value,account_domain,contact_email,attributes
website,web.visit,{WHEN},r1,3,acme.com,jane@acme.com,"{{""page"": ""/pricing""}}"
website,nope,{WHEN},r2,,,,
website,web.visit,{WHEN},r3,,unknown.io,,
website,web.visit,{WHEN},r1,,,,
"""


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def run(*args):
    out, err = StringIO(), StringIO()
    try:
        call_command("import_signals", *args, stdout=out, stderr=err)
        code = 0
    except CommandError as exc:
        err.write(str(exc))
        code = 1
    return code, out.getvalue(), err.getvalue()


def test_a_csv_file_goes_through_ingestion_and_reports_rejected_lines(tmp_path):
    # given
    account = AccountDomainFactory(domain="acme.com").account

    # when
    code, out, err = run(write(tmp_path, "signals.csv", CSV))

    # then: the same counts as the API, and a non-zero exit for the rejected line
    assert code == 1
    assert out.strip() == (
        "rows: 4, accepted: 2, duplicates: 1, matched: 1, unmatched: 1, rejected: 1"
    )
    assert "line 3: type: Unknown type 'nope'." in err
    signal = Signal.objects.get(external_id="r1")
    assert (signal.account, signal.value, signal.attributes) == (
        account,
        Decimal(3),
        {"page": "/pricing"},
    )
    assert signal.contact.email == "jane@acme.com"
    assert Signal.objects.get(external_id="r3").review_key == "domain:unknown.io"


def test_re_importing_the_same_file_stores_nothing_twice(tmp_path):
    path = write(tmp_path, "signals.csv", CSV)
    run(path)

    code, out, _ = run(path)

    assert code == 1  # the unknown type is rejected again
    assert "accepted: 0, duplicates: 3" in out
    assert Signal.objects.count() == 2


def test_json_lines_with_a_default_source_exit_zero_when_all_rows_pass(tmp_path):
    lines = [
        {"type": "web.visit", "occurred_at": WHEN, "external_id": "j1"},
        {"type": "email.click", "occurred_at": WHEN, "external_id": "j2", "topic": "launch"},
    ]
    path = write(tmp_path, "s.jsonl", "\n".join(json.dumps(line) for line in lines) + "\n\n")

    code, out, err = run(path, "--source", "marketing")

    assert (code, err) == (0, "")
    assert "accepted: 2" in out
    assert set(Signal.objects.values_list("source__slug", flat=True)) == {"marketing"}


@pytest.mark.parametrize(
    "name, text, message",
    [
        ("a.csv", "source,typo\nwebsite,x\n", "Unknown column(s): typo"),
        ("a.jsonl", '{"source": "website"}\nnot json\n', "Line 2 is not JSON"),
        ("a.csv", "", "The file is empty"),
    ],
)
def test_a_file_that_cannot_be_read_is_refused_whole(tmp_path, name, text, message):
    code, _, err = run(write(tmp_path, name, text))

    assert code == 1
    assert message in err
    assert "Nothing was stored" in err
    assert not Signal.objects.exists()


def test_a_missing_file_is_named():
    code, _, err = run("/no/such/file.csv")

    assert code == 1
    assert "No such file: /no/such/file.csv" in err


# Admin --------------------------------------------------------------------------------


def test_the_admin_import_reports_counts_and_row_errors(client, staff_user):
    client.force_login(staff_user)
    url = reverse("admin:signals_signal_import")
    assert b"Import signals" in client.get(reverse("admin:signals_signal_changelist")).content

    response = client.post(url, {"file": SimpleUploadedFile("s.csv", CSV.encode())})

    assert response.status_code == 200
    page = response.content.decode()
    assert "4 row(s): 2 accepted" in page
    assert "Unknown type &#x27;nope&#x27;." in page
    assert Signal.objects.count() == 2


def test_the_admin_import_refuses_an_unreadable_file(client, staff_user):
    client.force_login(staff_user)

    response = client.post(
        reverse("admin:signals_signal_import"),
        {"file": SimpleUploadedFile("s.csv", b"\xff\xfe not utf-8")},
    )

    assert "The file is not UTF-8 text." in response.content.decode()
    assert not Signal.objects.exists()


def test_the_admin_import_needs_the_add_signal_permission(client, django_user_model):
    from django.contrib.auth.models import Group

    viewer = django_user_model.objects.create_user("viewer", password="pw", is_staff=True)
    viewer.groups.add(Group.objects.get(name="Viewer"))
    client.force_login(viewer)

    response = client.post(
        reverse("admin:signals_signal_import"),
        {"file": SimpleUploadedFile("s.csv", CSV.encode())},
    )

    assert response.status_code == 403
    assert not Signal.objects.exists()

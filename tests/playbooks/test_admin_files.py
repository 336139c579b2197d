"""Playbooks as code in the admin: export actions and links, and an all-or-nothing import."""

import json
from html import unescape

import pytest
import yaml
from django.contrib.auth.models import Group, User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from playbooks import services
from playbooks.models import Condition, Playbook, PlaybookVersion
from tests.accounts.factories import TierFactory

from .helpers import playbook_data, published

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:playbooks_playbook_changelist")
IMPORT = reverse("admin:playbooks_playbook_import")


@pytest.fixture
def revops(client, staff_user):
    client.force_login(staff_user)
    return client


@pytest.fixture
def viewer(client):
    user = User.objects.create_user("viewer", password="pw", is_staff=True)
    user.groups.add(Group.objects.get(name="Viewer"))
    client.force_login(user)
    return client


def upload(name, content: str | bytes):
    data = content.encode() if isinstance(content, str) else content
    return SimpleUploadedFile(name, data, content_type="application/octet-stream")


def snapshots_of(*playbooks):
    return [services.playbook_snapshot(p) for p in playbooks]


# Export ------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["json", "yaml"])
def test_the_export_action_downloads_the_selected_playbooks(revops, fmt):
    # given
    TierFactory(name="Strategic", rank=1)
    first = published("Surge", tiers=["Strategic"])
    second = published("Expansion", motion="expansion")
    published("Not selected")

    # when
    response = revops.post(
        CHANGELIST,
        {"action": f"export_{fmt}", "_selected_action": [first.pk, second.pk]},
    )

    # then
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith('attachment; filename="playbooks-')
    assert response["Content-Disposition"].endswith(f'.{fmt}"')
    text = response.content.decode()
    data = json.loads(text) if fmt == "json" else yaml.safe_load(text)
    by_name = {p["name"]: p for p in data["playbooks"]}
    assert set(by_name) == {"Surge", "Expansion"}
    assert by_name["Surge"] == services.playbook_snapshot(first)
    assert by_name["Surge"]["tiers"] == ["Strategic"]


def test_a_playbook_exports_from_its_own_page_and_a_viewer_may_export(viewer):
    playbook = published("Surge")
    editor = viewer.get(reverse("admin:playbooks_playbook_change", args=[playbook.pk]))
    export = reverse("admin:playbooks_playbook_export", args=[playbook.pk, "yaml"])
    assert export in editor.content.decode()

    response = viewer.get(export)

    assert response.status_code == 200
    assert yaml.safe_load(response.content)["playbooks"] == snapshots_of(playbook)
    bad = reverse("admin:playbooks_playbook_export", args=[playbook.pk, "xml"])
    assert viewer.get(bad).status_code == 404


def test_export_then_import_round_trips_through_the_admin(revops):
    # given: two playbooks exported, then deleted
    playbooks = [published("Surge"), published("Expansion", motion="expansion")]
    before = snapshots_of(*playbooks)
    exported = revops.post(
        CHANGELIST,
        {"action": "export_yaml", "_selected_action": [p.pk for p in playbooks]},
    ).content
    Playbook.objects.all().delete()

    # when
    response = revops.post(IMPORT, {"file": upload("library.yaml", exported)})

    # then
    assert response.status_code == 302 and response["Location"] == CHANGELIST
    after = snapshots_of(*Playbook.objects.order_by("priority", "name"))
    assert sorted(after, key=lambda s: s["name"]) == sorted(before, key=lambda s: s["name"])
    messages = [str(m) for m in revops.get(CHANGELIST).context["messages"]]
    assert messages == ["Imported 2 playbook(s): Expansion, Surge."]


# Import ------------------------------------------------------------------------------


def test_the_changelist_links_the_import_page(revops):
    assert IMPORT in revops.get(CHANGELIST).content.decode()


def test_import_replaces_by_name_creates_new_ones_and_can_publish(revops):
    # given
    existing = published("Surge", min_employees=100)
    data = {
        "playbooks": [
            playbook_data("Surge", min_employees=500),
            playbook_data("Brand new", min_employees=50),
        ]
    }

    # when
    response = revops.post(
        IMPORT, {"file": upload("playbooks.json", json.dumps(data)), "publish": "on"}
    )

    # then
    assert response.status_code == 302
    existing.refresh_from_db()
    assert Condition.objects.get(trigger__playbook=existing).value == 500
    assert list(existing.versions.values_list("number", flat=True)) == [2, 1]
    created = Playbook.objects.get(name="Brand new")
    assert created.status == "active" and created.versions.count() == 1


MALFORMED = [
    ("broken.json", '{"playbooks": [', "file", "does not parse as json"),
    ("broken.yaml", "playbooks: [unclosed", "file", "does not parse as yaml"),
    ("list.json", '{"playbooks": 3}', "file", 'Give {"playbooks": [...]}'),
    ("latin.json", b"\xff\xfe\x00", "file", "not UTF-8"),
    (
        "bad.json",
        json.dumps(
            {
                "playbooks": [
                    {
                        **playbook_data("Surge", min_employees=900),
                        "triggers": [
                            {
                                "name": "Odd",
                                "conditions": [
                                    {"feature": "shoe_size", "operator": "gte", "value": 3}
                                ],
                            }
                        ],
                    }
                ]
            }
        ),
        "playbooks.0.triggers.0.conditions.0.feature",
        "Unknown feature 'shoe_size'",
    ),
]


@pytest.mark.parametrize(("name", "content", "where", "message"), MALFORMED)
def test_a_malformed_file_changes_nothing_and_says_why(revops, name, content, where, message):
    # given
    existing = published("Surge", min_employees=100)
    before = services.playbook_snapshot(existing)
    counts = (Playbook.objects.count(), PlaybookVersion.objects.count())

    # when
    response = revops.post(IMPORT, {"file": upload(name, content)})

    # then
    assert response.status_code == 200
    html = response.content.decode()
    assert "Nothing was imported: every playbook is as it was." in html
    assert f"<code>{where}</code>" in html and message in unescape(html)
    existing.refresh_from_db()
    assert services.playbook_snapshot(existing) == before
    assert (Playbook.objects.count(), PlaybookVersion.objects.count()) == counts


def test_one_invalid_playbook_keeps_the_valid_ones_out_too(revops):
    data = {
        "playbooks": [
            playbook_data("Fine"),
            {**playbook_data("Broken"), "triggers": []},
        ]
    }
    response = revops.post(IMPORT, {"file": upload("two.json", json.dumps(data))})
    assert "<code>playbooks.1.triggers</code>" in response.content.decode()
    assert not Playbook.objects.exists()


def test_a_file_whose_name_says_no_format_needs_one(revops):
    content = json.dumps({"playbooks": [playbook_data("Named")]})
    response = revops.post(IMPORT, {"file": upload("playbooks.txt", content)})
    assert "Say whether the file is JSON or YAML" in response.content.decode()
    assert not Playbook.objects.exists()
    response = revops.post(IMPORT, {"file": upload("playbooks.txt", content), "format": "json"})
    assert response.status_code == 302 and Playbook.objects.filter(name="Named").exists()


def test_viewers_may_not_import(viewer):
    assert IMPORT not in viewer.get(CHANGELIST).content.decode()
    content = json.dumps({"playbooks": [playbook_data("Sneaky")]})
    assert viewer.get(IMPORT).status_code == 403
    assert viewer.post(IMPORT, {"file": upload("p.json", content)}).status_code == 403
    assert not Playbook.objects.exists()


def test_a_team_that_may_edit_but_not_publish_cannot_publish_by_import(client):
    user = User.objects.create_user("editor", password="pw", is_staff=True)
    user.user_permissions.add(
        *Group.objects.get(name="RevOps")
        .permissions.filter(content_type__app_label="playbooks")
        .exclude(codename="add_playbookversion")
    )
    client.force_login(user)
    content = json.dumps({"playbooks": [playbook_data("Draft only")]})

    response = client.post(IMPORT, {"file": upload("p.json", content), "publish": "on"})

    assert "Your team may not publish playbooks." in response.content.decode()
    assert not Playbook.objects.exists()

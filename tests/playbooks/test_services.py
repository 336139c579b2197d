"""Saving, publishing, versions, diff, rollback, and playbooks as code (JSON and YAML)."""

import json

import pytest
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError

from playbooks import services
from playbooks.choices import PlaybookStatus
from playbooks.models import Condition, Playbook, PlaybookVersion, Step, Trigger
from tests.accounts.factories import TierFactory

from .helpers import playbook_data, published

pytestmark = pytest.mark.django_db


def test_save_writes_the_playbook_its_triggers_conditions_and_steps():
    tier = TierFactory(name="Strategic")
    playbook = services.playbook_save(
        data=playbook_data(tiers=["Strategic"], teams=["Sales"], stages=["prospect"])
    )
    assert playbook.status == PlaybookStatus.DRAFT
    assert list(playbook.tiers.all()) == [tier]
    assert list(playbook.teams.values_list("name", flat=True)) == ["Sales"]
    condition = Condition.objects.get()
    assert (condition.feature, condition.operator, condition.value) == (
        "employee_count",
        "gte",
        100,
    )
    assert Step.objects.get().config["role"] == "ae"


def test_an_invalid_playbook_is_refused_whole_with_paths_and_reasons():
    data = playbook_data(holdout_percent=70, tiers=["Nope"], unknown_key=1)
    data["triggers"].append(
        {"conditions": [{"feature": "industry", "operator": "gt", "value": "x"}]}
    )
    data["steps"].append({"kind": "create_task", "config": {"title": "x"}})

    with pytest.raises(ValidationError) as caught:
        services.playbook_save(data=data)

    errors = caught.value.message_dict
    assert set(errors) == {
        "holdout_percent",
        "tiers",
        "unknown_key",
        "triggers.1.conditions.0.operator",
        "steps.1.config",
    }
    assert errors["tiers"] == ["Unknown: Nope."]
    assert not Playbook.objects.exists() and not Trigger.objects.exists()


def test_a_playbook_with_no_trigger_is_refused():
    with pytest.raises(ValidationError) as caught:
        services.playbook_save(data=playbook_data(triggers=[]))
    assert "at least one trigger" in caught.value.message_dict["triggers"][0]


def test_publish_freezes_numbered_versions_and_activates_a_draft(staff_user):
    playbook = services.playbook_save(data=playbook_data())
    first = services.playbook_publish(playbook=playbook, user=staff_user)
    services.playbook_save(data=playbook_data(min_employees=500), playbook=playbook)
    second = services.playbook_publish(playbook=playbook, user=staff_user)

    playbook.refresh_from_db()
    assert playbook.status == PlaybookStatus.ACTIVE
    assert (first.number, second.number) == (1, 2)
    assert first.snapshot["triggers"][0]["conditions"][0]["value"] == 100
    assert second.snapshot["triggers"][0]["conditions"][0]["value"] == 500
    assert second.published_by == staff_user


def test_diff_shows_what_changed_between_versions():
    playbook = published()
    services.playbook_save(data=playbook_data(min_employees=500), playbook=playbook)
    services.playbook_publish(playbook=playbook)
    v1, v2 = (v.snapshot for v in PlaybookVersion.objects.order_by("number"))

    diff = services.version_diff(v1, v2, old_label="v1", new_label="v2")

    assert diff[:2] == ["--- v1", "+++ v2"]
    changed = [line for line in diff[2:] if line[:1] in "+-"]
    assert [line[0] + line[1:].strip() for line in changed] == [
        '-"value": 100',
        '+"value": 500',
    ]
    assert services.version_diff(v1, v1) == []


def test_rollback_restores_an_old_version_as_a_new_one():
    playbook = published()
    services.playbook_save(data=playbook_data(min_employees=500), playbook=playbook)
    services.playbook_publish(playbook=playbook)

    version = services.playbook_rollback(playbook=playbook, number=1)

    assert version.number == 3
    assert version.note == "Rolled back to version 1"
    assert version.snapshot == PlaybookVersion.objects.get(number=1).snapshot
    assert Condition.objects.get().value == 100
    with pytest.raises(ValidationError, match="no version 9"):
        services.playbook_rollback(playbook=playbook, number=9)


@pytest.mark.parametrize("fmt", ["json", "yaml"])
def test_export_then_import_gives_the_same_playbooks(fmt):
    TierFactory(name="Strategic")
    services.playbook_save(
        data=playbook_data(
            "Surge",
            tiers=["Strategic"],
            teams=["Sales", "Marketing"],
            holdout_percent=10,
            capacity=25,
            blocked_motions=["expansion"],
            outcome={"kind": "stage_reached", "stage": "opportunity", "window_days": 60},
        )
    )
    services.playbook_save(data=playbook_data("Second", motion="retention"))
    before = [services.playbook_snapshot(p) for p in Playbook.objects.order_by("name")]
    text = services.playbooks_export(Playbook.objects.order_by("name"), fmt=fmt)

    Playbook.objects.all().delete()
    services.playbooks_import(items=services.playbooks_parse(text, fmt=fmt))

    after = [services.playbook_snapshot(p) for p in Playbook.objects.order_by("name")]
    assert after == before
    # and importing the same file again replaces, never duplicates
    services.playbooks_import(items=services.playbooks_parse(text, fmt=fmt))
    assert Playbook.objects.count() == 2 and Trigger.objects.count() == 2


def test_importing_a_malformed_file_changes_nothing():
    playbook = published("Keep me")
    good = playbook_data("Keep me", min_employees=999)
    bad = playbook_data("New one")
    bad["triggers"][0]["conditions"][0]["value"] = "lots"
    text = json.dumps({"playbooks": [good, bad]})

    with pytest.raises(ValidationError) as caught:
        services.playbooks_import(items=services.playbooks_parse(text, fmt="json"))

    assert list(caught.value.message_dict) == ["playbooks.1.triggers.0.conditions.0.value"]
    assert list(Playbook.objects.values_list("name", flat=True)) == ["Keep me"]
    assert Condition.objects.get(trigger__playbook=playbook).value == 100


@pytest.mark.parametrize(
    ("text", "fmt", "message"),
    [
        ("{not json", "json", "does not parse as json"),
        ("a: [b", "yaml", "does not parse as yaml"),
        ('"just text"', "json", "Give {"),
        ("{}", "toml", "Unknown format"),
    ],
)
def test_files_that_are_not_playbook_files_are_refused(text, fmt, message):
    with pytest.raises(ValidationError, match=message):
        services.playbooks_parse(text, fmt=fmt)


def test_history_records_who_changed_a_playbook(staff_user):
    playbook = services.playbook_save(data=playbook_data())
    playbook.priority = 5
    playbook._history_user = staff_user
    playbook.save()
    assert playbook.history.count() == 2
    assert playbook.history.first().history_user == staff_user
    assert Group.objects.get(name="RevOps").permissions.filter(codename="change_playbook").exists()

"""export_playbooks / import_playbooks round trip; the evaluation schedule."""

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings
from django_q.models import Schedule

from playbooks import services
from playbooks.models import Playbook, PlaybookVersion
from playbooks.schedules import EVALUATION_SCHEDULE

from .helpers import playbook_data

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("suffix", ["json", "yaml"])
def test_export_then_import_round_trip(tmp_path, suffix):
    services.playbook_save(data=playbook_data("One", holdout_percent=10))
    services.playbook_save(data=playbook_data("Two", motion="advocacy"))
    before = [services.playbook_snapshot(p) for p in Playbook.objects.order_by("name")]
    path = tmp_path / f"playbooks.{suffix}"
    call_command("export_playbooks", "--format", suffix, "-o", str(path))

    Playbook.objects.all().delete()
    call_command("import_playbooks", str(path), "--publish")

    assert [services.playbook_snapshot(p) for p in Playbook.objects.order_by("name")] == before
    assert PlaybookVersion.objects.count() == 2


def test_a_malformed_file_imports_nothing(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("playbooks:\n  - name: Broken\n    motion: upsell\n    triggers: []\n")
    with pytest.raises(CommandError) as caught:
        call_command("import_playbooks", str(path))
    assert "playbooks.0.motion" in str(caught.value)
    assert "playbooks.0.triggers" in str(caught.value)
    assert not Playbook.objects.exists()


def test_the_evaluation_schedule_follows_the_setting():
    with override_settings(ABX_EVALUATION_MINUTES=5):
        call_command("setup_playbook_schedules")
    with override_settings(ABX_EVALUATION_MINUTES=20):
        call_command("setup_playbook_schedules")
    schedule = Schedule.objects.get(name=EVALUATION_SCHEDULE)
    assert (schedule.minutes, schedule.func) == (20, "playbooks.tasks.evaluation_task")

from datetime import UTC, datetime, timedelta

from django.db import migrations

NAME = "abx-webhook-receipt-purge"


def forwards(apps, schema_editor):
    # Daily at 03:00 UTC: receipts older than any sender still retries are forgotten.
    Schedule = apps.get_model("django_q", "Schedule")
    now = datetime.now(UTC)
    first = now.replace(hour=3, minute=0, second=0, microsecond=0)
    if first <= now:
        first += timedelta(days=1)
    Schedule.objects.get_or_create(
        name=NAME,
        defaults={
            "func": "signals.tasks.webhook_receipts_purge_task",
            "schedule_type": "D",
            "repeats": -1,
            "next_run": first,
        },
    )


def backwards(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("signals", "0006_import_permission"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]

from django.db import migrations

from abx_site.common.groups import grant

ALL = ("add", "change", "delete")

# RevOps configures campaigns, webhook endpoints and experience defaults and may requeue
# deliveries; sales, success and partner teams work (change, reassign) tasks; marketing
# manages campaign audiences by hand. Every team reads everything.
WORKERS = {"task": ("add", "change")}
POLICY = {
    "RevOps": {
        "task": ALL,
        "campaign": ALL,
        "campaignmembership": ALL,
        "webhookendpoint": ALL,
        "delivery": ("change",),
        "experiencedefault": ALL,
        "accountexperience": ALL,
        "steprun": ("change",),
    },
    "Sales": WORKERS,
    "Customer Success": WORKERS,
    "Partner": WORKERS,
    "Marketing": {**WORKERS, "campaign": ALL, "campaignmembership": ALL},
}

# The sweepers run every minute; the digest once a day at 07:00 UTC.
SCHEDULES = [
    ("abx-step-sweep", "playbooks.execution.tasks.step_sweep_task", "I", 1),
    ("abx-delivery-sweep", "playbooks.execution.tasks.delivery_sweep_task", "I", 1),
    ("abx-task-digest", "playbooks.execution.tasks.task_digest_task", "D", None),
]


def forwards(apps, schema_editor):
    grant(apps, "playbooks", POLICY)
    Schedule = apps.get_model("django_q", "Schedule")
    from datetime import UTC, datetime, timedelta

    now = datetime.now(UTC)
    for name, func, kind, minutes in SCHEDULES:
        if kind == "D":
            first = now.replace(hour=7, minute=0, second=0, microsecond=0)
            if first <= now:
                first += timedelta(days=1)
        else:
            first = now
        Schedule.objects.get_or_create(
            name=name,
            defaults={
                "func": func,
                "schedule_type": kind,
                "minutes": minutes,
                "repeats": -1,
                "next_run": first,
            },
        )


def backwards(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    Schedule.objects.filter(name__in=[name for name, *_ in SCHEDULES]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("playbooks", "0003_execution"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]

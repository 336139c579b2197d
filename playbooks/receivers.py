"""Evaluation soon after ingest, debounced: many batches in a burst give one run.

Each ingested batch asks for an evaluation `DEBOUNCE` from now; while one is already
waiting, the request changes nothing. The waiting run is a one-off django-q2 schedule
row (durable with the ORM broker, deleted once it has run), so a burst of batches over
a minute costs one evaluation, and no batch is left without one.
"""

from datetime import timedelta

from django.utils import timezone
from django_q.models import Schedule

DEBOUNCE = timedelta(seconds=60)
SCHEDULE_NAME = "abx-evaluate-after-ingest"
TASK = "playbooks.tasks.evaluation_after_ingest_task"


def evaluation_after_ingest(**kwargs) -> bool:
    """Ask for an evaluation soon; returns False when one is already waiting."""
    if Schedule.objects.filter(name=SCHEDULE_NAME).exists():
        return False
    # Two batches finishing at the same instant may both create one: that costs a second
    # run, which finds nothing new to do (evaluation is idempotent).
    Schedule.objects.create(
        name=SCHEDULE_NAME,
        func=TASK,
        schedule_type=Schedule.ONCE,
        repeats=-1,
        next_run=timezone.now() + DEBOUNCE,
    )
    return True

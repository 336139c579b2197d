from datetime import timedelta

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from playbooks.choices_execution import DeliveryStatus, TaskStatus
from playbooks.execution import runner
from playbooks.execution.digest import task_digest_send
from playbooks.execution.events import events_emit
from playbooks.models import Delivery, StepRun, Task
from tests.accounts.factories import UserFactory

from .factories import TaskFactory, WebhookEndpointFactory, started

pytestmark = pytest.mark.django_db


def changelist(model):
    return reverse(f"admin:playbooks_{model._meta.model_name}_changelist")


@pytest.fixture
def admin_client_(client, superuser):
    client.force_login(superuser)
    return client


def test_the_daily_digest_lists_each_owners_due_and_overdue_tasks():
    today = timezone.localdate()
    ann, bob = UserFactory(email="ann@example.com"), UserFactory(email="bob@example.com")
    TaskFactory(assignee=ann, title="Late", due_date=today - timedelta(days=2))
    TaskFactory(assignee=ann, title="Today", due_date=today)
    TaskFactory(assignee=ann, title="Later", due_date=today + timedelta(days=1))
    TaskFactory(assignee=ann, title="Done", due_date=today, status=TaskStatus.DONE)
    TaskFactory(
        assignee=bob,
        title="Sleeping",
        due_date=today,
        status=TaskStatus.SNOOZED,
        snoozed_until=today + timedelta(days=2),
    )
    assert task_digest_send(today=today) == 1
    [email] = mail.outbox
    assert email.to == ["ann@example.com"]
    assert email.subject.endswith("2 due, 1 overdue")
    assert "OVERDUE" in email.body and "Late" in email.body and "Today" in email.body
    assert "Later" not in email.body and "Done" not in email.body


def _rows():
    for _ in range(3):
        started(("create_task", {"role": "ae", "title": "Call"}))
    runner.step_sweep()


@pytest.mark.parametrize("model", [Task, StepRun, Delivery])
def test_changelists_run_a_constant_number_of_queries(
    admin_client_, django_assert_num_queries, model
):
    WebhookEndpointFactory(event_types=[])
    _rows()
    assert model.objects.count() >= 3
    admin_client_.get(changelist(model))  # warm the session
    with CaptureQueriesContext(connection) as queries:
        assert admin_client_.get(changelist(model)).status_code == 200
    _rows()
    with django_assert_num_queries(len(queries)):
        admin_client_.get(changelist(model))


def test_requeue_action_sends_dead_deliveries_again(admin_client_):
    WebhookEndpointFactory(event_types=[])
    events_emit("task.created", [("k", {})])
    delivery = Delivery.objects.get()
    Delivery.objects.filter(pk=delivery.pk).update(status=DeliveryStatus.DEAD, attempts=8)
    response = admin_client_.post(
        changelist(Delivery), {"action": "requeue", "_selected_action": [delivery.pk]}
    )
    assert response.status_code == 302
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.PENDING, 0)


def test_reassign_action_moves_tasks_to_the_chosen_person(admin_client_):
    tasks = TaskFactory.create_batch(2)
    colleague = UserFactory()
    admin_client_.post(
        changelist(Task),
        {
            "action": "reassign",
            "assignee": colleague.pk,
            "_selected_action": [t.pk for t in tasks],
        },
    )
    assert set(Task.objects.values_list("assignee", flat=True)) == {colleague.pk}

"""Rows of the project-wide models: API keys, groups, and the rows the libraries keep
(login attempts, the task queue and its results, schedules)."""

import uuid

import factory
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib.auth.models import Group
from django.utils import timezone
from django_q.models import OrmQ, Schedule
from django_q.models import Task as TaskResult
from django_q.signing import SignedPackage

from abx_site.common.models import ApiKey
from abx_site.common.scopes import Scope
from tests.accounts.factories import UserFactory


class GroupFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Group
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Team {n}")


class ApiKeyFactory(factory.django.DjangoModelFactory):
    """A key made as the admin makes it (the raw key is dropped: tests that call the
    API use the `api_key_for` fixture)."""

    class Meta:
        model = ApiKey

    name = factory.Sequence(lambda n: f"Integration {n}")
    user = factory.SubFactory(UserFactory)
    scopes = factory.LazyFunction(lambda: [Scope.ACCOUNTS_READ])

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        key, _raw = model_class.objects.create_key(**kwargs)
        return key


class _AccessFactory(factory.django.DjangoModelFactory):
    user_agent = "Mozilla/5.0"
    ip_address = factory.Sequence(lambda n: f"198.51.100.{n % 250 + 1}")
    username = factory.Sequence(lambda n: f"user{n}")
    http_accept = "text/html"
    path_info = "/admin/login/"


class AccessAttemptFactory(_AccessFactory):
    class Meta:
        model = AccessAttempt

    get_data = ""
    post_data = "username=someone"
    failures_since_start = 1


class AccessLogFactory(_AccessFactory):
    class Meta:
        model = AccessLog


class AccessFailureLogFactory(_AccessFactory):
    class Meta:
        model = AccessFailureLog


class TaskResultFactory(factory.django.DjangoModelFactory):
    """A finished django-q task (the admin lists it as a success or a failure)."""

    class Meta:
        model = TaskResult

    id = factory.LazyFunction(lambda: uuid.uuid4().hex)
    name = factory.Sequence(lambda n: f"task-{n}")
    func = "accounts.tasks.persona_rules_apply_task"
    started = factory.LazyFunction(timezone.now)
    stopped = factory.LazyAttribute(lambda t: t.started)
    success = True
    result = 0


class QueuedTaskFactory(factory.django.DjangoModelFactory):
    """A task waiting in the ORM broker's queue, packed as `async_task` packs it."""

    class Meta:
        model = OrmQ

    class Params:
        task_id = factory.LazyFunction(lambda: uuid.uuid4().hex)

    key = "abx"
    payload = factory.LazyAttribute(
        lambda q: SignedPackage.dumps(
            {
                "id": q.task_id,
                "name": f"queued-{q.task_id[:8]}",
                "func": "accounts.tasks.persona_rules_apply_task",
                "args": (),
                "kwargs": {},
                "group": None,
            }
        )
    )


class ScheduleFactory(factory.django.DjangoModelFactory):
    """A daily schedule that has run once."""

    class Meta:
        model = Schedule

    name = factory.Sequence(lambda n: f"schedule-{n}")
    func = "accounts.tasks.persona_rules_apply_task"
    schedule_type = Schedule.DAILY
    next_run = factory.LazyFunction(timezone.now)
    task = factory.LazyFunction(lambda: TaskResultFactory().id)

import factory
from django.utils import timezone

from playbooks.choices import ActivationStatus, Motion, StepKind
from playbooks.models import (
    Activation,
    Condition,
    Playbook,
    PlaybookMembership,
    PlaybookVersion,
    Step,
    Trigger,
)
from tests.accounts.factories import AccountFactory


class PlaybookFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Playbook

    name = factory.Sequence(lambda n: f"Playbook {n}")
    motion = Motion.NEW_LOGO


class TriggerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Trigger

    playbook = factory.SubFactory(PlaybookFactory)
    name = "Surge"


class ConditionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Condition

    trigger = factory.SubFactory(TriggerFactory)
    feature = "employee_count"
    operator = "gte"
    value = 100


class StepFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Step

    playbook = factory.SubFactory(PlaybookFactory)
    kind = StepKind.CREATE_TASK
    config = factory.LazyFunction(lambda: {"role": "ae", "title": "Call {{ account.name }}"})


class PlaybookVersionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PlaybookVersion

    playbook = factory.SubFactory(PlaybookFactory)
    number = factory.Sequence(lambda n: n + 1)
    snapshot = factory.LazyFunction(dict)
    published_at = factory.LazyFunction(timezone.now)


class ActivationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Activation

    playbook = factory.SubFactory(PlaybookFactory)
    version = factory.SubFactory(
        PlaybookVersionFactory, playbook=factory.SelfAttribute("..playbook")
    )
    account = factory.SubFactory(AccountFactory)
    trigger_index = 0
    status = ActivationStatus.ACTIVE
    started_at = factory.LazyFunction(timezone.now)


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PlaybookMembership

    playbook = factory.SubFactory(PlaybookFactory)
    account = factory.SubFactory(AccountFactory)
    since = factory.LazyFunction(timezone.now)

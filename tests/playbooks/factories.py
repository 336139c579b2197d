from datetime import timedelta

import factory
from django.utils import timezone

from playbooks.choices import ActivationStatus, JobStatus, Motion, RunOrigin, StepKind
from playbooks.models import (
    Activation,
    Backtest,
    Condition,
    EvaluationRun,
    Playbook,
    PlaybookMembership,
    PlaybookVersion,
    Step,
    TierProposal,
    TierRule,
    TierRuleCondition,
    Trigger,
)
from tests.accounts.factories import AccountFactory, TierFactory, UserFactory


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


class EvaluationRunFactory(factory.django.DjangoModelFactory):
    """A finished evaluation as the evaluator records it."""

    class Meta:
        model = EvaluationRun

    origin = RunOrigin.SCHEDULE
    started_at = factory.LazyFunction(timezone.now)
    finished_at = factory.LazyAttribute(lambda r: r.started_at)
    playbooks = 1
    entered = 1


class BacktestFactory(factory.django.DjangoModelFactory):
    """A queued backtest of the eight weeks before the last outcome window."""

    class Meta:
        model = Backtest

    playbook = factory.SubFactory(PlaybookFactory)
    start = factory.LazyFunction(lambda: timezone.localdate() - timedelta(days=146))
    end = factory.LazyFunction(lambda: timezone.localdate() - timedelta(days=90))
    status = JobStatus.QUEUED
    requested_by = factory.SubFactory(UserFactory)


class TierRuleFactory(factory.django.DjangoModelFactory):
    """A rule with one condition (a rule without any is refused when saved)."""

    class Meta:
        model = TierRule
        skip_postgeneration_save = True  # the condition points at the rule, not back

    tier = factory.SubFactory(TierFactory)
    name = factory.Sequence(lambda n: f"Rule {n}")
    condition = factory.RelatedFactory(
        "tests.playbooks.factories.TierRuleConditionFactory", factory_related_name="rule"
    )


class TierRuleConditionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TierRuleCondition

    rule = factory.SubFactory(TierRuleFactory, condition=None)
    feature = "employee_count"
    operator = "gte"
    value = 1000


class TierProposalFactory(factory.django.DjangoModelFactory):
    """What the rules would set on an account whose tier a person chose."""

    class Meta:
        model = TierProposal

    account = factory.SubFactory(AccountFactory, tier=factory.SubFactory(TierFactory))
    rule = factory.SubFactory(TierRuleFactory)
    tier = factory.SelfAttribute("rule.tier")
    proposed_at = factory.LazyFunction(timezone.now)

import factory
from django.utils import timezone

from playbooks.choices import StepKind
from playbooks.choices_execution import CampaignChannel, MembershipStatus, WebhookEvent
from playbooks.execution import runner
from playbooks.models import (
    AccountExperience,
    Campaign,
    CampaignMembership,
    Delivery,
    DeliveryAttempt,
    ExperienceDefault,
    StepRun,
    Task,
    WebhookEndpoint,
)
from tests.accounts.factories import AccountFactory
from tests.playbooks.factories import ActivationFactory, PlaybookFactory


class CampaignFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Campaign

    name = factory.Sequence(lambda n: f"Campaign {n}")
    channel = CampaignChannel.EMAIL


class WebhookEndpointFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = WebhookEndpoint

    name = factory.Sequence(lambda n: f"endpoint-{n}")
    url = "http://127.0.0.1:9/hook"
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


class TaskFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Task

    account = factory.SubFactory(AccountFactory)
    title = factory.Sequence(lambda n: f"Task {n}")
    due_date = factory.LazyFunction(timezone.localdate)


class ExperienceDefaultFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ExperienceDefault

    variant = "generic"


class StepRunFactory(factory.django.DjangoModelFactory):
    """A due step run (the runner makes the real ones from a published version)."""

    class Meta:
        model = StepRun

    activation = factory.SubFactory(ActivationFactory)
    step_index = 0
    kind = StepKind.CREATE_TASK
    config = factory.LazyFunction(lambda: {"role": "ae", "title": "Call {{ account.name }}"})
    due_at = factory.LazyFunction(timezone.now)


class CampaignMembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CampaignMembership

    campaign = factory.SubFactory(CampaignFactory)
    account = factory.SubFactory(AccountFactory)
    status = MembershipStatus.ENROLLED


class DeliveryFactory(factory.django.DjangoModelFactory):
    """A pending message in the outbox, to its endpoint."""

    class Meta:
        model = Delivery

    endpoint = factory.SubFactory(WebhookEndpointFactory)
    url = factory.LazyAttribute(lambda d: d.endpoint.url if d.endpoint else "http://127.0.0.1:9/")
    event = WebhookEvent.ACTIVATION_STARTED
    payload = factory.LazyFunction(lambda: {"type": "activation.started", "data": {}})
    idempotency_key = factory.Sequence(lambda n: f"key-{n}")
    next_attempt_at = factory.LazyFunction(timezone.now)
    created_at = factory.LazyFunction(timezone.now)


class DeliveryAttemptFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DeliveryAttempt

    delivery = factory.SubFactory(DeliveryFactory)
    attempted_at = factory.LazyFunction(timezone.now)
    status_code = 503
    duration_ms = 12


class AccountExperienceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AccountExperience

    account = factory.SubFactory(AccountFactory)
    variant = "enterprise"


def started(*steps, account=None, motion="new_logo", now=None, **playbook):
    """An active activation whose published version has `steps` (kind, config[, delay]),
    started through the evaluator's hook as the evaluator would."""
    snapshot = {
        "steps": [
            {"kind": kind, "config": config, "delay_days": rest[0] if rest else 0}
            for kind, config, *rest in steps
        ]
    }
    activation = ActivationFactory(
        playbook=PlaybookFactory(motion=motion, **playbook),
        version__snapshot=snapshot,
        account=account or AccountFactory(),
        started_at=now or timezone.now(),
    )
    runner.activations_started([activation.pk])
    return activation

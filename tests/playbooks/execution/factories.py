import factory
from django.utils import timezone

from playbooks.choices_execution import CampaignChannel
from playbooks.execution import runner
from playbooks.models import Campaign, ExperienceDefault, Task, WebhookEndpoint
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

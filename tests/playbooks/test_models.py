"""The playbook tables' invariants, held by the database itself."""

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from playbooks.choices import ActivationStatus, ReentryPolicy, StepKind
from playbooks.models import Activation, Playbook, Step
from playbooks.steps import step_config_clean
from tests.accounts.factories import AccountFactory

from .factories import (
    ActivationFactory,
    MembershipFactory,
    PlaybookFactory,
    PlaybookVersionFactory,
)

pytestmark = pytest.mark.django_db


def test_a_second_open_activation_of_one_playbook_on_one_account_is_impossible():
    first = ActivationFactory(status=ActivationStatus.ACTIVE)

    # a holdout counts as open too
    with pytest.raises(IntegrityError), transaction.atomic():
        ActivationFactory(
            playbook=first.playbook,
            version=first.version,
            account=first.account,
            status=ActivationStatus.HOLDOUT,
        )

    # closed ones may pile up beside the open one
    for status in (ActivationStatus.EXITED, ActivationStatus.SKIPPED, ActivationStatus.COMPLETED):
        ActivationFactory(
            playbook=first.playbook, version=first.version, account=first.account, status=status
        )
    assert Activation.objects.filter(account=first.account).count() == 4


def test_the_same_account_may_be_open_in_two_playbooks():
    account = AccountFactory()
    ActivationFactory(account=account)
    ActivationFactory(account=account)
    assert Activation.objects.filter(account=account, status="active").count() == 2


@pytest.mark.parametrize(
    ("fields", "constraint"),
    [
        ({"holdout_percent": 51}, "holdout_max_50"),
        ({"priority": 0}, "priority_positive"),
        ({"outcome_window_days": 0}, "outcome_window_positive"),
        ({"reentry_policy": ReentryPolicy.AFTER_COOLDOWN, "cooldown_days": None}, "cooldown"),
    ],
)
def test_playbook_settings_out_of_range_are_refused_by_the_database(fields, constraint):
    with pytest.raises(IntegrityError, match=constraint), transaction.atomic():
        PlaybookFactory(**fields)
    assert not Playbook.objects.exists()


def test_playbook_clean_names_the_bad_setting():
    playbook = PlaybookFactory.build(
        stages=["customer", "lead"],
        blocked_motions=["retention", "upsell"],
        reentry_policy=ReentryPolicy.AFTER_COOLDOWN,
        outcome_kind="stage_reached",
        holdout_percent=60,
    )
    with pytest.raises(ValidationError) as caught:
        playbook.full_clean()
    errors = caught.value.message_dict
    assert errors["stages"] == ["Not a lifecycle stage: lead."]
    assert errors["blocked_motions"] == ["Not a motion: upsell."]
    assert "cooldown_days" in errors
    assert errors["outcome_stage"] == ["Say which stage the outcome is."]
    assert "holdout_percent" in errors


def test_version_numbers_and_memberships_are_unique():
    version = PlaybookVersionFactory(number=1)
    with pytest.raises(IntegrityError), transaction.atomic():
        PlaybookVersionFactory(playbook=version.playbook, number=1)
    member = MembershipFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        MembershipFactory(playbook=member.playbook, account=member.account)


@pytest.mark.parametrize(
    ("kind", "config", "message"),
    [
        (StepKind.CREATE_TASK, {"title": "Call"}, "'Create a task' needs 'role'."),
        (StepKind.CREATE_TASK, {"role": "boss", "title": "x"}, "'role': not a team role"),
        (StepKind.CREATE_TASK, {"role": "ae", "title": "{% if %}"}, "does not parse"),
        (
            StepKind.CREATE_TASK,
            {"role": "ae", "title": "x", "body": "{% if 1 %}{% debug %}{% endif %}"},
            "'body': the {% debug %} tag is not allowed in step templates.",
        ),
        (StepKind.CREATE_TASK, {"role": "ae", "title": "x", "due_days": -1}, "'due_days'"),
        (StepKind.NOTIFY, {"channel": "chat", "message": "Hi"}, "needs the chat webhook 'url'"),
        (StepKind.WEBHOOK, {}, "'Call a webhook' needs 'endpoint'."),
        (StepKind.ENROLL_CAMPAIGN, {"campaign": "Q4", "typo": 1}, "'typo' is not a setting"),
        (StepKind.SET_STAGE, {"stage": "won"}, "not a lifecycle stage"),
        (StepKind.SET_TIER, {}, "needs 'tier'"),
        (StepKind.PERSONALIZE, {"variant": "vip", "content": "x"}, "'content': give an object."),
    ],
)
def test_a_step_without_its_configuration_is_refused(kind, config, message):
    with pytest.raises(ValidationError) as caught:
        step_config_clean(kind=kind, config=config)
    assert message in " ".join(caught.value.message_dict["config"])


def test_a_valid_step_saves():
    step = Step(
        playbook=PlaybookFactory(),
        kind=StepKind.CREATE_TASK,
        config={"role": "ae", "title": "Call {{ account.name }}", "due_days": 2},
    )
    step.full_clean()
    step.save()
    assert Step.objects.get().config["due_days"] == 2

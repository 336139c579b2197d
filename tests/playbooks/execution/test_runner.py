from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from accounts.choices import AccountEventKind, Stage, TierSource
from accounts.models import AccountEvent
from playbooks.choices import ActivationStatus, ExitPolicy
from playbooks.choices_execution import StepRunStatus, TaskStatus
from playbooks.evaluation import evaluation_run
from playbooks.execution import runner
from playbooks.models import AccountExperience, Delivery, StepRun, Task
from tests.accounts.factories import AccountFactory, TeamMemberFactory, TierFactory
from tests.playbooks.helpers import published

from .factories import WebhookEndpointFactory, started

pytestmark = pytest.mark.django_db

TASK = ("create_task", {"role": "ae", "title": "Call {{ account.name }}", "due_days": 3})


def test_an_evaluated_playbook_creates_its_task_once():
    # given: an account that matches, with an AE
    account = AccountFactory(name="Acme", employee_count=500)
    ae = TeamMemberFactory(account=account, role="ae").user
    published("Big accounts", min_employees=100)
    # when
    evaluation_run()
    run = StepRun.objects.get(activation__account=account)
    assert run.status == StepRunStatus.PENDING
    counts = runner.step_sweep()
    runner.step_sweep()
    # then
    assert counts == {"done": 1}
    task = Task.objects.get(account=account)
    assert task.title == "Call Acme"
    assert task.assignee == ae
    assert task.due_date == (timezone.now() + timedelta(days=3)).date()
    assert task.activation_id == run.activation_id
    run.refresh_from_db()
    assert run.status == StepRunStatus.DONE
    assert run.result == {"task": task.pk, "assignee": ae.pk}


def test_steps_run_in_order_after_their_delays():
    now = timezone.now()
    account = AccountFactory()
    csm = TeamMemberFactory(account=account, role="csm", user__email="csm@example.com").user
    message = "Look at {{ account.name }}"
    notify = ("notify", {"channel": "email", "role": "csm", "message": message})
    activation = started(TASK, (*notify, 2), account=account, now=now)

    assert runner.step_sweep(now=now) == {"done": 1}
    assert mail.outbox == []
    assert runner.step_sweep(now=now + timedelta(days=1)) == {}
    assert runner.step_sweep(now=now + timedelta(days=2)) == {"done": 1}

    [email] = mail.outbox
    assert email.to == [csm.email]
    assert email.body == f"Look at {account.name}"
    second = StepRun.objects.get(activation=activation, step_index=1)
    assert email.extra_headers["Message-ID"] == f"<steprun-{second.pk}@abx-ops>"


def test_a_step_waits_for_the_step_before_it():
    now = timezone.now()
    # The first step is delayed 2 days; the second has no delay of its own after it.
    activation = started((*TASK, 2), TASK, now=now)
    assert runner.step_sweep(now=now) == {}
    assert runner.step_sweep(now=now + timedelta(days=2)) == {"done": 2}
    assert Task.objects.filter(activation=activation).count() == 2


def test_a_repeated_run_of_a_step_does_not_repeat_its_effect():
    # A worker killed after the effects but before acknowledging runs the step again.
    WebhookEndpointFactory(name="crm")
    activation = started(TASK, ("webhook", {"endpoint": "crm"}))
    runner.step_sweep()
    StepRun.objects.filter(activation=activation).update(status=StepRunStatus.PENDING)
    runner.step_sweep()
    assert Task.objects.filter(activation=activation).count() == 1
    assert Delivery.objects.filter(event="playbook.step").count() == 1


def test_templates_make_plain_text_and_see_plain_values_only():
    account = AccountFactory(name="<script>x</script>")
    started(
        (
            "create_task",
            {"role": "ae", "title": "{{ account.name }}", "body": "{{ account.tier.pk }}."},
        ),
        account=account,
    )
    runner.step_sweep()
    task = Task.objects.get(account=account)
    # stored as it reads; pages escape it where they show it
    assert task.title == "<script>x</script>"
    assert task.body == "."


@pytest.mark.parametrize("title", ["{% if %}", "{{ account.__class__ }}", "{% load static %}{% x"])
def test_a_template_that_does_not_parse_fails_the_step_with_the_reason(title):
    activation = started(("create_task", {"role": "ae", "title": title}))
    assert runner.step_sweep() == {"failed": 1}
    run = StepRun.objects.get(activation=activation)
    assert run.status == StepRunStatus.FAILED
    assert "title template does not parse" in run.reason
    assert not Task.objects.exists()


def test_a_debug_tag_in_a_step_template_fails_the_step_and_prints_nothing():
    # `started` stores the step as a published version would have it, unchecked
    activation = started(
        ("create_task", {"role": "ae", "title": "{% if 1 %}{% debug %}{% endif %}"})
    )
    assert runner.step_sweep() == {"failed": 1}
    run = StepRun.objects.get(activation=activation)
    assert "the {% debug %} tag is not allowed" in run.reason
    assert not Task.objects.exists()


def test_with_no_one_in_the_role_the_task_goes_to_the_fallback_owner(settings):
    fallback = TeamMemberFactory(user__username="desk").user
    settings.ABX_TASK_FALLBACK_OWNER = "desk"
    activation = started(TASK)
    runner.step_sweep()
    assert Task.objects.get(activation=activation).assignee == fallback


def test_exit_cancels_pending_steps_and_keeps_open_tasks_with_a_note():
    now = timezone.now()
    activation = started(TASK, (*TASK, 5), now=now)
    runner.step_sweep(now=now)
    activation.status = ActivationStatus.EXITED
    activation.ended_at = now
    activation.save()
    runner.activations_exited([activation.pk])

    later = StepRun.objects.get(activation=activation, step_index=1)
    assert (later.status, later.reason) == (StepRunStatus.CANCELLED, "exited")
    task = Task.objects.get(activation=activation)
    assert task.status == TaskStatus.OPEN
    assert "has ended" in task.note
    assert runner.step_sweep(now=now + timedelta(days=6)) == {}


def test_on_completion_the_activation_completes_after_its_last_step():
    activation = started(TASK, exit_policy=ExitPolicy.ON_COMPLETION)
    runner.step_sweep()
    activation.refresh_from_db()
    assert activation.status == ActivationStatus.COMPLETED


def test_set_stage_and_set_tier_change_the_account_through_its_services():
    gold = TierFactory(rank=1, name="Gold")
    account = AccountFactory(stage=Stage.ENGAGED, tier=None, tier_source=TierSource.RULE)
    WebhookEndpointFactory(name="crm", event_types=["account.tier_changed"])
    steps = [("set_stage", {"stage": "opportunity"}), ("set_tier", {"tier": "Gold"})]
    activation = started(*steps, account=account)
    runner.step_sweep()
    account.refresh_from_db()
    assert (account.stage, account.tier, account.tier_source) == ("opportunity", gold, "rule")
    kinds = set(AccountEvent.objects.filter(account=account).values_list("kind", flat=True))
    assert {AccountEventKind.STAGE_CHANGED, AccountEventKind.TIER_CHANGED} <= kinds
    # once, by the account services' hook: the step does not announce it again
    [delivery] = Delivery.objects.all()
    label = f"Playbook '{activation.playbook.name}', step 2"
    assert delivery.payload["data"] == {
        "account": account.pk,
        "old": "",
        "new": "Gold",
        "by": label,
    }


def test_set_tier_never_overwrites_a_manual_tier_and_records_what_it_would_set():
    TierFactory(rank=1, name="Gold")
    silver = TierFactory(rank=2, name="Silver")
    account = AccountFactory(tier=silver, tier_source=TierSource.MANUAL)
    activation = started(("set_tier", {"tier": "Gold"}), account=account)
    assert runner.step_sweep() == {"skipped": 1}
    account.refresh_from_db()
    assert account.tier == silver
    run = StepRun.objects.get(activation=activation)
    assert (run.reason, run.result) == ("manual_tier", {"would_set": "Gold"})


def test_personalize_sets_the_account_experience():
    activation = started(("personalize", {"variant": "retention-care", "content": {"h1": "Hi"}}))
    runner.step_sweep()
    experience = AccountExperience.objects.get(account=activation.account)
    assert (experience.variant, experience.content) == ("retention-care", {"h1": "Hi"})


def test_chat_notifications_go_through_the_outbox_with_the_run_as_key():
    activation = started(
        ("notify", {"channel": "chat", "url": "https://chat.example.com/h", "message": "Hi"})
    )
    runner.step_sweep()
    run = StepRun.objects.get(activation=activation)
    delivery = Delivery.objects.get()
    assert delivery.idempotency_key == f"steprun-{run.pk}"
    assert delivery.payload["data"] == {"text": "Hi"}


def test_a_missing_webhook_endpoint_fails_the_step_with_the_reason():
    activation = started(("webhook", {"endpoint": "nowhere"}))
    runner.step_sweep()
    run = StepRun.objects.get(activation=activation)
    assert run.status == StepRunStatus.FAILED
    assert run.reason == "No active webhook endpoint is named 'nowhere'."


def test_holdouts_and_exited_activations_run_nothing():
    activation = started(TASK)
    activation.status = ActivationStatus.HOLDOUT
    activation.save()
    assert runner.step_sweep() == {}
    assert not Task.objects.exists()

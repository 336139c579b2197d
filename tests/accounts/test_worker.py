"""The background worker is real: a queued task runs in a separate `qcluster` process."""

import pytest
from django_q.models import Task
from django_q.tasks import async_task

from accounts.choices import BuyingRole, Seniority
from accounts.models import Contact
from tests.accounts.factories import AccountFactory, ContactFactory, PersonaRuleFactory
from tests.worker import running_worker, wait_for


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_qcluster_applies_persona_rules_queued_through_the_orm_broker():
    # given contacts whose role is unknown and a rule that knows their title
    PersonaRuleFactory(
        title_pattern=r"\bvp\b", buying_role=BuyingRole.ECONOMIC_BUYER, seniority=Seniority.VP
    )
    account = AccountFactory()
    vps = ContactFactory.create_batch(3, account=account, title="VP Finance")
    other = ContactFactory(account=account, title="Engineer")

    # when the task is queued (not run inline) and a worker process is started
    task_id = async_task("accounts.tasks.persona_rules_apply_task", sync=False)
    with running_worker() as worker:
        task = wait_for(lambda: Task.objects.filter(id=task_id).first(), timeout=90)
        if task is None:
            worker.terminate()
            pytest.fail(f"The worker never finished the task: {worker.stderr.read()[-2000:]}")

    # then the worker ran it and the contacts carry the rule's role
    assert task.success, task.result
    assert task.result == 3
    roles = dict(Contact.objects.values_list("pk", "buying_role"))
    assert {roles[c.pk] for c in vps} == {BuyingRole.ECONOMIC_BUYER}
    assert roles[other.pk] == BuyingRole.UNKNOWN

import pytest
from django_q.models import Task
from django_q.tasks import async_task, result

from accounts.choices import BuyingRole, Seniority
from accounts.models import Contact
from accounts.tasks import persona_rules_apply_task
from tests.accounts.factories import AccountFactory, ContactFactory, PersonaRuleFactory

pytestmark = pytest.mark.django_db


def test_queued_persona_task_fills_unknown_roles():
    # given
    PersonaRuleFactory(
        title_pattern=r"\bdirector\b", buying_role=BuyingRole.CHAMPION, seniority=Seniority.DIRECTOR
    )
    account = AccountFactory()
    ContactFactory(account=account, email="a@acme.com", title="Director of IT")
    ContactFactory(account=account, email="b@acme.com", title="IT Director")
    ContactFactory(account=account, email="c@acme.com", title="Engineer")

    # when: the test settings run queued tasks in-process, through the worker's code path
    task_id = async_task("accounts.tasks.persona_rules_apply_task")

    # then
    assert result(task_id) == 2
    assert Task.objects.get(id=task_id).success
    assert dict(Contact.objects.values_list("email", "buying_role")) == {
        "a@acme.com": BuyingRole.CHAMPION,
        "b@acme.com": BuyingRole.CHAMPION,
        "c@acme.com": BuyingRole.UNKNOWN,
    }
    assert set(Contact.objects.exclude(title="Engineer").values_list("seniority", flat=True)) == {
        Seniority.DIRECTOR
    }


def test_persona_task_with_nothing_to_fill_returns_zero():
    ContactFactory(title="Director", buying_role=BuyingRole.BLOCKER)
    PersonaRuleFactory(title_pattern=r"\bdirector\b", buying_role=BuyingRole.CHAMPION)

    assert persona_rules_apply_task() == 0
    assert Contact.objects.get().buying_role == BuyingRole.BLOCKER

"""What playbooks add to the pages: plays and tasks on the account page, the task
inbox, and the list's motion and open-task filters."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.choices import TeamRole
from playbooks.choices import ActivationStatus, Motion
from playbooks.choices_execution import TaskStatus
from playbooks.models import Campaign, CampaignMembership, Task
from tests.accounts.factories import AccountFactory, TeamMemberFactory, UserFactory
from tests.playbooks.factories import ActivationFactory, PlaybookFactory

pytestmark = pytest.mark.django_db


def task(account, assignee, title, due_in=None, status=TaskStatus.OPEN, **extra):
    due = None if due_in is None else timezone.localdate() + timedelta(days=due_in)
    if status == TaskStatus.SNOOZED:
        extra.setdefault("snoozed_until", timezone.localdate() + timedelta(days=3))
    return Task.objects.create(
        account=account, assignee=assignee, title=title, due_date=due, status=status, **extra
    )


def test_account_page_shows_plays_with_their_evidence_tasks_and_campaigns(staff_client, staff_user):
    account = AccountFactory(name="Acme")
    play = PlaybookFactory(name="Intent surge, tier 1", motion=Motion.NEW_LOGO)
    activation = ActivationFactory(
        playbook=play,
        account=account,
        evidence={
            "trigger": 0,
            "trigger_name": "Surging",
            "conditions": [
                {
                    "feature": "signal_count",
                    "params": {"window_days": 7},
                    "operator": "gte",
                    "value": 3,
                    "actual": 5,
                }
            ],
        },
    )
    ActivationFactory(account=account, status=ActivationStatus.EXITED, playbook__name="Old play")
    task(account, staff_user, "Call the champion", due_in=-2, activation=activation)
    task(account, staff_user, "Done already", due_in=-9, status=TaskStatus.DONE)
    campaign = Campaign.objects.create(name="Q4 webinar", channel="event")
    CampaignMembership.objects.create(
        campaign=campaign, account=account, status="enrolled", source="playbook"
    )

    html = staff_client.get(reverse("pages:account-detail", args=[account.pk])).content.decode()

    assert "Intent surge, tier 1" in html and "Old play" not in html
    assert "Surging" in html and "<code>signal_count</code> (7 d) gte 3" in html
    assert "→ was</span> <strong>5</strong>" in html
    assert "Call the champion" in html and "Overdue" in html and "Done already" not in html
    assert "Q4 webinar" in html


def test_task_inbox_lists_my_open_tasks_overdue_first(staff_client, staff_user):
    account = AccountFactory(name="Acme")
    someone = UserFactory(username="someone")
    task(account, staff_user, "Later", due_in=5)
    task(account, staff_user, "Undated")
    task(account, staff_user, "Overdue one", due_in=-3)
    task(account, staff_user, "Snoozed", due_in=1, status=TaskStatus.SNOOZED)
    task(account, staff_user, "Finished", due_in=-1, status=TaskStatus.DONE)
    task(account, someone, "Not mine", due_in=-1)

    response = staff_client.get(reverse("pages:tasks"))

    html = response.content.decode()
    order = [html.index(t) for t in ("Overdue one", "Snoozed", "Later", "Undated")]
    assert order == sorted(order)
    assert "Finished" not in html and "Not mine" not in html
    assert reverse("pages:account-detail", args=[account.pk]) in html


@pytest.mark.parametrize("rows", [3, 15])
def test_task_inbox_runs_a_constant_number_of_queries(
    staff_client, staff_user, django_assert_num_queries, rows
):
    for i in range(rows):
        task(AccountFactory(), staff_user, f"Task {i}", due_in=i, activation=ActivationFactory())
    # session, user, tasks with their accounts and playbooks
    with django_assert_num_queries(3):
        staff_client.get(reverse("pages:tasks"))


def test_list_filters_by_motion_in_play_and_open_tasks(staff_client, staff_user):
    expanding = AccountFactory(name="Expanding")
    retained = AccountFactory(name="Retained")
    quiet = AccountFactory(name="Quiet")
    ActivationFactory(account=expanding, playbook__motion=Motion.EXPANSION)
    ActivationFactory(
        account=retained, playbook__motion=Motion.EXPANSION, status=ActivationStatus.EXITED
    )
    ActivationFactory(account=retained, playbook__motion=Motion.RETENTION)
    task(retained, staff_user, "Save them", due_in=1)
    task(quiet, staff_user, "Closed", status=TaskStatus.DISMISSED)
    TeamMemberFactory(account=quiet, user=staff_user, role=TeamRole.CSM)
    url = reverse("pages:account-list")

    def names(**params):
        return [a.name for a in staff_client.get(url, params).context["accounts"]]

    assert names(motion="expansion") == ["Expanding"]
    assert names(motion="retention") == ["Retained"]
    assert names(open_tasks="yes") == ["Retained"]
    assert names(open_tasks="no") == ["Expanding", "Quiet"]
    assert names(motion="bogus") == ["Expanding", "Quiet", "Retained"]
    assert 'name="motion"' in staff_client.get(url).content.decode()


def action_url(t, action):
    return reverse("task-action", args=[t.pk, action])


def test_completing_a_task_without_javascript(staff_client, staff_user):
    t = task(AccountFactory(), staff_user, "Call back", due_in=0)

    response = staff_client.post(action_url(t, "complete"), follow=True)

    t.refresh_from_db()
    assert t.status == TaskStatus.DONE and t.completed_at is not None
    assert response.redirect_chain == [(reverse("pages:tasks"), 302)]
    assert "Task completed: Call back" in response.content.decode()
    assert "Nothing to do" in response.content.decode()


def test_dismissing_a_task_with_htmx_swaps_the_row_out(staff_client, staff_user):
    t = task(AccountFactory(), staff_user, "Maybe later", due_in=2)

    response = staff_client.post(action_url(t, "dismiss"), headers={"HX-Request": "true"})

    assert response.status_code == 200 and response.content == b""
    t.refresh_from_db()
    assert t.status == TaskStatus.DISMISSED


def test_task_actions_are_refused_to_others_and_change_nothing(
    staff_client, staff_user, plain_user
):
    from django.test import Client

    client = Client()
    someone = UserFactory(username="someone")
    theirs = task(AccountFactory(), someone, "Not yours")
    done = task(AccountFactory(), staff_user, "Already done", status=TaskStatus.DONE)
    mine = task(AccountFactory(), staff_user, "Mine")

    assert staff_client.post(action_url(theirs, "complete")).status_code == 404
    assert staff_client.post(action_url(done, "dismiss")).status_code == 404
    assert staff_client.post(action_url(mine, "explode")).status_code == 404
    assert staff_client.get(action_url(mine, "complete")).status_code == 405
    assert client.post(action_url(mine, "complete")).status_code == 302  # to log in
    client.force_login(plain_user)
    assert client.post(action_url(mine, "complete")).status_code == 403
    theirs.refresh_from_db()
    done.refresh_from_db()
    mine.refresh_from_db()
    assert (theirs.status, done.status, mine.status) == ("open", "done", "open")


def test_task_actions_need_the_csrf_token(staff_user):
    from django.test import Client

    browser = Client(enforce_csrf_checks=True)
    browser.force_login(staff_user)
    t = task(AccountFactory(), staff_user, "Guarded")

    assert browser.post(action_url(t, "complete")).status_code == 403
    page = browser.get(reverse("pages:tasks")).content.decode()
    token = page.split('name="csrfmiddlewaretoken" value="')[1].split('"')[0]
    assert (
        browser.post(action_url(t, "complete"), {"csrfmiddlewaretoken": token}).status_code == 302
    )
    t.refresh_from_db()
    assert t.status == TaskStatus.DONE

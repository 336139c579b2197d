"""The playbook editor and its buttons, through the admin pages; changelists cost a
constant number of queries."""

import pytest
from django.contrib.auth.models import Group, User
from django.urls import reverse
from django.utils import timezone

from playbooks import services
from playbooks.models import Activation, Condition, Playbook, PlaybookVersion, Step
from tests.accounts.factories import AccountFactory, TierFactory

from .helpers import published

pytestmark = pytest.mark.django_db


@pytest.fixture
def revops(client, staff_user):
    client.force_login(staff_user)
    return client


def url(name, *args):
    return reverse(f"admin:playbooks_playbook_{name}", args=args)


def editor_post(name="Surge", *, conditions=None, steps=None, **settings):
    data = {
        "name": name,
        "description": "",
        "motion": "new_logo",
        "status": "draft",
        "priority": "10",
        "reentry_policy": "once",
        "cooldown_days": "",
        "holdout_percent": "0",
        "capacity": "",
        "exit_policy": "on_unmatch",
        "outcome_kind": "deal_won",
        "outcome_stage": "",
        "outcome_window_days": "90",
        "trigger-0-name": "Intent surge",
    }
    for c, condition in enumerate(
        conditions
        or [
            {"feature": "signal_count", "operator": "gte", "value": "3",
             "param-signal_types": "intent.surge", "param-days": "7"},
            {"feature": "industry", "operator": "in", "value": "Software, Fintech"},
        ]
    ):  # fmt: skip
        for key, value in condition.items():
            data[f"trigger-0-cond-{c}-{key}"] = value
    for s, step in enumerate(
        steps
        or [{"kind": "create_task", "delay_days": "0",
             "config": '{"role": "ae", "title": "Call {{ account.name }}"}'}]
    ):  # fmt: skip
        for key, value in step.items():
            data[f"step-{s}-{key}"] = value
    data.update(settings)
    return data


def test_the_editor_creates_a_playbook_with_its_rows(revops):
    TierFactory(name="Strategic")
    response = revops.post(url("add"), editor_post(tiers=["Strategic"], teams=["Sales"]))
    assert response.status_code == 302, response.context and response.context["general_errors"]

    playbook = Playbook.objects.get()
    assert list(playbook.tiers.values_list("name", flat=True)) == ["Strategic"]
    surge, industry = Condition.objects.order_by("order")
    assert (surge.feature, surge.value, surge.params) == (
        "signal_count",
        3,
        {"signal_types": ["intent.surge"], "days": 7},
    )
    assert industry.value == ["Software", "Fintech"]
    assert Step.objects.get().config == {"role": "ae", "title": "Call {{ account.name }}"}
    # the change page opens the editor with those rows
    page = revops.get(url("change", playbook.pk))
    assert page.status_code == 200
    assert 'value="Software, Fintech"' in page.text
    assert "intent.surge" in page.text


def test_bad_rows_are_shown_next_to_their_fields_and_nothing_is_saved(revops):
    data = editor_post(
        conditions=[{"feature": "industry", "operator": "gt", "value": "x"}],
        steps=[{"kind": "create_task", "delay_days": "0", "config": '{"title": "Call"}'}],
        holdout_percent="70",
    )
    response = revops.post(url("add"), data)

    assert response.status_code == 200
    text = response.text
    assert "Nothing was saved" in text
    assert "does not fit &#x27;Industry&#x27;, a text feature" in text
    assert "&#x27;Create a task&#x27; needs &#x27;role&#x27;." in text
    assert "Ensure this value is less than or equal to 50." in text
    assert not Playbook.objects.exists()


def test_a_playbook_without_trigger_is_refused_in_the_editor(revops):
    data = {k: v for k, v in editor_post().items() if not k.startswith("trigger-")}
    response = revops.post(url("add"), data)
    assert response.status_code == 200
    assert "at least one trigger" in response.text
    assert not Playbook.objects.exists()


def test_save_and_publish_then_diff_and_roll_back(revops):
    revops.post(url("add"), editor_post(_publish="1"))
    playbook = Playbook.objects.get()
    assert playbook.status == "active"
    assert PlaybookVersion.objects.get().published_by.username == "revops"

    changed = editor_post(
        conditions=[{"feature": "employee_count", "operator": "gte", "value": "500"}]
    )
    assert revops.post(url("change", playbook.pk), changed).status_code == 302
    diff = revops.get(url("diff", playbook.pk), {"a": "1", "b": "draft"})
    assert "employee_count" in diff.text and "signal_count" in diff.text

    response = revops.post(url("rollback", playbook.pk), {"number": "1"})
    assert response.status_code == 302
    assert PlaybookVersion.objects.count() == 2
    assert Condition.objects.filter(feature="signal_count").exists()


def test_preview_explain_and_backtest_pages(revops):
    account = AccountFactory(name="Acme", employee_count=500)
    playbook = published()

    preview = revops.get(url("preview", playbook.pk))
    assert preview.status_code == 200 and "Acme" in preview.text

    explain = revops.get(url("explain", playbook.pk), {"account": account.pk})
    assert explain.status_code == 200
    assert "Acme: matches" in explain.text
    assert revops.get(url("explain", playbook.pk), {"account": "x"}).status_code == 200

    today = timezone.now().date()
    backtest = revops.post(
        url("backtest", playbook.pk), {"start": str(today.replace(day=1)), "end": str(today)}
    )
    assert backtest.status_code == 200
    assert "entries" in backtest.text
    assert not Activation.objects.exists()


def test_the_editor_records_who_changed_the_playbook_and_each_row(revops, staff_user):
    # given a saved playbook
    revops.post(url("add"), editor_post())
    playbook = Playbook.objects.get()

    # when RevOps changes its conditions in the editor
    changed = editor_post(
        conditions=[{"feature": "employee_count", "operator": "gte", "value": "500"}]
    )
    assert revops.post(url("change", playbook.pk), changed).status_code == 302

    # then the playbook and every row it replaced or added carry who did it
    assert playbook.history.latest().history_user == staff_user
    created = Condition.history.filter(history_type="+").order_by("history_id")
    deleted = Condition.history.filter(history_type="-")
    assert [r.feature for r in created] == ["signal_count", "industry", "employee_count"]
    assert {r.feature for r in deleted} == {"signal_count", "industry"}
    assert {r.history_user for r in (*created, *deleted)} == {staff_user}
    assert {r.history_user for r in Step.history.all()} == {staff_user}
    condition = Condition.objects.get()
    page = revops.get(reverse("admin:playbooks_condition_history", args=[condition.pk]))
    assert page.status_code == 200
    assert staff_user.username in page.text


@pytest.mark.parametrize("team", ["Sales", "Customer Success", "Marketing", "Partner"])
def test_other_teams_cannot_save_or_publish_in_the_editor(client, team):
    playbook = published()
    member = User.objects.create_user(f"member-of-{team}", password="pw", is_staff=True)
    member.groups.add(Group.objects.get(name=team))
    client.force_login(member)
    before = playbook.history.count()

    assert client.post(url("change", playbook.pk), editor_post()).status_code == 403
    assert client.post(url("publish", playbook.pk)).status_code == 403
    assert playbook.history.count() == before


def test_viewers_see_the_editor_but_cannot_save(client):
    playbook = published()
    viewer = User.objects.create_user("viewer", password="pw", is_staff=True)
    viewer.groups.add(Group.objects.get(name="Viewer"))
    client.force_login(viewer)
    assert client.get(url("change", playbook.pk)).status_code == 200
    assert client.post(url("change", playbook.pk), editor_post()).status_code == 403
    assert client.post(url("publish", playbook.pk)).status_code == 403


@pytest.mark.parametrize("rows", [3, 5])
def test_playbook_changelist_queries(revops, django_assert_num_queries, rows):
    for n in range(rows):
        published(f"P{n}")
    # session, user, the team's permissions (2), two counts, rows, tiers and teams
    with django_assert_num_queries(9):
        response = revops.get(url("changelist"))
    assert response.context["cl"].result_count == rows


@pytest.mark.parametrize("rows", [3, 5])
def test_activation_changelist_queries(revops, django_assert_num_queries, rows):
    for _ in range(rows):
        AccountFactory(employee_count=500)
    published()
    services.evaluation_run()
    # session, user, permissions (2), two counts, rows, date hierarchy (2), reasons filter
    with django_assert_num_queries(10):
        response = revops.get(reverse("admin:playbooks_activation_changelist"))
    assert response.context["cl"].result_count == rows


def test_exit_action_ends_open_activations(revops):
    AccountFactory(employee_count=500)
    published()
    services.evaluation_run()
    activation = Activation.objects.get()
    response = revops.post(
        reverse("admin:playbooks_activation_changelist"),
        {"action": "exit_selected", "_selected_action": [activation.pk]},
    )
    assert response.status_code == 302
    activation.refresh_from_db()
    assert (activation.status, activation.reason) == ("exited", "manual")

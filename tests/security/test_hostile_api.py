"""Hostile input on the API write paths not covered by test_bad_input.py (task updates,
playbook import and publish, preview, explain and backtest parameters) and SQL
fragments in every search and filter parameter, of the API, the pages and the admin.

Invalid input gets a 4xx naming the field and changes nothing; hostile text is stored
verbatim; search parameters holding SQL get ordinary answers."""

import json

import pytest
from django.core.cache import cache
from django.urls import reverse

from abx_site.common.scopes import Scope
from accounts.models import Account
from playbooks.models import Playbook, PlaybookVersion
from tests.accounts.factories import AccountFactory, TeamMemberFactory, UserFactory
from tests.playbooks.execution.factories import TaskFactory
from tests.playbooks.helpers import playbook_data, published

from .hostile import HOSTILE_TEXT, HUGE, NUL, row_counts
from .test_bad_input import HOSTILE_BODIES

pytestmark = pytest.mark.django_db

SQL_OR = HOSTILE_TEXT["sql or 1=1"]
SQL_DROP = HOSTILE_TEXT["sql drop table"]


@pytest.fixture(autouse=True)
def _fresh_throttle_counts():
    cache.clear()


@pytest.fixture
def owner():
    return UserFactory(username="owner")


@pytest.fixture
def task(owner):
    return TaskFactory(assignee=owner, title="Call Acme", note="")


@pytest.fixture
def playbook():
    return published("Big accounts")


def client_with(api_client, api_key_for, *scopes, user=None):
    api_client.credentials(HTTP_AUTHORIZATION=f"Api-Key {api_key_for(*scopes, user=user)}")
    return api_client


# Every hostile body on the remaining write paths ----------------------------------------

WRITE_PATHS = [
    ("patch", "/api/v1/tasks/{task}/", Scope.TASKS_WRITE),
    ("post", "/api/v1/playbooks/import/", Scope.PLAYBOOKS_WRITE),
    ("post", "/api/v1/playbooks/{playbook}/publish/", Scope.PLAYBOOKS_WRITE),
    ("post", "/api/v1/playbooks/{playbook}/backtest/", Scope.PLAYBOOKS_READ),
]
# A publish takes an empty body: the bodies that are valid JSON objects are fine there.
PUBLISH_ACCEPTS = {"wrong types", "a huge string", "a NUL character", "a lone surrogate"}


@pytest.mark.parametrize(("label", "body"), HOSTILE_BODIES, ids=[b[0] for b in HOSTILE_BODIES])
@pytest.mark.parametrize(("method", "path", "scope"), WRITE_PATHS, ids=lambda v: str(v))
def test_hostile_bodies_get_a_clear_4xx_and_change_nothing(
    api_client, api_key_for, owner, task, playbook, method, path, scope, label, body
):
    # given
    client = client_with(api_client, api_key_for, scope, user=owner)
    before = row_counts()

    # when
    response = getattr(client, method)(
        path.format(task=task.pk, playbook=playbook.pk), body, content_type="application/json"
    )

    # then
    if "publish" in path and label in PUBLISH_ACCEPTS:
        # unknown keys are refused, so only an object the publish can read gets through
        assert response.status_code in (201, 400), response.content[:300]
        if response.status_code == 201:
            return
    assert 400 <= response.status_code < 500, (response.status_code, response.content[:300])
    assert response.json()["message"]
    assert row_counts() == before


# Field by field: a 400 that names the field, nothing changed ------------------------------

TASK_UPDATES = [
    ({"status": HOSTILE_TEXT["script tag"]}, "status"),
    ({"status": SQL_OR}, "status"),
    ({"priority": ["high"]}, "priority"),
    ({"snoozed_until": SQL_DROP}, "snoozed_until"),
    ({"due_date": "2026-02-30"}, "due_date"),
    ({"note": NUL}, "note"),
    ({"note": HUGE}, "note"),
    ({"note": {"text": "x"}}, "note"),
    ({"assignee": SQL_OR}, "assignee"),
    ({"assignee": HOSTILE_TEXT["template secret"]}, "assignee"),
    ({"status": "snoozed"}, "snoozed_until"),
]


@pytest.mark.parametrize(
    ("body", "field"), TASK_UPDATES, ids=[str(b)[:40] for b, _ in TASK_UPDATES]
)
def test_a_bad_task_update_names_the_field_and_changes_nothing(
    api_client, api_key_for, owner, task, body, field
):
    client = client_with(api_client, api_key_for, Scope.TASKS_WRITE, user=owner)
    before = row_counts()

    response = client.patch(f"/api/v1/tasks/{task.pk}/", body, format="json")

    assert response.status_code == 400, response.content[:300]
    assert field in response.json()["errors"], response.json()
    assert row_counts() == before
    task.refresh_from_db()
    assert (task.status, task.note) == ("open", "")


@pytest.mark.parametrize("text", list(HOSTILE_TEXT.values()), ids=list(HOSTILE_TEXT))
def test_a_hostile_task_note_is_stored_verbatim(api_client, api_key_for, owner, task, text):
    client = client_with(api_client, api_key_for, Scope.TASKS_WRITE, user=owner)

    response = client.patch(f"/api/v1/tasks/{task.pk}/", {"note": text}, format="json")

    assert response.status_code == 200
    assert response.json()["note"] == text
    task.refresh_from_db()
    assert task.note == text


def imported(name="Imported", **changes):
    return {**playbook_data(name), **changes}


PLAYBOOK_IMPORTS = [
    ({"playbooks": [imported(name=NUL)]}, "playbooks.0.name"),
    ({"playbooks": [imported(name=HUGE)]}, "playbooks.0.name"),
    ({"playbooks": [imported(motion=SQL_DROP)]}, "playbooks.0.motion"),
    ({"playbooks": [imported(priority="1 OR 1=1")]}, "playbooks.0.priority"),
    ('{"playbooks": [' + json.dumps(imported())[:-1] + ', "holdout_percent": 1e400}]}', ""),
    (
        {
            "playbooks": [
                imported(
                    triggers=[{"name": "T", "conditions": [{"feature": SQL_OR, "operator": "eq"}]}]
                )
            ]
        },
        "playbooks.0.triggers.0.conditions.0.feature",
    ),
    (
        {
            "playbooks": [
                imported(
                    steps=[
                        {
                            "kind": "create_task",
                            "config": {"role": "ae", "title": "{% if %}"},
                        }
                    ]
                )
            ]
        },
        "playbooks.0.steps.0",
    ),
    (
        {"playbooks": [imported(steps=[{"kind": "{% debug %}", "config": {}}])]},
        "playbooks.0.steps.0",
    ),
    ({"playbooks": [imported(is_admin=True)]}, "playbooks.0.is_admin"),
    (
        {"playbooks": [imported(), imported("Other", tiers=[HOSTILE_TEXT["img onerror"]])]},
        "playbooks.1.tiers",
    ),
    ({"playbooks": [imported()] * 201}, "playbooks"),
    ({"playbooks": ["<script>"]}, "playbooks"),
    ({"playbooks": [imported()], "publish": "yes please"}, "publish"),
]


@pytest.mark.parametrize(("body", "field"), PLAYBOOK_IMPORTS, ids=[f for _, f in PLAYBOOK_IMPORTS])
def test_a_bad_playbook_import_names_the_field_and_changes_nothing(
    api_client, api_key_for, playbook, body, field
):
    client = client_with(api_client, api_key_for, Scope.PLAYBOOKS_WRITE)
    before = row_counts()

    if isinstance(body, str):
        response = client.post("/api/v1/playbooks/import/", body, content_type="application/json")
    else:
        response = client.post("/api/v1/playbooks/import/", body, format="json")

    assert response.status_code == 400, response.content[:500]
    errors = response.json().get("errors") or {}
    if field:
        assert any(key == field or key.startswith(field + ".") for key in errors), errors
    else:  # refused whole: the message says why
        assert response.json()["message"]
    assert row_counts() == before


def test_hostile_text_in_an_imported_playbook_is_stored_verbatim(api_client, api_key_for):
    client = client_with(api_client, api_key_for, Scope.PLAYBOOKS_WRITE)
    items = [
        imported(
            f"{text} #{n}",
            description=text,
            triggers=[
                {
                    "name": text,
                    "conditions": [{"feature": "industry", "operator": "eq", "value": text}],
                }
            ],
        )
        for n, text in enumerate(HOSTILE_TEXT.values())
    ]

    response = client.post(
        "/api/v1/playbooks/import/", {"playbooks": items, "publish": True}, format="json"
    )

    assert response.status_code == 200, response.content[:500]
    for n, text in enumerate(HOSTILE_TEXT.values()):
        playbook = Playbook.objects.get(name=f"{text} #{n}")
        assert playbook.description == text
        snapshot = PlaybookVersion.objects.get(playbook=playbook).snapshot
        assert snapshot["triggers"][0]["conditions"][0]["value"] == text


@pytest.mark.parametrize(
    ("body", "field"),
    [({"note": NUL}, "note"), ({"note": HUGE}, "note"), ({"note": ["x"]}, "note")],
    ids=["NUL", "huge", "a list"],
)
def test_a_bad_publish_note_names_the_field_and_publishes_nothing(
    api_client, api_key_for, playbook, body, field
):
    client = client_with(api_client, api_key_for, Scope.PLAYBOOKS_WRITE)
    before = row_counts()

    response = client.post(f"/api/v1/playbooks/{playbook.pk}/publish/", body, format="json")

    assert response.status_code == 400
    assert field in response.json()["errors"]
    assert row_counts() == before


BACKTESTS = [
    ({"start": SQL_DROP, "end": "2026-01-31"}, "start"),
    ({"start": "2026-01-01", "end": SQL_OR}, "end"),
    ({"start": "2026-13-01", "end": "2026-12-31"}, "start"),
    ({"start": ["2026-01-01"], "end": "2026-01-31"}, "start"),
    ({"start": "2026-01-31", "end": "2026-01-01"}, "end"),
    ({"start": "2026-01-01"}, "end"),
    ({"start": "2026-01-01", "end": "2026-01-31", "until": "<script>"}, "until"),
]


@pytest.mark.parametrize(("body", "field"), BACKTESTS, ids=[f for _, f in BACKTESTS])
def test_bad_backtest_parameters_name_the_field_and_start_nothing(
    api_client, api_key_for, playbook, body, field
):
    client = client_with(api_client, api_key_for, Scope.PLAYBOOKS_READ)
    before = row_counts()

    response = client.post(f"/api/v1/playbooks/{playbook.pk}/backtest/", body, format="json")

    assert response.status_code == 400, response.content[:300]
    assert field in json.dumps(response.json()["errors"]), response.json()
    assert row_counts() == before


@pytest.mark.parametrize(
    "account", [SQL_OR, "1 OR 1=1", "-1", "1e3", "\u0661\u0662", "9" * 40, ""], ids=repr
)
def test_explain_refuses_an_account_that_is_not_an_id(api_client, api_key_for, playbook, account):
    client = client_with(api_client, api_key_for, Scope.PLAYBOOKS_READ)
    response = client.get(f"/api/v1/playbooks/{playbook.pk}/explain/", {"account": account})
    assert response.status_code in (400, 404), response.content[:300]
    if response.status_code == 400:
        assert "account" in response.json()["errors"]


def test_preview_explain_and_effectiveness_ignore_hostile_extra_parameters(
    api_client, api_key_for, playbook
):
    client = client_with(api_client, api_key_for, Scope.PLAYBOOKS_READ)
    account = AccountFactory(employee_count=500)
    hostile = {"q": SQL_DROP, "order": SQL_OR, "format": "json", "limit": "<script>"}
    for path in ("preview", "effectiveness"):
        response = client.get(f"/api/v1/playbooks/{playbook.pk}/{path}/", hostile)
        assert response.status_code == 200, (path, response.content[:300])
    response = client.get(
        f"/api/v1/playbooks/{playbook.pk}/explain/", {**hostile, "account": account.pk}
    )
    assert response.status_code == 200
    assert response.json()["account"]["id"] == account.pk


# SQL fragments in search and filter parameters: ordinary answers ------------------------

API_SEARCHES = [
    ("/api/v1/accounts/", Scope.ACCOUNTS_READ, "search"),
    ("/api/v1/accounts/", Scope.ACCOUNTS_READ, "tier_name"),
    ("/api/v1/accounts/", Scope.ACCOUNTS_READ, "industry"),
    ("/api/v1/accounts/", Scope.ACCOUNTS_READ, "country"),
    ("/api/v1/accounts/", Scope.ACCOUNTS_READ, "ordering"),
    ("/api/v1/accounts/", Scope.ACCOUNTS_READ, "tier"),
    ("/api/v1/accounts/", Scope.ACCOUNTS_READ, "owner"),
    ("/api/v1/accounts/", Scope.ACCOUNTS_READ, "cursor"),
    ("/api/v1/contacts/", Scope.ACCOUNTS_READ, "search"),
    ("/api/v1/contacts/", Scope.ACCOUNTS_READ, "email"),
    ("/api/v1/deals/", Scope.ACCOUNTS_READ, "status"),
    ("/api/v1/accounts/resolve/", Scope.ACCOUNTS_READ, "name"),
    ("/api/v1/accounts/resolve/", Scope.ACCOUNTS_READ, "email"),
    ("/api/v1/accounts/resolve/", Scope.ACCOUNTS_READ, "domain"),
    ("/api/v1/accounts/resolve/", Scope.ACCOUNTS_READ, "ip"),
    ("/api/v1/signals/", Scope.SIGNALS_READ, "type"),
    ("/api/v1/signals/", Scope.SIGNALS_READ, "occurred_after"),
    ("/api/v1/signals/", Scope.SIGNALS_READ, "cursor"),
    ("/api/v1/scoreboards/", Scope.SCOREBOARDS_READ, "stage"),
    ("/api/v1/scoreboards/rollup/", Scope.SCOREBOARDS_READ, "group_by"),
    ("/api/v1/tasks/", Scope.TASKS_READ, "status"),
    ("/api/v1/tasks/", Scope.TASKS_READ, "ordering"),
    ("/api/v1/activations/", Scope.PLAYBOOKS_READ, "playbook"),
    ("/api/v1/personalization/", Scope.PERSONALIZATION_READ, "domain"),
    ("/api/v1/personalization/", Scope.PERSONALIZATION_READ, "ip"),
]


@pytest.mark.parametrize("fragment", [SQL_OR, SQL_DROP], ids=["or 1=1", "drop table"])
@pytest.mark.parametrize(("path", "scope", "param"), API_SEARCHES, ids=lambda v: str(v))
def test_sql_in_an_api_parameter_gets_an_ordinary_answer(
    api_client, api_key_for, owner, path, scope, param, fragment
):
    # given an account whose name is the fragment itself, and another
    AccountFactory(name=fragment)
    AccountFactory(name="Acme")
    client = client_with(api_client, api_key_for, scope, user=owner)

    # when
    response = client.get(path, {param: fragment})

    # then an answer (results, or a 400 saying what is wrong), and the tables are intact
    assert response.status_code in (200, 400, 404), (response.status_code, response.content[:300])
    if response.status_code == 400:
        assert response.json()["message"]
    assert Account.objects.count() == 2
    if (path, param) == ("/api/v1/accounts/", "search"):
        assert [row["name"] for row in response.json()["results"]] == [fragment]


PAGE_SEARCHES = [
    ("pages:account-list", "q"),
    ("pages:account-list", "sort"),
    ("pages:account-list", "tier"),
    ("pages:account-list", "stage"),
    ("pages:account-list", "owner"),
    ("pages:account-list", "page"),
    ("pages:account-list", "band"),
    ("pages:scoreboard", "group_by"),
    ("pages:tasks", "status"),
    ("admin:accounts_account_changelist", "q"),
    ("admin:accounts_account_changelist", "o"),
    ("admin:accounts_account_changelist", "stage__exact"),
    ("admin:accounts_contact_changelist", "q"),
    ("admin:signals_signal_changelist", "q"),
    ("admin:playbooks_task_changelist", "q"),
    ("admin:signals_unmatchedidentity_changelist", "q"),
]


@pytest.mark.parametrize("fragment", [SQL_OR, SQL_DROP], ids=["or 1=1", "drop table"])
@pytest.mark.parametrize(("name", "param"), PAGE_SEARCHES, ids=lambda v: str(v))
def test_sql_in_a_page_parameter_gets_an_ordinary_answer(client, superuser, name, param, fragment):
    client.force_login(superuser)
    AccountFactory(name=fragment)
    TeamMemberFactory(user=superuser, account=AccountFactory(name="Acme"))

    response = client.get(reverse(name), {param: fragment})

    # the admin answers an unknown filter value by sending back to the unfiltered list
    assert response.status_code in (200, 302), response.status_code
    if response.status_code == 302:
        assert "e=1" in response["Location"]
    assert Account.objects.count() == 2
    # ... and a search finds the account named so, and only it
    if (name, param) == ("pages:account-list", "q"):
        assert [account.name for account in response.context["accounts"]] == [fragment]
    if (name, param) == ("admin:accounts_account_changelist", "q"):
        assert response.context["cl"].result_count == 1

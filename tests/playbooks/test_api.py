"""The playbook API: scopes, import and publish, preview, explain, backtest jobs,
effectiveness and activations, with constant query counts on lists."""

from datetime import timedelta

import pytest
from django.utils import timezone

from abx_site.common.scopes import Scope
from playbooks import services
from playbooks.models import Activation, Playbook, PlaybookVersion
from tests.accounts.factories import AccountFactory, TierFactory

from .helpers import playbook_data, published

pytestmark = pytest.mark.django_db

PLAYBOOKS = "/api/v1/playbooks/"
ACTIVATIONS = "/api/v1/activations/"


@pytest.fixture
def reader(api_client, api_key_for):
    api_client.credentials(HTTP_AUTHORIZATION=f"Api-Key {api_key_for(Scope.PLAYBOOKS_READ)}")
    return api_client


@pytest.fixture
def writer(api_client, api_key_for):
    key = api_key_for(Scope.PLAYBOOKS_READ, Scope.PLAYBOOKS_WRITE)
    api_client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    return api_client


def test_no_key_and_wrong_scope_are_refused(api_client, api_key_for):
    playbook = published()
    assert api_client.get(PLAYBOOKS).status_code in (401, 403)
    api_client.credentials(HTTP_AUTHORIZATION=f"Api-Key {api_key_for(Scope.ACCOUNTS_READ)}")
    response = api_client.get(PLAYBOOKS)
    assert response.status_code == 403
    assert "playbooks:read" in response.json()["message"]
    api_client.credentials(HTTP_AUTHORIZATION=f"Api-Key {api_key_for(Scope.PLAYBOOKS_READ)}")
    response = api_client.post(f"{PLAYBOOKS}{playbook.pk}/publish/", {}, format="json")
    assert response.status_code == 403
    assert "playbooks:write" in response.json()["message"]
    assert PlaybookVersion.objects.count() == 1


def test_list_and_detail(reader):
    TierFactory(name="Strategic")
    playbook = published(tiers=["Strategic"])
    body = reader.get(PLAYBOOKS).json()
    [row] = body["results"]
    assert (row["id"], row["tiers"], row["latest_version"]) == (playbook.pk, ["Strategic"], 1)
    detail = reader.get(f"{PLAYBOOKS}{playbook.pk}/").json()
    assert detail["definition"]["triggers"][0]["conditions"][0]["feature"] == "employee_count"


@pytest.mark.parametrize("rows", [3, 6])
def test_playbook_list_query_count_does_not_grow(reader, django_assert_num_queries, rows):
    TierFactory(name="Strategic")
    for n in range(rows):
        published(f"P{n}", tiers=["Strategic"], teams=["Sales"])
    assert reader.get(PLAYBOOKS).status_code == 200

    # key lookup + COUNT + page + tiers + teams
    with django_assert_num_queries(5):
        response = reader.get(PLAYBOOKS)
    assert len(response.json()["results"]) == rows


@pytest.mark.parametrize("rows", [3, 6])
def test_activation_list_query_count_does_not_grow(reader, django_assert_num_queries, rows):
    for _ in range(rows):
        AccountFactory(employee_count=500)
    published()
    services.evaluation_run()
    assert reader.get(ACTIVATIONS).status_code == 200

    # key lookup + COUNT + page
    with django_assert_num_queries(3):
        response = reader.get(ACTIVATIONS, {"status": "active"})
    results = response.json()["results"]
    assert len(results) == rows
    assert results[0]["evidence"]["conditions"][0]["actual"] == 500


def test_import_then_publish(writer):
    data = playbook_data("Imported")
    response = writer.post(f"{PLAYBOOKS}import/", {"playbooks": [data]}, format="json")
    assert response.status_code == 200, response.json()
    [row] = response.json()
    assert (row["name"], row["status"], row["latest_version"]) == ("Imported", "draft", None)

    response = writer.post(f"{PLAYBOOKS}{row['id']}/publish/", {"note": "Go"}, format="json")
    assert response.status_code == 201
    assert response.json()["number"] == 1
    assert Playbook.objects.get().status == "active"


def test_import_with_errors_changes_nothing_and_names_them(writer):
    bad = playbook_data("Bad", holdout_percent=80)
    bad["triggers"][0]["conditions"][0]["operator"] = "contains"
    response = writer.post(
        f"{PLAYBOOKS}import/", {"playbooks": [playbook_data("Good"), bad]}, format="json"
    )
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert set(errors) == {
        "playbooks.1.holdout_percent",
        "playbooks.1.triggers.0.conditions.0.operator",
    }
    assert not Playbook.objects.exists()
    response = writer.post(f"{PLAYBOOKS}import/", {"playbooks": [], "typo": 1}, format="json")
    assert response.status_code == 400 and "typo" in response.json()["errors"]


def test_preview_and_explain(reader):
    account = AccountFactory(employee_count=500)
    playbook = published()
    preview = reader.get(f"{PLAYBOOKS}{playbook.pk}/preview/").json()
    assert (preview["matching"], preview["would_enter"]) == (1, 1)
    explained = reader.get(f"{PLAYBOOKS}{playbook.pk}/explain/", {"account": account.pk}).json()
    assert explained["matches"] is True
    assert explained["triggers"][0]["conditions"][0]["actual"] == 500
    response = reader.get(f"{PLAYBOOKS}{playbook.pk}/explain/", {"account": "acme"})
    assert response.status_code == 400 and "account" in response.json()["errors"]
    assert not Activation.objects.exists()


def test_backtest_short_answers_at_once_and_long_as_a_job(reader):
    AccountFactory(employee_count=500)
    playbook = published()
    today = timezone.now().date()
    url = f"{PLAYBOOKS}{playbook.pk}/backtest/"

    short = reader.post(url, {"start": str(today - timedelta(days=7)), "end": str(today)})
    assert short.status_code == 200
    assert short.json()["status"] == "done" and len(short.json()["result"]["weeks"]) == 2

    long = reader.post(url, {"start": str(today - timedelta(days=70)), "end": str(today)})
    assert long.status_code == 202
    job = long.json()["id"]
    assert long["Location"] == f"{url}{job}/"
    polled = reader.get(f"{url}{job}/").json()
    assert polled["status"] in ("queued", "running", "done")

    bad = reader.post(url, {"start": str(today), "end": str(today - timedelta(days=3))})
    assert bad.status_code == 400 and "end" in bad.json()["errors"]
    assert reader.get(f"{url}999999/").status_code == 404


def test_effectiveness(reader):
    playbook = published()
    body = reader.get(f"{PLAYBOOKS}{playbook.pk}/effectiveness/").json()
    assert body["treated"]["total"] == 0 and body["lift"] is None


def test_staff_of_revops_can_publish_through_the_session(client, staff_user):
    playbook = services.playbook_save(data=playbook_data())
    client.force_login(staff_user)
    response = client.post(
        f"{PLAYBOOKS}{playbook.pk}/publish/", {}, content_type="application/json"
    )
    assert response.status_code == 201

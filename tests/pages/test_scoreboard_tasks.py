"""The scoreboard and task inbox shells, and the registries higher apps fill."""

import pytest
from django.urls import reverse

from accounts.choices import Stage
from tests.accounts.factories import AccountFactory, TierFactory

pytestmark = pytest.mark.django_db


def add_template_dir(settings, path):
    # Assigning TEMPLATES (not mutating it) makes Django rebuild its template engines.
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": [*settings.TEMPLATES[0]["DIRS"], path]}]


@pytest.mark.parametrize("name", ["pages:scoreboard", "pages:tasks"])
def test_only_staff(client, plain_user, name):
    assert client.get(reverse(name)).status_code == 302
    client.force_login(plain_user)
    assert client.get(reverse(name)).status_code == 403


def test_scoreboard_counts_accounts_by_tier_and_stage(
    staff_client, django_assert_num_queries, accounts_only
):
    gold = TierFactory(rank=1, name="Gold")
    TierFactory(rank=2, name="Silver")
    AccountFactory.create_batch(3, tier=gold, stage=Stage.CUSTOMER)
    AccountFactory(tier=gold, stage=Stage.PROSPECT)
    AccountFactory(stage=Stage.ENGAGED)
    AccountFactory(stage=Stage.ENGAGED, merged_into=AccountFactory(stage=Stage.ENGAGED))

    # session, user, the GROUP BY, tiers
    with django_assert_num_queries(4):
        response = staff_client.get(reverse("pages:scoreboard"))

    rows = {(row["tier"].name if row["tier"] else None): row for row in _matrix()}
    assert rows["Gold"]["total"] == 4
    assert {v: n for v, _, n in rows["Gold"]["stages"]}["customer"] == 3
    assert rows["Silver"]["total"] == 0
    assert rows[None]["total"] == 2
    html = response.content.decode()
    assert "Accounts by tier and stage" in html
    assert "Gold: accounts by stage: Prospect 1 (25%), Engaged 0 (0%)" in html


def _matrix():
    from accounts.web.selectors import stage_matrix

    return stage_matrix()


def test_task_inbox_is_empty_until_playbooks_fill_it(staff_client, clean_registry):
    clean_registry._tasks.clear()
    assert b"No task inbox yet" in staff_client.get(reverse("pages:tasks")).content


def test_registered_sections_appear_in_order(staff_client, clean_registry, tmp_path, settings):
    (tmp_path / "section.html").write_text("<p>{{ greeting }} {{ user.username }}</p>")
    add_template_dir(settings, tmp_path)
    clean_registry.register_task_section(
        "mine",
        order=1,
        title="Due today",
        template="section.html",
        context=lambda request: {"greeting": "Hello"},
    )
    html = staff_client.get(reverse("pages:tasks")).content.decode()
    assert "Due today" in html and "<p>Hello revops</p>" in html


def test_registered_panel_column_and_filter(staff_client, clean_registry, tmp_path, settings):
    from django.db.models import Value

    (tmp_path / "panel.html").write_text("<p>Health {{ score }}</p>")
    (tmp_path / "cell.html").write_text("<b>{{ account.band }}</b>")
    add_template_dir(settings, tmp_path)
    clean_registry.register_account_panel(
        "health",
        order=1,
        title="Scores",
        template="panel.html",
        context=lambda account, request: {"score": 72},
    )
    clean_registry.register_account_column(
        "band",
        order=1,
        title="Band",
        annotate=lambda qs: qs.annotate(band=Value("green")),
        template="cell.html",
    )
    clean_registry.register_account_filter(
        "band",
        order=1,
        label="Band",
        choices=lambda: [("green", "Green"), ("red", "Red")],
        apply=lambda qs, value: qs.none() if value == "red" else qs,
    )
    account = AccountFactory(name="Acme")

    page = staff_client.get(reverse("pages:account-detail", args=[account.pk])).content.decode()
    assert '<h2 id="panel-health-title">Scores</h2><p>Health 72</p>' in page
    listing = staff_client.get(reverse("pages:account-list")).content.decode()
    assert "<b>green</b>" in listing and '<option value="red">Red</option>' in listing
    red = staff_client.get(reverse("pages:account-list"), {"band": "red"})
    assert list(red.context["accounts"]) == []


def test_a_filter_cannot_take_a_parameter_the_list_uses(clean_registry):
    with pytest.raises(ValueError, match="already uses"):
        clean_registry.register_account_filter(
            "tier", order=1, label="x", choices=list, apply=lambda qs, v: qs
        )


def test_panels_go_in_main_or_side(clean_registry):
    with pytest.raises(ValueError, match="'main' or 'side'"):
        clean_registry.register_account_panel(
            "x", order=1, title="x", template="x", context=dict, column="footer"
        )

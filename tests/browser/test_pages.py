"""A staff member's day in a real browser: log in, find an account, read it, see the
scoreboard and the task inbox; and the same pages with JavaScript turned off."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from accounts.choices import BuyingRole, Seniority, Stage, TeamRole
from metrics.models import AccountScore, AccountSnapshot, ScoreModel
from playbooks.models import Task
from signals.services import rollups_refresh
from tests.accounts.factories import (
    AccountDomainFactory,
    AccountFactory,
    ArrChangeFactory,
    ContactFactory,
    DealFactory,
    TeamMemberFactory,
    TierFactory,
)
from tests.playbooks.factories import ActivationFactory
from tests.signals.factories import SignalFactory

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture
def world(db):
    user = User.objects.create_user(
        "casey", "casey@example.com", "a-long-password", is_staff=True, first_name="Casey"
    )
    user.last_name = "Morgan"
    user.save()
    strategic = TierFactory(
        rank=1,
        name="Strategic",
        treatment="one_to_one",
        required_roles=[BuyingRole.DECISION_MAKER, BuyingRole.CHAMPION, BuyingRole.ECONOMIC_BUYER],
    )
    growth = TierFactory(rank=2, name="Growth")
    acme = AccountFactory(name="Acme Robotics", tier=strategic, stage=Stage.CUSTOMER)
    AccountDomainFactory(account=acme, domain="acme-robotics.com")
    TeamMemberFactory(account=acme, user=user, role=TeamRole.AE)
    today = timezone.localdate()
    for months, arr in [(16, 80000), (9, 95000), (4, 120000), (1, 132000)]:
        ArrChangeFactory(
            account=acme, effective_date=today - timedelta(days=30 * months), arr=Decimal(arr)
        )
    acme.renewal_date = today + timedelta(days=75)
    acme.save()
    people = [
        ("Dana Whitfield", "CEO", BuyingRole.DECISION_MAKER, Seniority.C_LEVEL),
        ("Carl Osei", "Head of Automation", BuyingRole.CHAMPION, Seniority.DIRECTOR),
        ("Priya Nair", "Staff Engineer", BuyingRole.TECHNICAL_EVALUATOR, Seniority.INDIVIDUAL),
        ("Tom Becker", "Operations Manager", BuyingRole.USER, Seniority.MANAGER),
    ]
    for i, (name, title, role, seniority) in enumerate(people):
        ContactFactory(
            account=acme,
            name=name,
            email=f"p{i}@acme-robotics.com",
            title=title,
            buying_role=role,
            seniority=seniority,
        )
    DealFactory(account=acme, name="Acme expansion: Line 4", kind="expansion", amount=45000)
    # 30 signals: a burst in the last three weeks, a trickle before it.
    now = timezone.now()
    signals = [
        SignalFactory(
            account=acme,
            occurred_at=now - timedelta(hours=3 + 26 * i if i < 18 else 24 * (20 + 5 * (i - 18))),
            topic=f"/docs/{i}",
        )
        for i in range(30)
    ]
    rollups_refresh(keys={(s.account_id, s.type_id, s.occurred_at.date()) for s in signals})
    play = ActivationFactory(
        account=acme,
        playbook__name="Expansion: usage surge",
        playbook__motion="expansion",
        evidence={
            "trigger": 0,
            "trigger_name": "Docs traffic up",
            "conditions": [
                {
                    "feature": "signal_count",
                    "params": {"window_days": 14},
                    "operator": "gte",
                    "value": 10,
                    "actual": 15,
                }
            ],
        },
    )
    for title, due in [("Call Dana about Line 4", -1), ("Send the ROI review", 6)]:
        Task.objects.create(
            account=acme,
            assignee=user,
            title=title,
            due_date=today + timedelta(days=due),
            activation=play,
            priority="high" if due < 0 else "normal",
        )
    give_scores(acme, today)
    for i, (name, stage) in enumerate(
        [("Globex", Stage.OPPORTUNITY), ("Initech", Stage.PROSPECT), ("Umbrella", Stage.ENGAGED)]
    ):
        other = AccountFactory(name=name, tier=growth if i else strategic, stage=stage)
        ArrChangeFactory(account=other, arr=Decimal(10000 * (i + 1)))
    return {"user": user, "acme": acme}


def give_scores(account, today):
    """The four scores with a breakdown, and 200 days of daily snapshots."""
    figures = {"fit": (82, "green"), "intent": (64, "yellow"), "engagement": (71, "green")}
    figures["health"] = (38, "red")
    for key, (value, band) in figures.items():
        score_model, _ = ScoreModel.objects.update_or_create(
            key=key, defaults={"name": key.title()}
        )
        AccountScore.objects.create(
            account=account,
            model=score_model,
            score=Decimal(value),
            band=band,
            computed_at=timezone.now(),
            breakdown={
                "components": [
                    {
                        "component": "Product usage trend",
                        "source": "signal_change_pct",
                        "raw": -31.5,
                        "points": float(value),
                        "weight": 1.0,
                        "effective_weight": 1.0,
                        "contribution": float(value),
                        "missing": False,
                    }
                ]
            },
        )
    AccountSnapshot.objects.bulk_create(
        AccountSnapshot(
            account=account,
            day=today - timedelta(days=d),
            stage=Stage.CUSTOMER,
            scores={
                "fit": 82,
                "intent": 40 + (d * 7) % 30,
                "engagement": 60 + d % 15,
                "health": 38 + min(d, 120) // 3,
            },
        )
        for d in range(0, 200, 3)
    )


def log_in(page, live_server):
    page.goto(f"{live_server.url}/accounts/")
    assert "/login/" in page.url
    page.get_by_label("Username").fill("casey")
    page.get_by_label("Password").fill("a-long-password")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{live_server.url}/accounts/")


def test_a_day_with_the_account_pages(page, live_server, world, screenshot):
    # Log in, and land on the account list.
    page.goto(f"{live_server.url}/login/")
    screenshot(page, "01-login")
    log_in(page, live_server)
    assert page.get_by_role("heading", name="Accounts").is_visible()
    screenshot(page, "02-account-list")

    # Find Acme by search.
    page.get_by_label("Search accounts by name or domain").fill("acme")
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url("**/accounts/?q=acme*")
    rows = page.locator("table.accounts tbody tr")
    assert rows.count() == 1
    page.get_by_role("link", name="Acme Robotics").click()

    # Read its header and buying committee.
    page.wait_for_url(f"**/accounts/{world['acme'].pk}/")
    assert page.get_by_role("heading", name="Acme Robotics", level=1).is_visible()
    committee = page.locator("#panel-committee")
    assert "2 of 3 covered" in committee.inner_text()
    assert "✗ Economic buyer missing" in committee.inner_text()
    assert "Dana Whitfield" in committee.inner_text()
    assert "165%" in page.locator(".stats").inner_text()  # NRR: 132,000 / 80,000
    scores = page.locator("#panel-scores").inner_text()
    assert "Health" in scores and "Red" in scores and "38" in scores
    plays = page.locator("#panel-plays").inner_text()
    assert "Expansion: usage surge" in plays and "Docs traffic up" in plays
    screenshot(page, "03-account-page")

    # Older signals come in place, through htmx, without leaving the page.
    timeline = page.locator("#panel-signals table.timeline tbody tr")
    assert timeline.count() == 21  # 20 signals and the "Older signals" row
    url = page.url
    page.get_by_role("link", name="Older signals").click()
    page.wait_for_function(
        "document.querySelectorAll('#panel-signals table.timeline tbody tr').length === 30"
    )
    assert page.url == url
    assert page.get_by_role("link", name="Older signals").count() == 0

    # The scoreboard and the task inbox.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Scoreboard").click()
    page.wait_for_url("**/scoreboard/")
    board = page.locator("#section-accounts-by-tier").inner_text()
    assert "Strategic" in board and "Growth" in board
    screenshot(page, "04-scoreboard")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Tasks").click()
    page.wait_for_url("**/tasks/")
    inbox = page.locator("#section-inbox").inner_text()
    assert inbox.index("Call Dana about Line 4") < inbox.index("Send the ROI review")
    assert "Overdue" in inbox
    screenshot(page, "05-tasks")

    # Complete a task: htmx takes its row away in place.
    page.get_by_role("button", name="Complete: Call Dana about Line 4").click()
    page.wait_for_function("document.querySelectorAll('#section-inbox tbody tr').length === 1")
    assert page.url.endswith("/tasks/")
    assert Task.objects.get(title="Call Dana about Line 4").status == "done"
    screenshot(page, "05b-tasks-after-completing-one")

    # Log out.
    page.get_by_role("button", name="Log out").click()
    assert page.get_by_role("heading", name="You are logged out").is_visible()


def test_pages_work_without_javascript(nojs_page, live_server, world, screenshot):
    page = nojs_page
    log_in(page, live_server)
    page.goto(f"{live_server.url}/accounts/{world['acme'].pk}/")
    page.get_by_role("link", name="Older signals").click()
    # Without htmx the link is a plain one: the page opens again on the older signals.
    page.wait_for_url("**signals_cursor=*")
    rows = page.locator("#panel-signals table.timeline tbody tr")
    assert rows.count() == 10
    assert page.get_by_role("link", name="← Latest signals").is_visible()
    screenshot(page, "06-account-page-older-signals-nojs")
    # Completing a task is a plain form post that comes back to the inbox.
    page.goto(f"{live_server.url}/tasks/")
    page.get_by_role("button", name="Dismiss: Send the ROI review").click()
    page.wait_for_url("**/tasks/")
    assert "Task dismissed: Send the ROI review" in page.locator(".messages").inner_text()
    # Sorting is a link too.
    page.goto(f"{live_server.url}/accounts/")
    page.get_by_role("link", name="ARR").click()
    page.get_by_role("link", name="ARR ▲").click()
    first = page.locator("table.accounts tbody tr").first.inner_text()
    assert "Acme Robotics" in first

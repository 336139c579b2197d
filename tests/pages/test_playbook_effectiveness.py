"""Playbook effectiveness on the scoreboard: treated vs holdout outcome rates and the
lift with its interval, for every playbook, in a constant number of queries."""

from datetime import UTC, timedelta

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.choices import AccountEventKind, Stage
from playbooks import analysis, scoreboard
from playbooks.choices import ActivationStatus, Motion, OutcomeKind
from playbooks.stats import newcombe
from tests.accounts.factories import AccountEventFactory, AccountFactory, DealFactory
from tests.playbooks.factories import ActivationFactory, PlaybookFactory

pytestmark = pytest.mark.django_db

SIXTY_DAYS_AGO = timezone.now() - timedelta(days=60)


def activation(playbook, *, holdout=False, won_after=None, started=SIXTY_DAYS_AGO):
    """An activation of a new account; `won_after` days after its start it won a deal."""
    account = AccountFactory()
    ActivationFactory(
        playbook=playbook,
        account=account,
        status=ActivationStatus.HOLDOUT if holdout else ActivationStatus.ACTIVE,
        is_holdout=holdout,
        started_at=started,
    )
    if won_after is not None:
        day = started.astimezone(UTC).date()
        DealFactory(
            account=account,
            status="won",
            created_date=day,
            close_date=day + timedelta(days=won_after),
        )
    return account


def intent_play(name="Intent surge"):
    """4 treated (wins on day 10 and 29 count; day 40 is past the 30-day window) and 2
    held out (one win on day 5), all started 60 days ago; one more started today."""
    play = PlaybookFactory(
        name=name,
        motion=Motion.NEW_LOGO,
        priority=1,
        outcome_kind=OutcomeKind.DEAL_WON,
        outcome_window_days=30,
    )
    for won_after in (10, 29, 40, None):
        activation(play, won_after=won_after)
    activation(play, holdout=True, won_after=5)
    activation(play, holdout=True)
    activation(play, started=timezone.now())
    return play


def test_scoreboard_shows_each_playbooks_lift_computed_by_hand(staff_client):
    # given
    intent = intent_play()
    no_holdout = PlaybookFactory(
        name="Partner deals", motion=Motion.PARTNER, priority=2, outcome_window_days=30
    )
    activation(no_holdout, won_after=3)
    stage = PlaybookFactory(
        name="Onboarding",
        motion=Motion.RETENTION,
        priority=3,
        outcome_kind=OutcomeKind.STAGE_REACHED,
        outcome_stage=Stage.CUSTOMER,
        outcome_window_days=20,
    )
    reached = activation(stage)
    AccountEventFactory(
        account=reached,
        kind=AccountEventKind.STAGE_CHANGED,
        new_value=Stage.CUSTOMER,
        occurred_at=SIXTY_DAYS_AGO + timedelta(days=2),
    )
    activation(stage, holdout=True)
    PlaybookFactory(name="Never started")

    # when
    html = staff_client.get(reverse("pages:scoreboard")).content.decode()
    entries = {e["playbook"].name: e for e in scoreboard.playbooks_effectiveness()}

    # then: treated 2 of 4, holdout 1 of 2 -> lift 50% - 50% = 0 points
    assert list(entries) == ["Intent surge", "Partner deals", "Onboarding"]
    first = entries["Intent surge"]
    assert (first["treated"]["outcomes"], first["treated"]["total"]) == (2, 4)
    assert (first["holdout"]["outcomes"], first["holdout"]["total"]) == (1, 2)
    assert first["pending"] == 1
    _, low, high = newcombe(2, 4, 1, 2)
    assert first["lift"] == {"difference": 0.0, "low": low, "high": high}
    # the page's figures are the playbook API's, playbook by playbook
    for name, playbook in (("Intent surge", intent), ("Onboarding", stage)):
        reference = analysis.playbook_effectiveness(playbook=playbook)
        assert {k: v for k, v in entries[name].items() if k != "playbook"} == {
            k: v for k, v in reference.items() if k != "playbook"
        }
    # Onboarding: 1 of 1 treated reached customer on day 2, 0 of 1 held out -> +100 points
    assert entries["Onboarding"]["lift"]["difference"] == 1.0
    section = html[html.index('id="section-playbook-effectiveness"') :]
    assert "Playbook effectiveness: lift over the holdout" in section
    assert '<strong>50.0%</strong> <span class="muted small">(2 of 4)</span>' in section
    assert '<strong>50.0%</strong> <span class="muted small">(1 of 2)</span>' in section
    assert f"+0.0 points (95% interval {_points(low)} to {_points(high)})" in section
    assert "A deal won within 30 days" in section
    assert "Customer reached within 20 days" in section
    assert "No control group" in section and "No clear effect" in section
    assert "Never started" not in section


def _points(value):
    return f"{value * 100:+.1f}".replace("-", "\u2212")


def test_the_lift_chart_has_a_text_alternative(staff_client):
    intent_play()
    html = staff_client.get(reverse("pages:scoreboard")).content.decode()
    section = html[html.index('id="section-playbook-effectiveness"') :]
    assert 'role="img" aria-label="Intent surge: lift +0.0 points (95% interval' in section
    assert "<title>Intent surge: lift +0.0 points (95% interval" in section
    assert '<th scope="row">Intent surge</th>' in section


def test_a_clear_lift_and_a_clear_harm_say_so(staff_client):
    # given: 10 of 10 treated won vs 0 of 10 held out, and the reverse
    helps = PlaybookFactory(name="Helps", outcome_window_days=30)
    hurts = PlaybookFactory(name="Hurts", outcome_window_days=30)
    for _ in range(10):
        activation(helps, won_after=3)
        activation(helps, holdout=True)
        activation(hurts)
        activation(hurts, holdout=True, won_after=3)

    html = staff_client.get(reverse("pages:scoreboard")).content.decode()

    assert "+100.0 points" in html and "Lifts the outcome" in html
    assert "\u2212100.0 points" in html and "Lowers the outcome" in html


def test_without_activations_the_section_says_so(staff_client):
    PlaybookFactory()
    html = staff_client.get(reverse("pages:scoreboard")).content.decode()
    assert "No playbook has started an activation yet." in html


def test_effectiveness_queries_do_not_grow_with_playbooks_or_accounts(
    staff_client, django_assert_num_queries
):
    # given
    intent_play("First")
    with CaptureQueriesContext(connection) as first:
        staff_client.get(reverse("pages:scoreboard"))
    for n in range(4):
        intent_play(f"More {n}")
    cache.clear()  # computed again, not read from the scoreboard's cache

    # when / then
    with django_assert_num_queries(len(first.captured_queries)):
        html = staff_client.get(reverse("pages:scoreboard")).content.decode()
    assert all(f"More {n}" in html for n in range(4))


def test_effectiveness_alone_reads_activations_playbooks_and_each_outcome_kind_once(
    django_assert_num_queries,
):
    intent_play("Deals")
    stage = PlaybookFactory(
        outcome_kind=OutcomeKind.STAGE_REACHED,
        outcome_stage=Stage.CUSTOMER,
        outcome_window_days=30,
        priority=5,
    )
    for _ in range(3):
        activation(stage)
        activation(PlaybookFactory(priority=9, outcome_window_days=30))  # deal_won: read once
    # activations, playbooks, won deals, stage changes
    with django_assert_num_queries(4):
        assert len(scoreboard.playbooks_effectiveness()) == 5

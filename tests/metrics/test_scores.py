"""Score models: shipped defaults, validation, points, decay, role multipliers, missing
components, bands, breakdowns, storage, snapshots and schedules."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_q.models import Schedule

from accounts.choices import BuyingRole, Stage
from accounts.models import Account, ArrChange
from metrics import services
from metrics.choices import Aggregate, ComponentSource, Normalisation
from metrics.models import AccountScore, AccountSnapshot, ScoreBand, ScoreComponent, ScoreModel
from metrics.scoring import (
    combine,
    component_errors,
    compute_all,
    cycle_error,
    dependencies,
    points,
)
from tests.accounts.factories import AccountFactory, ContactFactory

from .helpers import send

pytestmark = pytest.mark.django_db

MIDNIGHT = datetime(2026, 6, 10, tzinfo=UTC)


def component(**fields):
    defaults = {
        "name": "c",
        "source": ComponentSource.FEATURE,
        "normalisation": Normalisation.LINEAR,
        "lower": 0,
        "upper": 10,
        "weight": Decimal(1),
    }
    return ScoreComponent(**{**defaults, **fields})


def make_model(key, components, bands=(("green", 70), ("yellow", 40), ("red", 0))):
    model = ScoreModel.objects.create(key=key, name=key.title())
    for name, minimum in bands:
        ScoreBand.objects.create(model=model, name=name, min_score=minimum)
    for position, fields in enumerate(components):
        item = component(**fields)
        item.model, item.position = model, position
        item.full_clean()
        item.save()
    return model


# Shipped defaults -------------------------------------------------------------------


def test_four_default_models_ship_valid():
    models = {m.key: m for m in ScoreModel.objects.prefetch_related("components", "bands")}
    assert set(models) >= {"fit", "intent", "engagement", "health"}
    for model in models.values():
        assert [b.name for b in model.bands.all()] == ["green", "yellow", "red"]
        for item in model.components.all():
            assert component_errors(item) == {}, item.name
    assert dependencies(models["health"].components.all()) == {"engagement"}


def test_default_models_compute_for_every_account(django_assert_max_num_queries):
    accounts = [AccountFactory() for _ in range(3)]
    send(accounts[0], "web.visit", timezone.now() - timedelta(hours=2), value=1)
    result = services.scores_recompute()
    assert result.scores == 12
    assert AccountScore.objects.count() == 12
    fit = AccountScore.objects.get(account=accounts[0], model__key="fit")
    # Fit: 250 employees -> (250-50)/1950*100 = 10.26 pts x3; Software 100 x2; US 100 x1;
    # not a target 20 x1 -> (30.77 + 200 + 100 + 20) / 7 = 50.11.
    assert fit.score == Decimal("50.11")
    assert fit.band == "yellow"


def test_recompute_rewrites_only_the_scores_that_changed():
    # given: three accounts scored once
    quiet, busy, _other = (AccountFactory() for _ in range(3))
    first = services.scores_recompute(snapshot=False)
    assert (first.scores, first.changed) == (12, 12)
    stored = {(s.account_id, s.model_id): s for s in AccountScore.objects.all()}
    # when: nothing happens, then one account gets intent signals
    again = services.scores_recompute(snapshot=False)
    for _ in range(3):
        send(busy, "intent.surge", timezone.now() - timedelta(hours=1), value=80)
    after = services.scores_recompute(snapshot=False)
    # then: the quiet recompute wrote nothing; the next one only the scores that moved
    assert (again.scores, again.changed) == (12, 0)
    rewritten = {
        (s.account_id, s.model.key)
        for s in AccountScore.objects.select_related("model")
        if s.computed_at != stored[(s.account_id, s.model_id)].computed_at
    }
    assert after.changed == len(rewritten) >= 1
    assert {account for account, _ in rewritten} == {busy.pk}
    intent = AccountScore.objects.get(account=busy, model__key="intent")
    assert intent.breakdown["components"][0]["raw"] == 80.0
    assert AccountScore.objects.get(account=quiet, model__key="intent").breakdown == (
        stored[(quiet.pk, intent.model_id)].breakdown
    )


def test_recompute_rewrites_a_breakdown_that_changed_with_the_same_score():
    # given: two accounts scored once, then a fit component renamed (same points)
    accounts = [AccountFactory() for _ in range(2)]
    services.scores_recompute(snapshot=False)
    before = {s.account_id: s for s in AccountScore.objects.filter(model__key="fit")}
    renamed = ScoreComponent.objects.filter(model__key="fit").order_by("pk").first()
    old_name = renamed.name
    renamed.name = "Headcount, renamed"
    renamed.save()
    # when
    result = services.scores_recompute(snapshot=False)
    # then: only the fit scores are rewritten, with the new name and the same value
    assert result.changed == 2
    for account in accounts:
        fit = AccountScore.objects.get(account=account, model__key="fit")
        names = [row["component"] for row in fit.breakdown["components"]]
        assert "Headcount, renamed" in names and old_name not in names
        assert fit.score == before[account.pk].score
        assert fit.digest != before[account.pk].digest


def test_a_score_stored_without_a_digest_is_rewritten_once():
    # given: a score stored by hand (no digest), the value a recompute would give
    account = AccountFactory()
    services.scores_recompute(snapshot=False)
    AccountScore.objects.filter(account=account, model__key="fit").update(digest="")
    # when / then: the first recompute writes it again, the next one leaves it
    assert services.scores_recompute(snapshot=False).changed == 1
    assert services.scores_recompute(snapshot=False).changed == 0


# Points -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "raw", "expected"),
    [
        ({"lower": 0, "upper": 10}, 5, 50.0),
        ({"lower": 0, "upper": 10}, 15, 100.0),
        ({"lower": 0, "upper": 10}, -3, 0.0),
        ({"lower": 10, "upper": 0}, 2, 80.0),  # fewer is better
        ({"normalisation": "steps", "steps": [[0, 0], [7, 50], [9, 100]]}, 8, 50.0),
        ({"normalisation": "steps", "steps": [[9, 100], [7, 50]]}, 9, 100.0),
        ({"normalisation": "steps", "steps": [[1, 70]]}, 0, 0.0),
        ({"normalisation": "mapping", "steps": {"US": 100, "default": 30}}, "US", 100.0),
        ({"normalisation": "mapping", "steps": {"US": 100, "default": 30}}, "FR", 30.0),
        ({"normalisation": "mapping", "steps": {"true": 100, "false": 20}}, False, 20.0),
        ({"lower": 0, "upper": 10}, None, None),
    ],
)
def test_points(fields, raw, expected):
    assert points(component(**fields), raw) == expected


def test_combine_renormalises_missing_components_and_says_so():
    a = component(pk=1, name="Usage", weight=Decimal(3))
    b = component(pk=2, name="NPS", weight=Decimal(1))
    c = component(pk=3, name="Tickets", weight=Decimal(2), lower=10, upper=0)
    # Usage 5 -> 50 pts, NPS missing, Tickets 2 -> 80 pts: (50x3 + 80x2) / 5 = 62.
    score, breakdown = combine([a, b, c], {1: 5, 2: None, 3: 2})
    assert score == Decimal("62.00")
    assert breakdown["missing"] == ["NPS"]
    assert breakdown["renormalised"] is True
    assert "NPS" in breakdown["note"]
    rows = {r["component"]: r for r in breakdown["components"]}
    assert rows["Usage"] == {
        "component": "Usage", "source": "", "raw": 5, "points": 50.0, "weight": 3.0,
        "effective_weight": 0.6, "contribution": 30.0, "missing": False,
    }  # fmt: skip
    assert rows["Tickets"]["contribution"] == 32.0
    assert rows["NPS"]["points"] is None and rows["NPS"]["missing"] is True
    assert sum(r["contribution"] or 0 for r in rows.values()) == 62.0
    score, breakdown = combine([a, b], {1: None, 2: None})
    assert score is None
    assert breakdown["note"] == "No component has a value: no score."


# Signal components: windows, decay, role multipliers, type weights --------------------


def test_signal_component_decay_roles_and_type_weights():
    account = AccountFactory()
    boss = ContactFactory(account=account, buying_role=BuyingRole.DECISION_MAKER)
    send(account, "web.visit", datetime(2026, 6, 9, 20, tzinfo=UTC), email=boss.email)  # age 0
    send(account, "web.visit", datetime(2026, 6, 2, 8, tzinfo=UTC))  # age 7
    send(account, "email.click", datetime(2026, 6, 2, 9, tzinfo=UTC))  # age 7
    send(account, "web.visit", datetime(2026, 5, 26, 12, tzinfo=UTC))  # out of 14 days
    send(account, "web.visit", datetime(2026, 6, 10, 1, tzinfo=UTC))  # after as_of
    base = {
        "source": ComponentSource.SIGNALS,
        "window_days": 14,
        "half_life_days": 7,
        "lower": 0,
        "upper": 100,
    }
    model = make_model(
        "activity",
        [
            {**base, "name": "visits", "signal_types": ["web.visit"],
             "aggregate": Aggregate.COUNT},
            {**base, "name": "by role", "signal_types": ["web.visit"],
             "aggregate": Aggregate.COUNT, "role_multipliers": {"decision_maker": 2}},
            {**base, "name": "points", "signal_types": ["web.visit", "email.click"],
             "aggregate": Aggregate.POINTS, "type_weights": {"email.click": 4}},
            {**base, "name": "plain", "signal_types": ["web.visit"],
             "aggregate": Aggregate.COUNT, "half_life_days": None},
        ],
    )  # fmt: skip
    result = compute_all(Account.objects.all(), as_of=MIDNIGHT, models=[model])
    rows = {r["component"]: r for r in result["activity"][account.pk].breakdown["components"]}
    assert rows["visits"]["raw"] == pytest.approx(1.5)  # 1 + 0.5
    assert rows["by role"]["raw"] == pytest.approx(2.5)  # 1 x 2 + 0.5
    assert rows["points"]["raw"] == pytest.approx(1 + 0.5 + 4 * 0.5)  # web.visit weighs 1
    assert rows["plain"]["raw"] == pytest.approx(2.0)  # what happened after is unknown
    # Missing nothing: (1.5 + 2.5 + 3.5 + 2) / 4 = 2.375 points -> 2.38.
    assert result["activity"][account.pk].score == Decimal("2.38")


def test_average_and_latest_signal_components():
    account, quiet = AccountFactory(), AccountFactory()
    send(account, "intent.surge", datetime(2026, 6, 8, tzinfo=UTC), value=60)
    send(account, "intent.surge", datetime(2026, 6, 9, 5, tzinfo=UTC), value=90)
    base = {"source": ComponentSource.SIGNALS, "signal_types": ["intent.surge"], "upper": 100}
    model = make_model(
        "surge",
        [
            {**base, "name": "avg", "aggregate": Aggregate.AVERAGE, "weight": Decimal(1)},
            {**base, "name": "latest", "aggregate": Aggregate.LATEST, "weight": Decimal(3)},
        ],
    )
    result = compute_all(Account.objects.all(), as_of=MIDNIGHT, models=[model])["surge"]
    # avg 75 x1, latest 90 x3 -> 345 / 4 = 86.25
    assert result[account.pk].score == Decimal("86.25")
    assert result[account.pk].band == "green"
    assert result[quiet.pk].score is None
    assert result[quiet.pk].band == ""


def test_a_model_reading_another_takes_this_runs_value():
    account = AccountFactory(employee_count=1000)
    make_model("size", [{"name": "employees", "feature": "employee_count", "upper": 2000}])
    make_model("derived", [{"name": "size", "feature": "fit_score", "upper": 100}])
    # `derived` reads fit (a shipped model); make fit read only employee_count.
    fit = ScoreModel.objects.get(key="fit")
    fit.components.exclude(feature="employee_count").delete()
    services.scores_recompute()
    fit_score = AccountScore.objects.get(account=account, model__key="fit").score
    derived = AccountScore.objects.get(account=account, model__key="derived")
    assert fit_score == Decimal("48.72")  # (1000 - 50) / 1950
    assert derived.score == Decimal("48.72")
    assert derived.breakdown["components"][0]["raw"] == 48.72


def test_recompute_upserts_and_costs_the_same_for_more_accounts(django_assert_num_queries):
    for _ in range(3):
        AccountFactory()
    services.scores_recompute(snapshot=False)
    for _ in range(3):
        AccountFactory()
    # fit: 250 employees (yellow, 50.11) -> 2000 (green, (300 + 320) / 7 = 88.57)
    Account.objects.update(employee_count=2000)
    with CaptureQueriesContext(connection) as first:
        services.scores_recompute(snapshot=False)
    assert AccountScore.objects.count() == 24
    assert set(AccountScore.objects.filter(model__key="fit").values_list("band", flat=True)) == {
        "green"
    }
    for _ in range(6):
        AccountFactory()
    # fit: 2000 employees -> 50 (yellow, 320 / 7 = 45.71)
    Account.objects.update(employee_count=50)
    # models, components, bands, account ids, one query for every model, the stored
    # scores' keys and bands, savepoint, update of the changed scores, insert of the new,
    # the webhook endpoints that hear of band changes, release
    assert len(first) == 11
    with django_assert_num_queries(len(first)):
        services.scores_recompute(snapshot=False)
    assert AccountScore.objects.count() == 48
    fit = AccountScore.objects.filter(model__key="fit")
    assert {s.breakdown["components"][0]["raw"] for s in fit} == {50}
    assert {s.band for s in fit} == {"yellow"}


# Validation -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"feature": "nope"}, "feature", "Unknown feature"),
        ({"feature": ""}, "feature", "Choose a feature"),
        ({"feature": "signal_count", "feature_params": {"signal_types": ["x.y"]}},
         "feature_params", "Unknown signal type: x.y"),
        ({"feature": "employee_count", "normalisation": "mapping", "steps": {"a": 1}},
         "normalisation", "is a number"),
        ({"feature": "industry"}, "normalisation", "use a mapping"),
        ({"feature": "arr", "lower": 5, "upper": 5}, "upper", "bounds must differ"),
        ({"feature": "arr", "normalisation": "steps", "steps": [[1, 200]]}, "steps", "0 to 100"),
        ({"source": "signals", "signal_types": ["web.nope"]}, "signal_types", "Unknown"),
        ({"source": "signals", "signal_types": ["web.visit"], "role_multipliers": {"ceo": 2}},
         "role_multipliers", "Not a buying role: ceo"),
        ({"source": "signals", "signal_types": ["web.visit"], "aggregate": "latest",
          "half_life_days": 7}, "half_life_days", "does not decay"),
    ],
)  # fmt: skip
def test_component_validation_names_the_field(fields, field, message):
    errors = component_errors(component(**fields))
    assert message in errors[field]


def test_cycles_are_refused():
    health = ScoreModel.objects.get(key="health")
    graph = {"health": dependencies(health.components.all())}
    reads_health = [component(feature="health_score", upper=100)]
    error = cycle_error("engagement", reads_health, graph)
    assert error == "This model depends on itself: engagement -> health -> engagement."
    assert cycle_error("x", [component(feature="x_score")], {}) is None
    assert "x -> x" not in (cycle_error("fit", [component(feature="fit_score")], {}) or "")
    assert cycle_error("fit", [component(feature="fit_score")], {}).endswith("fit -> fit.")


def test_admin_refuses_a_cycle_and_changes_nothing(client, superuser):
    client.force_login(superuser)
    engagement = ScoreModel.objects.get(key="engagement")
    existing = list(engagement.components.all())
    data = {
        "key": "engagement", "name": "Engagement", "description": "", "is_active": "on",
        "bands-TOTAL_FORMS": "0", "bands-INITIAL_FORMS": "0",
        "components-TOTAL_FORMS": str(len(existing) + 1),
        "components-INITIAL_FORMS": str(len(existing)),
    }  # fmt: skip
    rows = [*existing, component(name="Health", feature="health_score", upper=100)]
    for index, item in enumerate(rows):
        prefix = f"components-{index}-"
        data.update(
            {
                prefix + "id": item.pk or "",
                prefix + "model": engagement.pk,
                prefix + "name": item.name,
                prefix + "position": item.position,
                prefix + "weight": item.weight,
                prefix + "source": item.source,
                prefix + "feature": item.feature,
                prefix + "feature_params": json_text(item.feature_params),
                prefix + "signal_types": json_text(item.signal_types),
                prefix + "aggregate": item.aggregate,
                prefix + "window_days": item.window_days,
                prefix + "half_life_days": item.half_life_days or "",
                prefix + "type_weights": json_text(item.type_weights),
                prefix + "role_multipliers": json_text(item.role_multipliers),
                prefix + "normalisation": item.normalisation,
                prefix + "lower": "" if item.lower is None else item.lower,
                prefix + "upper": "" if item.upper is None else item.upper,
                prefix + "steps": json_text(item.steps),
            }
        )
    response = client.post(f"/admin/metrics/scoremodel/{engagement.pk}/change/", data)
    assert response.status_code == 200
    assert (
        "depends on itself: engagement -&gt; health -&gt; engagement" in response.content.decode()
    )
    assert engagement.components.count() == len(existing)


def json_text(value):
    import json

    return json.dumps(value)


# Snapshots --------------------------------------------------------------------------


def test_snapshots_are_written_only_when_something_changed():
    account, other = AccountFactory(stage=Stage.CUSTOMER), AccountFactory()
    today = timezone.now().date()
    yesterday = today - timedelta(days=1)
    ArrChange.objects.create(account=account, effective_date=date(2025, 1, 1), arr=1000)
    assert services.snapshots_take(day=yesterday) == 2
    snap = AccountSnapshot.objects.get(account=account, day=yesterday)
    assert (snap.arr, snap.stage, snap.tier_id, snap.scores) == (1000, "customer", None, {})
    # Nothing changed: a day without a row means "as the day before".
    assert services.snapshots_take(day=today) == 0
    ArrChange.objects.create(account=account, effective_date=today, arr=1500)
    assert services.snapshots_take(day=today) == 1
    assert AccountSnapshot.objects.get(account=account, day=today).arr == 1500
    # Back to yesterday's state within the day: today's row goes away again.
    ArrChange.objects.filter(effective_date=today).delete()
    assert services.snapshots_take(day=today) == 1
    assert not AccountSnapshot.objects.filter(day=today).exists()
    services.scores_recompute()
    snap = AccountSnapshot.objects.get(account=other, day=today)
    assert set(snap.scores) == {"fit", "intent", "engagement", "health"}
    assert snap.bands["fit"] in {"green", "yellow", "red"}


def test_backfill_rebuilds_past_days_from_history():
    account = AccountFactory(stage=Stage.CUSTOMER)
    ArrChange.objects.create(account=account, effective_date=date(2026, 5, 2), arr=1000)
    send(account, "form.submitted", datetime(2026, 5, 2, 10, tzinfo=UTC))
    AccountSnapshot.objects.create(account=account, day=date(2026, 5, 2), stage="prospect")
    call_command("backfill_snapshots", "--days", "3", "--until", "2026-05-03")
    rows = list(AccountSnapshot.objects.filter(account=account).order_by("day"))
    # Engagement decays day by day, so each day differs from the one before.
    assert [r.day for r in rows] == [date(2026, 5, 1), date(2026, 5, 2), date(2026, 5, 3)]
    first, second, third = rows
    assert [r.arr for r in rows] == [0, 1000, 1000]
    assert {r.stage for r in rows} == {"customer"}  # no stage events: today's stage
    # Intent: no surge (missing, left out), no visits (0 pts x2), one form fill in 30
    # days (70 pts x2) -> 140 / 4 = 35; nothing before the form fill -> 0.
    assert first.scores["intent"] == 0.0
    assert second.scores["intent"] == third.scores["intent"] == 35.0
    # Engagement: the form fill is worth 10 points, decayed by half every 14 days.
    assert second.scores["engagement"] > third.scores["engagement"] > 0


def test_setup_schedules_is_idempotent(capsys):
    call_command("setup_schedules")
    call_command("setup_schedules")
    schedules = Schedule.objects.filter(name="metrics.scores_recompute")
    assert schedules.count() == 1
    assert schedules.get().func == "metrics.tasks.scores_recompute"
    assert schedules.get().minutes == 60
    assert "Updated schedule" in capsys.readouterr().out

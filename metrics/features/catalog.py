"""The built-in features (DESIGN §5). One `register(Feature(...))` per entry.

Time semantics shared by every feature:

- A window of N days is the N x 24 hours **ending at** `as_of` (now when `as_of` is
  None), half-open: `as_of - N days <= occurred_at < as_of`. "The window before" is the
  N x 24 hours before that.
- Counts and sums read the daily rollups for the whole UTC days inside the window and
  the signals table only for the partial days at its two edges, so they are exact at
  any moment and cheap on the dense case; when `as_of` is a UTC midnight, the edges are
  empty and only rollups are read. Distinct contacts and latest values read the signals
  table (a rollup cannot answer them over several days, and keeps last values for
  gauges only), through its (account, occurred_at) index.
- Counts and sums over no signals are 0; a latest value with no signal is missing (NULL);
  `signal_change_pct` with a prior of 0 is missing.
- Scores, bands, stage and tier as of a past moment come from the daily snapshots: the
  snapshot of day D describes the end of day D, so at moment t only snapshots of days
  before t's UTC day are known (no look-ahead). ARR comes from the ARR history (exact),
  pipeline and won amounts from the deals' created and close dates.
- Features without history (committee, industry, country, employee count, owners,
  partner, days to renewal) always give today's value; backtests say so.

What a feature reads from another table it reads through a frame (`frames.py`,
`sources.py`): one grouped query per source for the whole set of accounts, shared by
every feature of the same `annotate()` call, so evaluating fifty playbooks costs one
pass over the rollups, one over the signals of the windows' edges, and so on.
"""

from datetime import datetime, timedelta
from decimal import Decimal

from django.db.models import (
    BooleanField,
    Case,
    CharField,
    Count,
    DateField,
    DecimalField,
    ExpressionWrapper,
    F,
    FloatField,
    Func,
    IntegerField,
    Q,
    Sum,
    TextField,
    Value,
    When,
)
from django.db.models.fields.json import KT
from django.db.models.functions import Cast, Coalesce, NullIf
from django.db.models.lookups import Contains, GreaterThan, IsNull

from accounts.choices import BuyingRole, DealStatus, Stage, TeamRole
from accounts.selectors import tier_list

from ..dates import add_months, ceil_day, floor_day, utc_date
from .registry import Feature, FeatureType, Param, ParamKind, now, register
from .sources import (
    ArrExpansion,
    ArrOn,
    Committee,
    Deals,
    SnapshotBefore,
    StoredScore,
    TeamRoles,
    days_total,
    latest_value,
    signals_aggregate,
)

COUNT = IntegerField()
VALUE = DecimalField(max_digits=26, decimal_places=6)
MONEY = DecimalField(max_digits=16, decimal_places=2)
FLOAT = FloatField()
MAX_WINDOW_DAYS = 730

SIGNAL_TYPES = Param("signal_types", ParamKind.SIGNAL_TYPES, label="Signal types")
DAYS = Param(
    "days",
    ParamKind.INT,
    required=False,
    default=30,
    min_value=1,
    max_value=MAX_WINDOW_DAYS,
    label="Window (days)",
)
MEASURES = (("count", "Count"), ("sum", "Sum of values"), ("latest", "Latest value"))
MEASURE = Param(
    "measure",
    ParamKind.CHOICE,
    required=False,
    default="count",
    choices=MEASURES,
    label="Compare",
)


def _moment(as_of: datetime | None) -> datetime:
    return as_of if as_of is not None else now()


class DaysBetween(Func):
    """Whole days from the second date to the first (negative when it is before)."""

    output_field = IntegerField()
    arity = 2

    def as_sqlite(self, compiler, connection, **extra):
        return self.as_sql(
            compiler,
            connection,
            template="CAST(julianday(%(expressions)s) AS INTEGER)",
            arg_joiner=") - julianday(",
            **extra,
        )

    def as_postgresql(self, compiler, connection, **extra):
        return self.as_sql(
            compiler, connection, template="(%(expressions)s)", arg_joiner=" - ", **extra
        )


# Signal windows ---------------------------------------------------------------------


def _window_parts(end: datetime, days: int):
    """Split [end - days, end) into the partial-day edges (for the signals table) and
    the whole UTC days between them (for the rollups)."""
    start = end - timedelta(days=days)
    first_whole, last_whole = ceil_day(start), floor_day(end)
    edges = [(start, min(first_whole, end)), (max(last_whole, start), end)]
    edges = [(a, b) for a, b in edges if a < b]
    return edges, first_whole.date(), last_whole.date()


def _window_total(types, end, days, *, rollup_field, signal_field, output):
    """Count (signal_field None) or sum of values over the window; 0 with no signals."""
    edges, first_day, end_day = _window_parts(end, days)
    zero = Value(Decimal(0) if output is VALUE else 0, output_field=output)
    parts = []
    if first_day < end_day:
        parts.append(days_total(rollup_field, types, first_day, end_day, rollup_field, output))
    if edges:
        if signal_field:
            aggregate = lambda where: Sum(signal_field, filter=where, output_field=output)  # noqa: E731
        else:
            aggregate = lambda where: Count("pk", filter=where)  # noqa: E731
        parts.append(signals_aggregate(rollup_field, types, edges, aggregate, output))
    if not parts:
        return zero
    total = Coalesce(parts[0], zero, output_field=output)
    for part in parts[1:]:
        total = ExpressionWrapper(
            total + Coalesce(part, zero, output_field=output), output_field=output
        )
    return total


def _count(types, end, days):
    return _window_total(types, end, days, rollup_field="count", signal_field=None, output=COUNT)


def _sum(types, end, days):
    return _window_total(
        types, end, days, rollup_field="value_sum", signal_field="value", output=VALUE
    )


def _latest(types, end, days):
    """The value of the latest signal with a value in the window (`days` None: ever)."""
    start = None if days is None else end - timedelta(days=days)
    return latest_value(types, end, start, VALUE)


def signal_count(*, as_of, signal_types, days):
    return _count(signal_types, _moment(as_of), days)


def signal_sum(*, as_of, signal_types, days):
    return _sum(signal_types, _moment(as_of), days)


def signal_latest_value(*, as_of, signal_types, days):
    return _latest(signal_types, _moment(as_of), days)


def signal_distinct_contacts(*, as_of, signal_types, days):
    end = _moment(as_of)
    contacts = signals_aggregate(
        "contacts",
        signal_types,
        [(end - timedelta(days=days), end)],
        lambda where: Count("contact", distinct=True, filter=where),
        COUNT,
    )
    return Coalesce(contacts, 0, output_field=COUNT)


def signal_change_pct(*, as_of, signal_types, days, measure):
    end = _moment(as_of)
    measure_of = {"count": _count, "sum": _sum, "latest": _latest}[measure]
    current = Cast(measure_of(signal_types, end, days), FLOAT)
    prior = Cast(measure_of(signal_types, end - timedelta(days=days), days), FLOAT)
    return ExpressionWrapper(
        (current - prior) * Value(100.0) / NullIf(prior, Value(0.0)), output_field=FLOAT
    )


_WINDOW_DOC = " over the N x 24 hours ending at the evaluation moment (N = days, default 30)."

for _key, _label, _type, _compute, _doc, _params in [
    ("signal_count", "Signal count", FeatureType.NUMBER, signal_count,
     "How many signals of these types" + _WINDOW_DOC + " 0 when none.", (SIGNAL_TYPES, DAYS)),
    ("signal_sum", "Signal value sum", FeatureType.NUMBER, signal_sum,
     "The sum of the values of signals of these types" + _WINDOW_DOC + " 0 when none.",
     (SIGNAL_TYPES, DAYS)),
    ("signal_latest_value", "Latest signal value", FeatureType.NUMBER, signal_latest_value,
     "The value of the latest signal of these types" + _WINDOW_DOC + " Missing when none.",
     (SIGNAL_TYPES, DAYS)),
    ("signal_distinct_contacts", "Distinct contacts", FeatureType.NUMBER,
     signal_distinct_contacts,
     "How many different contacts sent signals of these types" + _WINDOW_DOC,
     (SIGNAL_TYPES, DAYS)),
    ("signal_change_pct", "Signal change %", FeatureType.NUMBER, signal_change_pct,
     "Percent change of the count, sum or latest value of these signals" + _WINDOW_DOC
     + " against the N days before; missing when the prior figure is 0 or missing.",
     (SIGNAL_TYPES, DAYS, MEASURE)),
]:  # fmt: skip
    register(
        Feature(_key, _label, _type, _doc, params=_params, compute=_compute),
    )


# Snapshots and scores ---------------------------------------------------------------


def _snapshot(moment: datetime) -> SnapshotBefore:
    """The account's latest snapshot known at `moment` (see the module doc)."""
    return SnapshotBefore(floor_day(moment).date())


def _snapshot_value(moment: datetime, key: str, expression, output):
    return _snapshot(moment).field(key, expression, output)


def _snapshot_score(moment, model_key):
    return _snapshot_value(
        moment, f"score:{model_key}", Cast(KT(f"scores__{model_key}"), FLOAT), FLOAT
    )


def _current_score(model_key, field="score"):
    if field == "score":
        return Cast(StoredScore(model_key).field("score", MONEY), FLOAT)
    return StoredScore(model_key).field(field, CharField())


def _score_feature(model_key):
    def compute(*, as_of):
        if as_of is None:
            return _current_score(model_key)
        return _snapshot_score(as_of, model_key)

    return compute


for _model in ("fit", "intent", "engagement", "health"):
    register(
        Feature(
            f"{_model}_score",
            f"{_model.title()} score",
            FeatureType.NUMBER,
            f"The account's {_model} score (0-100): the stored score now, the daily "
            "snapshot in the past. Missing when the model has no value for the account.",
            compute=_score_feature(_model),
        )
    )


def _band_choices():
    from ..models import ScoreBand

    names = ScoreBand.objects.filter(model__key="health").values_list("name", flat=True)
    return [(name, name) for name in names]


def health_band(*, as_of):
    if as_of is None:
        return NullIf(_current_score("health", "band"), Value(""))
    return _snapshot_value(as_of, "band:health", KT("bands__health"), CharField())


def health_change_30d(*, as_of):
    moment = _moment(as_of)
    now = _current_score("health") if as_of is None else _snapshot_score(moment, "health")
    before = _snapshot_score(moment - timedelta(days=30), "health")
    return ExpressionWrapper(now - before, output_field=FLOAT)


register(
    Feature(
        "health_band",
        "Health band",
        FeatureType.CHOICE,
        "The band of the account's health score (e.g. green, yellow, red).",
        choices=_band_choices,
        compute=health_band,
    )
)
register(
    Feature(
        "health_change_30d",
        "Health change (30 days)",
        FeatureType.NUMBER,
        "Health score now minus the health score 30 days before, in points; missing "
        "when either is.",
        compute=health_change_30d,
    )
)


# Attributes -------------------------------------------------------------------------


def _tier_choices():
    return [(name, name) for name in tier_list().values_list("name", flat=True)]


def _owner_choices():
    from django.contrib.auth import get_user_model

    names = get_user_model().objects.filter(is_staff=True).values_list("username", flat=True)
    return [(name, name) for name in names.order_by("username")]


def tier(*, as_of):
    if as_of is None:
        return F("tier__name")
    return _snapshot_value(as_of, "tier", F("tier__name"), CharField())


def stage(*, as_of):
    if as_of is None:
        return F("stage")
    return _snapshot_value(as_of, "stage", F("stage"), CharField())


def is_target(*, as_of):
    if as_of is None:
        return IsNull(F("tier"), False)
    # Missing before the account's first snapshot; otherwise whether it had a tier.
    known = _snapshot_value(as_of, "id", F("pk"), IntegerField())
    tier_id = _snapshot_value(as_of, "tier_id", F("tier_id"), IntegerField())
    return Case(
        When(IsNull(known, False), then=IsNull(tier_id, False)),
        default=None,
        output_field=BooleanField(),
    )


def _blank_is_missing(field):
    def compute(*, as_of):
        return NullIf(F(field), Value(""))

    return compute


def arr(*, as_of):
    on = utc_date(_moment(as_of))
    return arr_on(on)


def arr_on(on):
    """ARR on the day `on`: the last change effective by then; 0 before the first."""
    latest = ArrOn(on).column("arr", F("arr"), MONEY)
    return Coalesce(latest, Value(Decimal(0)), output_field=MONEY)


def days_to_renewal(*, as_of):
    today = utc_date(_moment(as_of))
    return DaysBetween(F("renewal_date"), Value(today, output_field=DateField()))


def _owner(role):
    def compute(*, as_of):
        return TeamRoles().username(role, CharField())

    return compute


for _key, _label, _type, _compute, _doc, _history, _choices in [
    ("tier", "Tier", FeatureType.CHOICE, tier, "The account's tier name.", True, _tier_choices),
    ("stage", "Lifecycle stage", FeatureType.CHOICE, stage,
     "prospect, engaged, opportunity, customer or churned.", True, lambda: list(Stage.choices)),
    ("industry", "Industry", FeatureType.TEXT, _blank_is_missing("industry"),
     "The account's industry; missing when blank.", False, None),
    ("country", "Country", FeatureType.TEXT, _blank_is_missing("country"),
     "Two-letter ISO country code; missing when blank.", False, None),
    ("employee_count", "Employees", FeatureType.NUMBER, lambda *, as_of: F("employee_count"),
     "Number of employees.", False, None),
    ("arr", "ARR", FeatureType.NUMBER, arr,
     "ARR on the day (the last ARR change on or before it; 0 before the first).", True, None),
    ("days_to_renewal", "Days to renewal", FeatureType.NUMBER, days_to_renewal,
     "Days from today to the renewal date (negative when past); missing without one.",
     False, None),
    ("has_partner", "Has a partner", FeatureType.BOOL,
     lambda *, as_of: IsNull(F("partner"), False), "A partner is set on the account.",
     False, None),
    ("is_target", "Is a target account", FeatureType.BOOL, is_target,
     "The account has a tier.", True, None),
    ("owner_ae", "Account executive", FeatureType.CHOICE, _owner(TeamRole.AE),
     "Username of the account's AE.", False, _owner_choices),
    ("owner_csm", "Customer success manager", FeatureType.CHOICE, _owner(TeamRole.CSM),
     "Username of the account's CSM.", False, _owner_choices),
]:  # fmt: skip
    register(
        Feature(_key, _label, _type, _doc, has_history=_history, choices=_choices, compute=_compute)
    )


# Buying committee -------------------------------------------------------------------

COMMITTEE_ROLES = [r for r in BuyingRole.values if r != BuyingRole.UNKNOWN]


def committee_size(*, as_of):
    return Coalesce(Committee().count("size", None, COUNT), 0, output_field=COUNT)


def committee_coverage_pct(*, as_of):
    # The tier's required roles are a JSON list of role keys; matching the quoted key
    # in its text form works the same on SQLite and PostgreSQL, and with the fixed set
    # of roles the whole figure stays one expression (no query per tier).
    roles_text = Cast(F("tier__required_roles"), output_field=TextField())
    required, covered = [], []
    for role in COMMITTEE_ROLES:
        is_required = Contains(roles_text, f'"{role}"')
        required.append(Case(When(is_required, then=1), default=0))
        has_role = GreaterThan(Committee().count(role, Q(buying_role=role), COUNT), 0)
        covered.append(Case(When(Q(is_required) & Q(has_role), then=1), default=0))
    total_required = Cast(sum(required[1:], required[0]), FLOAT)
    total_covered = Cast(sum(covered[1:], covered[0]), FLOAT)
    return ExpressionWrapper(
        total_covered * Value(100.0) / NullIf(total_required, Value(0.0)), output_field=FLOAT
    )


def committee_growth_30d(*, as_of):
    end = now()
    start = end - timedelta(days=30)
    grown = Committee().count(("joined", start, end), Q(joined__gte=start, joined__lt=end), COUNT)
    return Coalesce(grown, 0, output_field=COUNT)


for _key, _label, _compute, _doc in [
    ("committee_size", "Buying committee size", committee_size,
     "Contacts with a known buying role."),
    ("committee_coverage_pct", "Buying committee coverage %", committee_coverage_pct,
     "Share of the tier's required buying roles that have a contact (0-100); missing "
     "when the account has no tier or its tier requires no role."),
    ("committee_growth_30d", "Buying committee growth (30 days)", committee_growth_30d,
     "Contacts with a known buying role first seen in the last 30 days."),
]:  # fmt: skip
    register(Feature(_key, _label, FeatureType.NUMBER, _doc, has_history=False, compute=_compute))


# Revenue ----------------------------------------------------------------------------


def _money(column):
    return Coalesce(column, Value(Decimal(0)), output_field=MONEY)


def open_pipeline(*, as_of):
    if as_of is None:
        return _money(Deals().amount("open", Q(status=DealStatus.OPEN), MONEY))
    on = utc_date(as_of)
    # Open on that day: created by then and not closed by then.
    deals = Q(created_date__lte=on) & (Q(status=DealStatus.OPEN) | Q(close_date__gt=on))
    return _money(Deals().amount(("open", on), deals, MONEY))


def won_12m(*, as_of):
    end = utc_date(_moment(as_of))
    start = add_months(end, -12)
    won = Q(status=DealStatus.WON, close_date__gt=start, close_date__lte=end)
    return _money(Deals().amount(("won", start, end), won, MONEY))


def nrr_12m(*, as_of):
    end = utc_date(_moment(as_of))
    start_arr = Cast(arr_on(add_months(end, -12)), FLOAT)
    return ExpressionWrapper(
        Cast(arr_on(end), FLOAT) / NullIf(start_arr, Value(0.0)), output_field=FLOAT
    )


def expansion_arr_12m(*, as_of):
    end = utc_date(_moment(as_of))
    start = add_months(end, -12)
    increases = ArrExpansion(start, end).column(
        "increase",
        Sum(
            F("arr") - F("previous"),
            filter=Q(previous__gt=0, arr__gt=F("previous")),
            output_field=MONEY,
        ),
        MONEY,
    )
    return _money(increases)


for _key, _label, _compute, _doc in [
    ("open_pipeline", "Open pipeline", open_pipeline,
     "Sum of the amounts of open deals (in the past: deals created by then and not yet "
     "closed)."),
    ("won_12m", "Won (12 months)", won_12m,
     "Sum of the amounts of deals won in the 12 months up to the day."),
    ("nrr_12m", "NRR (12 months)", nrr_12m,
     "ARR on the day / ARR 12 months before, as a ratio (1.1 = 110%); missing when the "
     "ARR 12 months before was 0."),
    ("expansion_arr_12m", "Expansion ARR (12 months)", expansion_arr_12m,
     "Sum of ARR increases of a paying account in the 12 months up to the day."),
]:  # fmt: skip
    register(Feature(_key, _label, FeatureType.NUMBER, _doc, compute=_compute))


# Support and advocacy ---------------------------------------------------------------


register(
    Feature(
        "tickets_30d",
        "Support tickets (30 days)",
        FeatureType.NUMBER,
        "Support tickets opened in the last 30 days.",
        compute=lambda *, as_of: _count(["support.ticket_opened"], _moment(as_of), 30),
    )
)
register(
    Feature(
        "nps_latest",
        "Latest NPS",
        FeatureType.NUMBER,
        "The latest NPS answer (0-10); missing when the account never answered.",
        compute=lambda *, as_of: _latest(["nps.response"], _moment(as_of), None),
    )
)

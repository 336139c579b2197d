"""Output shapes of the scoreboard API (they document the OpenAPI schema too)."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

MONEY = {"max_digits": 18, "decimal_places": 2}
RATIO = {"max_digits": 10, "decimal_places": 4, "allow_null": True}


class MovementsSerializer(serializers.Serializer):
    new = serializers.DecimalField(**MONEY)
    expansion = serializers.DecimalField(**MONEY)
    contraction = serializers.DecimalField(**MONEY)
    churn = serializers.DecimalField(**MONEY)
    reactivation = serializers.DecimalField(**MONEY)


class DealFiguresSerializer(serializers.Serializer):
    total = serializers.DecimalField(**MONEY)
    by_kind = serializers.DictField(
        child=serializers.DecimalField(**MONEY), help_text="Deal kind -> amount."
    )
    partner_sourced = serializers.DecimalField(**MONEY)
    partner_influenced = serializers.DecimalField(**MONEY)


class RevenueSerializer(serializers.Serializer):
    with_children = serializers.BooleanField(
        help_text="Figures of the account's whole subtree (itself and its descendants)."
    )
    period_start = serializers.DateField(help_text="The period is (start, end].")
    period_end = serializers.DateField()
    arr = serializers.DecimalField(**MONEY, help_text="ARR at the end of the period.")
    arr_at_start = serializers.DecimalField(**MONEY)
    nrr = serializers.DecimalField(**RATIO, help_text="ARR(end) / ARR(start); null if 0.")
    grr = serializers.DecimalField(**RATIO, help_text="min(ARR(end), ARR(start)) / ARR(start).")
    movements = MovementsSerializer()
    pipeline = DealFiguresSerializer(help_text="Open deals.")
    won = DealFiguresSerializer(help_text="Deals won in the period.")
    ltv = serializers.DecimalField(
        **MONEY, help_text="Cumulative revenue: ARR(month end) / 12 summed since the first ARR."
    )


class TrendPointSerializer(serializers.Serializer):
    day = serializers.DateField()
    score = serializers.FloatField(allow_null=True)


class ScoreSerializer(serializers.Serializer):
    model = serializers.CharField()
    name = serializers.CharField()
    score = serializers.DecimalField(max_digits=5, decimal_places=2, allow_null=True)
    band = serializers.CharField(allow_null=True)
    change_30d = serializers.FloatField(allow_null=True)
    trend = TrendPointSerializer(many=True, help_text="Daily, the last 30 days.")
    breakdown = serializers.JSONField(
        help_text="Per component: raw value, points, weight, effective weight, contribution, "
        "missing; `missing` and `note` say which components were left out."
    )
    computed_at = serializers.DateTimeField(
        help_text="When the score took this value: a recompute that arrives at the same "
        "score, band and breakdown leaves the stored score as it is."
    )


class CommitteeSerializer(serializers.Serializer):
    size = serializers.IntegerField()
    roles_covered = serializers.ListField(child=serializers.CharField())
    roles_required = serializers.ListField(child=serializers.CharField())
    roles_missing = serializers.ListField(child=serializers.CharField())
    growth_30d = serializers.IntegerField()


class ScoreboardAccountSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    domain = serializers.CharField(allow_null=True)
    tier = serializers.CharField(allow_null=True)
    stage = serializers.CharField()
    industry = serializers.CharField()
    parent_id = serializers.IntegerField(allow_null=True)
    partner = serializers.CharField(allow_null=True)
    owners = serializers.DictField(
        child=serializers.CharField(allow_null=True), help_text="Team role -> username."
    )


class AccountScoreboardSerializer(serializers.Serializer):
    account = ScoreboardAccountSerializer()
    revenue = RevenueSerializer()
    scores = ScoreSerializer(many=True)
    committee = CommitteeSerializer()

    def to_representation(self, instance):
        data = super().to_representation(instance)
        # Sections registered by other apps (active plays, open tasks) pass through.
        for key, value in instance.items():
            data.setdefault(key, value)
        return data


class CompactScoreSerializer(serializers.Serializer):
    score = serializers.DecimalField(max_digits=5, decimal_places=2, allow_null=True)
    band = serializers.CharField(allow_null=True)


class ScoreboardRowSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    name = serializers.CharField()
    tier = serializers.CharField(source="tier.name", allow_null=True, default=None)
    stage = serializers.CharField()
    owner = serializers.CharField(source="owner_ae", allow_null=True)
    arr = serializers.DecimalField(**MONEY)
    open_pipeline = serializers.DecimalField(**MONEY)
    scores = serializers.SerializerMethodField()

    @extend_schema_field(serializers.DictField(child=CompactScoreSerializer()))
    def get_scores(self, account):
        return {s.model.key: {"score": s.score, "band": s.band or None} for s in account.score_list}


class RollupScoreSerializer(serializers.Serializer):
    average = serializers.FloatField(allow_null=True)
    bands = serializers.DictField(child=serializers.IntegerField())


class RollupGroupSerializer(serializers.Serializer):
    key = serializers.CharField(allow_null=True, help_text="The group; null: not set.")
    accounts = serializers.IntegerField()
    arr = serializers.DecimalField(**MONEY)
    nrr = serializers.DecimalField(**RATIO)
    grr = serializers.DecimalField(**RATIO)
    pipeline = serializers.DecimalField(**MONEY)
    won_12m = serializers.DecimalField(**MONEY)
    scores = serializers.DictField(child=RollupScoreSerializer(), help_text="Model key ->.")


class RollupSerializer(serializers.Serializer):
    group_by = serializers.CharField()
    sums_to_total = serializers.BooleanField()
    note = serializers.CharField()
    period_start = serializers.DateField()
    period_end = serializers.DateField()
    groups = RollupGroupSerializer(many=True)
    total = RollupGroupSerializer()


class CohortMonthSerializer(serializers.Serializer):
    month_end = serializers.DateField()
    months_since = serializers.IntegerField()
    active_accounts = serializers.IntegerField()
    arr = serializers.DecimalField(**MONEY)
    nrr = serializers.DecimalField(**RATIO)
    ltv = serializers.DecimalField(**MONEY)
    ltv_per_account = serializers.DecimalField(**MONEY)


class CohortSerializer(serializers.Serializer):
    cohort = serializers.CharField(help_text="The quarter of the first ARR > 0, e.g. 2025-Q1.")
    quarter_end = serializers.DateField()
    accounts = serializers.IntegerField()
    starting_arr = serializers.DecimalField(**MONEY)
    months = CohortMonthSerializer(many=True)


class FunnelStageSerializer(serializers.Serializer):
    stage = serializers.CharField()
    entered = serializers.IntegerField()
    converted_to_next = serializers.IntegerField()
    conversion = serializers.DecimalField(**RATIO)
    median_days_in_stage = serializers.FloatField(allow_null=True)


class FunnelTierSerializer(serializers.Serializer):
    tier = serializers.CharField(allow_null=True)
    stages = FunnelStageSerializer(many=True)


class FunnelSerializer(serializers.Serializer):
    start = serializers.DateField()
    end = serializers.DateField()
    tiers = FunnelTierSerializer(many=True)

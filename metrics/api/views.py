"""The scoreboard API: thin views over `metrics.scoreboard` and `metrics.revenue`.

Every view needs the `scoreboards:read` scope (or a logged-in staff member who may view
scores) and runs a constant number of queries whatever the number of rows.
"""

from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from abx_site.common.api.serializers import ErrorSerializer
from abx_site.common.scopes import Scope
from accounts.choices import Stage
from accounts.models import Account

from .. import revenue, scoreboard
from ..models import AccountScore
from .serializers import (
    AccountScoreboardSerializer,
    CohortSerializer,
    FunnelSerializer,
    RollupSerializer,
    ScoreboardRowSerializer,
)

ERRORS = {
    400: OpenApiResponse(ErrorSerializer, description="A query parameter is invalid."),
    401: OpenApiResponse(ErrorSerializer, description="No API key, or an invalid one."),
    403: OpenApiResponse(ErrorSerializer, description="The key lacks `scoreboards:read`."),
}


def _query(serializer_class, request):
    params = serializer_class(data=request.query_params)
    params.is_valid(raise_exception=True)
    return params.validated_data


class ScoreboardView(GenericAPIView):
    read_scope = Scope.SCOREBOARDS_READ
    # Staff sessions need permission to view scores (every team has it).
    queryset = AccountScore.objects.none()
    pagination_class = None
    filter_backends = []


class AccountScoreboardQuery(serializers.Serializer):
    with_children = serializers.BooleanField(
        required=False, default=False, help_text="Revenue of the account's whole subtree."
    )


class AccountScoreboardView(ScoreboardView):
    serializer_class = AccountScoreboardSerializer

    @extend_schema(
        summary="One account's scoreboard",
        description="Identity, revenue (ARR, NRR, GRR, movements, pipeline, won, LTV), the "
        "scores with band, 30-day trend and breakdown, the buying committee, and the "
        "sections other parts of the product add (active plays, open tasks).",
        parameters=[AccountScoreboardQuery],
        responses={200: AccountScoreboardSerializer, 404: ErrorSerializer, **ERRORS},
    )
    def get(self, request, pk):
        params = _query(AccountScoreboardQuery, request)
        try:
            data = scoreboard.account_scoreboard(
                account_id=pk, with_children=params["with_children"]
            )
        except Account.DoesNotExist:
            raise NotFound("No such account.") from None
        return Response(AccountScoreboardSerializer(data).data)


class ScoreboardListQuery(serializers.Serializer):
    tier = serializers.CharField(required=False, help_text="Tier name.")
    stage = serializers.ChoiceField(choices=Stage.choices, required=False)
    owner = serializers.CharField(required=False, help_text="The AE's username.")
    band = serializers.CharField(required=False, help_text="Band of `band_model`, e.g. red.")
    band_model = serializers.CharField(
        required=False, default="health", help_text="The score model `band` filters on."
    )
    page = serializers.IntegerField(required=False, min_value=1)
    page_size = serializers.IntegerField(required=False, min_value=1, max_value=500)


class ScoreboardListView(ScoreboardView):
    serializer_class = ScoreboardRowSerializer
    pagination_class = GenericAPIView.pagination_class

    @extend_schema(
        summary="Per-account scoreboards",
        description="Accounts with ARR, open pipeline, AE and every score with its band; "
        "filter by tier, stage, owner and band. Paginated.",
        parameters=[ScoreboardListQuery],
        responses={200: ScoreboardRowSerializer(many=True), **ERRORS},
    )
    def get(self, request):
        params = _query(ScoreboardListQuery, request)
        params.pop("page", None)
        params.pop("page_size", None)
        rows = scoreboard.scoreboard_list(**params)
        page = scoreboard.scoreboard_figures(self.paginate_queryset(rows))
        return self.get_paginated_response(ScoreboardRowSerializer(page, many=True).data)


class RollupQuery(serializers.Serializer):
    group_by = serializers.ChoiceField(choices=[])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["group_by"].choices = scoreboard.grouping_names()


class RollupView(ScoreboardView):
    serializer_class = RollupSerializer

    @extend_schema(
        summary="Scoreboard figures grouped",
        description="Accounts, ARR, NRR, GRR, open pipeline, won in 12 months, and score "
        "averages and band counts per group: tier, stage, owner (AE), industry, partner "
        "(and groupings other parts of the product add, e.g. motion, which do not sum to "
        "the total). Each account counts once, by its own figures.",
        parameters=[
            OpenApiParameter(
                "group_by",
                str,
                required=True,
                enum=["tier", "stage", "owner", "industry", "partner", "motion"],
            )
        ],
        responses={200: RollupSerializer, **ERRORS},
    )
    def get(self, request):
        params = _query(RollupQuery, request)
        return Response(RollupSerializer(scoreboard.rollup(group_by=params["group_by"])).data)


class CohortsQuery(serializers.Serializer):
    as_of = serializers.DateField(required=False, help_text="Default: today.")


class CohortsView(ScoreboardView):
    serializer_class = CohortSerializer

    @extend_schema(
        summary="Cohorts by first-ARR quarter",
        description="Per cohort: starting ARR (at the end of its quarter) and, for each "
        "month end after it, active accounts, ARR, NRR and cumulative revenue (LTV).",
        parameters=[CohortsQuery],
        responses={200: CohortSerializer(many=True), **ERRORS},
    )
    def get(self, request):
        params = _query(CohortsQuery, request)
        return Response(
            CohortSerializer(revenue.cohorts(as_of=params.get("as_of")), many=True).data
        )


class FunnelQuery(serializers.Serializer):
    start = serializers.DateField(required=False, help_text="Default: 12 months before end.")
    end = serializers.DateField(required=False, help_text="Default: today.")

    def validate(self, data):
        end = data.get("end") or timezone.now().date()
        start = data.get("start") or revenue.default_period(end)[0]
        if start >= end:
            raise serializers.ValidationError({"start": ["Give a start before the end."]})
        return {"start": start, "end": end}


class FunnelView(ScoreboardView):
    serializer_class = FunnelSerializer

    @extend_schema(
        summary="Stage funnel",
        description="Per tier, for stage changes in (start, end]: accounts entering each "
        "stage, how many went on to the next, and the median days in the stage.",
        parameters=[FunnelQuery],
        responses={200: FunnelSerializer, **ERRORS},
    )
    def get(self, request):
        params = _query(FunnelQuery, request)
        tiers = revenue.stage_funnel(start=params["start"], end=params["end"])
        return Response(FunnelSerializer({**params, "tiers": tiers}).data)

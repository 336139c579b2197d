"""The playbook API: playbooks, their preview, explain, backtest and effectiveness,
import and publish, and activations.

Reads need `playbooks:read` (a backtest is a read, even though it is requested with a
POST that may start a background job); import and publish need `playbooks:write`.
Logged-in staff act with their team's permissions on playbooks instead.
"""

import django_filters
from django.core.exceptions import ValidationError as DjangoValidationError
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from abx_site.common.api.serializers import ErrorSerializer
from abx_site.common.scopes import Scope

from .. import analysis, selectors, services
from ..choices import ActivationStatus
from ..models import Activation, Backtest, Playbook
from .serializers import (
    ActivationOutputSerializer,
    BacktestInputSerializer,
    BacktestOutputSerializer,
    ImportInputSerializer,
    PlaybookDetailSerializer,
    PlaybookOutputSerializer,
    PublishInputSerializer,
    VersionOutputSerializer,
)

ERRORS = {
    400: OpenApiResponse(ErrorSerializer, description="Invalid input: `errors` names each field."),
    401: OpenApiResponse(ErrorSerializer, description="No API key, or an invalid one."),
    403: OpenApiResponse(ErrorSerializer, description="The key lacks the scope."),
    404: OpenApiResponse(ErrorSerializer, description="No such playbook."),
}
READ_ERRORS = {code: ERRORS[code] for code in (401, 403, 404)}
REPORT = OpenApiResponse(OpenApiTypes.OBJECT, description="The report (see the description).")


def _input(serializer_class, data) -> dict:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


@extend_schema_view(
    list=extend_schema(
        summary="List playbooks",
        responses={200: PlaybookOutputSerializer(many=True), **READ_ERRORS},
    ),
    retrieve=extend_schema(
        summary="Get a playbook",
        description="With `definition`: the saved playbook in the import/export format.",
        responses={200: PlaybookDetailSerializer, **READ_ERRORS},
    ),
)
class PlaybookViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    queryset = Playbook.objects.all()
    serializer_class = PlaybookOutputSerializer
    read_scope = Scope.PLAYBOOKS_READ
    write_scope = Scope.PLAYBOOKS_WRITE
    filter_backends = []

    def get_queryset(self):
        return selectors.playbook_list()

    def get_serializer_class(self):
        return PlaybookDetailSerializer if self.action == "retrieve" else PlaybookOutputSerializer

    @extend_schema(
        summary="Import playbooks",
        description="Create or replace playbooks by name, all or nothing: any error "
        "(keyed `playbooks.<i>.<path>`) leaves every playbook as it was.",
        request=ImportInputSerializer,
        responses={200: PlaybookOutputSerializer(many=True), **ERRORS},
    )
    @action(detail=False, methods=["post"], url_path="import")
    def import_(self, request):
        data = _input(ImportInputSerializer, request.data)
        saved = services.playbooks_import(
            items=data["playbooks"], publish=data["publish"], user=request.user
        )
        rows = self.get_queryset().filter(pk__in=[p.pk for p in saved])
        return Response(PlaybookOutputSerializer(rows, many=True).data)

    @extend_schema(
        summary="Publish a playbook",
        description="Validate the saved playbook and freeze it as the next version; a "
        "draft becomes active. Open activations keep the version they started on.",
        request=PublishInputSerializer,
        responses={201: VersionOutputSerializer, **ERRORS},
    )
    @action(detail=True, methods=["post"])
    def publish(self, request, pk=None):
        data = _input(PublishInputSerializer, request.data)
        version = services.playbook_publish(
            playbook=self.get_object(), user=request.user, note=data.get("note", "")
        )
        return Response(VersionOutputSerializer(version).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Preview a playbook",
        description="The accounts the saved playbook matches now (up to 100, highest "
        "intent first) with evidence, and how many would enter, be held out, be skipped "
        "(by reason) or leave on the next evaluation. Writes nothing.",
        responses={200: REPORT, **READ_ERRORS},
    )
    @action(detail=True, methods=["get"])
    def preview(self, request, pk=None):
        return Response(analysis.playbook_preview(playbook=self.get_object()))

    @extend_schema(
        summary="Explain a playbook for one account",
        description="Per trigger and condition: the feature value and whether it passed.",
        parameters=[OpenApiParameter("account", int, required=True, description="Account id.")],
        responses={200: REPORT, **ERRORS},
    )
    @action(detail=True, methods=["get"])
    def explain(self, request, pk=None):
        playbook = self.get_object()
        raw = request.query_params.get("account", "")
        if not raw.isdigit():
            raise DjangoValidationError({"account": "Give the account id: ?account=<id>."})
        return Response(analysis.playbook_explain(playbook=playbook, account_id=int(raw)))

    @extend_schema(
        summary="Backtest a playbook",
        description="Replays the saved playbook weekly from `start` to `end` with features "
        "as of each day. Up to 8 weeks answers 200 with the finished job; longer ranges "
        "answer 202 with a job to poll at `backtest/<job id>/`.",
        request=BacktestInputSerializer,
        responses={200: BacktestOutputSerializer, 202: BacktestOutputSerializer, **ERRORS},
    )
    # Starting a backtest changes nothing RevOps configured: a reader may ask for one.
    @action(detail=True, methods=["post"], write_scope=Scope.PLAYBOOKS_READ)
    def backtest(self, request, pk=None):
        data = _input(BacktestInputSerializer, request.data)
        job = analysis.backtest_request(
            playbook=self.get_object(), start=data["start"], end=data["end"], user=request.user
        )
        code = status.HTTP_200_OK if job.status == "done" else status.HTTP_202_ACCEPTED
        response = Response(BacktestOutputSerializer(job).data, status=code)
        if code == status.HTTP_202_ACCEPTED:
            response["Location"] = reverse(
                "playbook-backtest-job", kwargs={"pk": job.playbook_id, "job": job.pk}
            )
        return response

    @extend_schema(
        summary="Poll a backtest",
        responses={200: BacktestOutputSerializer, **READ_ERRORS},
    )
    @action(
        detail=True,
        methods=["get"],
        url_path=r"backtest/(?P<job>\d+)",
        url_name="backtest-job",
    )
    def backtest_job(self, request, pk=None, job=None):
        try:
            found = selectors.backtest_get(playbook=self.get_object(), pk=int(job))
        except Backtest.DoesNotExist:
            raise NotFound("No such backtest of this playbook.") from None
        return Response(BacktestOutputSerializer(found).data)

    @extend_schema(
        summary="Playbook effectiveness",
        description="Outcome rate of treated vs held-out activations whose outcome window "
        "has closed; the difference (lift) with a Newcombe 95% interval; the counts.",
        responses={200: REPORT, **READ_ERRORS},
    )
    @action(detail=True, methods=["get"])
    def effectiveness(self, request, pk=None):
        return Response(analysis.playbook_effectiveness(playbook=self.get_object()))


class ActivationFilter(django_filters.FilterSet):
    playbook = django_filters.NumberFilter(field_name="playbook_id")
    account = django_filters.NumberFilter(field_name="account_id")
    status = django_filters.ChoiceFilter(choices=ActivationStatus.choices)

    class Meta:
        model = Activation
        fields = ["playbook", "account", "status"]


@extend_schema_view(
    list=extend_schema(
        summary="List activations",
        responses={200: ActivationOutputSerializer(many=True), **READ_ERRORS},
    ),
    retrieve=extend_schema(
        summary="Get an activation", responses={200: ActivationOutputSerializer, **READ_ERRORS}
    ),
)
class ActivationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    queryset = Activation.objects.all()
    serializer_class = ActivationOutputSerializer
    filterset_class = ActivationFilter
    read_scope = Scope.PLAYBOOKS_READ
    write_scope = Scope.PLAYBOOKS_WRITE

    def get_queryset(self):
        return selectors.activation_list()

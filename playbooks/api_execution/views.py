"""Tasks (the assignee's own), campaign audiences and personalization.

- `tasks/`: an API key bound to a user, or a logged-in staff member, sees and updates
  their own tasks (scopes `tasks:read` / `tasks:write`); an unbound key sees none, since
  it is nobody.
- `campaigns/<id>/audience/`: enrolled accounts with their reachable people, for ad and
  marketing-automation syncs (`campaigns:read`); suppressed, removed and do-not-contact
  accounts and people are never in it.
- `personalization/?domain=` or `?ip=`: the visitor's experience variant
  (`personalization:read`). It answers only the variant and its content: never the
  account, its tier or whether the visitor was recognised, since a website may pass it
  to browsers.
"""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, viewsets
from rest_framework.response import Response
from rest_framework.views import APIView

from abx_site.common.scopes import Scope
from accounts.identity import resolve

from .. import selectors_execution as selectors
from ..models_execution import AccountExperience, Campaign, CampaignMembership, Task
from ..services_execution import task_update
from .serializers import (
    AudienceMemberSerializer,
    PersonalizationSerializer,
    TaskOutputSerializer,
    TaskUpdateInputSerializer,
)


@extend_schema_view(
    list=extend_schema(summary="My tasks"),
    retrieve=extend_schema(summary="One of my tasks"),
    partial_update=extend_schema(
        summary="Update my task: status, snooze, reassign",
        request=TaskUpdateInputSerializer,
        responses=TaskOutputSerializer,
    ),
)
class TaskViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    read_scope = Scope.TASKS_READ
    write_scope = Scope.TASKS_WRITE
    serializer_class = TaskOutputSerializer
    queryset = Task.objects.none()  # the model, for staff permissions; rows: get_queryset
    http_method_names = ["get", "patch", "head", "options"]
    filterset_fields = ["status", "priority"]
    ordering_fields = ["due_date", "created_at", "priority"]

    def get_queryset(self):
        user = self.request.user
        if not user.is_authenticated:
            # An unbound key holds the scope but is nobody: it has no tasks of its own.
            return Task.objects.none()
        return selectors.task_list(assignee=user)

    def partial_update(self, request, *args, **kwargs):
        task = self.get_object()
        data = TaskUpdateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        task = task_update(task=task, data=data.validated_data)
        return Response(TaskOutputSerializer(task).data)


class CampaignAudienceView(mixins.ListModelMixin, viewsets.GenericViewSet):
    read_scope = Scope.CAMPAIGNS_READ
    serializer_class = AudienceMemberSerializer
    queryset = CampaignMembership.objects.none()
    filter_backends = []

    @extend_schema(summary="A campaign's current audience (suppressed excluded)")
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    def get_queryset(self):
        campaign = get_object_or_404(Campaign, pk=self.kwargs["campaign_id"])
        return selectors.audience(campaign=campaign)


class PersonalizationView(APIView):
    read_scope = Scope.PERSONALIZATION_READ
    queryset = AccountExperience.objects.none()  # staff need the permission to view it

    @extend_schema(
        summary="The visitor's website experience variant",
        parameters=[
            OpenApiParameter("domain", str, description="The visitor's company domain."),
            OpenApiParameter("ip", str, description="The visitor's IP address."),
        ],
        responses=PersonalizationSerializer,
    )
    def get(self, request):
        domain = request.query_params.get("domain", "").strip()
        ip = request.query_params.get("ip", "").strip()
        if not domain and not ip:
            raise DjangoValidationError({"domain": "Give the visitor's domain or ip."})
        hints = {"domain": domain} if domain else {"ip": ip}
        account_id = resolve(hints).account_id
        return Response(selectors.experience_for(account_id=account_id))

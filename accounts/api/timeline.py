"""`GET /api/v1/accounts/<id>/timeline/`: the account's timeline (`accounts.timeline`).

One stream, newest first, of the account's events, deals, signals, activations, step
runs and tasks, with its own `(time, kind, id)` cursor: `next` is the URL of the page
after this one, null on the last. A constant number of queries (one per kind of entry)
whatever the page size. Scope `accounts:read`, or a staff member who may view accounts.
"""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param

from abx_site.common.api.serializers import ErrorSerializer
from abx_site.common.scopes import Scope

from .. import timeline
from ..models import Account

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200


class TimelineQuerySerializer(serializers.Serializer):
    cursor = serializers.CharField(
        required=False, help_text="The `next` page's cursor, as a previous page gave it."
    )
    page_size = serializers.IntegerField(
        required=False, default=DEFAULT_PAGE_SIZE, min_value=1, max_value=MAX_PAGE_SIZE
    )
    kind = serializers.ListField(
        child=serializers.CharField(),
        required=False,
        help_text="Only entries of these kinds (repeat the parameter for several; the "
        "kinds are listed under the entries' `kind`); every kind when left out.",
    )

    def validate_kind(self, value):
        known = timeline.timeline_kinds()
        unknown = sorted(set(value) - set(known))
        if unknown:
            raise serializers.ValidationError(
                f"Unknown kind(s): {', '.join(unknown)}. Known: {', '.join(known)}."
            )
        return value

    def validate_cursor(self, value):
        try:
            return timeline.cursor_decode(value)
        except ValueError as exc:
            raise serializers.ValidationError(str(exc)) from None


def _kinds_text() -> str:
    return " ".join(
        f"`{kind}`: {description}" for kind, description in timeline.timeline_kinds().items()
    )


class TimelineEntrySerializer(serializers.Serializer):
    time = serializers.DateTimeField()
    # The kinds are registered by the installed apps: described here, not an enum.
    kind = serializers.CharField()
    id = serializers.IntegerField(help_text="The id of the entry's record, within its kind.")
    action = serializers.CharField(
        help_text="What happened: the event kind, `started`, `done`, `skipped`, `won`..."
    )
    summary = serializers.CharField(help_text="One line for people.")
    reason = serializers.CharField(
        help_text="Why, when there is a reason: a skip's, a deferral's, an exit's."
    )
    data = serializers.DictField(help_text="The details of the entry's kind.")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kind"].help_text = _kinds_text()


class TimelinePageSerializer(serializers.Serializer):
    next = serializers.URLField(allow_null=True, help_text="The next page; null on the last.")
    results = TimelineEntrySerializer(many=True)


class AccountTimelineView(GenericAPIView):
    """An account's timeline, newest first, cursor-paginated."""

    read_scope = Scope.ACCOUNTS_READ
    # Staff sessions need permission to view accounts.
    queryset = Account.objects.all()
    serializer_class = TimelinePageSerializer
    pagination_class = None
    filter_backends: list = []

    @extend_schema(
        summary="An account's timeline",
        description="Everything that happened to the account, newest first, in one "
        "stream: signals, account events (stage, tier and owner changes, merges), deals "
        "opened and closed, activations (started, held out, skipped, ended, with the "
        "reason), step runs (done, failed, skipped, deferred, cancelled, with the reason) "
        "and tasks (created, closed). Entries at the same moment are ordered by kind, "
        "then id; follow `next` for older ones.",
        parameters=[TimelineQuerySerializer],
        responses={
            200: TimelinePageSerializer,
            400: OpenApiResponse(ErrorSerializer, description="A query parameter is invalid."),
            401: OpenApiResponse(ErrorSerializer, description="No API key, or an invalid one."),
            403: OpenApiResponse(ErrorSerializer, description="The key lacks `accounts:read`."),
            404: OpenApiResponse(ErrorSerializer, description="No such account."),
        },
    )
    def get(self, request, pk):
        query = TimelineQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        # Merged accounts keep their own history, so they are found here too.
        account = get_object_or_404(Account.objects.only("pk"), pk=pk)
        entries, following = timeline.timeline_page(
            account_id=account.pk,
            cursor=params.get("cursor"),
            limit=params["page_size"],
            kinds=params.get("kind") or (),
        )
        next_url = None
        if following is not None:
            next_url = replace_query_param(
                request.build_absolute_uri(), "cursor", timeline.cursor_encode(following)
            )
        page = {"next": next_url, "results": [entry.__dict__ for entry in entries]}
        return Response(TimelinePageSerializer(page).data)

import json

import django_filters
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, generics, pagination, permissions, status
from rest_framework.response import Response
from rest_framework.views import APIView

from abx_site.common.api.serializers import ErrorSerializer
from abx_site.common.gc_pause import cyclic_gc_paused
from abx_site.common.models import ApiKey
from abx_site.common.scopes import Scope
from accounts.identity import resolve
from accounts.models import Account
from accounts.selectors import account_list

from ..models import Signal, Source
from ..selectors import signal_list
from ..services import MAX_ITEMS, signals_ingest
from ..validation import shown
from ..webhooks import SignatureError, signals_webhook_receive, verify
from .serializers import (
    IngestRequestSerializer,
    IngestResultSerializer,
    ResolutionSerializer,
    ResolveQuerySerializer,
    SignalSerializer,
    WebhookRequestSerializer,
    WebhookResultSerializer,
)

MAX_BODY_BYTES = 5 * 1024 * 1024


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request is too large."
    default_code = "too_large"


class SignalCursorPagination(pagination.CursorPagination):
    """Signals grow without end: a cursor stays fast and stable at any depth."""

    ordering = ("-occurred_at", "-id")
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 1_000


class SignalFilter(django_filters.FilterSet):
    source = django_filters.CharFilter(field_name="source__slug")
    type = django_filters.CharFilter(field_name="type__key")
    occurred_after = django_filters.IsoDateTimeFilter(field_name="occurred_at", lookup_expr="gte")
    occurred_before = django_filters.IsoDateTimeFilter(field_name="occurred_at", lookup_expr="lt")
    matched = django_filters.BooleanFilter(field_name="account", lookup_expr="isnull", exclude=True)

    class Meta:
        model = Signal
        fields = ["account", "source", "type", "match_method"]


class SignalListCreateView(generics.ListAPIView):
    """GET: signals, newest first (cursor-paginated). POST: ingest a batch (DESIGN §4)."""

    queryset = signal_list()
    serializer_class = SignalSerializer
    pagination_class = SignalCursorPagination
    filter_backends = [DjangoFilterBackend]
    filterset_class = SignalFilter
    read_scope = Scope.SIGNALS_READ
    write_scope = Scope.SIGNALS_WRITE

    @extend_schema(request=IngestRequestSerializer, responses=IngestResultSerializer)
    def post(self, request):
        _refuse_large_body(request)
        # The parsed body is the batch's first few hundred thousand objects: the cyclic
        # collector stays paused from the parse on, as it is for the ingestion itself.
        with cyclic_gc_paused():
            items = _batch_items(request.data, allow_single=False)
            key_source = request.auth.source if isinstance(request.auth, ApiKey) else None
            result = signals_ingest(items=items, key_source=key_source or None)
        return Response(result.as_dict(), status=status.HTTP_200_OK)


def _refuse_large_body(request) -> None:
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > MAX_BODY_BYTES:
        raise PayloadTooLarge(
            f"The body is {length:,} bytes; a batch may be at most {MAX_BODY_BYTES:,} "
            "bytes. Send smaller batches."
        )


def _batch_items(body, *, allow_single: bool) -> list:
    """The items of a body: `{"signals": [...]}`, or (webhooks) a list or one item."""
    if allow_single and isinstance(body, list):
        items = body
    elif allow_single and isinstance(body, dict) and "signals" not in body:
        items = [body]
    else:
        if not isinstance(body, dict) or not isinstance(body.get("signals"), list):
            raise exceptions.ValidationError(
                {"signals": ['Send a JSON object: {"signals": [ ...items... ]}.']}
            )
        unknown = sorted(set(body) - {"signals"})
        if unknown:
            raise exceptions.ValidationError({shown(key): ["Unknown field."] for key in unknown})
        items = body["signals"]
    if len(items) > MAX_ITEMS:
        raise PayloadTooLarge(
            f"A batch holds at most {MAX_ITEMS:,} signals; this one has {len(items):,}."
        )
    return items


class SignalWebhookView(APIView):
    """Signals pushed by a source, signed with its secret (Standard Webhooks).

    No API key: the signature is the credential. The body is one item, a list of items
    or `{"signals": [...]}`; items may leave out `source` (the URL names it) and an item
    naming another source is rejected by index. 401 for a bad signature or a timestamp
    more than 5 minutes off (nothing stored); a replayed `webhook-id` gets 200 with
    `replayed: true` and stores nothing again.
    """

    authentication_classes: list = []
    permission_classes = [permissions.AllowAny]
    queryset = Source.objects.none()

    @extend_schema(
        auth=[],
        request=WebhookRequestSerializer,
        responses={200: WebhookResultSerializer, 401: ErrorSerializer},
        parameters=[
            OpenApiParameter(name, str, OpenApiParameter.HEADER, required=True, description=text)
            for name, text in (
                ("webhook-id", "The message id; the same on every retry."),
                ("webhook-timestamp", "Seconds since the epoch when the message was signed."),
                ("webhook-signature", "v1,<base64 HMAC-SHA256 of id.timestamp.body>"),
            )
        ],
    )
    def post(self, request, source):
        source = Source.objects.filter(slug=source, active=True).first()
        if source is None:
            raise exceptions.NotFound("No active source with this slug.")
        _refuse_large_body(request)
        body = request.body
        try:
            verify(
                secret=source.webhook_secret,
                webhook_id=request.headers.get("webhook-id"),
                timestamp=request.headers.get("webhook-timestamp"),
                signatures=request.headers.get("webhook-signature"),
                body=body,
            )
        except SignatureError as exc:
            raise exceptions.AuthenticationFailed(str(exc)) from None
        try:
            data = json.loads(body)
        except (ValueError, UnicodeDecodeError, RecursionError) as exc:
            # RecursionError: nesting too deep for the decoder is bad input, not a fault.
            raise exceptions.ParseError(f"JSON parse error - {exc}") from None
        items = _batch_items(data, allow_single=True)
        result = signals_webhook_receive(
            source=source, webhook_id=request.headers["webhook-id"][:255], items=items
        )
        return Response(result.as_dict(), status=status.HTTP_200_OK)

    def get_authenticate_header(self, request):
        # A 401 names the scheme a client should use: here, the signature headers.
        return "webhook-signature"


class AccountResolveView(APIView):
    """Which account do these hints belong to? The identity service, as an endpoint."""

    queryset = Account.objects.none()
    read_scope = Scope.ACCOUNTS_READ

    @extend_schema(parameters=[ResolveQuerySerializer], responses=ResolutionSerializer)
    def get(self, request):
        query = ResolveQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        hints = dict(query.validated_data)
        if "system" in hints:
            hints["identifier"] = (hints.pop("system"), hints.pop("external_id"))
        resolution = resolve(hints)
        account = None
        if resolution.account_id is not None:
            account = account_list().filter(pk=resolution.account_id).first()
        data = {
            "account": account,
            "method": resolution.method,
            "confidence": resolution.confidence,
            "candidates": resolution.candidates,
        }
        return Response(ResolutionSerializer(data).data)

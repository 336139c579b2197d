"""The account graph API: accounts, contacts, deals and ARR history.

Views are thin: reads come from `accounts.selectors`, writes go through
`accounts.services`, whose `ValidationError`s the project exception handler turns into
`400 {"message", "errors"}`. There are no DELETE endpoints: accounts are merged, not
deleted, and contacts are erased with `manage.py erase_contact`; records are created
and updated only.

Every view needs the `accounts:read` scope to read and `accounts:write` to write; a
logged-in staff member acts with their team's model permissions instead.
"""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.shortcuts import get_object_or_404
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.response import Response

from abx_site.common.api.serializers import ErrorSerializer
from abx_site.common.models import ApiKey
from abx_site.common.scopes import Scope

from .. import selectors, services
from ..models import Account, ArrChange, Contact, Deal
from .filters import AccountFilter, ContactFilter, DealFilter, StableOrderingFilter
from .serializers import (
    AccountCreateInputSerializer,
    AccountOutputSerializer,
    AccountUpdateInputSerializer,
    ArrChangeInputSerializer,
    ArrChangeOutputSerializer,
    ContactInputSerializer,
    ContactOutputSerializer,
    DealInputSerializer,
    DealOutputSerializer,
)

ERRORS = {
    400: OpenApiResponse(ErrorSerializer, description="Invalid input: `errors` names each field."),
    401: OpenApiResponse(
        ErrorSerializer, description="No API key, or an invalid, revoked or expired one."
    ),
    403: OpenApiResponse(
        ErrorSerializer, description="The key lacks the scope, or the user the permission."
    ),
    404: OpenApiResponse(ErrorSerializer, description="No such record."),
}
READ_ERRORS = {code: ERRORS[code] for code in (401, 403, 404)}


def _actor(request) -> dict:
    """Who the account timeline names for a change: the user, and the key if one was used."""
    label = f"API key: {request.auth.name}" if isinstance(request.auth, ApiKey) else ""
    return {"actor": request.user, "actor_label": label}


def _field_error(field: str, exc: DjangoValidationError) -> DjangoValidationError:
    """A service error about one item of a list, reported under the list's name."""
    return DjangoValidationError({field: exc.messages})


class AccountGraphViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Lists and detail from the output serializer; subclasses write through services.

    `queryset` is set on each subclass, even though `get_queryset` builds the real
    one: the permission class reads its model to check a staff member's permissions.
    """

    read_scope = Scope.ACCOUNTS_READ
    write_scope = Scope.ACCOUNTS_WRITE
    filter_backends = [DjangoFilterBackend, StableOrderingFilter]

    def _write_response(self, instance, *, created: bool) -> Response:
        # Re-read through the selector, so the answer carries annotations (ARR, primary
        # domain) exactly as a GET would show them.
        fresh = self.get_queryset().get(pk=instance.pk)
        code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
        return Response(self.get_serializer(fresh).data, status=code)

    def _input(self, serializer_class, *, partial: bool = False) -> dict:
        serializer = serializer_class(data=self.request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data


@extend_schema_view(
    list=extend_schema(
        summary="List accounts",
        description="Live accounts; accounts merged into another are left out.",
        responses={200: AccountOutputSerializer(many=True), **READ_ERRORS},
    ),
    retrieve=extend_schema(
        summary="Get an account",
        description="Any account by id, including a merged one (then `merged_into` is set).",
        responses={200: AccountOutputSerializer, **READ_ERRORS},
    ),
    create=extend_schema(
        summary="Create an account",
        description="The account, its domains and identifiers are created all or nothing.",
        request=AccountCreateInputSerializer,
        responses={201: AccountOutputSerializer, **ERRORS},
    ),
    update=extend_schema(
        summary="Replace an account's fields",
        description="Fields left out keep their value; `name` is required. Stage, tier "
        "and parent changes are recorded on the account's timeline.",
        request=AccountUpdateInputSerializer,
        responses={200: AccountOutputSerializer, **ERRORS},
    ),
    partial_update=extend_schema(
        summary="Change some of an account's fields",
        description="Stage, tier and parent changes are recorded on the account's timeline.",
        request=AccountUpdateInputSerializer,
        responses={200: AccountOutputSerializer, **ERRORS},
    ),
)
class AccountViewSet(AccountGraphViewSet):
    """Accounts: list, create, retrieve and update (no delete: accounts are merged)."""

    queryset = Account.objects.all()
    serializer_class = AccountOutputSerializer
    filterset_class = AccountFilter
    ordering_fields = ["name", "created_at", "arr", "employee_count"]
    ordering = ["name", "id"]

    def get_queryset(self):
        # The list leaves merged accounts out; fetching one by id still finds it.
        accounts = selectors.account_list(include_merged=self.action != "list")
        # The output lists every domain and identifier: one query each per page.
        return accounts.prefetch_related("domains", "identifiers")

    def create(self, request, *args, **kwargs):
        data = dict(self._input(AccountCreateInputSerializer))
        domains = data.pop("domains", [])
        identifiers = data.pop("identifiers", [])
        # One transaction around the services, so a taken extra domain or identifier
        # leaves no half-made account behind.
        with transaction.atomic():
            account = services.account_create(**data, **_actor(request))
            for domain in domains:
                try:
                    services.account_domain_add(account=account, domain=domain)
                except DjangoValidationError as exc:
                    raise _field_error("domains", exc) from None
            for identifier in identifiers:
                try:
                    services.account_identifier_add(account=account, **identifier)
                except DjangoValidationError as exc:
                    raise _field_error("identifiers", exc) from None
        return self._write_response(account, created=True)

    def update(self, request, *args, **kwargs):
        partial = kwargs.get("partial", False)
        account = self.get_object()
        data = self._input(AccountUpdateInputSerializer, partial=partial)
        account = services.account_update(account=account, data=data, **_actor(request))
        return self._write_response(account, created=False)

    def partial_update(self, request, *args, **kwargs):
        return self.update(request, *args, partial=True, **kwargs)


@extend_schema_view(
    list=extend_schema(
        summary="List contacts", responses={200: ContactOutputSerializer(many=True), **READ_ERRORS}
    ),
    retrieve=extend_schema(
        summary="Get a contact", responses={200: ContactOutputSerializer, **READ_ERRORS}
    ),
    create=extend_schema(
        summary="Create a contact",
        description="Emails are stored in lower case; persona rules fill an unknown role.",
        request=ContactInputSerializer,
        responses={201: ContactOutputSerializer, **ERRORS},
    ),
    update=extend_schema(
        summary="Replace a contact's fields",
        request=ContactInputSerializer,
        responses={200: ContactOutputSerializer, **ERRORS},
    ),
    partial_update=extend_schema(
        summary="Change some of a contact's fields",
        request=ContactInputSerializer,
        responses={200: ContactOutputSerializer, **ERRORS},
    ),
)
class ContactViewSet(AccountGraphViewSet):
    """Contacts: list, create, retrieve and update (no delete: use `erase_contact`)."""

    queryset = Contact.objects.all()
    serializer_class = ContactOutputSerializer
    filterset_class = ContactFilter
    ordering_fields = ["email", "name", "created_at", "last_engaged_at"]
    ordering = ["email"]

    def get_queryset(self):
        return selectors.contact_list()

    def create(self, request, *args, **kwargs):
        contact = services.contact_create(**self._input(ContactInputSerializer))
        return self._write_response(contact, created=True)

    def update(self, request, *args, **kwargs):
        contact = self.get_object()
        data = self._input(ContactInputSerializer, partial=kwargs.get("partial", False))
        contact = services.contact_update(contact=contact, data=data)
        return self._write_response(contact, created=False)

    def partial_update(self, request, *args, **kwargs):
        return self.update(request, *args, partial=True, **kwargs)


@extend_schema_view(
    list=extend_schema(
        summary="List deals", responses={200: DealOutputSerializer(many=True), **READ_ERRORS}
    ),
    retrieve=extend_schema(
        summary="Get a deal", responses={200: DealOutputSerializer, **READ_ERRORS}
    ),
    create=extend_schema(
        summary="Create a deal",
        request=DealInputSerializer,
        responses={201: DealOutputSerializer, **ERRORS},
    ),
    update=extend_schema(
        summary="Replace a deal's fields",
        request=DealInputSerializer,
        responses={200: DealOutputSerializer, **ERRORS},
    ),
    partial_update=extend_schema(
        summary="Change some of a deal's fields",
        request=DealInputSerializer,
        responses={200: DealOutputSerializer, **ERRORS},
    ),
)
class DealViewSet(AccountGraphViewSet):
    """Deals: list, create, retrieve and update (no delete: close a deal as lost)."""

    queryset = Deal.objects.all()
    serializer_class = DealOutputSerializer
    filterset_class = DealFilter
    ordering_fields = ["created_date", "close_date", "amount", "name"]
    ordering = ["-created_date", "id"]

    def get_queryset(self):
        return selectors.deal_list()

    def create(self, request, *args, **kwargs):
        deal = services.deal_create(**self._input(DealInputSerializer))
        return self._write_response(deal, created=True)

    def update(self, request, *args, **kwargs):
        deal = self.get_object()
        data = self._input(DealInputSerializer, partial=kwargs.get("partial", False))
        deal = services.deal_update(deal=deal, data=data)
        return self._write_response(deal, created=False)

    def partial_update(self, request, *args, **kwargs):
        return self.update(request, *args, partial=True, **kwargs)


@extend_schema_view(
    list=extend_schema(
        summary="An account's ARR history",
        description="Every ARR change of the account, oldest first.",
        responses={200: ArrChangeOutputSerializer(many=True), **READ_ERRORS},
    ),
    create=extend_schema(
        summary="Record an ARR change",
        description="Sets the account's ARR from `effective_date` on. A change already on "
        "that date is replaced (200); otherwise one is added (201).",
        request=ArrChangeInputSerializer,
        responses={
            200: ArrChangeOutputSerializer,
            201: ArrChangeOutputSerializer,
            **ERRORS,
        },
    ),
)
class AccountArrViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """An account's ARR history: list and record (no delete: record a change to 0)."""

    read_scope = Scope.ACCOUNTS_READ
    write_scope = Scope.ACCOUNTS_WRITE
    queryset = ArrChange.objects.all()
    serializer_class = ArrChangeOutputSerializer
    # The history has its own fixed order and no filters.
    filter_backends: list = []

    def get_account(self) -> Account:
        # Merged accounts keep their own history, so they are found here too.
        return get_object_or_404(Account.objects.only("pk"), pk=self.kwargs["account_pk"])

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return ArrChange.objects.none()
        return selectors.arr_history(account=self.get_account())

    def create(self, request, *args, **kwargs):
        account = self.get_account()
        data = ArrChangeInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        date = data.validated_data["effective_date"]
        replaced = selectors.arr_history(account=account).filter(effective_date=date).exists()
        change = services.arr_change_record(account=account, **data.validated_data)
        code = status.HTTP_200_OK if replaced else status.HTTP_201_CREATED
        return Response(self.get_serializer(change).data, status=code)

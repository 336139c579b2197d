"""Query-string filters of the account graph API (django-filter)."""

import django_filters
from django.db.models import Exists, OuterRef, Q
from rest_framework.filters import OrderingFilter

from ..choices import (
    BuyingRole,
    DealKind,
    DealStatus,
    PartnerInfluence,
    Stage,
    TeamRole,
)
from ..models import Account, AccountDomain, AccountTeamMember, Contact, Deal, Partner, Tier


class StableOrderingFilter(OrderingFilter):
    """`?ordering=` that always ends on the primary key.

    Sorting on a non-unique column (ARR, employee count) leaves ties in whatever order
    the database likes, and a page boundary inside a tie could then show a row twice
    or never.
    """

    def get_ordering(self, request, queryset, view):
        ordering = super().get_ordering(request, queryset, view)
        if ordering and not any(field.lstrip("-") in ("pk", "id") for field in ordering):
            ordering = [*ordering, "pk"]
        return ordering


class AccountFilter(django_filters.FilterSet):
    tier = django_filters.ModelChoiceFilter(queryset=Tier.objects.all(), help_text="Tier id.")
    tier_name = django_filters.CharFilter(
        field_name="tier__name", lookup_expr="iexact", help_text="Tier name, any case."
    )
    stage = django_filters.ChoiceFilter(choices=Stage.choices)
    owner = django_filters.NumberFilter(
        method="filter_owner",
        help_text="User id of someone on the account team (any role, or `owner_role`).",
    )
    owner_role = django_filters.ChoiceFilter(
        choices=TeamRole.choices,
        method="filter_owner_role",
        help_text="Accounts with someone in this team role (with `owner`: that user).",
    )
    partner = django_filters.ModelChoiceFilter(
        queryset=Partner.objects.all(), help_text="Partner id."
    )
    country = django_filters.CharFilter(lookup_expr="iexact", help_text="ISO code, e.g. US.")
    industry = django_filters.CharFilter(lookup_expr="iexact")
    parent = django_filters.NumberFilter(field_name="parent_id", help_text="Parent account id.")
    do_not_contact = django_filters.BooleanFilter()
    search = django_filters.CharFilter(
        method="filter_search", help_text="Part of the name or of any of the account's domains."
    )

    class Meta:
        model = Account
        fields = [
            "tier",
            "tier_name",
            "stage",
            "owner",
            "owner_role",
            "partner",
            "country",
            "industry",
            "parent",
            "do_not_contact",
            "search",
        ]

    def filter_owner(self, queryset, name, value):
        return queryset.owned_by(value, role=self.form.cleaned_data.get("owner_role") or None)

    def filter_owner_role(self, queryset, name, value):
        if self.form.cleaned_data.get("owner"):
            # `filter_owner` applies both together.
            return queryset
        return queryset.filter(
            Exists(AccountTeamMember.objects.filter(account=OuterRef("pk"), role=value))
        )

    def filter_search(self, queryset, name, value):
        # EXISTS rather than a join, so an account with several matching domains is
        # listed once and no DISTINCT is needed next to the ARR annotation.
        domains = AccountDomain.objects.filter(account=OuterRef("pk"), domain__icontains=value)
        return queryset.filter(Q(name__icontains=value) | Exists(domains))


class ContactFilter(django_filters.FilterSet):
    account = django_filters.NumberFilter(field_name="account_id", help_text="Account id.")
    buying_role = django_filters.ChoiceFilter(choices=BuyingRole.choices)
    email = django_filters.CharFilter(lookup_expr="iexact")
    search = django_filters.CharFilter(
        method="filter_search", help_text="Part of the email, name or title."
    )

    class Meta:
        model = Contact
        fields = ["account", "buying_role", "email", "search"]

    def filter_search(self, queryset, name, value):
        return queryset.filter(
            Q(email__icontains=value) | Q(name__icontains=value) | Q(title__icontains=value)
        )


class DealFilter(django_filters.FilterSet):
    account = django_filters.NumberFilter(field_name="account_id", help_text="Account id.")
    status = django_filters.ChoiceFilter(choices=DealStatus.choices)
    kind = django_filters.ChoiceFilter(choices=DealKind.choices)
    partner = django_filters.NumberFilter(field_name="partner_id", help_text="Partner id.")
    partner_influence = django_filters.ChoiceFilter(choices=PartnerInfluence.choices)

    class Meta:
        model = Deal
        fields = ["account", "status", "kind", "partner", "partner_influence"]

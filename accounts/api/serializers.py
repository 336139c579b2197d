"""Input and output serializers of the account graph API.

Input serializers only parse and type-check a write body (unknown keys are refused);
the rules (unique domains and identifiers, no hierarchy cycles, ...) live in
`accounts.services`, whose `ValidationError`s become 400s with field errors.
Output serializers present what the selectors fetched, without further queries.
"""

from rest_framework import serializers

from abx_site.common.api.serializers import InputSerializer

from ..choices import (
    BuyingRole,
    DealKind,
    DealStage,
    DealStatus,
    Department,
    IdentifierSystem,
    PartnerInfluence,
    Seniority,
    Stage,
    TierSource,
)
from ..models import Account, ArrChange, Contact, Deal, Partner, Tier

MONEY = {"max_digits": 16, "decimal_places": 2}


# Accounts -----------------------------------------------------------------------------


class TierOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = Tier
        fields = ["id", "name", "rank", "treatment"]


class TeamMemberOutputSerializer(serializers.Serializer):
    role = serializers.CharField()
    user = serializers.IntegerField(source="user_id")
    username = serializers.CharField(source="user.username")


class IdentifierSerializer(serializers.Serializer):
    system = serializers.ChoiceField(choices=IdentifierSystem.choices)
    external_id = serializers.CharField(max_length=255)


class IdentifierInputSerializer(InputSerializer, IdentifierSerializer):
    pass


class AccountOutputSerializer(serializers.ModelSerializer):
    domain = serializers.CharField(
        source="primary_domain", allow_null=True, help_text="The primary domain."
    )
    domains = serializers.SlugRelatedField(
        many=True, read_only=True, slug_field="domain", help_text="Every domain, primary first."
    )
    identifiers = IdentifierSerializer(many=True, read_only=True)
    tier = TierOutputSerializer(allow_null=True)
    current_arr = serializers.DecimalField(
        source="arr", **MONEY, help_text="ARR today: the last ARR change on or before today."
    )
    team = TeamMemberOutputSerializer(many=True)
    # Text, not a URL, in the schema: an account without a website answers "".
    website = serializers.CharField(read_only=True)

    class Meta:
        model = Account
        fields = [
            "id",
            "name",
            "domain",
            "domains",
            "identifiers",
            "website",
            "industry",
            "employee_count",
            "annual_revenue",
            "country",
            "stage",
            "tier",
            "tier_source",
            "parent",
            "partner",
            "renewal_date",
            "current_arr",
            "do_not_contact",
            "merged_into",
            "team",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class AccountUpdateInputSerializer(InputSerializer):
    """The fields a person may set on an account; omitted fields keep their value."""

    name = serializers.CharField(max_length=255)
    domain = serializers.CharField(
        max_length=2048,
        required=False,
        allow_blank=True,
        help_text="Primary domain or URL, stored as the registrable domain (acme.com).",
    )
    website = serializers.URLField(required=False, allow_blank=True)
    industry = serializers.CharField(max_length=100, required=False, allow_blank=True)
    employee_count = serializers.IntegerField(required=False, allow_null=True, min_value=0)
    annual_revenue = serializers.DecimalField(**MONEY, required=False, allow_null=True, min_value=0)
    country = serializers.CharField(
        max_length=2, required=False, allow_blank=True, help_text="ISO 3166-1 alpha-2 code."
    )
    stage = serializers.ChoiceField(choices=Stage.choices, required=False)
    tier = serializers.PrimaryKeyRelatedField(
        queryset=Tier.objects.all(), required=False, allow_null=True
    )
    tier_source = serializers.ChoiceField(choices=TierSource.choices, required=False)
    parent = serializers.PrimaryKeyRelatedField(
        queryset=Account.objects.all(), required=False, allow_null=True
    )
    partner = serializers.PrimaryKeyRelatedField(
        queryset=Partner.objects.all(), required=False, allow_null=True
    )
    renewal_date = serializers.DateField(required=False, allow_null=True)
    do_not_contact = serializers.BooleanField(required=False)


class AccountCreateInputSerializer(AccountUpdateInputSerializer):
    """A new account with its domains and identifiers, created all or nothing."""

    domains = serializers.ListField(
        child=serializers.CharField(max_length=2048),
        required=False,
        help_text="Further domains the account owns (aliases, brands, regions).",
    )
    identifiers = IdentifierInputSerializer(many=True, required=False)


# Contacts -----------------------------------------------------------------------------


class ContactOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = Contact
        fields = [
            "id",
            "account",
            "email",
            "name",
            "title",
            "seniority",
            "department",
            "buying_role",
            "do_not_contact",
            "first_seen_at",
            "last_engaged_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class ContactInputSerializer(InputSerializer):
    account = serializers.PrimaryKeyRelatedField(queryset=Account.objects.all())
    email = serializers.EmailField(max_length=254)
    name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    title = serializers.CharField(max_length=200, required=False, allow_blank=True)
    seniority = serializers.ChoiceField(choices=Seniority.choices, required=False, allow_blank=True)
    department = serializers.ChoiceField(
        choices=Department.choices, required=False, allow_blank=True
    )
    buying_role = serializers.ChoiceField(
        choices=BuyingRole.choices,
        required=False,
        help_text="Left `unknown`, persona rules fill it from the title.",
    )
    do_not_contact = serializers.BooleanField(required=False)
    first_seen_at = serializers.DateTimeField(required=False, allow_null=True)
    last_engaged_at = serializers.DateTimeField(required=False, allow_null=True)


# Deals and ARR ------------------------------------------------------------------------


class DealOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = Deal
        fields = [
            "id",
            "account",
            "name",
            "external_id",
            "kind",
            "stage",
            "status",
            "amount",
            "currency",
            "created_date",
            "close_date",
            "partner_influence",
            "partner",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class DealInputSerializer(InputSerializer):
    account = serializers.PrimaryKeyRelatedField(queryset=Account.objects.all())
    name = serializers.CharField(max_length=255)
    external_id = serializers.CharField(
        max_length=255, required=False, allow_null=True, help_text="The deal's id in the CRM."
    )
    kind = serializers.ChoiceField(choices=DealKind.choices)
    stage = serializers.ChoiceField(choices=DealStage.choices, required=False)
    status = serializers.ChoiceField(choices=DealStatus.choices, required=False)
    amount = serializers.DecimalField(**MONEY, min_value=0)
    currency = serializers.CharField(max_length=3, required=False)
    created_date = serializers.DateField()
    close_date = serializers.DateField(required=False, allow_null=True)
    partner_influence = serializers.ChoiceField(choices=PartnerInfluence.choices, required=False)
    partner = serializers.PrimaryKeyRelatedField(
        queryset=Partner.objects.all(), required=False, allow_null=True
    )


class ArrChangeOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = ArrChange
        fields = ["id", "account", "effective_date", "arr", "note", "created_at"]
        read_only_fields = fields


class ArrChangeInputSerializer(InputSerializer):
    effective_date = serializers.DateField(
        help_text="The ARR holds from this date on; a change on the same date is replaced."
    )
    arr = serializers.DecimalField(**MONEY, min_value=0)
    note = serializers.CharField(max_length=255, required=False, allow_blank=True)

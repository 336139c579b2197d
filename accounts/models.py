import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models.functions import Lower
from simple_history.models import HistoricalRecords

from .choices import (
    AccountEventKind,
    BuyingRole,
    DealKind,
    DealStage,
    DealStatus,
    Department,
    IdentifierSystem,
    IdentityMethod,
    PartnerInfluence,
    PartnerKind,
    Seniority,
    Stage,
    TeamRole,
    TierSource,
    Treatment,
)
from .querysets import AccountQuerySet, ContactQuerySet

MONEY = {"max_digits": 16, "decimal_places": 2}


class NaturalKeyManager(models.Manager):
    """`get_by_natural_key` on the model's unique `natural_key_field` (CSV import/export)."""

    def get_by_natural_key(self, key):
        return self.get(**{self.model.natural_key_field: key})


class Tier(models.Model):
    """A named account tier: rank 1 is the highest; treatment says how it is worked."""

    name = models.CharField(max_length=50, unique=True)
    rank = models.PositiveSmallIntegerField(
        unique=True,
        # The check constraint below holds in the database; the validator names the field.
        validators=[MinValueValidator(1)],
        help_text="1 is the highest tier.",
    )
    treatment = models.CharField(max_length=20, choices=Treatment.choices)
    required_roles = models.JSONField(
        default=list,
        blank=True,
        help_text="Buying roles a complete buying committee covers at this tier.",
    )
    description = models.TextField(blank=True)

    history = HistoricalRecords()
    natural_key_field = "name"
    objects = NaturalKeyManager()

    class Meta:
        ordering = ["rank"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(rank__gte=1),
                name="%(app_label)s_%(class)s_rank_positive",
                violation_error_message="Rank starts at 1.",
            ),
        ]

    def __str__(self):
        return self.name

    def natural_key(self):
        return (self.name,)

    def clean(self):
        roles = self.required_roles
        if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
            raise ValidationError({"required_roles": "Give a list of buying roles."})
        unknown = sorted(set(roles) - (set(BuyingRole.values) - {BuyingRole.UNKNOWN}))
        if unknown:
            raise ValidationError({"required_roles": f"Not a buying role: {', '.join(unknown)}."})


class Partner(models.Model):
    """A reseller, referral, technology or services partner."""

    name = models.CharField(max_length=200, unique=True)
    kind = models.CharField(max_length=20, choices=PartnerKind.choices)
    website = models.URLField(blank=True)

    natural_key_field = "name"
    objects = NaturalKeyManager()

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    def natural_key(self):
        return (self.name,)


class Account(models.Model):
    """A customer or prospect company: the unit everything rolls up to."""

    name = models.CharField(max_length=255)
    website = models.URLField(blank=True)
    industry = models.CharField(max_length=100, blank=True)
    employee_count = models.PositiveIntegerField(null=True, blank=True)
    annual_revenue = models.DecimalField(
        **MONEY, null=True, blank=True, validators=[MinValueValidator(0)]
    )
    country = models.CharField(
        max_length=2, blank=True, help_text="ISO 3166-1 alpha-2 code, e.g. US, DE."
    )
    stage = models.CharField(max_length=20, choices=Stage.choices, default=Stage.PROSPECT)
    tier = models.ForeignKey(
        Tier, null=True, blank=True, on_delete=models.PROTECT, related_name="accounts"
    )
    tier_source = models.CharField(
        max_length=10,
        choices=TierSource.choices,
        default=TierSource.MANUAL,
        help_text="Rules and playbook steps never overwrite a manual tier.",
    )
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    partner = models.ForeignKey(
        Partner, null=True, blank=True, on_delete=models.SET_NULL, related_name="accounts"
    )
    renewal_date = models.DateField(null=True, blank=True)
    merged_into = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="merged_accounts",
        help_text="Set when this account was merged into another; it resolves to that one.",
    )
    do_not_contact = models.BooleanField(default=False)
    name_key = models.CharField(
        max_length=255,
        blank=True,
        editable=False,
        help_text="The name as identity resolution compares it: no legal suffix, accent, "
        "case or punctuation, words in order. Kept by save().",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = AccountQuerySet.as_manager()

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(parent=models.F("id")),
                name="%(app_label)s_%(class)s_not_own_parent",
                violation_error_message="An account cannot be its own parent.",
            ),
            models.CheckConstraint(
                condition=~models.Q(merged_into=models.F("id")),
                name="%(app_label)s_%(class)s_not_merged_into_self",
                violation_error_message="An account cannot be merged into itself.",
            ),
        ]
        indexes = [
            # The account list's default order and name search prefix.
            models.Index(Lower("name"), name="accounts_account_lname_idx"),
            # Filters of the account list and scoreboards.
            models.Index(fields=["stage", "tier"], name="accounts_account_stage_tier"),
        ]

    def __str__(self):
        return self.name

    def save(self, *args, **kwargs):
        # The fuzzy name step compares every candidate account's cleaned name: cleaning
        # thousands of names per batch would cost more than the comparison.
        from .identity import name_key

        self.name_key = name_key(self.name)
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "name" in update_fields:
            kwargs["update_fields"] = {*update_fields, "name_key"}
        super().save(*args, **kwargs)

    def get_absolute_url(self):
        # The account page; the admin shows it as "View on site".
        from django.urls import reverse

        return reverse("pages:account-detail", args=[self.pk])

    def clean(self):
        if self.country:
            self.country = self.country.upper()
            if not re.fullmatch(r"[A-Z]{2}", self.country):
                raise ValidationError({"country": "Use a two-letter ISO country code."})
        if self.parent_id is not None:
            from .services import hierarchy_cycle_error

            error = hierarchy_cycle_error(account=self, parent_id=self.parent_id)
            if error:
                raise ValidationError({"parent": error})


class AccountDomain(models.Model):
    """A registrable domain an account owns (aliases, brands, regions); one is primary."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="domains")
    domain = models.CharField(
        max_length=253, unique=True, help_text="Registrable domain, e.g. acme.co.uk."
    )
    is_primary = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-is_primary", "domain"]
        constraints = [
            models.UniqueConstraint(
                fields=["account"],
                condition=models.Q(is_primary=True),
                name="%(app_label)s_%(class)s_one_primary",
                violation_error_message="An account has one primary domain.",
            ),
        ]

    def __str__(self):
        return self.domain

    def clean(self):
        from .domains import registrable_domain

        if self.domain:
            try:
                self.domain = registrable_domain(self.domain)
            except ValueError as exc:
                raise ValidationError({"domain": str(exc)}) from None


class AccountIdentifier(models.Model):
    """An account's id in another system: CRM, billing, product, support, ..."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="identifiers")
    system = models.CharField(max_length=20, choices=IdentifierSystem.choices)
    external_id = models.CharField(max_length=255)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["system", "external_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["system", "external_id"],
                name="%(app_label)s_%(class)s_unique_per_system",
                violation_error_message="This identifier already belongs to an account.",
            ),
        ]

    def __str__(self):
        return f"{self.system}:{self.external_id}"


class AccountAlias(models.Model):
    """Another name an account goes by (a brand, an old name, a reviewer's decision).

    Identity resolution matches a company name equal to an alias, once both are
    normalised (legal suffix, case, accents and punctuation removed), with full
    confidence, before any fuzzy comparison.
    """

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="aliases")
    name = models.CharField(max_length=255, help_text="The name as written.")
    normalised = models.CharField(
        max_length=255, unique=True, editable=False, help_text="What resolution compares."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "account aliases"
        ordering = ["normalised"]

    def __str__(self):
        return self.name

    def clean(self):
        from .identity import clean_company_name

        self.normalised = clean_company_name(self.name)
        if not self.normalised:
            raise ValidationError({"name": "Give a name with at least one letter or digit."})


class IpRange(models.Model):
    """An IP range (IPv4 or IPv6) that belongs to an account (reverse-IP data).

    Bounds are stored as 32-digit hexadecimal strings of the IPv6 address space (IPv4
    mapped into `::ffff:0:0/96`), so that one string comparison orders both families
    and an index on `start` serves lookups.
    """

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="ip_ranges")
    start = models.CharField(max_length=32, editable=False)
    end = models.CharField(max_length=32, editable=False)
    network = models.CharField(
        max_length=100, help_text="A CIDR network (203.0.113.0/24) or a range: start-end."
    )
    provider = models.CharField(max_length=100, blank=True, help_text="Where the range came from.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["start"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(start__lte=models.F("end")),
                name="%(app_label)s_%(class)s_start_before_end",
            ),
            models.UniqueConstraint(
                fields=["start", "end"],
                name="%(app_label)s_%(class)s_unique_range",
                violation_error_message="This IP range is already assigned.",
            ),
        ]

    def __str__(self):
        return self.network

    def clean(self):
        from .domains import parse_ip_range

        try:
            self.start, self.end, self.network = parse_ip_range(self.network)
        except ValueError as exc:
            raise ValidationError({"network": str(exc)}) from None


class Contact(models.Model):
    """A person at an account, with their role in the buying committee."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="contacts")
    email = models.EmailField(max_length=254)
    name = models.CharField(max_length=200, blank=True)
    title = models.CharField(max_length=200, blank=True)
    seniority = models.CharField(max_length=20, choices=Seniority.choices, blank=True)
    department = models.CharField(max_length=20, choices=Department.choices, blank=True)
    buying_role = models.CharField(
        max_length=30, choices=BuyingRole.choices, default=BuyingRole.UNKNOWN
    )
    do_not_contact = models.BooleanField(default=False)
    first_seen_at = models.DateTimeField(null=True, blank=True)
    last_engaged_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    natural_key_field = "email"
    objects = ContactQuerySet.as_manager()

    class Meta:
        ordering = ["email"]
        constraints = [
            models.UniqueConstraint(
                fields=["email"],
                name="%(app_label)s_%(class)s_unique_email",
                violation_error_message="A contact with this email already exists.",
                # "unique" files the error under the email field, not the whole form.
                violation_error_code="unique",
            ),
            models.CheckConstraint(
                condition=models.Q(email=Lower("email")),
                name="%(app_label)s_%(class)s_email_lowercase",
                violation_error_message="Emails are stored in lower case.",
            ),
        ]
        indexes = [
            # The buying-committee map of one account, by role.
            models.Index(fields=["account", "buying_role"], name="accounts_contact_acct_role"),
        ]

    def __str__(self):
        return self.name or self.email

    def natural_key(self):
        return (self.email,)

    def clean(self):
        self.email = (self.email or "").strip().lower()


class PersonaRule(models.Model):
    """Title pattern -> buying role, seniority, department, for contacts whose role is unknown."""

    name = models.CharField(max_length=100, unique=True)
    title_pattern = models.CharField(
        max_length=300,
        help_text="A regular expression matched anywhere in the title, ignoring case, "
        r"e.g. \b(vp|vice president)\b.",
    )
    buying_role = models.CharField(max_length=30, choices=BuyingRole.choices)
    seniority = models.CharField(max_length=20, choices=Seniority.choices, blank=True)
    department = models.CharField(max_length=20, choices=Department.choices, blank=True)
    priority = models.PositiveSmallIntegerField(
        default=100, help_text="Rules are tried in this order; the first match wins."
    )
    is_active = models.BooleanField(default=True)

    history = HistoricalRecords()
    natural_key_field = "name"
    objects = NaturalKeyManager()

    class Meta:
        ordering = ["priority", "name"]

    def __str__(self):
        return self.name

    def natural_key(self):
        return (self.name,)

    def clean(self):
        try:
            re.compile(self.title_pattern, re.IGNORECASE)
        except re.error as exc:
            raise ValidationError(
                {"title_pattern": f"Not a valid regular expression: {exc}."}
            ) from None


class AccountTeamMember(models.Model):
    """The staff user who holds a role (AE, SDR, CSM, partner manager) on an account."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="team")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="account_roles"
    )
    role = models.CharField(max_length=20, choices=TeamRole.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["account", "role"]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "role"],
                name="%(app_label)s_%(class)s_one_per_role",
                violation_error_message="This account already has someone in this role.",
            ),
        ]
        indexes = [
            # "My accounts": the accounts a user holds a role on.
            models.Index(fields=["user", "role"], name="accounts_team_user_role"),
        ]

    def __str__(self):
        return f"{self.get_role_display()}: {self.user}"


class Deal(models.Model):
    """An opportunity: new business, expansion or renewal."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="deals")
    name = models.CharField(max_length=255)
    external_id = models.CharField(
        max_length=255, null=True, blank=True, unique=True, help_text="The deal's id in the CRM."
    )
    kind = models.CharField(max_length=20, choices=DealKind.choices)
    stage = models.CharField(
        max_length=20, choices=DealStage.choices, default=DealStage.QUALIFICATION
    )
    status = models.CharField(max_length=10, choices=DealStatus.choices, default=DealStatus.OPEN)
    amount = models.DecimalField(**MONEY, validators=[MinValueValidator(0)])
    currency = models.CharField(max_length=3, default="USD")
    created_date = models.DateField()
    close_date = models.DateField(null=True, blank=True)
    partner_influence = models.CharField(
        max_length=12, choices=PartnerInfluence.choices, default=PartnerInfluence.NONE
    )
    partner = models.ForeignKey(
        Partner, null=True, blank=True, on_delete=models.PROTECT, related_name="deals"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    natural_key_field = "external_id"
    objects = NaturalKeyManager()

    class Meta:
        ordering = ["-created_date", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(amount__gte=0),
                name="%(app_label)s_%(class)s_amount_not_negative",
                violation_error_message="A deal amount cannot be negative.",
            ),
            models.CheckConstraint(
                condition=models.Q(partner_influence=PartnerInfluence.NONE)
                | models.Q(partner__isnull=False),
                name="%(app_label)s_%(class)s_influence_has_partner",
                violation_error_message="A partner-influenced or sourced deal names its partner.",
            ),
            models.CheckConstraint(
                condition=models.Q(status=DealStatus.OPEN) | models.Q(close_date__isnull=False),
                name="%(app_label)s_%(class)s_closed_has_close_date",
                violation_error_message="A won or lost deal has a close date.",
            ),
        ]
        indexes = [
            # Pipeline and won sums per account by status and kind.
            models.Index(fields=["account", "status", "kind"], name="accounts_deal_acct_status"),
            # Won deals in a period (revenue metrics).
            models.Index(fields=["status", "close_date"], name="accounts_deal_status_close"),
        ]

    def __str__(self):
        return self.name

    def natural_key(self):
        return (self.external_id,)

    def clean(self):
        if self.currency != settings.ABX_CURRENCY:
            raise ValidationError(
                {"currency": f"This installation counts money in {settings.ABX_CURRENCY} only."}
            )


class ArrChange(models.Model):
    """An account's ARR from a date on; ARR on a date is the last change on or before it."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="arr_changes")
    effective_date = models.DateField()
    arr = models.DecimalField(**MONEY, validators=[MinValueValidator(0)])
    note = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["account", "-effective_date"]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "effective_date"],
                name="%(app_label)s_%(class)s_one_per_day",
                violation_error_message="This account already has an ARR change on this date.",
            ),
            models.CheckConstraint(
                condition=models.Q(arr__gte=0),
                name="%(app_label)s_%(class)s_arr_not_negative",
                violation_error_message="ARR cannot be negative.",
            ),
        ]
        # The unique constraint's index, (account, effective_date), serves "ARR on a date".

    def __str__(self):
        return f"{self.account_id} {self.effective_date}: {self.arr}"


class AccountEvent(models.Model):
    """A change in the account's own history: stage, tier, owner, parent, merge."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=20, choices=AccountEventKind.choices)
    old_value = models.CharField(max_length=255, blank=True)
    new_value = models.CharField(max_length=255, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    actor_label = models.CharField(
        max_length=255, blank=True, help_text="The rule, step or integration that made it."
    )
    occurred_at = models.DateTimeField(db_index=False)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        indexes = [
            # The account timeline, newest first.
            models.Index(fields=["account", "-occurred_at"], name="accounts_event_acct_time"),
            # The stage funnel: stage changes in a period.
            models.Index(fields=["kind", "occurred_at"], name="accounts_event_kind_time"),
        ]

    def __str__(self):
        return f"{self.get_kind_display()}: {self.old_value} -> {self.new_value}"


class IdentityStep(models.Model):
    """One step of identity resolution: its place in the order, on/off, fuzzy settings.

    RevOps reorders, disables and tunes the steps in the admin; resolution reads them
    once per batch. `unmatched` marks the end: steps placed after it do not run.
    """

    key = models.CharField(max_length=20, choices=IdentityMethod.choices, unique=True)
    position = models.PositiveSmallIntegerField(help_text="Steps run in this order.")
    enabled = models.BooleanField(default=True)
    threshold = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        help_text="Fuzzy name step: the lowest score (0-100) that can match.",
    )
    margin = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        help_text="Fuzzy name step: how far the best candidate must beat the next one.",
    )

    history = HistoricalRecords()

    class Meta:
        ordering = ["position", "key"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(threshold__isnull=True) | models.Q(threshold__lte=100),
                name="%(app_label)s_%(class)s_threshold_max_100",
                violation_error_message="Scores run from 0 to 100.",
            ),
            models.CheckConstraint(
                condition=models.Q(margin__isnull=True) | models.Q(margin__lte=100),
                name="%(app_label)s_%(class)s_margin_max_100",
                violation_error_message="Scores run from 0 to 100.",
            ),
        ]

    def __str__(self):
        return self.get_key_display()

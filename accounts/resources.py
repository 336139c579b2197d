"""CSV import/export of the account graph (django-import-export), keyed by natural keys.

Rows name related records the way people do in spreadsheets: an account by one of its
domains (or, failing that, its exact name), a tier, partner or persona rule by name, a
contact by email. Every row is validated with the model's `full_clean`, and rows that
create or change accounts, contacts, deals and ARR are written through the services, so
an import records the same events and applies the same rules as the admin and the API.
"""

from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db import models
from django.db.models import OuterRef, Subquery
from import_export import fields, resources, widgets

from . import services
from .choices import BuyingRole
from .domains import registrable_domain
from .models import (
    Account,
    AccountDomain,
    ArrChange,
    Contact,
    Deal,
    Partner,
    PersonaRule,
    Tier,
)


def account_natural_key(account: Account | None, primary_domain: str | None = None) -> str:
    """How a CSV names an account: its primary domain, else its name."""
    if account is None:
        return ""
    if primary_domain is None:
        primary_domain = (
            AccountDomain.objects.filter(account=account, is_primary=True)
            .values_list("domain", flat=True)
            .first()
        )
    return primary_domain or account.name


def account_from_natural_key(value: str) -> Account:
    """The account a CSV cell names: by any of its domains first, then by its exact name."""
    value = (value or "").strip()
    try:
        domain = registrable_domain(value)
    except ValueError:
        domain = None
    if domain:
        owned = AccountDomain.objects.filter(domain=domain).select_related("account").first()
        if owned:
            return owned.account
    named = list(Account.objects.active().filter(name__iexact=value)[:2])
    if len(named) == 1:
        return named[0]
    if named:
        raise ValueError(f"Several accounts are named '{value}': name it by its domain.")
    raise ValueError(f"No account has the domain or name '{value}'.")


def primary_domain_subquery(account_ref: str):
    return Subquery(
        AccountDomain.objects.filter(account=OuterRef(account_ref), is_primary=True).values(
            "domain"
        )[:1]
    )


class AccountWidget(widgets.ForeignKeyWidget):
    """An account named by domain or name (see `account_from_natural_key`)."""

    def __init__(self, **kwargs):
        super().__init__(Account, **kwargs)

    def clean(self, value, row=None, **kwargs):
        if not (value or "").strip():
            return None
        return account_from_natural_key(value)


class NameWidget(widgets.ForeignKeyWidget):
    """A related record named by its unique name, with a clear error when there is none."""

    def __init__(self, model, **kwargs):
        super().__init__(model, field="name", **kwargs)

    def clean(self, value, row=None, **kwargs):
        value = (value or "").strip()
        if not value:
            return None
        found = self.model.objects.filter(name__iexact=value).first()
        if found is None:
            raise ValueError(f"No {self.model._meta.verbose_name} is named '{value}'.")
        return found


class ListWidget(widgets.Widget):
    """A list of codes in one cell, separated by commas: `decision_maker,champion`."""

    def clean(self, value, row=None, **kwargs):
        return [part.strip() for part in str(value or "").split(",") if part.strip()]

    def render(self, value, obj=None, **kwargs):
        return ",".join(value or [])


class NullableCharWidget(widgets.CharWidget):
    """An optional unique code: an empty cell is "none", not the empty string."""

    def clean(self, value, row=None, **kwargs):
        value = super().clean(value, row, **kwargs)
        return value.strip() or None if isinstance(value, str) else value


# A cell naming a related record (a domain, a name) is never longer than this.
MAX_KEY_LENGTH = 255


class CheckedResource(resources.ModelResource):
    """Refuses the cells no column could hold before anything reads them, with the
    column named: a NUL character (PostgreSQL cannot store one, and no person typed
    it) and text longer than the field (or, for a related record's key, than any name
    or domain), which would otherwise reach lookups first. A cell that is not a number
    where one is expected is reported as such, not as a decimal module exception."""

    def before_import_row(self, row, **kwargs):
        errors = {}
        for field in self.get_import_fields():
            value = row.get(field.column_name)
            if not isinstance(value, str):
                continue
            limit = self._max_length(field)
            if "\x00" in value:
                errors[field.column_name] = "Null characters are not allowed."
            elif limit is not None and len(value.strip()) > limit:
                errors[field.column_name] = (
                    f"Ensure this value has at most {limit} characters "
                    f"(it has {len(value.strip())})."
                )
        if errors:
            raise ValidationError(errors)
        super().before_import_row(row, **kwargs)

    def _max_length(self, field) -> int | None:
        model = self._meta.model
        try:
            model_field = model._meta.get_field(field.attribute or field.column_name)
        except FieldDoesNotExist:
            return MAX_KEY_LENGTH
        if model_field.is_relation:
            return MAX_KEY_LENGTH
        if isinstance(model_field, models.CharField):
            return model_field.max_length
        return None

    def import_field(self, field, instance, row, is_m2m=False, **kwargs):
        try:
            super().import_field(field, instance, row, is_m2m, **kwargs)
        except ArithmeticError:
            # Decimal("many") raises InvalidOperation, which is no ValueError.
            raise ValueError(f"'{row.get(field.column_name)}' is not a number.") from None


class ServiceResource(CheckedResource):
    """Writes each validated row through a service instead of `Model.save()`."""

    def editable_values(self, instance, allowed: set[str]) -> dict:
        imported = {field.attribute for field in self.get_import_fields() if field.attribute}
        return {name: getattr(instance, name) for name in sorted(imported & allowed)}

    def save_instance(self, instance, is_create, row, **kwargs):
        self.before_save_instance(instance, row, **kwargs)
        saved = self.write(instance, is_create, actor=kwargs.get("user"))
        # import-export reports the row by the instance it built: give it the saved id.
        instance.pk = saved.pk
        instance._state.adding = False
        self.after_save_instance(instance, row, **kwargs)

    def write(self, instance, is_create, *, actor):
        raise NotImplementedError


class NamedResource(CheckedResource):
    """A record keyed by its unique name, matched as people type it (any case)."""

    def get_instance(self, instance_loader, row):
        name = (row.get("name") or "").strip()
        return self._meta.model.objects.filter(name__iexact=name).first() if name else None


class TierResource(NamedResource):
    required_roles = fields.Field(
        attribute="required_roles", column_name="required_roles", widget=ListWidget()
    )

    class Meta:
        model = Tier
        fields = ["name", "rank", "treatment", "required_roles", "description"]
        import_id_fields = ["name"]
        clean_model_instances = True
        skip_unchanged = True
        report_skipped = False


class PartnerResource(NamedResource):
    class Meta:
        model = Partner
        fields = ["name", "kind", "website"]
        import_id_fields = ["name"]
        clean_model_instances = True
        skip_unchanged = True
        report_skipped = False


class PersonaRuleResource(NamedResource):
    class Meta:
        model = PersonaRule
        fields = [
            "name",
            "title_pattern",
            "buying_role",
            "seniority",
            "department",
            "priority",
            "is_active",
        ]
        import_id_fields = ["name"]
        clean_model_instances = True
        skip_unchanged = True
        report_skipped = False


class AccountResource(ServiceResource):
    """Accounts keyed by primary domain (or exact name when the row has no domain)."""

    domain = fields.Field(column_name="domain")
    tier = fields.Field(attribute="tier", column_name="tier", widget=NameWidget(Tier))
    partner = fields.Field(attribute="partner", column_name="partner", widget=NameWidget(Partner))
    parent = fields.Field(attribute="parent", column_name="parent", widget=AccountWidget())

    class Meta:
        model = Account
        fields = [
            "domain",
            "name",
            "website",
            "industry",
            "employee_count",
            "annual_revenue",
            "country",
            "stage",
            "tier",
            "parent",
            "partner",
            "renewal_date",
            "do_not_contact",
        ]
        import_id_fields = ["domain"]
        clean_model_instances = True

    def get_queryset(self):
        return (
            Account.objects.select_related("tier", "partner", "parent")
            .annotate(primary_domain=primary_domain_subquery("pk"))
            .annotate(parent_domain=primary_domain_subquery("parent"))
        )

    def get_instance(self, instance_loader, row):
        key = (row.get("domain") or row.get("name") or "").strip()
        if not key:
            return None
        try:
            return account_from_natural_key(key)
        except ValueError:
            return None

    def dehydrate_domain(self, account):
        return getattr(account, "primary_domain", None) or ""

    def dehydrate_parent(self, account):
        return account_natural_key(account.parent, getattr(account, "parent_domain", None))

    def write(self, instance, is_create, *, actor):
        values = self.editable_values(instance, services.ACCOUNT_EDITABLE_FIELDS)
        domain = (self.current_row.get("domain") or "").strip()
        if is_create:
            values.pop("name", None)
            return services.account_create(name=instance.name, domain=domain, actor=actor, **values)
        if domain:
            values["domain"] = domain
        return services.account_update(account=instance, data=values, actor=actor)

    def import_row(self, row, instance_loader, **kwargs):
        # `write` needs the row's domain, which is no model field.
        self.current_row = row
        return super().import_row(row, instance_loader, **kwargs)


class ContactResource(ServiceResource):
    account = fields.Field(attribute="account", column_name="account", widget=AccountWidget())

    class Meta:
        model = Contact
        fields = [
            "email",
            "account",
            "name",
            "title",
            "seniority",
            "department",
            "buying_role",
            "do_not_contact",
        ]
        import_id_fields = ["email"]
        clean_model_instances = True

    def get_queryset(self):
        return Contact.objects.select_related("account").annotate(
            account_domain=primary_domain_subquery("account")
        )

    def get_instance(self, instance_loader, row):
        email = (row.get("email") or "").strip().lower()
        return Contact.objects.filter(email=email).first() if email else None

    def before_import_row(self, row, **kwargs):
        super().before_import_row(row, **kwargs)
        if row.get("email"):
            row["email"] = row["email"].strip().lower()
        if "buying_role" in row and not (row["buying_role"] or "").strip():
            # A blank role is "unknown", which persona rules may then fill.
            row["buying_role"] = BuyingRole.UNKNOWN

    def dehydrate_account(self, contact):
        return account_natural_key(contact.account, getattr(contact, "account_domain", None))

    def write(self, instance, is_create, *, actor):
        values = self.editable_values(instance, services.CONTACT_EDITABLE_FIELDS)
        if is_create:
            values.pop("email", None)
            account = values.pop("account")
            return services.contact_create(account=account, email=instance.email, **values)
        return services.contact_update(contact=instance, data=values)


class DealResource(ServiceResource):
    """Deals keyed by their CRM id when they have one; rows without one are new deals."""

    external_id = fields.Field(
        attribute="external_id", column_name="external_id", widget=NullableCharWidget()
    )
    account = fields.Field(attribute="account", column_name="account", widget=AccountWidget())
    partner = fields.Field(attribute="partner", column_name="partner", widget=NameWidget(Partner))

    class Meta:
        model = Deal
        fields = [
            "external_id",
            "account",
            "name",
            "kind",
            "stage",
            "status",
            "amount",
            "currency",
            "created_date",
            "close_date",
            "partner_influence",
            "partner",
        ]
        import_id_fields = ["external_id"]
        clean_model_instances = True

    def get_queryset(self):
        return Deal.objects.select_related("account", "partner").annotate(
            account_domain=primary_domain_subquery("account")
        )

    def get_instance(self, instance_loader, row):
        external_id = (row.get("external_id") or "").strip()
        return Deal.objects.filter(external_id=external_id).first() if external_id else None

    def dehydrate_account(self, deal):
        return account_natural_key(deal.account, getattr(deal, "account_domain", None))

    def write(self, instance, is_create, *, actor):
        values = self.editable_values(instance, services.DEAL_EDITABLE_FIELDS)
        if is_create:
            return services.deal_create(**values)
        return services.deal_update(deal=instance, data=values)


class ArrChangeResource(ServiceResource):
    """ARR history keyed by (account, effective date): a re-imported date replaces it."""

    account = fields.Field(attribute="account", column_name="account", widget=AccountWidget())

    class Meta:
        model = ArrChange
        fields = ["account", "effective_date", "arr", "note"]
        import_id_fields = ["account", "effective_date"]
        clean_model_instances = True

    def get_queryset(self):
        return ArrChange.objects.select_related("account").annotate(
            account_domain=primary_domain_subquery("account")
        )

    def get_instance(self, instance_loader, row):
        try:
            account = self.fields["account"].clean(row)
            effective_date = self.fields["effective_date"].clean(row)
        except (ValueError, ValidationError):
            # The row is reported with the field's error when it is imported.
            return None
        if account is None or effective_date is None:
            return None
        return ArrChange.objects.filter(account=account, effective_date=effective_date).first()

    def dehydrate_account(self, change):
        return account_natural_key(change.account, getattr(change, "account_domain", None))

    def write(self, instance, is_create, *, actor):
        return services.arr_change_record(
            account=instance.account,
            effective_date=instance.effective_date,
            arr=instance.arr,
            note=instance.note,
        )

"""Admin of the account graph: configuration, and calls to services for every write.

Changelists read through the selectors and querysets (primary domain and current ARR
are annotations, owners are prefetched), so a page costs the same number of queries
whatever its length. Saving an account, its inlines, a contact, a deal or a team member
goes through `accounts.services`, so the admin records the same events and applies the
same rules as the API and imports.
"""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models, transaction
from django.db.models import Count
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django_q.tasks import async_task
from simple_history.admin import SimpleHistoryAdmin

from abx_site.common.admin import GuardedImportExportMixin

from . import selectors, services
from .forms import AccountDomainInlineFormSet, TierForm
from .models import (
    Account,
    AccountAlias,
    AccountDomain,
    AccountEvent,
    AccountIdentifier,
    AccountTeamMember,
    ArrChange,
    Contact,
    Deal,
    IpRange,
    Partner,
    PersonaRule,
    Tier,
)
from .resources import (
    AccountResource,
    ArrChangeResource,
    ContactResource,
    DealResource,
    PartnerResource,
    PersonaRuleResource,
    TierResource,
    primary_domain_subquery,
)

# The children an account page lists before linking to the filtered account list.
CHILDREN_SHOWN = 25


def admin_link(obj, label=None):
    if obj is None:
        return "—"
    opts = obj._meta
    url = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])
    return format_html('<a href="{}">{}</a>', url, label if label is not None else obj)


def adopt(obj, saved) -> None:
    """Make the admin's unsaved instance the row a service created.

    The admin keeps using its own instance after `save_model` (inlines hang off it, the
    redirect reads its pk), while services build and return their own.
    """
    for field in obj._meta.concrete_fields:
        setattr(obj, field.attname, getattr(saved, field.attname))
    obj._state.adding = False
    obj._state.db = saved._state.db


def values_of(obj, names) -> dict:
    return {name: getattr(obj, name) for name in names}


def persona_rules_queue(request) -> None:
    # After commit: the task must see the rule change, and no task runs for a rollback.
    transaction.on_commit(lambda: async_task("accounts.tasks.persona_rules_apply_task"))
    messages.info(request, "Persona rules will be applied again to contacts whose role is unknown.")


# Account and its inlines --------------------------------------------------------------


class AccountDomainInline(admin.TabularInline):
    model = AccountDomain
    formset = AccountDomainInlineFormSet
    fields = ["domain", "is_primary"]
    extra = 0


class AccountIdentifierInline(admin.TabularInline):
    model = AccountIdentifier
    fields = ["system", "external_id"]
    extra = 0


class AccountAliasInline(admin.TabularInline):
    model = AccountAlias
    fields = ["name", "normalised"]
    readonly_fields = ["normalised"]
    extra = 0
    classes = ["collapse"]


class AccountTeamMemberInline(admin.TabularInline):
    model = AccountTeamMember
    fields = ["role", "user"]
    autocomplete_fields = ["user"]
    extra = 0
    verbose_name = "team member"
    verbose_name_plural = "team"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("user")


class ContactInline(admin.TabularInline):
    model = Contact
    fields = ["email", "name", "title", "buying_role", "do_not_contact"]
    show_change_link = True
    extra = 0
    classes = ["collapse"]


class DealInline(admin.TabularInline):
    model = Deal
    fields = ["name", "kind", "stage", "status", "amount", "created_date", "close_date"]
    show_change_link = True
    extra = 0
    classes = ["collapse"]


class ArrChangeInline(admin.TabularInline):
    model = ArrChange
    fields = ["effective_date", "arr", "note"]
    extra = 0
    verbose_name = "ARR change"
    verbose_name_plural = "ARR history"


@admin.register(Account)
class AccountAdmin(GuardedImportExportMixin, admin.ModelAdmin):
    resource_classes = [AccountResource]
    list_display = [
        "name",
        "primary_domain",
        "tier",
        "stage",
        "parent_link",
        "current_arr",
        "owners",
        "do_not_contact",
    ]
    list_filter = [
        "stage",
        "tier",
        "tier_source",
        "do_not_contact",
        ("partner", admin.RelatedOnlyFieldListFilter),
        ("merged_into", admin.EmptyFieldListFilter),
    ]
    search_fields = ["name", "domains__domain", "identifiers__external_id"]
    list_select_related = ["tier", "parent"]
    autocomplete_fields = ["parent", "partner"]
    readonly_fields = [
        "ancestors",
        "children_list",
        "current_arr",
        "merged_into_link",
        "created_at",
        "updated_at",
    ]
    fieldsets = [
        (None, {"fields": ["name", "website", "industry", "country"]}),
        ("Size", {"fields": ["employee_count", "annual_revenue"]}),
        (
            "Lifecycle",
            {"fields": ["stage", "tier", "tier_source", "renewal_date", "do_not_contact"]},
        ),
        (
            "Hierarchy and partner",
            {"fields": ["ancestors", "parent", "children_list", "partner", "merged_into_link"]},
        ),
        ("Revenue", {"fields": ["current_arr"]}),
        ("Record", {"fields": ["created_at", "updated_at"], "classes": ["collapse"]}),
    ]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    inlines = [
        AccountDomainInline,
        AccountIdentifierInline,
        AccountAliasInline,
        AccountTeamMemberInline,
        ContactInline,
        DealInline,
        ArrChangeInline,
    ]
    actions = ["mark_do_not_contact", "merge_accounts"]

    def get_queryset(self, request):
        # Merged accounts stay reachable here (filter "merged into"), unlike in lists.
        return selectors.account_list(include_merged=True)

    @admin.display(description="Primary domain", ordering="primary_domain")
    def primary_domain(self, obj):
        return getattr(obj, "primary_domain", None) or "—"

    @admin.display(description="Parent", ordering="parent__name")
    def parent_link(self, obj):
        return admin_link(obj.parent)

    @admin.display(description="Current ARR", ordering="arr")
    def current_arr(self, obj):
        arr = getattr(obj, "arr", None)
        return "—" if arr is None else f"{arr:,.2f}"

    @admin.display(description="Owners")
    def owners(self, obj):
        if obj.pk is None:
            return "—"
        team = sorted(obj.team.all(), key=lambda member: member.role)
        return ", ".join(f"{m.get_role_display()}: {m.user.get_username()}" for m in team) or "—"

    @admin.display(description="Belongs to")
    def ancestors(self, obj):
        """The parent chain up to the top, as a breadcrumb of links."""
        if obj is None or obj.parent_id is None:
            return "—"
        chain, seen, current = [], {obj.pk}, obj.parent_id
        # Bounded like the hierarchy itself; `seen` stops on a loop in legacy data.
        while current is not None and current not in seen and len(chain) < 50:
            seen.add(current)
            row = Account.objects.filter(pk=current).values("pk", "name", "parent_id").first()
            if row is None:
                break
            chain.append(row)
            current = row["parent_id"]
        links = format_html_join(
            mark_safe(" &rsaquo; "),
            '<a href="{}">{}</a>',
            (
                (reverse("admin:accounts_account_change", args=[row["pk"]]), row["name"])
                for row in reversed(chain)
            ),
        )
        return format_html("{} &rsaquo; {}", links, obj.name)

    @admin.display(description="Child accounts")
    def children_list(self, obj):
        if obj is None or obj.pk is None:
            return "—"
        children = list(obj.children.order_by("name")[: CHILDREN_SHOWN + 1])
        if not children:
            return "—"
        shown = children[:CHILDREN_SHOWN]
        links = format_html_join(", ", "{}", ((admin_link(child),) for child in shown))
        if len(children) > CHILDREN_SHOWN:
            url = reverse("admin:accounts_account_changelist") + f"?parent__id__exact={obj.pk}"
            return format_html('{} … <a href="{}">all children</a>', links, url)
        return links

    @admin.display(description="Merged into")
    def merged_into_link(self, obj):
        return admin_link(obj.merged_into) if obj is not None else "—"

    def save_model(self, request, obj, form, change):
        editable = services.ACCOUNT_EDITABLE_FIELDS
        if change:
            data = {f: form.cleaned_data[f] for f in form.changed_data if f in editable}
            services.account_update(account=obj, data=data, actor=request.user)
            return
        fields = {f: v for f, v in form.cleaned_data.items() if f in editable and f != "name"}
        saved = services.account_create(
            name=form.cleaned_data["name"], actor=request.user, **fields
        )
        adopt(obj, saved)

    def save_formset(self, request, form, formset, change):
        writers = {
            AccountDomain: self._save_domains,
            AccountIdentifier: self._save_identifiers,
            AccountAlias: self._save_aliases,
            AccountTeamMember: self._save_team,
            Contact: self._save_contacts,
            Deal: self._save_deals,
            ArrChange: self._save_arr,
        }
        # Fills new_objects / changed_objects / deleted_objects (used for the change
        # message) without writing anything; the writers below do the writes.
        formset.save(commit=False)
        for obj in formset.deleted_objects:
            if formset.model is AccountTeamMember:
                services.account_team_member_set(
                    account=form.instance, role=obj.role, user=None, actor=request.user
                )
            else:
                obj.delete()
        writers[formset.model](request, form.instance, formset)

    def _save_domains(self, request, account, formset):
        # Rows are written non-primary first, then the one marked primary is promoted,
        # so the one-primary constraint holds at every step.
        primary = None
        for obj in formset.new_objects:
            primary = obj.domain if obj.is_primary else primary
            adopt(obj, services.account_domain_add(account=account, domain=obj.domain))
        for obj, _changed in formset.changed_objects:
            primary = obj.domain if obj.is_primary else primary
            obj.is_primary = False
            obj.save()
        if primary:
            services.account_primary_domain_set(account=account, domain=primary)

    def _save_identifiers(self, request, account, formset):
        for obj in formset.new_objects:
            saved = services.account_identifier_add(
                account=account, system=obj.system, external_id=obj.external_id
            )
            adopt(obj, saved)
        for obj, _changed in formset.changed_objects:
            obj.save()

    def _save_aliases(self, request, account, formset):
        for obj in formset.new_objects:
            adopt(obj, services.account_alias_add(account=account, name=obj.name))
        for obj, _changed in formset.changed_objects:
            obj.save()

    def _save_team(self, request, account, formset):
        for obj, changed in formset.changed_objects:
            if "role" in changed:
                old_role = AccountTeamMember.objects.get(pk=obj.pk).role
                services.account_team_member_set(
                    account=account, role=old_role, user=None, actor=request.user
                )
        for obj in [*formset.new_objects, *(o for o, _ in formset.changed_objects)]:
            saved = services.account_team_member_set(
                account=account, role=obj.role, user=obj.user, actor=request.user
            )
            adopt(obj, saved)

    def _save_contacts(self, request, account, formset):
        fields = [f for f in ContactInline.fields if f != "email"]
        for obj in formset.new_objects:
            saved = services.contact_create(
                account=account, email=obj.email, **values_of(obj, fields)
            )
            adopt(obj, saved)
        for obj, changed in formset.changed_objects:
            services.contact_update(contact=obj, data=values_of(obj, changed))

    def _save_deals(self, request, account, formset):
        for obj in formset.new_objects:
            adopt(obj, services.deal_create(account=account, **values_of(obj, DealInline.fields)))
        for obj, changed in formset.changed_objects:
            services.deal_update(deal=obj, data=values_of(obj, changed))

    def _save_arr(self, request, account, formset):
        for obj in formset.new_objects:
            saved = services.arr_change_record(
                account=account, effective_date=obj.effective_date, arr=obj.arr, note=obj.note
            )
            adopt(obj, saved)
        for obj, _changed in formset.changed_objects:
            # A changed date moves the row, which `arr_change_record` (keyed by date)
            # cannot do; the form has validated it against the model already.
            obj.save()

    @admin.action(description="Mark do-not-contact", permissions=["change"])
    def mark_do_not_contact(self, request, queryset):
        # One service call per selected account (a page at most), so the write path is
        # the same as an edit.
        marked = 0
        for account in queryset.filter(do_not_contact=False):
            services.account_update(
                account=account, data={"do_not_contact": True}, actor=request.user
            )
            marked += 1
        self.message_user(request, f"{marked} account(s) marked do-not-contact.", messages.SUCCESS)

    @admin.action(description="Merge selected accounts…", permissions=["change"])
    def merge_accounts(self, request, queryset):
        ids = sorted(queryset.values_list("pk", flat=True))
        if len(ids) < 2:
            self.message_user(request, "Select two accounts or more to merge.", messages.ERROR)
            return None
        return redirect(reverse("admin:accounts_account_merge") + "?ids=" + ",".join(map(str, ids)))

    def get_urls(self):
        return [
            path(
                "merge/",
                self.admin_site.admin_view(self.merge_view),
                name="accounts_account_merge",
            ),
            *super().get_urls(),
        ]

    def merge_view(self, request):
        """Preview (what moves, by kind, for each duplicate) and confirm a merge."""
        if not self.has_change_permission(request):
            raise PermissionDenied
        params = request.POST if request.method == "POST" else request.GET
        try:
            ids = [int(part) for part in params.get("ids", "").split(",") if part]
            survivor_id = int(params.get("survivor") or 0)
        except ValueError:
            raise Http404("Give account ids as numbers.") from None
        accounts = list(selectors.account_list().filter(pk__in=ids).order_by("pk"))
        if len(accounts) < 2:
            self.message_user(request, "Select two live accounts or more.", messages.ERROR)
            return redirect("admin:accounts_account_changelist")
        survivor = next((a for a in accounts if a.pk == survivor_id), accounts[0])
        losers = [a for a in accounts if a.pk != survivor.pk]
        if request.method == "POST":
            try:
                for loser in losers:
                    services.account_merge(loser=loser, survivor=survivor, actor=request.user)
            except ValidationError as exc:
                self.message_user(request, " ".join(exc.messages), messages.ERROR)
            else:
                self.message_user(
                    request,
                    f"{len(losers)} account(s) merged into {survivor}.",
                    messages.SUCCESS,
                )
                return redirect("admin:accounts_account_change", survivor.pk)
        rows = [
            {
                "account": loser,
                "error": services.account_merge_error(loser=loser, survivor=survivor),
                "moves": services.account_merge_preview(loser=loser, survivor=survivor),
            }
            for loser in losers
        ]
        context = {
            **self.admin_site.each_context(request),
            "title": f"Merge into {survivor}",
            "opts": self.model._meta,
            "accounts": accounts,
            "survivor": survivor,
            "rows": rows,
            "ids": ",".join(str(a.pk) for a in accounts),
            "blocked": any(row["error"] for row in rows),
        }
        return TemplateResponse(request, "admin/accounts/account/merge.html", context)


@admin.register(AccountDomain)
class AccountDomainAdmin(admin.ModelAdmin):
    list_display = ["domain", "account_link", "is_primary", "created_at"]
    list_filter = ["is_primary"]
    search_fields = ["domain", "account__name"]
    list_select_related = ["account"]
    autocomplete_fields = ["account"]
    readonly_fields = ["created_at"]

    @admin.display(description="Account", ordering="account__name")
    def account_link(self, obj):
        return admin_link(obj.account)

    def save_model(self, request, obj, form, change):
        if change:
            obj.save()
            if obj.is_primary:
                services.account_primary_domain_set(account=obj.account, domain=obj.domain)
            return
        saved = services.account_domain_add(
            account=obj.account, domain=obj.domain, is_primary=obj.is_primary
        )
        adopt(obj, saved)


@admin.register(AccountIdentifier)
class AccountIdentifierAdmin(admin.ModelAdmin):
    list_display = ["external_id", "system", "account_link", "created_at"]
    list_filter = ["system"]
    search_fields = ["external_id", "account__name"]
    list_select_related = ["account"]
    autocomplete_fields = ["account"]
    readonly_fields = ["created_at"]

    @admin.display(description="Account", ordering="account__name")
    def account_link(self, obj):
        return admin_link(obj.account)

    def save_model(self, request, obj, form, change):
        if change:
            obj.save()
            return
        saved = services.account_identifier_add(
            account=obj.account, system=obj.system, external_id=obj.external_id
        )
        adopt(obj, saved)


@admin.register(AccountAlias)
class AccountAliasAdmin(admin.ModelAdmin):
    """Other names accounts go by; resolution matches them exactly (review decisions add them)."""

    list_display = ["name", "normalised", "account_link", "created_at"]
    search_fields = ["name", "normalised", "account__name"]
    list_select_related = ["account"]
    autocomplete_fields = ["account"]
    readonly_fields = ["normalised", "created_at"]

    @admin.display(description="Account", ordering="account__name")
    def account_link(self, obj):
        return admin_link(obj.account)

    def save_model(self, request, obj, form, change):
        if change:
            obj.save()
            return
        adopt(obj, services.account_alias_add(account=obj.account, name=obj.name))


@admin.register(IpRange)
class IpRangeAdmin(admin.ModelAdmin):
    list_display = ["network", "account_link", "provider", "created_at"]
    list_filter = ["provider"]
    search_fields = ["network", "provider", "account__name"]
    list_select_related = ["account"]
    autocomplete_fields = ["account"]
    readonly_fields = ["created_at"]

    @admin.display(description="Account", ordering="account__name")
    def account_link(self, obj):
        return admin_link(obj.account)


@admin.register(AccountTeamMember)
class AccountTeamMemberAdmin(admin.ModelAdmin):
    list_display = ["account_link", "role", "user", "created_at"]
    list_filter = ["role"]
    search_fields = ["account__name", "user__username", "user__email"]
    list_select_related = ["account", "user"]
    autocomplete_fields = ["account", "user"]
    readonly_fields = ["created_at"]

    @admin.display(description="Account", ordering="account__name")
    def account_link(self, obj):
        return admin_link(obj.account)

    def save_model(self, request, obj, form, change):
        if change and {"account", "role"} & set(form.changed_data):
            before = AccountTeamMember.objects.get(pk=obj.pk)
            services.account_team_member_set(
                account=before.account, role=before.role, user=None, actor=request.user
            )
        saved = services.account_team_member_set(
            account=obj.account, role=obj.role, user=obj.user, actor=request.user
        )
        adopt(obj, saved)

    def delete_model(self, request, obj):
        services.account_team_member_set(
            account=obj.account, role=obj.role, user=None, actor=request.user
        )

    def delete_queryset(self, request, queryset):
        for member in queryset.select_related("account"):
            self.delete_model(request, member)


@admin.register(AccountEvent)
class AccountEventAdmin(admin.ModelAdmin):
    """The account history is written by services only: read-only here."""

    list_display = ["occurred_at", "account_link", "kind", "old_value", "new_value", "by"]
    list_filter = ["kind"]
    search_fields = ["account__name", "old_value", "new_value", "actor_label"]
    list_select_related = ["account", "actor"]
    date_hierarchy = "occurred_at"

    @admin.display(description="Account", ordering="account__name")
    def account_link(self, obj):
        return admin_link(obj.account)

    @admin.display(description="By")
    def by(self, obj):
        return obj.actor.get_username() if obj.actor else obj.actor_label or "—"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


# Configuration (with history) ---------------------------------------------------------


@admin.register(Tier)
class TierAdmin(GuardedImportExportMixin, SimpleHistoryAdmin):
    resource_classes = [TierResource]
    form = TierForm
    list_display = ["rank", "name", "treatment", "roles", "account_count"]
    list_display_links = ["rank", "name"]
    list_filter = ["treatment"]
    search_fields = ["name", "description"]
    ordering = ["rank"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(account_count=Count("accounts"))

    @admin.display(description="Required buying roles")
    def roles(self, obj):
        return ", ".join(obj.required_roles) or "—"

    @admin.display(description="Accounts", ordering="account_count")
    def account_count(self, obj):
        return obj.account_count


@admin.register(PersonaRule)
class PersonaRuleAdmin(GuardedImportExportMixin, SimpleHistoryAdmin):
    resource_classes = [PersonaRuleResource]
    list_display = [
        "priority",
        "name",
        "title_pattern",
        "buying_role",
        "seniority",
        "department",
        "is_active",
    ]
    list_display_links = ["priority", "name"]
    list_filter = ["is_active", "buying_role", "seniority", "department"]
    search_fields = ["name", "title_pattern"]

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        persona_rules_queue(request)

    def delete_model(self, request, obj):
        super().delete_model(request, obj)
        persona_rules_queue(request)

    def delete_queryset(self, request, queryset):
        super().delete_queryset(request, queryset)
        persona_rules_queue(request)

    def process_result(self, result, request):
        response = super().process_result(result, request)
        persona_rules_queue(request)
        return response


# People, partners and revenue ---------------------------------------------------------


@admin.register(Partner)
class PartnerAdmin(GuardedImportExportMixin, admin.ModelAdmin):
    resource_classes = [PartnerResource]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    list_display = ["name", "kind", "website", "account_count", "deal_count"]
    list_filter = ["kind"]
    search_fields = ["name", "website"]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                account_count=Count("accounts", distinct=True),
                deal_count=Count("deals", distinct=True),
            )
        )

    @admin.display(description="Accounts", ordering="account_count")
    def account_count(self, obj):
        return obj.account_count

    @admin.display(description="Deals", ordering="deal_count")
    def deal_count(self, obj):
        return obj.deal_count


@admin.register(Contact)
class ContactAdmin(GuardedImportExportMixin, admin.ModelAdmin):
    resource_classes = [ContactResource]
    list_display = [
        "email",
        "name",
        "account_link",
        "title",
        "buying_role",
        "seniority",
        "department",
        "do_not_contact",
        "last_engaged_at",
    ]
    list_filter = ["buying_role", "seniority", "department", "do_not_contact"]
    search_fields = ["email", "name", "title", "account__name"]
    list_select_related = ["account"]
    autocomplete_fields = ["account"]
    readonly_fields = ["created_at", "updated_at"]
    fieldsets = [
        (None, {"fields": ["account", "email", "name", "title"]}),
        ("Buying committee", {"fields": ["buying_role", "seniority", "department"]}),
        ("Engagement", {"fields": ["do_not_contact", "first_seen_at", "last_engaged_at"]}),
        ("Record", {"fields": ["created_at", "updated_at"], "classes": ["collapse"]}),
    ]
    actions = ["apply_persona_rules"]

    def get_queryset(self, request):
        # The account's domain is the contact's natural key to its account in exports.
        return selectors.contact_list().annotate(account_domain=primary_domain_subquery("account"))

    @admin.display(description="Account", ordering="account__name")
    def account_link(self, obj):
        return admin_link(obj.account)

    def save_model(self, request, obj, form, change):
        editable = services.CONTACT_EDITABLE_FIELDS
        if change:
            data = {f: form.cleaned_data[f] for f in form.changed_data if f in editable}
            services.contact_update(contact=obj, data=data)
            return
        fields = {f: v for f, v in form.cleaned_data.items() if f in editable}
        fields.pop("email")
        adopt(obj, services.contact_create(email=form.cleaned_data["email"], **fields))

    @admin.action(description="Apply persona rules now", permissions=["change"])
    def apply_persona_rules(self, request, queryset):
        # The rules fill every unknown role, not only the selected contacts: a role is a
        # property of the rules, not of a selection.
        updated = services.persona_rules_apply()
        self.message_user(
            request,
            f"Persona rules filled the buying role of {updated} contact(s).",
            messages.SUCCESS,
        )


@admin.register(Deal)
class DealAdmin(GuardedImportExportMixin, admin.ModelAdmin):
    resource_classes = [DealResource]
    list_display = [
        "name",
        "account_link",
        "kind",
        "stage",
        "status",
        "amount",
        "close_date",
        "partner",
        "partner_influence",
    ]
    list_filter = ["status", "kind", "stage", "partner_influence", "close_date"]
    search_fields = ["name", "external_id", "account__name", "partner__name"]
    list_select_related = ["account", "partner"]
    autocomplete_fields = ["account", "partner"]
    readonly_fields = ["created_at", "updated_at"]
    date_hierarchy = "created_date"
    fieldsets = [
        (None, {"fields": ["account", "name", "external_id", "kind"]}),
        ("Progress", {"fields": ["stage", "status", "created_date", "close_date"]}),
        ("Value", {"fields": ["amount", "currency"]}),
        ("Partner", {"fields": ["partner_influence", "partner"]}),
        ("Record", {"fields": ["created_at", "updated_at"], "classes": ["collapse"]}),
    ]

    def get_queryset(self, request):
        return selectors.deal_list().annotate(account_domain=primary_domain_subquery("account"))

    @admin.display(description="Account", ordering="account__name")
    def account_link(self, obj):
        return admin_link(obj.account)

    def save_model(self, request, obj, form, change):
        editable = services.DEAL_EDITABLE_FIELDS
        if change:
            data = {f: form.cleaned_data[f] for f in form.changed_data if f in editable}
            services.deal_update(deal=obj, data=data)
            return
        fields = {f: v for f, v in form.cleaned_data.items() if f in editable}
        adopt(obj, services.deal_create(**fields))


@admin.register(ArrChange)
class ArrChangeAdmin(GuardedImportExportMixin, admin.ModelAdmin):
    resource_classes = [ArrChangeResource]
    list_display = ["account_link", "effective_date", "arr", "note", "created_at"]
    list_filter = ["effective_date"]
    search_fields = ["account__name", "note"]
    list_select_related = ["account"]
    autocomplete_fields = ["account"]
    readonly_fields = ["created_at"]
    date_hierarchy = "effective_date"

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("account")
            .annotate(account_domain=primary_domain_subquery("account"))
        )

    @admin.display(description="Account", ordering="account__name")
    def account_link(self, obj):
        return admin_link(obj.account)

    def save_model(self, request, obj, form, change):
        if change:
            # A changed date moves the row, which `arr_change_record` (keyed by date)
            # cannot do; the form has validated the row against the model already.
            obj.save()
            return
        saved = services.arr_change_record(
            account=obj.account, effective_date=obj.effective_date, arr=obj.arr, note=obj.note
        )
        adopt(obj, saved)

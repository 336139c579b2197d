from django import forms
from django.contrib import admin, messages
from django.contrib.admin.widgets import AutocompleteSelect
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from accounts.models import Account

from .choices import ReviewStatus
from .imports import CSV_COLUMNS, ImportFileError, detect_format, signals_import, text_lines
from .models import (
    AccountSignalDaily,
    Signal,
    SignalType,
    Source,
    UnmatchedIdentity,
    WebhookReceipt,
)
from .review import review_assign, review_create_account, review_ignore, review_reopen


@admin.register(Source)
class SourceAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "kind", "active", "created_at")
    list_filter = ("kind", "active")
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}
    fields = ("name", "slug", "kind", "active", "webhook_secret", "created_at")
    readonly_fields = ("created_at",)


@admin.register(SignalType)
class SignalTypeAdmin(admin.ModelAdmin):
    list_display = ("key", "name", "category", "aggregation", "default_weight", "unit")
    list_filter = ("category", "aggregation")
    search_fields = ("key", "name", "description")


def _can_import(request) -> bool:
    return request.user.has_perm("signals.add_signal")


class SignalImportForm(forms.Form):
    file = forms.FileField(help_text="CSV with a header row, or JSON lines (.jsonl).")
    source = forms.ModelChoiceField(
        queryset=Source.objects.filter(active=True),
        required=False,
        help_text="For rows that name no source.",
    )


@admin.register(Signal)
class SignalAdmin(admin.ModelAdmin):
    """Signals arrive through the API, webhooks and imports; the admin reads them, and
    neither edits nor deletes them (the rollups must keep counting what is there)."""

    list_display = (
        "occurred_at",
        "type",
        "source",
        "account",
        "contact",
        "value",
        "topic",
        "match_method",
        "confidence",
    )
    list_filter = ("source", "type", "match_method", ("account", admin.EmptyFieldListFilter))
    list_select_related = ("type", "source", "account", "contact")
    search_fields = ("external_id", "topic", "account__name", "contact__email")
    date_hierarchy = "occurred_at"
    raw_id_fields = ("account", "contact")
    fieldsets = (
        (None, {"fields": ("source", "type", "external_id", "occurred_at", "received_at")}),
        ("Content", {"fields": ("value", "topic", "attributes")}),
        (
            "Identity",
            {"fields": ("account", "contact", "hints", "match_method", "match_confidence")},
        ),
    )
    show_full_result_count = False

    change_list_template = "admin/signals/signal/change_list.html"

    def get_urls(self):
        return [
            path(
                "import/",
                self.admin_site.admin_view(self.import_view),
                name="signals_signal_import",
            ),
            *super().get_urls(),
        ]

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "can_import": _can_import(request)}
        return super().changelist_view(request, extra_context)

    def import_view(self, request):
        """Upload a CSV (or JSON-lines) file; rows go through the ingestion service."""
        if not _can_import(request):
            raise PermissionDenied
        form = SignalImportForm(request.POST or None, request.FILES or None)
        result = None
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                lines = text_lines(upload.read())
                first = lines.readline()
                lines.seek(0)
                source = form.cleaned_data["source"]
                result = signals_import(
                    lines=lines,
                    format=detect_format(upload.name, first),
                    source=source.slug if source else None,
                )
            except ImportFileError as exc:
                form.add_error("file", f"{exc} Nothing was stored.")
        context = {
            **self.admin_site.each_context(request),
            "title": "Import signals",
            "opts": self.model._meta,
            "form": form,
            "result": result,
            "columns": list(CSV_COLUMNS),
        }
        return TemplateResponse(request, "admin/signals/signal/import.html", context)

    @admin.display(description="Confidence", ordering="match_confidence")
    def confidence(self, obj):
        return "" if obj.match_confidence is None else f"{obj.match_confidence:.0%}"

    def has_add_permission(self, request):
        # A signal typed or edited by hand would skip validation, identity resolution
        # and rollups; corrections go through the review queue and re-resolution.
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        # Deleting a signal here would leave its daily rollup (and the scores and plays
        # read from it) counting a signal that is gone. Signals leave by two paths only,
        # each of which keeps the rollups right: erasing a person (`erase_contact`: the
        # signals stay, anonymised) and the retention purge (whole days, the rollups
        # kept). A signal matched to the wrong account is moved by the review queue.
        return False


@admin.register(AccountSignalDaily)
class AccountSignalDailyAdmin(admin.ModelAdmin):
    """Rollups are derived from the signals table: readable here, never edited or deleted."""

    list_display = (
        "day",
        "account",
        "type",
        "count",
        "value_sum",
        "last_value",
        "distinct_contacts",
    )
    list_filter = ("type",)
    list_select_related = ("account", "type")
    search_fields = ("account__name",)
    date_hierarchy = "day"
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(WebhookReceipt)
class WebhookReceiptAdmin(admin.ModelAdmin):
    """Which webhook deliveries were taken in: a log, written by the webhook endpoint only."""

    list_display = ("received_at", "source", "webhook_id", "items")
    list_filter = ("source",)
    list_select_related = ("source",)
    search_fields = ("webhook_id",)
    date_hierarchy = "received_at"
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class ReviewStatusFilter(admin.SimpleListFilter):
    """The queue opens on what waits for a decision; decided entries are one click away."""

    title = "status"
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return [*ReviewStatus.choices, ("all", "All")]

    def choices(self, changelist):
        value = self.value() or ReviewStatus.OPEN
        for lookup, title in self.lookup_choices:
            yield {
                "selected": value == lookup,
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }

    def queryset(self, request, queryset):
        value = self.value() or ReviewStatus.OPEN
        if value == "all":
            return queryset
        return queryset.filter(status=value)


class AssignForm(forms.Form):
    account = forms.ModelChoiceField(
        queryset=Account.objects.active(),
        widget=AutocompleteSelect(UnmatchedIdentity._meta.get_field("account"), admin.site),
        help_text="The identity becomes this account's for good (a domain, identifier, "
        "alias or IP range), and its waiting signals are resolved again.",
    )


class CreateAccountForm(forms.Form):
    name = forms.CharField(max_length=255, help_text="The new account's name.")


@admin.register(UnmatchedIdentity)
class UnmatchedIdentityAdmin(admin.ModelAdmin):
    """The review queue: identities signals named that no account matched.

    Counts are kept on each entry by ingestion, so the list stays fast however many
    signals wait. Assign and create-account open a page each (a form); ignore is a bulk
    action.
    """

    list_display = (
        "label",
        "kind",
        "signal_count",
        "first_seen",
        "last_seen",
        "candidate_list",
        "status",
        "account",
        "decide",
    )
    list_filter = (ReviewStatusFilter, "kind")
    list_select_related = ("account",)
    search_fields = ("value", "label")
    readonly_fields = (
        "key",
        "kind",
        "value",
        "label",
        "status",
        "signal_count",
        "first_seen",
        "last_seen",
        "candidate_list",
        "account",
        "decided_by",
        "decided_at",
        "created_at",
    )
    fields = readonly_fields
    actions = ["ignore", "reopen", "create_accounts"]
    show_full_result_count = False

    def has_add_permission(self, request):
        # Entries come from unmatched signals; decisions are made on the pages below.
        return False

    def has_delete_permission(self, request, obj=None):
        # Deleting an ignored entry would silently put its identity back in the queue.
        return False

    def get_urls(self):
        return [
            path(
                "<int:pk>/assign/",
                self.admin_site.admin_view(self.assign_view),
                name="signals_unmatchedidentity_assign",
            ),
            path(
                "<int:pk>/create-account/",
                self.admin_site.admin_view(self.create_account_view),
                name="signals_unmatchedidentity_create_account",
            ),
            *super().get_urls(),
        ]

    @admin.display(description="Candidates")
    def candidate_list(self, obj):
        return ", ".join(
            f"{c['name']} ({c['confidence']:.0%})" for c in obj.candidates if isinstance(c, dict)
        )

    @admin.display(description="Decide")
    def decide(self, obj):
        if obj.status != ReviewStatus.OPEN:
            return ""
        return format_html(
            '<a href="{}">Assign…</a> · <a href="{}">Create account…</a>',
            reverse("admin:signals_unmatchedidentity_assign", args=[obj.pk]),
            reverse("admin:signals_unmatchedidentity_create_account", args=[obj.pk]),
        )

    @admin.action(description="Ignore: keep these identities out of the queue")
    def ignore(self, request, queryset):
        ignored = review_ignore(identities=queryset, actor=request.user)
        self.message_user(request, f"{ignored} identit(ies) ignored.", messages.SUCCESS)

    @admin.action(description="Reopen ignored identities")
    def reopen(self, request, queryset):
        reopened = review_reopen(identities=queryset)
        self.message_user(request, f"{reopened} identit(ies) back in the queue.", messages.SUCCESS)

    @admin.action(description="Create an account for each (named after the identity)")
    def create_accounts(self, request, queryset):
        created, failed = 0, []
        for identity in queryset.filter(status=ReviewStatus.OPEN):
            try:
                review_create_account(identity=identity, actor=request.user)
                created += 1
            except ValidationError as exc:
                failed.append(f"{identity.label}: {'; '.join(exc.messages)}")
        self.message_user(request, f"{created} account(s) created.", messages.SUCCESS)
        for message in failed:
            self.message_user(request, message, messages.ERROR)

    def assign_view(self, request, pk):
        return self._decision_view(request, pk, AssignForm, "Assign to an account")

    def create_account_view(self, request, pk):
        return self._decision_view(request, pk, CreateAccountForm, "Create an account")

    def _decision_view(self, request, pk, form_class, title):
        identity = get_object_or_404(UnmatchedIdentity, pk=pk)
        if not self.has_change_permission(request, identity):
            raise PermissionDenied
        initial = {"name": identity.label}
        if identity.candidates:
            initial["account"] = identity.candidates[0].get("id")
        decided = identity.status != ReviewStatus.OPEN
        form = form_class(request.POST or None, initial=initial)
        if request.method == "POST" and not decided and form.is_valid():
            try:
                if form_class is AssignForm:
                    account = form.cleaned_data["account"]
                    review_assign(identity=identity, account=account, actor=request.user)
                else:
                    account = review_create_account(
                        identity=identity, name=form.cleaned_data["name"], actor=request.user
                    )
            except ValidationError as exc:
                for message in exc.messages:
                    form.add_error(None, message)
            else:
                self.message_user(
                    request,
                    f"{identity.label} now belongs to {account}; its {identity.signal_count} "
                    "waiting signal(s) are being resolved again.",
                    messages.SUCCESS,
                )
                return redirect("admin:signals_unmatchedidentity_changelist")
        context = {
            **self.admin_site.each_context(request),
            "title": f"{title}: {identity.label}",
            "identity": identity,
            "form": form,
            "media": self.media + form.media,
            "opts": self.model._meta,
            "decided": decided,
        }
        return TemplateResponse(request, "admin/signals/unmatchedidentity/decide.html", context)

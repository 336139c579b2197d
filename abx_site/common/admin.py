"""Admin for API keys, and the import/export base every app's admin shares."""

import os

from django import forms
from django.contrib import admin
from django.contrib.auth import get_permission_codename
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseBadRequest
from import_export.admin import ImportExportMixin
from rest_framework_api_key.admin import APIKeyModelAdmin
from rest_framework_api_key.models import APIKey

from .models import ApiKey
from .scopes import Scope

CHECKED_IMPORTS = "abx_checked_imports"


class GuardedImportExportMixin(ImportExportMixin):
    """CSV import/export that honours the team permissions and never half-imports.

    django-import-export lets anyone who reaches the changelist import unless a project
    setting says otherwise; here importing needs both add and change on the model (a
    row may create or update), and exporting needs view. Every import runs in one
    transaction that is rolled back on any row error, including validation errors.
    """

    def _has(self, request, action):
        codename = get_permission_codename(action, self.opts)
        return request.user.has_perm(f"{self.opts.app_label}.{codename}")

    def has_import_permission(self, request):
        return self._has(request, "add") and self._has(request, "change")

    def has_export_permission(self, request):
        return self._has(request, "view") or self._has(request, "change")

    def get_import_data_kwargs(self, **kwargs):
        kwargs = super().get_import_data_kwargs(**kwargs)
        kwargs["use_transactions"] = True
        kwargs["rollback_on_validation_errors"] = True
        return kwargs

    # The confirmation names the checked file by its name in the temporary folder, and
    # import-export reads that file and then deletes it: a confirmation only goes ahead
    # for a file this session checked, never for another file there (or none at all).

    def get_confirm_form_initial(self, request, import_form):
        initial = super().get_confirm_form_initial(request, import_form)
        if initial.get("import_file_name"):
            checked = request.session.get(CHECKED_IMPORTS, [])
            name = os.path.basename(initial["import_file_name"])
            request.session[CHECKED_IMPORTS] = [*checked, name][-20:]
        return initial

    def process_import(self, request, **kwargs):
        name = os.path.basename(request.POST.get("import_file_name", ""))
        checked = request.session.get(CHECKED_IMPORTS, [])
        if not self.has_import_permission(request):
            raise PermissionDenied
        if name not in checked:
            return HttpResponseBadRequest(
                "This import was not checked in this session, or was already done: "
                "upload the file again."
            )
        response = super().process_import(request, **kwargs)
        request.session[CHECKED_IMPORTS] = [n for n in checked if n != name]
        return response


class ApiKeyForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(
        choices=Scope.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text="What the key may do; a key with no scope can do nothing.",
    )

    class Meta:
        model = ApiKey
        fields = ["name", "user", "source", "scopes", "expiry_date", "revoked"]


@admin.register(ApiKey)
class ApiKeyAdmin(APIKeyModelAdmin):
    # The base class assigns the key on creation and shows it once in a message.
    form = ApiKeyForm
    list_display = [
        "prefix",
        "name",
        "user",
        "source",
        "scope_list",
        "created",
        "last_used_at",
        "expiry_date",
        "revoked",
    ]
    list_filter = ["revoked", "source", "created"]
    search_fields = ["name", "prefix", "user__username", "source"]
    list_select_related = ["user"]
    autocomplete_fields = ["user"]
    ordering = ["-created"]

    def get_readonly_fields(self, request, obj=None):
        return (*super().get_readonly_fields(request, obj), "created", "last_used_at")

    @admin.display(description="Scopes")
    def scope_list(self, obj):
        return ", ".join(obj.scopes) or "—"


# The library's own key model is unused here (keys carry scopes in ApiKey); showing it
# would offer keys that no endpoint accepts.
if admin.site.is_registered(APIKey):
    admin.site.unregister(APIKey)

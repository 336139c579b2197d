"""Playbooks as code in the admin: export the selected playbooks (or one) as JSON or YAML,
and import a file, through the services `manage.py export_playbooks` / `import_playbooks`
and the API use.

An import is all or nothing: a file that does not parse, or any playbook in it that does
not validate, changes nothing, and the page lists every error with its path
(`playbooks.0.triggers.1.conditions.0.feature: Unknown feature ...`).
"""

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone

from . import services
from .models import Playbook

FORMATS = {"json": "application/json", "yaml": "application/yaml"}
EXTENSIONS = {".json": "json", ".yaml": "yaml", ".yml": "yaml"}


class PlaybookImportForm(forms.Form):
    file = forms.FileField(help_text="A JSON or YAML file as exported here or by export_playbooks.")
    format = forms.ChoiceField(
        choices=[
            ("", "From the file name (.json, .yaml, .yml)"),
            ("json", "JSON"),
            ("yaml", "YAML"),
        ],
        required=False,
    )
    publish = forms.BooleanField(
        required=False, help_text="Publish each imported playbook as a new version too."
    )

    def clean(self):
        cleaned = super().clean()
        upload = cleaned.get("file")
        if upload is None:
            return cleaned
        if upload.size > services.MAX_IMPORT_BYTES:
            self.add_error(
                "file", f"The file is over {services.MAX_IMPORT_BYTES // 1024} KB. Nothing changed."
            )
            return cleaned
        fmt = cleaned.get("format") or next(
            (f for ext, f in EXTENSIONS.items() if upload.name.lower().endswith(ext)), None
        )
        if fmt is None:
            self.add_error(
                "format", "Say whether the file is JSON or YAML (its name ends neither way)."
            )
        cleaned["format"] = fmt
        return cleaned


def export_response(playbooks, fmt: str) -> HttpResponse:
    """The playbooks as a downloaded file, in the export format of the services."""
    text = services.playbooks_export(playbooks, fmt=fmt)
    stamp = timezone.now().strftime("%Y%m%d-%H%M")
    response = HttpResponse(text, content_type=f"{FORMATS[fmt]}; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="playbooks-{stamp}.{fmt}"'
    return response


class PlaybookFilesMixin:
    """Export actions, a per-playbook export link and the import page of PlaybookAdmin."""

    actions = ["export_json", "export_yaml"]

    def get_urls(self):
        return [
            path(
                "import/",
                self.admin_site.admin_view(self.import_view),
                name="playbooks_playbook_import",
            ),
            path(
                "<int:pk>/export/<str:fmt>/",
                self.admin_site.admin_view(self.export_view),
                name="playbooks_playbook_export",
            ),
            *super().get_urls(),
        ]

    def _can_import(self, request) -> bool:
        # An import creates playbooks and replaces those of the same name.
        return self.has_add_permission(request) and self.has_change_permission(request)

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "can_import": self._can_import(request)}
        return super().changelist_view(request, extra_context)

    @admin.action(description="Export the selected playbooks as JSON", permissions=["view"])
    def export_json(self, request, queryset):
        return export_response(queryset.order_by("priority", "name"), "json")

    @admin.action(description="Export the selected playbooks as YAML", permissions=["view"])
    def export_yaml(self, request, queryset):
        return export_response(queryset.order_by("priority", "name"), "yaml")

    def export_view(self, request, pk, fmt):
        if fmt not in FORMATS:
            raise Http404("Export as json or yaml.")
        playbook = get_object_or_404(Playbook, pk=pk)
        if not self.has_view_or_change_permission(request, playbook):
            raise PermissionDenied
        return export_response([playbook], fmt)

    def import_view(self, request):
        if not self._can_import(request):
            raise PermissionDenied
        form = PlaybookImportForm(request.POST or None, request.FILES or None)
        errors: list[tuple[str, str]] = []
        if request.method == "POST" and form.is_valid():
            publish = form.cleaned_data["publish"]
            try:
                if publish and not request.user.has_perm("playbooks.add_playbookversion"):
                    raise ValidationError({"publish": "Your team may not publish playbooks."})
                try:
                    text = form.cleaned_data["file"].read().decode("utf-8")
                except UnicodeDecodeError:
                    raise ValidationError({"file": "The file is not UTF-8 text."}) from None
                items = services.playbooks_parse(text, fmt=form.cleaned_data["format"])
                saved = services.playbooks_import(items=items, publish=publish, user=request.user)
            except ValidationError as exc:
                errors = [(key, " ".join(messages)) for key, messages in exc.message_dict.items()]
            else:
                verb = "Imported and published" if publish else "Imported"
                names = ", ".join(p.name for p in saved)
                self.message_user(request, f"{verb} {len(saved)} playbook(s): {names}.")
                return redirect(reverse("admin:playbooks_playbook_changelist"))
        context = {
            **self.admin_site.each_context(request),
            "title": "Import playbooks",
            "opts": self.model._meta,
            "form": form,
            "errors": errors,
            "can_publish": request.user.has_perm("playbooks.add_playbookversion"),
        }
        return TemplateResponse(request, "admin/playbooks/playbook/import.html", context)

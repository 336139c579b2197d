"""Admin forms of the account graph."""

from django import forms
from django.core.exceptions import ValidationError
from django.forms.models import BaseInlineFormSet

from .choices import BuyingRole
from .models import Tier


class AccountDomainInlineFormSet(BaseInlineFormSet):
    """Refuses what the database would refuse only at save time, as form errors.

    Each row is normalised to its registrable domain by the model's `clean`, so two rows
    written differently (`acme.com`, `https://www.acme.com`) are the same domain; and an
    account has one primary domain.
    """

    def clean(self):
        super().clean()
        seen = set()
        primaries = 0
        for form in self.forms:
            if not hasattr(form, "cleaned_data") or not form.cleaned_data:
                continue
            if self.can_delete and self._should_delete_form(form):
                continue
            domain = form.instance.domain
            if domain in seen:
                form.add_error("domain", f"{domain} is listed twice.")
            seen.add(domain)
            primaries += bool(form.cleaned_data.get("is_primary"))
        if primaries > 1:
            raise ValidationError("Mark one domain as primary, not several.")


class TierForm(forms.ModelForm):
    required_roles = forms.MultipleChoiceField(
        choices=[(role.value, role.label) for role in BuyingRole if role != BuyingRole.UNKNOWN],
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text="Buying roles a complete buying committee covers at this tier.",
    )

    class Meta:
        model = Tier
        fields = ["name", "rank", "treatment", "required_roles", "description"]

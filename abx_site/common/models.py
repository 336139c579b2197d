from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from rest_framework_api_key.models import AbstractAPIKey, BaseAPIKeyManager

from .scopes import Scope


class ApiKeyManager(BaseAPIKeyManager):
    def get_usable_keys(self):
        return super().get_usable_keys().select_related("user")


class ApiKey(AbstractAPIKey):
    """A hashed, prefixed, revocable API key carrying scopes (DESIGN §7).

    A key may be bound to a user (then "my tasks" are that user's) and to a source
    (then it may only ingest for that source; the source is named by its slug so that
    this lowest layer does not depend on the signals app).
    """

    scopes = models.JSONField(default=list, blank=True, help_text="Scopes this key holds.")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="api_keys",
        help_text="Requests with this key act for this user, where a user matters.",
    )
    source = models.SlugField(
        max_length=50, blank=True, help_text="If set, the key may only ingest for this source."
    )
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = ApiKeyManager()

    class Meta(AbstractAPIKey.Meta):
        verbose_name = "API key"
        verbose_name_plural = "API keys"

    def clean(self):
        super().clean()
        unknown = sorted(set(self.scopes or []) - set(Scope.values))
        if unknown:
            raise ValidationError({"scopes": f"Unknown scope(s): {', '.join(unknown)}."})

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes

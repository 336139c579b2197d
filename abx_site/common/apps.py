from django.apps import AppConfig


class CommonConfig(AppConfig):
    """Shared pieces every app may use: API keys with scopes, API plumbing, helpers."""

    name = "abx_site.common"
    label = "common"
    verbose_name = "API access"

    def ready(self):
        # Registers the API key scheme with drf-spectacular.
        from .api import schema  # noqa: F401

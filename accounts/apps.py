from django.apps import AppConfig


class AccountsConfig(AppConfig):
    """The account graph: accounts, domains, identifiers, contacts, tiers, deals, ARR."""

    name = "accounts"
    verbose_name = "Account graph"

    def ready(self):
        from . import identity_admin  # noqa: F401
        from .web import panels

        panels.register()

from django.apps import AppConfig


class AccountsConfig(AppConfig):
    """The account graph: accounts, domains, identifiers, contacts, tiers, deals, ARR."""

    name = "accounts"
    verbose_name = "Account graph"

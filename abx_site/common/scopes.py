"""The API scopes an API key can hold (DESIGN §7)."""

from django.db import models


class Scope(models.TextChoices):
    ACCOUNTS_READ = "accounts:read", "Read accounts, contacts, deals, ARR, timeline, resolve"
    ACCOUNTS_WRITE = "accounts:write", "Create and update accounts, contacts, deals, ARR"
    SIGNALS_READ = "signals:read", "Read signals"
    SIGNALS_WRITE = "signals:write", "Ingest signals"
    SCOREBOARDS_READ = "scoreboards:read", "Read scoreboards, rollups, cohorts, funnel"
    PLAYBOOKS_READ = "playbooks:read", "Read playbooks, activations, previews, backtests"
    PLAYBOOKS_WRITE = "playbooks:write", "Import and publish playbooks"
    TASKS_READ = "tasks:read", "Read tasks"
    TASKS_WRITE = "tasks:write", "Update tasks"
    CAMPAIGNS_READ = "campaigns:read", "Read campaign audiences"
    PERSONALIZATION_READ = "personalization:read", "Read personalization"

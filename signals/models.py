import base64
import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone

from accounts.choices import IdentityMethod
from accounts.models import Account, Contact

from .choices import Aggregation, IdentityKind, ReviewStatus, SignalCategory, SourceKind

VALUE = {"max_digits": 20, "decimal_places": 6}


def new_webhook_secret() -> str:
    """A Standard Webhooks signing secret: `whsec_` and 32 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode("ascii")


class Source(models.Model):
    """An integration that sends signals: website, intent, CRM, product analytics, ..."""

    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(max_length=50, unique=True, help_text="Used in API items and URLs.")
    kind = models.CharField(max_length=20, choices=SourceKind.choices)
    webhook_secret = models.CharField(
        max_length=100,
        default=new_webhook_secret,
        help_text="Signs this source's webhooks (Standard Webhooks, HMAC-SHA256).",
    )
    active = models.BooleanField(
        default=True, help_text="An inactive source's signals are refused."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class SignalType(models.Model):
    """What a signal says happened (`web.visit`, `product.active_users`, ...)."""

    key = models.CharField(max_length=100, unique=True, help_text="e.g. web.visit")
    name = models.CharField(max_length=100)
    category = models.CharField(max_length=20, choices=SignalCategory.choices)
    aggregation = models.CharField(
        max_length=10, choices=Aggregation.choices, default=Aggregation.COUNTER
    )
    default_weight = models.DecimalField(
        max_digits=8,
        decimal_places=2,
        default=1,
        help_text="Points per signal an engagement score gives unless its model says otherwise.",
    )
    unit = models.CharField(max_length=30, blank=True, help_text="What `value` counts, if any.")
    description = models.TextField(blank=True)

    class Meta:
        ordering = ["key"]

    def __str__(self):
        return self.key


class Signal(models.Model):
    """One thing that happened at an account (or, while unmatched, at an unknown one)."""

    # No single-column index on source, type or account: the unique (source, external_id)
    # and the (type, occurred_at) and (account, occurred_at) indexes lead with them and
    # serve their lookups; every index more is written on every ingested signal.
    source = models.ForeignKey(
        Source, on_delete=models.PROTECT, related_name="signals", db_index=False
    )
    type = models.ForeignKey(
        SignalType, on_delete=models.PROTECT, related_name="signals", db_index=False
    )
    occurred_at = models.DateTimeField()
    received_at = models.DateTimeField(default=timezone.now)
    account = models.ForeignKey(
        Account,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="signals",
        db_index=False,
    )
    contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="signals"
    )
    value = models.DecimalField(**VALUE, null=True, blank=True)
    topic = models.CharField(max_length=200, blank=True, help_text="Intent topic, page or feature.")
    attributes = models.JSONField(default=dict, blank=True)
    external_id = models.CharField(
        max_length=255, help_text="The sender's id for this signal: re-sending it is safe."
    )
    hints = models.JSONField(default=dict, blank=True, help_text="The identity hints as received.")
    match_method = models.CharField(
        max_length=20, choices=IdentityMethod.choices, default=IdentityMethod.UNMATCHED
    )
    match_confidence = models.DecimalField(max_digits=5, decimal_places=4, null=True, blank=True)
    review_key = models.CharField(
        max_length=300,
        blank=True,
        default="",
        # Bulk loads (COPY) that leave the column out get an empty key too.
        db_default="",
        help_text="The identity an unmatched signal waits under in the review queue.",
    )

    class Meta:
        ordering = ["-occurred_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["source", "external_id"],
                name="%(app_label)s_%(class)s_unique_per_source",
                violation_error_message="This source already sent a signal with this id.",
            ),
        ]
        indexes = [
            # The account timeline and per-account windows that rollups cannot answer
            # (distinct contacts over 30 days, topics).
            models.Index(fields=["account", "occurred_at"], name="signals_signal_acct_time"),
            # Signals of one type in a period (features, rollup rebuilds).
            models.Index(fields=["type", "occurred_at"], name="signals_signal_type_time"),
            # The review queue: unmatched signals, oldest first.
            models.Index(
                fields=["received_at"],
                condition=models.Q(account__isnull=True),
                name="signals_signal_unmatched",
            ),
            # The review queue: one identity's waiting signals (counts, re-resolution).
            models.Index(
                fields=["review_key", "id"],
                condition=models.Q(account__isnull=True),
                name="signals_signal_review_key",
            ),
        ]

    def __str__(self):
        return f"{self.type_id} {self.external_id}"


class AccountSignalDaily(models.Model):
    """Per account, signal type and UTC day of `occurred_at`: what the signals add up to.

    Recomputed from the signals table for every (account, type, day) a write touches.
    """

    # The unique (account, type, day) and the (account, day) index lead with the account.
    account = models.ForeignKey(
        Account, on_delete=models.CASCADE, related_name="signal_days", db_index=False
    )
    type = models.ForeignKey(SignalType, on_delete=models.CASCADE, related_name="days")
    day = models.DateField()
    count = models.PositiveIntegerField(default=0)
    value_sum = models.DecimalField(max_digits=26, decimal_places=6, default=0)
    last_value = models.DecimalField(
        **VALUE, null=True, blank=True, help_text="The day's latest value (gauges)."
    )
    distinct_contacts = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = "daily signal rollup"
        ordering = ["-day", "account", "type"]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "type", "day"],
                name="%(app_label)s_%(class)s_one_per_day",
            ),
        ]
        indexes = [
            # Scores and rules: one account's days across every type in a window.
            models.Index(fields=["account", "day"], name="signals_daily_acct_day"),
            # Scoreboards and evaluation: every account's days in a window.
            models.Index(fields=["day", "type"], name="signals_daily_day_type"),
        ]

    def __str__(self):
        return f"{self.account_id} {self.type_id} {self.day}: {self.count}"


class WebhookReceipt(models.Model):
    """A webhook delivery already taken in: a replayed `webhook-id` stores nothing again.

    Senders retry the same message (same id, new timestamp and signature) until they get
    a 2xx, for up to a few days; receipts are kept `WEBHOOK_RECEIPT_DAYS` and then purged.
    """

    source = models.ForeignKey(Source, on_delete=models.CASCADE, related_name="webhook_receipts")
    webhook_id = models.CharField(max_length=255)
    received_at = models.DateTimeField(default=timezone.now)
    items = models.PositiveIntegerField(default=0, help_text="How many items the body held.")

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["source", "webhook_id"],
                name="%(app_label)s_%(class)s_once_per_source",
                violation_error_message="This webhook was already received.",
            ),
        ]
        indexes = [
            # The purge of old receipts.
            models.Index(fields=["received_at"], name="signals_receipt_received"),
        ]

    def __str__(self):
        return f"{self.source_id} {self.webhook_id}"


class UnmatchedIdentity(models.Model):
    """An identity that signals named but no account matched: one entry of the review queue.

    Grouped by registrable domain, else external identifier, else normalised company
    name, else IP address. Ingestion and re-resolution keep the counts in step with the
    waiting signals, so the queue lists fast however many signals wait. A decision
    (assign, create an account, ignore) is kept here: an ignored identity is the
    ignore-list entry that keeps it out of the queue.
    """

    key = models.CharField(max_length=300, unique=True, help_text="kind:value")
    kind = models.CharField(max_length=20, choices=IdentityKind.choices)
    value = models.CharField(max_length=290)
    label = models.CharField(max_length=255, help_text="The identity as a sender wrote it.")
    status = models.CharField(
        max_length=10, choices=ReviewStatus.choices, default=ReviewStatus.OPEN
    )
    signal_count = models.PositiveIntegerField(default=0, help_text="Unmatched signals waiting.")
    first_seen = models.DateTimeField(null=True, blank=True)
    last_seen = models.DateTimeField(null=True, blank=True)
    candidates = models.JSONField(
        default=list, blank=True, help_text="Accounts the name came close to: id, name, score."
    )
    account = models.ForeignKey(
        Account,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The account a reviewer gave this identity to.",
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "unmatched identity"
        verbose_name_plural = "review queue"
        ordering = ["-signal_count", "-last_seen", "id"]
        indexes = [
            # The queue: open identities, most waiting signals first.
            models.Index(fields=["status", "-signal_count"], name="signals_unmatched_queue"),
        ]

    def __str__(self):
        return f"{self.get_kind_display()}: {self.label}"

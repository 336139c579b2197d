"""Tier rules (DESIGN §3): conditions in the playbooks' language that propose a tier.

A `TierRule` belongs to a tier and holds conditions (`feature(params) operator value`
from the feature catalog); an account matches the rule when all its conditions hold. The
rules of every tier are read together: an account goes to the highest-ranked tier one of
whose active rules it matches. Where a person chose the account's tier, nothing changes
and a `TierProposal` records what the rules would have set.

Kept apart from the playbook definitions (`models.py`, which re-exports these); the
rules live here and not in `accounts` because their conditions name features of the
catalog, which `accounts` may not import.
"""

from django.db import models
from simple_history.models import HistoricalRecords

from accounts.models import Account, Tier

from .choices import Operator

__all__ = ["TierProposal", "TierRule", "TierRuleCondition"]


class TierRule(models.Model):
    """A rule that puts the accounts matching all its conditions in its tier."""

    tier = models.ForeignKey(Tier, on_delete=models.CASCADE, related_name="rules")
    name = models.CharField(max_length=200, help_text="Shown on the events it writes.")
    description = models.TextField(blank=True)
    is_active = models.BooleanField(
        default=True, help_text="Inactive rules are kept but neither previewed nor applied."
    )
    order = models.PositiveSmallIntegerField(
        default=0, help_text="Among one tier's rules: the first that matches is the evidence."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["tier__rank", "order", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["tier", "name"],
                name="%(app_label)s_%(class)s_unique_name_per_tier",
                violation_error_message="This tier already has a rule of this name.",
            ),
        ]

    def __str__(self):
        return f"{self.tier}: {self.name}"


class TierRuleCondition(models.Model):
    """One condition of a tier rule, exactly as a playbook trigger's (never eval'ed)."""

    rule = models.ForeignKey(TierRule, on_delete=models.CASCADE, related_name="conditions")
    feature = models.CharField(max_length=100, help_text="A key of the feature catalog.")
    params = models.JSONField(default=dict, blank=True, help_text="The feature's parameters.")
    operator = models.CharField(max_length=12, choices=Operator.choices)
    value = models.JSONField(null=True, blank=True)
    order = models.PositiveSmallIntegerField(default=0)

    history = HistoricalRecords()

    class Meta:
        ordering = ["rule", "order", "id"]

    def __str__(self):
        return f"{self.feature} {self.operator} {self.value!r}"

    def clean(self):
        from .compiler import condition_clean

        self.params, self.value = condition_clean(
            feature=self.feature, params=self.params, operator=self.operator, value=self.value
        )


class TierProposal(models.Model):
    """A tier the rules would give an account whose tier a person chose (left as it is)."""

    account = models.OneToOneField(Account, on_delete=models.CASCADE, related_name="+")
    tier = models.ForeignKey(Tier, on_delete=models.CASCADE, related_name="+")
    rule = models.ForeignKey(TierRule, null=True, on_delete=models.SET_NULL, related_name="+")
    evidence = models.JSONField(default=dict, blank=True)
    proposed_at = models.DateTimeField(help_text="When the rules first proposed this tier.")

    class Meta:
        ordering = ["-proposed_at", "-id"]

    def __str__(self):
        return f"{self.account_id} -> {self.tier_id}"

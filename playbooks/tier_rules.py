"""Tier rules: saving, previewing and applying them (DESIGN §3).

Rules are written in the playbooks' condition language and compiled by the same
compiler: every active rule becomes one "trigger" of one compiled set, ordered by its
tier's rank (1 first), then by its order within the tier. The compiler's CASE names the
first trigger an account matches, so each account gets, in one query over all accounts,
the highest-ranked tier whose rule it matches, with the evidence of that rule.

What happens to a matching account:
- it already has that tier: nothing;
- a person chose its tier (`tier_source` manual, with a tier): nothing changes, and a
  `TierProposal` records the tier the rules would set (kept while they would, withdrawn
  when they no longer would; accepting it in the admin hands the tier to the rules);
- otherwise (no tier yet, or a tier the rules set): its tier changes through
  `accounts.services.account_tiers_set_by_rules`, with a `tier_changed` AccountEvent
  naming the rule.
An account no active rule matches keeps the tier it has: rules place accounts, they do
not take tiers away (give the lowest tier a broad rule to place everyone).

Preview and application share `tier_rules_plan`, so the preview is what the next
application does. Application runs before each scheduled evaluation of the playbooks
(`tasks.evaluation_task`), so plays limited to tiers see the tiers of this run. A rule
that no longer compiles (a feature left the catalog) is reported and left out; the
others still apply.
"""

import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from simple_history.utils import bulk_create_with_history

from accounts import services as account_services
from accounts.choices import TierSource
from accounts.models import Tier
from accounts.selectors import account_set

from . import catalog
from .compiler import CompiledPlaybook, compile_snapshot, condition_clean
from .models import TierProposal, TierRule, TierRuleCondition

logger = logging.getLogger(__name__)

__all__ = [
    "TierPlan",
    "tier_proposals_accept",
    "tier_rule_save",
    "tier_rules_apply",
    "tier_rules_plan",
    "tier_rules_preview",
    "tier_rules_run",
]

CHUNK = 1000
PREVIEW_ROWS = 100
RULE_KEYS = {"tier", "name", "description", "is_active", "order", "conditions"}
CONDITION_KEYS = {"feature", "params", "operator", "value"}


# Saving -------------------------------------------------------------------------------


@transaction.atomic
def tier_rule_save(*, data: dict, rule: TierRule | None = None) -> TierRule:
    """Create or replace a tier rule (its settings and conditions) from data.

    `data`: `tier` (a Tier or its name), `name`, optional `description`, `is_active`,
    `order`, and `conditions`: a non-empty list of `{feature, params, operator, value}`.
    Everything is validated first; errors are keyed by field or by path
    (`conditions.1.value`) and say why, and nothing is written.
    """
    cleaned = _validated(data, rule)
    rule = rule or TierRule()
    for name, value in cleaned["fields"].items():
        setattr(rule, name, value)
    rule.save()
    # Conditions are replaced, not patched, as a playbook's are; history records both.
    rule.conditions.all().delete()
    bulk_create_with_history(
        [
            TierRuleCondition(rule=rule, order=index, **condition)
            for index, condition in enumerate(cleaned["conditions"])
        ],
        TierRuleCondition,
    )
    return rule


def _validated(data, rule: TierRule | None) -> dict:
    if not isinstance(data, dict):
        raise ValidationError({"rule": "A tier rule is an object: tier, name, conditions."})
    errors: dict[str, list[str]] = {}

    def add(path, message):
        errors.setdefault(path, []).extend([message] if isinstance(message, str) else message)

    for key in sorted(set(data) - RULE_KEYS):
        add(key, "Unknown setting.")
    tier = data.get("tier")
    if isinstance(tier, str):
        tier = Tier.objects.filter(name=tier).first() or tier
    if not isinstance(tier, Tier):
        add("tier", f"Pick a tier{f': there is no tier {tier!r}' if tier else ''}.")
        tier = None
    fields = {
        "tier": tier,
        "name": (data.get("name") or "").strip() if isinstance(data.get("name"), str) else "",
        "description": data.get("description") or "",
        "is_active": data.get("is_active", True),
        "order": data.get("order", 0),
    }
    model = TierRule(**fields)
    if rule is not None and rule.pk is not None:
        model.pk = rule.pk
        model._state.adding = False  # the unique check then leaves the rule itself out
    try:
        model.full_clean(exclude=["tier"] if tier is None else None)
    except ValidationError as exc:
        for name, messages in exc.message_dict.items():
            add("rule" if name == "__all__" else name, messages)
    conditions = _validated_conditions(data.get("conditions"), add)
    if errors:
        raise ValidationError(errors)
    return {"fields": fields, "conditions": conditions}


def _validated_conditions(conditions, add) -> list[dict]:
    if not isinstance(conditions, list) or not conditions:
        add("conditions", "A rule needs at least one condition: which accounts belong here?")
        return []
    cleaned = []
    for index, condition in enumerate(conditions):
        path = f"conditions.{index}"
        if not isinstance(condition, dict):
            add(path, "A condition is an object: feature, params, operator, value.")
            continue
        for key in sorted(set(condition) - CONDITION_KEYS):
            add(f"{path}.{key}", "Unknown setting.")
        try:
            params, value = condition_clean(
                feature=condition.get("feature"),
                params=condition.get("params") or {},
                operator=condition.get("operator"),
                value=condition.get("value"),
            )
        except ValidationError as exc:
            for name, messages in exc.message_dict.items():
                add(f"{path}.{name}", messages)
            continue
        cleaned.append(
            {
                "feature": condition["feature"],
                "params": params,
                "operator": condition["operator"],
                "value": value,
            }
        )
    return cleaned


# Planning -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Decision:
    """What the rules decide for one matching account."""

    account_id: int
    name: str
    tier_id: int | None
    tier_source: str
    rule: TierRule
    evidence: dict

    @property
    def proposed_tier_id(self) -> int:
        return self.rule.tier_id

    @property
    def is_manual(self) -> bool:
        return self.tier_id is not None and self.tier_source == TierSource.MANUAL


@dataclass
class TierPlan:
    """The next application: tier changes, proposals for manual tiers, and the rest."""

    rules: list[TierRule] = field(default_factory=list)
    errors: list[dict] = field(default_factory=list)
    moves: list[Decision] = field(default_factory=list)
    proposals: list[Decision] = field(default_factory=list)
    unchanged: int = 0

    @property
    def matching(self) -> int:
        return len(self.moves) + len(self.proposals) + self.unchanged


def _rule_trigger(rule: TierRule) -> dict:
    return {
        "name": rule.name,
        "conditions": [
            {"feature": c.feature, "params": c.params, "operator": c.operator, "value": c.value}
            for c in sorted(rule.conditions.all(), key=lambda c: (c.order, c.pk))
        ],
    }


def _compiled(include: set[int]) -> tuple[list[TierRule], CompiledPlaybook | None, list[dict]]:
    """The active rules (and those in `include`), highest tier first, compiled as one."""
    rules = (
        TierRule.objects.filter(Q(is_active=True) | Q(pk__in=include))
        .select_related("tier")
        .prefetch_related("conditions")
        .order_by("tier__rank", "order", "id")
    )
    kept, triggers, errors = [], [], []
    for rule in rules:
        trigger = _rule_trigger(rule)
        try:
            compile_snapshot({"triggers": [trigger]})
        except ValidationError as exc:
            errors.append({"rule": rule.pk, "name": str(rule), "error": " ".join(exc.messages)})
            continue
        kept.append(rule)
        triggers.append(trigger)
    if not triggers:
        return kept, None, errors
    return kept, compile_snapshot({"triggers": triggers}, key="tiers"), errors


def tier_rules_plan(*, include: set[int] | frozenset[int] = frozenset()) -> TierPlan:
    """What applying the active rules would do now (plus the rules in `include`, active or
    not, for a preview). Three queries: the rules, their conditions, the accounts."""
    rules, compiled, errors = _compiled(set(include))
    plan = TierPlan(rules=rules, errors=errors)
    if compiled is None:
        return plan
    requests = [(alias, key, params) for alias, (key, params) in compiled.uses.items()]
    rows = (
        catalog.annotate(account_set(), requests)
        .annotate(m_rule=compiled.matched_trigger())
        .filter(compiled.match_q())
        .order_by("pk")
        .values("pk", "name", "tier_id", "tier_source", "m_rule", *compiled.uses)
    )
    for row in rows.iterator(chunk_size=2000):
        rule = rules[row["m_rule"]]
        decision = Decision(
            account_id=row["pk"],
            name=row["name"],
            tier_id=row["tier_id"],
            tier_source=row["tier_source"],
            rule=rule,
            evidence=compiled.evidence(row, row["m_rule"]),
        )
        if decision.tier_id == rule.tier_id:
            plan.unchanged += 1
        elif decision.is_manual:
            plan.proposals.append(decision)
        else:
            plan.moves.append(decision)
    return plan


# Preview -----------------------------------------------------------------------------


def tier_rules_preview(
    *, include: set[int] | frozenset[int] = frozenset(), limit: int = PREVIEW_ROWS
) -> dict:
    """Which accounts would move to which tier, and which manual tiers the rules would
    change if they could: counts by (from, to) and the first `limit` accounts of each."""
    plan = tier_rules_plan(include=include)
    names = dict(Tier.objects.values_list("pk", "name"))

    def counted(decisions):
        counts = Counter((names.get(d.tier_id), names[d.proposed_tier_id]) for d in decisions)
        return [
            {"from": old, "to": new, "accounts": n}
            for (old, new), n in sorted(counts.items(), key=lambda kv: (-kv[1], str(kv[0])))
        ]

    def listed(decisions):
        return [
            {
                "id": d.account_id,
                "name": d.name,
                "from": names.get(d.tier_id),
                "to": names[d.proposed_tier_id],
                "rule": str(d.rule),
                "evidence": d.evidence,
            }
            for d in decisions[:limit]
        ]

    return {
        "rules": [
            {"id": r.pk, "tier": r.tier.name, "name": r.name, "active": r.is_active}
            for r in plan.rules
        ],
        "errors": plan.errors,
        "matching": plan.matching,
        "unchanged": plan.unchanged,
        "would_move": len(plan.moves),
        "would_propose": len(plan.proposals),
        "moves": counted(plan.moves),
        "proposals": counted(plan.proposals),
        "move_accounts": listed(plan.moves),
        "proposal_accounts": listed(plan.proposals),
        "limit": limit,
    }


# Application -------------------------------------------------------------------------


def _label(rule: TierRule) -> str:
    return f"Tier rule: {rule.tier.name} / {rule.name}"


def tier_rules_apply(*, now: datetime | None = None) -> dict:
    """Apply the active rules to every account: tier changes in chunks of CHUNK accounts,
    each in its own short transaction, then the proposals for manual tiers in one.
    Returns the counts and the rules that did not compile."""
    now = now or timezone.now()
    plan = tier_rules_plan()
    changed = 0
    for start in range(0, len(plan.moves), CHUNK):
        events = account_services.account_tiers_set_by_rules(
            assignments=[
                account_services.RuleTier(
                    account_id=d.account_id,
                    tier_id=d.proposed_tier_id,
                    actor_label=_label(d.rule),
                    data={"tier_rule": d.rule.pk, "evidence": d.evidence},
                )
                for d in plan.moves[start : start + CHUNK]
            ]
        )
        changed += len(events)
    proposed, withdrawn = _proposals_sync(plan.proposals, now)
    return {
        "rules": len(plan.rules),
        "errors": plan.errors,
        "matching": plan.matching,
        "changed": changed,
        "proposals": len(plan.proposals),
        "proposed": proposed,
        "withdrawn": withdrawn,
    }


@transaction.atomic
def _proposals_sync(decisions: list[Decision], now: datetime) -> tuple[int, int]:
    """Make the stored proposals the plan's: keep those that stand (and when they were
    first made), withdraw the others, add the new ones. Returns (added, withdrawn)."""
    wanted = {d.account_id: d for d in decisions}
    stored = dict(TierProposal.objects.values_list("account_id", "tier_id"))
    stale = sorted(
        a for a, tier in stored.items() if a not in wanted or wanted[a].proposed_tier_id != tier
    )
    for start in range(0, len(stale), CHUNK):
        TierProposal.objects.filter(account_id__in=stale[start : start + CHUNK]).delete()
    new = [
        TierProposal(
            account_id=d.account_id,
            tier_id=d.proposed_tier_id,
            rule=d.rule,
            evidence=d.evidence,
            proposed_at=now,
        )
        for account_id, d in wanted.items()
        if stored.get(account_id) != d.proposed_tier_id
    ]
    TierProposal.objects.bulk_create(new, batch_size=CHUNK, ignore_conflicts=True)
    return len(new), len(stale)


def tier_rules_run() -> dict | None:
    """Apply the tier rules before an evaluation; a failure is logged, never raised, so
    that the playbooks are evaluated all the same."""
    try:
        result = tier_rules_apply()
    except Exception:  # logged with its traceback; the evaluation must still run
        logger.exception("Applying the tier rules failed.")
        return None
    for error in result["errors"]:
        logger.warning(
            "Tier rule %s (%s) left out: %s", error["rule"], error["name"], error["error"]
        )
    if result["rules"]:
        logger.info(
            "Tier rules: %s rule(s), %s account(s) matching, %s changed, %s manual tier(s) "
            "with a proposal (%s new, %s withdrawn).",
            result["rules"],
            result["matching"],
            result["changed"],
            result["proposals"],
            result["proposed"],
            result["withdrawn"],
        )
    return result


@transaction.atomic
def tier_proposals_accept(*, proposals, user) -> int:
    """A person accepts the rules' tier for these accounts: the tier changes (recorded
    as theirs) and becomes rule-managed. Returns how many accounts changed tier."""
    rows = list(
        TierProposal.objects.filter(pk__in=[p.pk for p in proposals]).select_related("rule__tier")
    )
    events = account_services.account_tiers_set_by_rules(
        assignments=[
            account_services.RuleTier(
                account_id=p.account_id,
                tier_id=p.tier_id,
                actor_label=f"Accepted: {_label(p.rule)}" if p.rule else "Accepted tier proposal",
                data={"tier_rule": p.rule_id, "evidence": p.evidence},
            )
            for p in rows
        ],
        actor=user,
        overrule_manual=True,
    )
    TierProposal.objects.filter(pk__in=[p.pk for p in rows]).delete()
    return len(events)

"""Steps that change the account itself: `set_stage`, `set_tier`, `personalize`."""

from accounts import services as account_services
from accounts.choices import TierSource
from accounts.models import Tier

from ...choices_execution import StepSkipReason
from ...models_execution import AccountExperience
from . import StepFailed, StepSkipped, actor_label


def set_stage(run, *, now) -> dict:
    account = run.activation.account
    old, new = account.stage, run.config["stage"]
    if old == new:
        return {"stage": new, "changed": False}
    # The services record the change and queue `account.stage_changed` (accounts.hooks).
    account_services.account_update(
        account=account, data={"stage": new}, actor_label=actor_label(run)
    )
    return {"stage": new, "old": old, "changed": True}


def set_tier(run, *, now) -> dict:
    account = run.activation.account
    tier = Tier.objects.filter(name=run.config["tier"]).first()
    if tier is None:
        raise StepFailed(f"No tier is named '{run.config['tier']}'.")
    if account.tier_id and account.tier_source == TierSource.MANUAL:
        # A person chose this tier: record what the play would have set, change nothing.
        raise StepSkipped(StepSkipReason.MANUAL_TIER, {"would_set": tier.name})
    if account.tier_id == tier.pk:
        return {"tier": tier.name, "changed": False}
    old = account.tier.name if account.tier_id else ""
    # The services record the change and queue `account.tier_changed` (accounts.hooks).
    account_services.account_update(
        account=account,
        data={"tier": tier, "tier_source": TierSource.RULE},
        actor_label=actor_label(run),
    )
    return {"tier": tier.name, "old": old, "changed": True}


def personalize(run, *, now) -> dict:
    AccountExperience.objects.update_or_create(
        account_id=run.activation.account_id,
        defaults={
            "variant": run.config["variant"],
            "content": run.config.get("content") or {},
            "activation": run.activation,
        },
    )
    return {"variant": run.config["variant"]}

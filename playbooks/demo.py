"""Demo playbooks: a library of real plays across the five motions, then one evaluation.

Registered as a demo phase in `PlaybooksConfig.ready()`, so it runs after the account
graph, the signals and the scores. Each playbook is saved and (all but one) published
through the services, exactly as RevOps would in the editor; the last one is left as a
draft to show the editing flow. The evaluation that follows gives the demo its first
activations, with evidence.
"""

from collections import Counter

from accounts.selectors import tier_list

from . import services
from .choices import RunOrigin
from .models import Playbook


def _cond(feature, operator, value=None, **params):
    return {"feature": feature, "operator": operator, "value": value, "params": params}


def _task(role, title, body="", due_days=3, priority="normal", delay_days=0):
    return {
        "kind": "create_task",
        "delay_days": delay_days,
        "config": {
            "role": role,
            "title": title,
            "body": body,
            "due_days": due_days,
            "priority": priority,
        },
    }


def demo_playbooks(tiers: list[str]) -> list[dict]:
    """The library; `tiers` are the tier names, highest first."""
    top = tiers[:1]
    second = tiers[1:2]
    return [
        {
            "name": "Tier 1 new logo: intent surge and a growing committee",
            "description": "Strategic prospects researching our category while more of "
            "their buying committee engages: the AE builds a 1:1 plan.",
            "motion": "new_logo",
            "tiers": top,
            "stages": ["prospect", "engaged"],
            "teams": ["Sales", "Marketing"],
            "priority": 10,
            "capacity": 40,
            "holdout_percent": 10,
            "outcome": {"kind": "stage_reached", "stage": "opportunity", "window_days": 60},
            "triggers": [
                {
                    "name": "Surge with committee growth",
                    "conditions": [
                        _cond("signal_count", "gte", 2, signal_types=["intent.surge"], days=14),
                        _cond("committee_growth_30d", "gte", 1),
                    ],
                },
                {"name": "Very high intent", "conditions": [_cond("intent_score", "gte", 80)]},
            ],
            "steps": [
                _task(
                    "ae",
                    "Intent surge at {{ account.name }}: build the account plan",
                    "Topics and people behind the surge are in the evidence.",
                    due_days=2,
                    priority="high",
                ),
                _task("sdr", "Multi-thread {{ account.name }}'s buying committee", delay_days=2),
                {
                    "kind": "personalize",
                    "delay_days": 0,
                    "config": {"variant": "strategic-prospect"},
                },
            ],
        },
        {
            "name": "Tier 2 new logo: pricing page interest",
            "description": "Target accounts visiting pricing and product pages: SDR outreach.",
            "motion": "new_logo",
            "tiers": second,
            "stages": ["prospect", "engaged"],
            "teams": ["Sales"],
            "priority": 30,
            "holdout_percent": 20,
            "reentry_policy": "after_cooldown",
            "cooldown_days": 90,
            "outcome": {"kind": "stage_reached", "stage": "opportunity", "window_days": 90},
            "triggers": [
                {
                    "name": "Repeated visits",
                    "conditions": [
                        _cond("signal_count", "gte", 5, signal_types=["web.visit"], days=14),
                        _cond(
                            "signal_distinct_contacts",
                            "gte",
                            2,
                            signal_types=["web.visit"],
                            days=14,
                        ),
                    ],
                }
            ],
            "steps": [_task("sdr", "{{ account.name }} keeps coming back: reach out")],
        },
        {
            "name": "Expansion: usage above the plan",
            "description": "Customers whose active users keep growing: time for the "
            "expansion conversation.",
            "motion": "expansion",
            "stages": ["customer"],
            "teams": ["Sales", "Customer Success"],
            "priority": 20,
            "holdout_percent": 20,
            "reentry_policy": "after_cooldown",
            "cooldown_days": 120,
            "outcome": {"kind": "expansion", "window_days": 90},
            "triggers": [
                {
                    "name": "Usage threshold",
                    "conditions": [
                        _cond(
                            "signal_latest_value",
                            "gte",
                            40,
                            signal_types=["product.active_users"],
                            days=30,
                        ),
                        _cond(
                            "signal_change_pct",
                            "gte",
                            10,
                            signal_types=["product.active_users"],
                            days=30,
                            measure="latest",
                        ),
                    ],
                }
            ],
            "steps": [
                _task("ae", "Expansion conversation with {{ account.name }}", due_days=5),
                {"kind": "personalize", "delay_days": 0, "config": {"variant": "expansion-offer"}},
            ],
        },
        {
            "name": "Retention: usage drop",
            "description": "Customers whose active users fell by a third or whose health is "
            "red: the CSM calls, and every other motion waits.",
            "motion": "retention",
            "stages": ["customer"],
            "teams": ["Customer Success"],
            "priority": 1,
            "blocked_motions": ["new_logo", "expansion", "advocacy"],
            "reentry_policy": "every_entry",
            "outcome": {"kind": "churn", "window_days": 90},
            "triggers": [
                {
                    "name": "Usage fell",
                    "conditions": [
                        _cond(
                            "signal_change_pct",
                            "lte",
                            -30,
                            signal_types=["product.active_users"],
                            days=30,
                            measure="latest",
                        ),
                    ],
                },
                {"name": "Health is low", "conditions": [_cond("health_score", "lt", 40)]},
            ],
            "steps": [
                _task(
                    "csm",
                    "Usage drop at {{ account.name }}: call this week",
                    due_days=2,
                    priority="high",
                ),
                {
                    "kind": "notify",
                    "delay_days": 0,
                    "config": {
                        "channel": "email",
                        "role": "ae",
                        "message": "{{ account.name }} is in a retention play: hold outreach.",
                    },
                },
            ],
        },
        {
            "name": "Retention: support spike before renewal",
            "description": "Many tickets in the months before a renewal.",
            "motion": "retention",
            "stages": ["customer"],
            "teams": ["Customer Success"],
            "priority": 2,
            "blocked_motions": ["expansion"],
            "outcome": {"kind": "churn", "window_days": 120},
            "triggers": [
                {
                    "name": "Tickets before renewal",
                    "conditions": [
                        _cond("tickets_30d", "gte", 4),
                        _cond("days_to_renewal", "between", [0, 120]),
                    ],
                }
            ],
            "steps": [_task("csm", "Review open tickets with {{ account.name }} before renewal")],
        },
        {
            "name": "Advocacy: happy customers",
            "description": "Healthy customers who rate us 9 or 10: ask for a reference or a "
            "case study.",
            "motion": "advocacy",
            "stages": ["customer"],
            "teams": ["Customer Success", "Marketing"],
            "priority": 40,
            "reentry_policy": "after_cooldown",
            "cooldown_days": 180,
            "holdout_percent": 10,
            "outcome": {"kind": "expansion", "window_days": 180},
            "triggers": [
                {
                    "name": "Promoter",
                    "conditions": [_cond("nps_latest", "gte", 9), _cond("health_score", "gte", 70)],
                }
            ],
            "steps": [_task("csm", "Ask {{ account.name }} for a reference", due_days=7)],
        },
        {
            "name": "Partner: referred and engaged",
            "description": "Accounts a partner referred, now engaging: align with the "
            "partner manager.",
            "motion": "partner",
            "stages": ["prospect", "engaged", "opportunity"],
            "teams": ["Partner", "Sales"],
            "priority": 25,
            "outcome": {"kind": "deal_won", "window_days": 120},
            "triggers": [
                {
                    "name": "Partner referral",
                    "conditions": [
                        _cond("has_partner", "eq", True),
                        _cond("signal_count", "gte", 1, signal_types=["partner.referral"], days=60),
                    ],
                }
            ],
            "steps": [
                _task("partner_manager", "Joint plan with the partner for {{ account.name }}"),
                _task("ae", "Partner-referred: {{ account.name }}", delay_days=1),
            ],
        },
        {
            "name": "Expansion: new buying committee members (draft)",
            "description": "A draft RevOps is still shaping: customers adding people.",
            "motion": "expansion",
            "stages": ["customer"],
            "teams": ["Sales"],
            "priority": 50,
            "outcome": {"kind": "expansion", "window_days": 90},
            "triggers": [
                {"name": "Committee grew", "conditions": [_cond("committee_growth_30d", "gte", 2)]}
            ],
            "steps": [_task("ae", "New people at {{ account.name }}: introduce yourself")],
        },
    ]


def seed_playbooks(*, seed: int, today, **kwargs) -> Counter:
    tiers = [tier.name for tier in tier_list()]
    counts = Counter()
    for data in demo_playbooks(tiers):
        # By name: loading the demo again updates the library instead of failing.
        existing = Playbook.objects.filter(name=data["name"]).first()
        playbook = services.playbook_save(data=data, playbook=existing)
        counts["playbooks"] += 1
        if "(draft)" not in data["name"]:
            services.playbook_publish(playbook=playbook, note="Demo library")
            counts["playbook versions"] += 1
    run = services.evaluation_run(origin=RunOrigin.MANUAL)
    counts["activations"] += run.entered + run.held_out
    return counts

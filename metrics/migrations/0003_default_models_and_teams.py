"""The four shipped score models (fit, intent, engagement, health) for a B2B SaaS
company, and who may edit score models."""

from django.db import migrations

from abx_site.common.groups import grant

ALL = ("add", "change", "delete")
POLICY = {"RevOps": {"scoremodel": ALL, "scoreband": ALL, "scorecomponent": ALL}}

BANDS = [("green", 70), ("yellow", 40), ("red", 0)]
ENGAGEMENT_TYPES = [
    "email.click", "email.open", "form.submitted", "meeting.held", "web.visit",
    "webinar.attended",
]

# key, name, description, components (field values)
MODELS = [
    ("fit", "Fit", "How closely the account matches the ideal customer profile.", [
        {"name": "Company size", "feature": "employee_count", "lower": 50, "upper": 2000,
         "weight": 3},
        {"name": "Industry", "feature": "industry", "normalisation": "mapping", "weight": 2,
         "steps": {"Software": 100, "Cybersecurity": 90, "Fintech": 90,
                   "Financial services": 80, "Healthcare": 70, "Insurance": 60,
                   "Telecommunications": 60, "default": 30}},
        {"name": "Country", "feature": "country", "normalisation": "mapping", "weight": 1,
         "steps": {"US": 100, "GB": 90, "DE": 90, "CA": 80, "FR": 80, "NL": 80, "AU": 70,
                   "default": 40}},
        {"name": "Target account", "feature": "is_target", "normalisation": "mapping",
         "weight": 1, "steps": {"true": 100, "false": 20}},
    ]),
    ("intent", "Intent", "How actively the account researches what we sell, now.", [
        {"name": "Intent surge", "source": "signals", "signal_types": ["intent.surge"],
         "aggregate": "average", "window_days": 14, "lower": 0, "upper": 100, "weight": 3},
        {"name": "Website visits", "source": "signals", "signal_types": ["web.visit"],
         "aggregate": "count", "window_days": 14, "half_life_days": 7, "lower": 0,
         "upper": 25, "weight": 2},
        {"name": "Form fills", "source": "signals", "signal_types": ["form.submitted"],
         "aggregate": "count", "window_days": 30, "normalisation": "steps",
         "steps": [[1, 70], [2, 100]], "weight": 2},
    ]),
    ("engagement", "Engagement", "How much the account's people engage with us.", [
        {"name": "Engagement activity", "source": "signals", "signal_types": ENGAGEMENT_TYPES,
         "aggregate": "points", "window_days": 30, "half_life_days": 14,
         "role_multipliers": {"decision_maker": 2, "economic_buyer": 2, "champion": 1.5},
         "lower": 0, "upper": 150, "weight": 3},
        {"name": "People engaged", "feature": "signal_distinct_contacts",
         "feature_params": {"signal_types": sorted(ENGAGEMENT_TYPES), "days": 30},
         "lower": 0, "upper": 6, "weight": 2},
        {"name": "Committee coverage", "feature": "committee_coverage_pct", "lower": 0,
         "upper": 100, "weight": 1},
    ]),
    ("health", "Health", "How healthy a customer relationship is: usage, support, NPS.", [
        {"name": "Product usage trend", "feature": "signal_change_pct",
         "feature_params": {"signal_types": ["product.active_users"], "days": 30,
                            "measure": "latest"},
         "lower": -50, "upper": 10, "weight": 3},
        {"name": "Support load", "feature": "tickets_30d", "lower": 10, "upper": 0,
         "weight": 1},
        {"name": "NPS", "feature": "nps_latest", "normalisation": "steps",
         "steps": [[0, 0], [7, 50], [9, 100]], "weight": 2},
        {"name": "Engagement", "feature": "engagement_score", "lower": 0, "upper": 100,
         "weight": 2},
    ]),
]  # fmt: skip


def create_models(apps, schema_editor):
    ScoreModel = apps.get_model("metrics", "ScoreModel")
    ScoreBand = apps.get_model("metrics", "ScoreBand")
    ScoreComponent = apps.get_model("metrics", "ScoreComponent")
    for key, name, description, components in MODELS:
        model, created = ScoreModel.objects.get_or_create(
            key=key, defaults={"name": name, "description": description}
        )
        if not created:
            continue
        for band, minimum in BANDS:
            ScoreBand.objects.create(model=model, name=band, min_score=minimum)
        for position, fields in enumerate(components):
            fields = {"source": "feature", "normalisation": "linear", **fields}
            ScoreComponent.objects.create(model=model, position=position, **fields)
    grant(apps, "metrics", POLICY)


def remove_models(apps, schema_editor):
    apps.get_model("metrics", "ScoreModel").objects.filter(
        key__in=[key for key, *_ in MODELS]
    ).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("metrics", "0002_historicalscorecomponent_scorecomponent"),
        ("signals", "0002_standard_sources_and_types"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_models, remove_models)]

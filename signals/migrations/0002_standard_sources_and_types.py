import base64
import secrets
from decimal import Decimal

from django.db import migrations

SOURCES = [
    ("Website", "website", "website"),
    ("Intent data", "intent", "intent"),
    ("Marketing automation", "marketing", "marketing"),
    ("Sales engagement", "sales", "sales"),
    ("Product analytics", "product", "product"),
    ("Support desk", "support", "support"),
    ("NPS survey", "nps", "nps"),
    ("Partner portal", "partner", "partner"),
    ("CRM", "crm", "crm"),
    ("Billing", "billing", "billing"),
]

# key, name, category, aggregation, default weight, unit, description
TYPES = [
    ("web.visit", "Website visit", "web", "counter", "1", "page views",
     "A visit to the website; topic is the page, value the pages viewed."),
    ("form.submitted", "Form submitted", "web", "counter", "10", "",
     "A form filled in on the website (demo request, contact, download)."),
    ("intent.surge", "Intent surge", "intent", "gauge", "5", "score",
     "Third-party research intent on a topic; value is the surge score (0-100)."),
    ("email.open", "Email opened", "marketing", "counter", "0.5", "", "A marketing email opened."),
    ("email.click", "Email clicked", "marketing", "counter", "2", "",
     "A link in a marketing email clicked."),
    ("webinar.attended", "Webinar attended", "marketing", "counter", "8", "",
     "A person attended a webinar; topic is the webinar."),
    ("meeting.held", "Meeting held", "sales", "counter", "15", "minutes",
     "A sales meeting took place; value is its length."),
    ("product.active_users", "Active users", "product", "gauge", "0", "users",
     "How many people used the product that day."),
    ("product.feature_used", "Feature used", "product", "counter", "1", "uses",
     "A product feature was used; topic is the feature."),
    ("support.ticket_opened", "Support ticket opened", "support", "counter", "-1", "",
     "A support ticket was opened; attributes carry priority and category."),
    ("nps.response", "NPS response", "nps", "gauge", "0", "score",
     "An NPS survey answer; value is the score (0-10)."),
    ("partner.referral", "Partner referral", "partner", "counter", "10", "",
     "A partner referred or registered the account."),
    ("deal.stage_changed", "Deal stage changed", "deal", "counter", "5", "",
     "An opportunity moved stage in the CRM; topic is the new stage."),
]


def seed(apps, schema_editor):
    Source = apps.get_model("signals", "Source")
    SignalType = apps.get_model("signals", "SignalType")
    for name, slug, kind in SOURCES:
        Source.objects.get_or_create(
            slug=slug,
            defaults={
                "name": name,
                "kind": kind,
                "webhook_secret": "whsec_"
                + base64.b64encode(secrets.token_bytes(32)).decode("ascii"),
            },
        )
    for key, name, category, aggregation, weight, unit, description in TYPES:
        SignalType.objects.get_or_create(
            key=key,
            defaults={
                "name": name,
                "category": category,
                "aggregation": aggregation,
                "default_weight": Decimal(weight),
                "unit": unit,
                "description": description,
            },
        )


class Migration(migrations.Migration):
    dependencies = [("signals", "0001_initial")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]

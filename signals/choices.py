from django.db import models


class SourceKind(models.TextChoices):
    WEBSITE = "website", "Website"
    INTENT = "intent", "Intent data"
    MARKETING = "marketing", "Marketing automation"
    SALES = "sales", "Sales engagement"
    PRODUCT = "product", "Product analytics"
    SUPPORT = "support", "Support desk"
    NPS = "nps", "NPS survey"
    PARTNER = "partner", "Partner portal"
    CRM = "crm", "CRM"
    BILLING = "billing", "Billing"


class Aggregation(models.TextChoices):
    COUNTER = "counter", "Counter (counts and sums mean something)"
    GAUGE = "gauge", "Gauge (a level: latest and average mean something)"


class SignalCategory(models.TextChoices):
    WEB = "web", "Web"
    INTENT = "intent", "Intent"
    MARKETING = "marketing", "Marketing"
    SALES = "sales", "Sales"
    PRODUCT = "product", "Product"
    SUPPORT = "support", "Support"
    NPS = "nps", "NPS"
    PARTNER = "partner", "Partner"
    DEAL = "deal", "Deal"


class IdentityKind(models.TextChoices):
    """How an unmatched identity is recognised, in order of preference."""

    DOMAIN = "domain", "Domain"
    IDENTIFIER = "identifier", "External identifier"
    NAME = "name", "Company name"
    IP = "ip", "IP address"


class ReviewStatus(models.TextChoices):
    OPEN = "open", "Waiting for review"
    ASSIGNED = "assigned", "Assigned to an account"
    IGNORED = "ignored", "Ignored"

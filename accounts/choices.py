from django.db import models


class Stage(models.TextChoices):
    PROSPECT = "prospect", "Prospect"
    ENGAGED = "engaged", "Engaged"
    OPPORTUNITY = "opportunity", "Opportunity"
    CUSTOMER = "customer", "Customer"
    CHURNED = "churned", "Churned"


class Treatment(models.TextChoices):
    ONE_TO_ONE = "one_to_one", "1:1"
    ONE_TO_FEW = "one_to_few", "1:few"
    ONE_TO_MANY = "one_to_many", "1:many"


class TierSource(models.TextChoices):
    MANUAL = "manual", "Manual"
    RULE = "rule", "Rule"


class BuyingRole(models.TextChoices):
    DECISION_MAKER = "decision_maker", "Decision maker"
    ECONOMIC_BUYER = "economic_buyer", "Economic buyer"
    CHAMPION = "champion", "Champion"
    TECHNICAL_EVALUATOR = "technical_evaluator", "Technical evaluator"
    INFLUENCER = "influencer", "Influencer"
    USER = "user", "User"
    BLOCKER = "blocker", "Blocker"
    UNKNOWN = "unknown", "Unknown"


class Seniority(models.TextChoices):
    C_LEVEL = "c_level", "C-level"
    VP = "vp", "VP"
    DIRECTOR = "director", "Director"
    MANAGER = "manager", "Manager"
    INDIVIDUAL = "individual", "Individual contributor"


class Department(models.TextChoices):
    EXECUTIVE = "executive", "Executive"
    SALES = "sales", "Sales"
    MARKETING = "marketing", "Marketing"
    ENGINEERING = "engineering", "Engineering"
    IT = "it", "IT"
    FINANCE = "finance", "Finance"
    OPERATIONS = "operations", "Operations"
    PRODUCT = "product", "Product"
    SUPPORT = "support", "Customer support"
    HR = "hr", "People / HR"
    LEGAL = "legal", "Legal"
    OTHER = "other", "Other"


class PartnerKind(models.TextChoices):
    RESELLER = "reseller", "Reseller"
    REFERRAL = "referral", "Referral"
    TECHNOLOGY = "technology", "Technology"
    SERVICES = "services", "Services"


class TeamRole(models.TextChoices):
    AE = "ae", "Account executive"
    SDR = "sdr", "SDR"
    CSM = "csm", "Customer success manager"
    PARTNER_MANAGER = "partner_manager", "Partner manager"


class IdentifierSystem(models.TextChoices):
    CRM = "crm", "CRM"
    BILLING = "billing", "Billing"
    PRODUCT = "product", "Product"
    SUPPORT = "support", "Support"
    MARKETING = "marketing", "Marketing automation"
    PARTNER = "partner", "Partner portal"


class DealKind(models.TextChoices):
    NEW_BUSINESS = "new_business", "New business"
    EXPANSION = "expansion", "Expansion"
    RENEWAL = "renewal", "Renewal"


class DealStage(models.TextChoices):
    QUALIFICATION = "qualification", "Qualification"
    DISCOVERY = "discovery", "Discovery"
    PROPOSAL = "proposal", "Proposal"
    NEGOTIATION = "negotiation", "Negotiation"
    CLOSED = "closed", "Closed"


class DealStatus(models.TextChoices):
    OPEN = "open", "Open"
    WON = "won", "Won"
    LOST = "lost", "Lost"


class PartnerInfluence(models.TextChoices):
    NONE = "none", "None"
    INFLUENCED = "influenced", "Influenced"
    SOURCED = "sourced", "Sourced"


class AccountEventKind(models.TextChoices):
    CREATED = "created", "Created"
    STAGE_CHANGED = "stage_changed", "Stage changed"
    TIER_CHANGED = "tier_changed", "Tier changed"
    OWNER_CHANGED = "owner_changed", "Owner changed"
    PARENT_CHANGED = "parent_changed", "Parent changed"
    MERGED = "merged", "Merged"
    CONTACT_ERASED = "contact_erased", "Contact erased"


class IdentityMethod(models.TextChoices):
    """The steps of identity resolution (DESIGN §3), which are also the match methods."""

    ACCOUNT_ID = "account_id", "Account id"
    IDENTIFIER = "identifier", "External identifier"
    CONTACT_EMAIL = "contact_email", "Known contact email"
    EMAIL_DOMAIN = "email_domain", "Email domain"
    DOMAIN = "domain", "Domain or URL"
    IP = "ip", "IP range"
    NAME = "name", "Fuzzy company name"
    UNMATCHED = "unmatched", "Unmatched"

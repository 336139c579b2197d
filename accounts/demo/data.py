"""The tables the demo is drawn from: tiers, persona rules, partners, staff, names, titles."""

from decimal import Decimal

from ..choices import BuyingRole, DealStage, Department, PartnerKind, Seniority, Stage, Treatment


def words(text: str) -> list[str]:
    return text.split()


DEMO_USERNAME = "demo"
DEMO_PASSWORD = "demo-password"  # noqa: S105 - the published demo login `make run` prints
ACTOR_LABEL = "Demo data"
HISTORY_MONTHS = 24
MIN_ACCOUNTS = 20

TIERS = [
    # (rank, name, treatment, required roles, share of accounts, description)
    (
        1,
        "Tier 1 - Strategic",
        Treatment.ONE_TO_ONE,
        [
            BuyingRole.DECISION_MAKER,
            BuyingRole.ECONOMIC_BUYER,
            BuyingRole.CHAMPION,
            BuyingRole.TECHNICAL_EVALUATOR,
        ],
        0.10,
        "Named accounts worked one-to-one by a dedicated pod.",
    ),
    (
        2,
        "Tier 2 - Target",
        Treatment.ONE_TO_FEW,
        [BuyingRole.DECISION_MAKER, BuyingRole.CHAMPION],
        0.30,
        "Clusters of similar accounts worked with industry plays.",
    ),
    (
        3,
        "Tier 3 - Scale",
        Treatment.ONE_TO_MANY,
        [BuyingRole.DECISION_MAKER],
        0.60,
        "Programmatic one-to-many marketing; sales on signal.",
    ),
]

STAGE_SHARES = [
    (Stage.PROSPECT, 0.40),
    (Stage.ENGAGED, 0.17),
    (Stage.OPPORTUNITY, 0.12),
    (Stage.CUSTOMER, 0.25),
    (Stage.CHURNED, 0.06),
]
FUNNEL = [Stage.PROSPECT, Stage.ENGAGED, Stage.OPPORTUNITY, Stage.CUSTOMER, Stage.CHURNED]

# (priority, name, title pattern, buying role, seniority, department). Earlier wins, so
# the specific patterns (finance chiefs, procurement) come before the generic ones.
PERSONA_RULES = [
    (10, "Finance leaders", r"\b(cfo|chief financial officer|finance director|director of "
     r"finance|head of finance|vp,? finance|controller|treasurer)\b", BuyingRole.ECONOMIC_BUYER,
     "", Department.FINANCE),
    (20, "Chiefs", r"\b(chief|ceo|cto|cio|coo|cro|cmo|president|founder)\b",
     BuyingRole.DECISION_MAKER, Seniority.C_LEVEL, ""),
    (30, "Procurement", r"\b(procurement|purchasing|sourcing|vendor management)\b",
     BuyingRole.INFLUENCER, "", Department.OPERATIONS),
    (40, "Vice presidents", r"\b(vp|svp|evp|vice president)\b", BuyingRole.DECISION_MAKER,
     Seniority.VP, ""),
    (50, "Heads of", r"\bhead of\b", BuyingRole.CHAMPION, Seniority.DIRECTOR, ""),
    (60, "Directors", r"\bdirector\b", BuyingRole.CHAMPION, Seniority.DIRECTOR, ""),
    (70, "Technical leads", r"\b(architect|engineering manager|it manager|tech lead)\b",
     BuyingRole.TECHNICAL_EVALUATOR, "", Department.ENGINEERING),
    (80, "Managers", r"\b(manager|lead)\b", BuyingRole.INFLUENCER, Seniority.MANAGER, ""),
    (90, "Engineers", r"\b(engineer|developer|sre|devops)\b", BuyingRole.TECHNICAL_EVALUATOR,
     Seniority.INDIVIDUAL, Department.ENGINEERING),
    (100, "Practitioners", r"\b(analyst|specialist|coordinator|associate|representative)\b",
     BuyingRole.USER, Seniority.INDIVIDUAL, ""),
]  # fmt: skip

PARTNERS = [
    ("Northbridge Distribution", PartnerKind.RESELLER, "https://www.northbridge-dist.com"),
    ("Channelway Resellers", PartnerKind.RESELLER, "https://www.channelway.co.uk"),
    ("Referral Circle", PartnerKind.REFERRAL, "https://www.referralcircle.io"),
    ("Advisory Partners Group", PartnerKind.REFERRAL, "https://www.advisorypg.com"),
    ("Snowfield Data", PartnerKind.TECHNOLOGY, "https://www.snowfielddata.com"),
    ("Pipelane", PartnerKind.TECHNOLOGY, "https://www.pipelane.io"),
    ("Brightpath Consulting", PartnerKind.SERVICES, "https://www.brightpath.consulting"),
    ("Keystone Implementation", PartnerKind.SERVICES, "https://www.keystone-impl.de"),
]

# (username, first name, last name, team); every staff login shares the demo password.
STAFF = [
    ("revops.riley", "Riley", "Nakamura", "RevOps"),
    ("ae.alex", "Alex", "Moreno", "Sales"),
    ("ae.avery", "Avery", "Lindqvist", "Sales"),
    ("ae.jordan", "Jordan", "Okafor", "Sales"),
    ("sdr.sam", "Sam", "Whitfield", "Sales"),
    ("sdr.skyler", "Skyler", "Brandt", "Sales"),
    ("csm.casey", "Casey", "Dubois", "Customer Success"),
    ("csm.charlie", "Charlie", "Haddad", "Customer Success"),
    ("marketing.morgan", "Morgan", "Keane", "Marketing"),
    ("pm.parker", "Parker", "Adeyemi", "Partner"),
    ("exec.emery", "Emery", "Castillo", "Viewer"),
]

NAME_WORDS = words(
    "Acorn Alder Apex Arbor Atlas Aurora Beacon Birch Bright Brookline Cascade Cedar Cobalt "
    "Copper Crescent Crestview Delta Driftwood Ember Everest Evergreen Falcon Fjord Foxglove "
    "Granite Greystone Harbor Helix Highland Horizon Ironwood Juniper Keystone Lakeshore Lumen "
    "Maple Meridian Mosaic Nimbus Northstar Northwind Oakridge Orion Pinnacle Pioneer Polar "
    "Quarry Redwood Ridge Riverbend Sable Sequoia Silverline Solstice Sterling Stonebridge "
    "Summit Thornbury Tidewater Trident Vanguard Vertex Westgate Willow Zephyr"
)
# Second word -> industry.
SECTORS = {
    "Analytics": "Software", "Systems": "Software", "Cloud": "Software", "Labs": "Software",
    "Security": "Cybersecurity", "Health": "Healthcare", "Medical": "Healthcare",
    "Bank": "Financial services", "Capital": "Financial services", "Payments": "Fintech",
    "Insurance": "Insurance", "Logistics": "Logistics", "Freight": "Logistics",
    "Foods": "Food & beverage", "Energy": "Energy", "Power": "Energy",
    "Robotics": "Manufacturing", "Materials": "Manufacturing", "Motors": "Automotive",
    "Retail": "Retail", "Outfitters": "Retail", "Media": "Media", "Studios": "Media",
    "Telecom": "Telecommunications", "Networks": "Telecommunications",
    "Pharma": "Life sciences", "Biosciences": "Life sciences", "Learning": "Education",
    "Hotels": "Hospitality", "Travel": "Travel", "Realty": "Real estate",
    "Construction": "Construction", "Consulting": "Professional services",
}  # fmt: skip

# country: (weight, legal suffixes, (national suffix, share of companies using it))
COUNTRIES = {
    "US": (45, ["Inc.", "Corp.", "LLC"], ("com", 1.0)),
    "GB": (14, ["Ltd", "plc"], ("co.uk", 0.7)),
    "DE": (12, ["GmbH", "AG"], ("de", 0.7)),
    "FR": (7, ["SAS", "SA"], ("fr", 0.6)),
    "CA": (6, ["Inc.", "Ltd"], ("ca", 0.4)),
    "NL": (5, ["B.V.", "N.V."], ("nl", 0.5)),
    "AU": (5, ["Pty Ltd"], ("com.au", 0.6)),
    "SE": (3, ["AB"], ("se", 0.5)),
    "JP": (3, ["K.K."], ("co.jp", 0.5)),
}
# A regional subsidiary: (name suffix, country, domain suffix).
REGIONS = [
    ("UK", "GB", "co.uk"),
    ("Deutschland", "DE", "de"),
    ("France", "FR", "fr"),
    ("Nederland", "NL", "nl"),
    ("Australia", "AU", "com.au"),
    ("Japan", "JP", "co.jp"),
    ("Canada", "CA", "ca"),
]

FIRST_NAMES = words(
    "Aisha Akira Alejandro Amara Anders Ana Ben Camille Carlos Chen Chloe Daniel Dmitri Elena "
    "Emma Fatima Felix Freya Gabriel Grace Hana Hugo Ines Isaac Ivan Jack James Javier Julia "
    "Kai Karin Laura Leo Liam Lina Lucas Maya Mateo Mei Mia Mohammed Nadia Noah Nora Olivia "
    "Omar Oscar Priya Rafael Ravi Rosa Ruth Sara Sofia Tariq Thomas Valentina Wei Yusuf Zoe"
)
LAST_NAMES = words(
    "Abbott Andersson Bauer Becker Bianchi Brown Campbell Chen Costa Silva Dubois Eriksson "
    "Fischer Garcia Gupta Hansen Harris Ito Jansen Johnson Kaur Kim Kowalski Larsen Lee Lopez "
    "Martin Meyer Miller Murphy Nguyen Novak O'Brien Patel Petrov Quinn Rossi Sato Schmidt "
    "Singh Smith Suzuki Tanaka Taylor Thompson Dijkstra Wagner Walker Weber Williams Wong Yilmaz"
)

# (title, department, weight). The department is what an enrichment provider would give;
# the buying role and seniority are left for the persona rules. The last few match no
# rule, as real titles sometimes do.
TITLES = [
    ("Chief Executive Officer", Department.EXECUTIVE, 1.0),
    ("Chief Technology Officer", Department.ENGINEERING, 1.0),
    ("Chief Information Officer", Department.IT, 1.0),
    ("Chief Financial Officer", Department.FINANCE, 1.0),
    ("Chief Revenue Officer", Department.SALES, 0.8),
    ("Chief Marketing Officer", Department.MARKETING, 0.8),
    ("CTO", Department.ENGINEERING, 0.5),
    ("VP of Engineering", Department.ENGINEERING, 2.0),
    ("VP Sales", Department.SALES, 1.5),
    ("VP Marketing", Department.MARKETING, 1.5),
    ("Vice President, IT", Department.IT, 1.0),
    ("VP Operations", Department.OPERATIONS, 1.0),
    ("SVP Product", Department.PRODUCT, 0.7),
    ("Head of Data", Department.ENGINEERING, 1.5),
    ("Head of Security", Department.IT, 1.0),
    ("Head of Revenue Operations", Department.SALES, 1.0),
    ("Head of Procurement", Department.OPERATIONS, 0.8),
    ("Head of Finance", Department.FINANCE, 0.8),
    ("Director of IT", Department.IT, 2.0),
    ("Director of Engineering", Department.ENGINEERING, 2.0),
    ("Marketing Director", Department.MARKETING, 1.5),
    ("Finance Director", Department.FINANCE, 1.0),
    ("Director, Sales Operations", Department.SALES, 1.0),
    ("Director of Customer Support", Department.SUPPORT, 1.0),
    ("HR Director", Department.HR, 0.5),
    ("Engineering Manager", Department.ENGINEERING, 2.0),
    ("IT Manager", Department.IT, 2.0),
    ("Procurement Manager", Department.OPERATIONS, 1.5),
    ("Marketing Manager", Department.MARKETING, 2.0),
    ("Sales Manager", Department.SALES, 1.5),
    ("Product Manager", Department.PRODUCT, 2.0),
    ("Finance Manager", Department.FINANCE, 1.0),
    ("Customer Success Manager", Department.SUPPORT, 1.0),
    ("Solutions Architect", Department.ENGINEERING, 1.5),
    ("Senior Software Engineer", Department.ENGINEERING, 3.0),
    ("DevOps Engineer", Department.ENGINEERING, 2.0),
    ("Data Engineer", Department.ENGINEERING, 2.0),
    ("Security Engineer", Department.IT, 1.0),
    ("Procurement Specialist", Department.OPERATIONS, 1.0),
    ("Financial Controller", Department.FINANCE, 0.7),
    ("Data Analyst", Department.ENGINEERING, 2.0),
    ("Marketing Operations Specialist", Department.MARKETING, 1.5),
    ("Sales Development Representative", Department.SALES, 1.0),
    ("Business Analyst", Department.OPERATIONS, 1.5),
    ("Operations Coordinator", Department.OPERATIONS, 1.0),
    ("Executive Assistant", Department.EXECUTIVE, 0.4),
    ("Consultant", Department.OTHER, 0.4),
]
TITLE_WEIGHTS = [weight for _, _, weight in TITLES]

# Employees, and ARR bounds in whole currency units, by tier rank.
EMPLOYEES = {1: (5_000, 80_000), 2: (500, 5_000), 3: (20, 500)}
ARR_RANGE = {1: (120_000, 900_000), 2: (30_000, 150_000), 3: (4_000, 30_000)}
CONTACTS_PER_ACCOUNT = {1: (8, 12), 2: (5, 9), 3: (3, 6)}
CENTS = Decimal("0.01")
OPEN_DEAL_STAGES = [
    DealStage.QUALIFICATION,
    DealStage.DISCOVERY,
    DealStage.PROPOSAL,
    DealStage.NEGOTIATION,
]

"""The account graph of a data set: tiers, partners, staff, accounts with domains,
identifiers, IP ranges and hierarchy, team members, contacts, deals and ARR history."""

import random
import re
import time
from bisect import bisect_left
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from itertools import accumulate

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from abx_site.common.bulk import bulk_load, next_id, reset_sequences

from ..choices import (
    BuyingRole,
    DealKind,
    DealStage,
    DealStatus,
    IdentifierSystem,
    PartnerInfluence,
    Stage,
    TeamRole,
    TierSource,
)
from ..demo.data import (
    COUNTRIES,
    FIRST_NAMES,
    LAST_NAMES,
    NAME_WORDS,
    PARTNERS,
    PERSONA_RULES,
    SECTORS,
    TIERS,
    TITLE_WEIGHTS,
    TITLES,
)
from ..domains import parse_ip_range
from ..identity import name_key
from ..models import (
    Account,
    AccountDomain,
    AccountIdentifier,
    AccountTeamMember,
    ArrChange,
    Contact,
    Deal,
    IpRange,
    Partner,
    PersonaRule,
    Tier,
)

# Share of accounts per tier rank; the rest are not targeted (no tier).
TIER_SHARES = {1: 0.01, 2: 0.05, 3: 0.20}
# Stages of the accounts that are not ARR customers.
STAGE_WEIGHTS = [
    (Stage.PROSPECT, 0.70),
    (Stage.ENGAGED, 0.15),
    (Stage.OPPORTUNITY, 0.08),
    (Stage.CHURNED, 0.07),
]
TIER_LIMITS = list(zip(TIER_SHARES, accumulate(TIER_SHARES.values()), strict=True))
SUBSIDIARY_SHARE = 0.03
ALIAS_DOMAIN_SHARE = 0.08
IP_RANGE_SHARE = 0.05
PARTNER_SHARE = 0.05
# Activity per account follows a Pareto law (roughly 80/20); customers use the product too.
PARETO_ALPHA = 1.16
MAX_WEIGHT = 2_000.0
CUSTOMER_BOOST = 3.0
STAFF_PER_ROLE = 12
ARR_BOUNDS = {1: (120_000, 900_000), 2: (30_000, 150_000), 3: (4_000, 30_000), 0: (2_000, 20_000)}
ARR_CHANGE_CHANCE = 0.18
CENTS = Decimal("0.01")
_NOT_LETTER = re.compile(r"[^a-z]")


@dataclass
class Dataset:
    """The planned data set, as later phases need it (kept in plain lists: it is big)."""

    sizes: object
    seed: int
    now: datetime
    first_account_id: int
    domains: list[str]
    crm_ids: list[str]
    tier_ranks: bytearray
    customers: bytearray
    activity_cum: list[float]
    first_contact_id: int
    contact_start: list[int]
    contact_count: list[int]
    contact_emails: list[str]
    log: Callable[[str], None]
    counts: Counter = field(default_factory=Counter)

    @property
    def account_count(self) -> int:
        return len(self.domains)

    def rng(self, part: str) -> random.Random:
        """An independent stream per part, so that adding a part never shifts the others."""
        return random.Random(f"{self.seed}:{part}")  # noqa: S311 - reproducible data, not secrets


def build_graph(*, sizes, seed: int, log: Callable[[str], None] | None = None) -> Dataset:
    if Account.objects.exists():
        raise ValueError(
            "The database already holds accounts; generate a data set into an empty "
            "database (a fresh DATABASE_URL or SQLite file)."
        )
    log = log or (lambda message: None)
    builder = _GraphBuilder(sizes=sizes, seed=seed, log=log)
    return builder.build()


class _GraphBuilder:
    def __init__(self, *, sizes, seed: int, log):
        self.sizes = sizes
        self.seed = seed
        self.log = log
        self.now = timezone.now().replace(minute=0, second=0, microsecond=0)
        self.today = self.now.date()
        self.counts: Counter = Counter()

    def rng(self, part: str) -> random.Random:
        return random.Random(f"{self.seed}:{part}")  # noqa: S311 - reproducible data, not secrets

    def timed(self, label: str, function, *args):
        started = time.perf_counter()
        with transaction.atomic():
            result = function(*args)
        self.log(f"{label}: {time.perf_counter() - started:.1f} s")
        return result

    def build(self) -> Dataset:
        tiers, partners, staff = self.timed("configuration", self.configuration)
        plan = self.timed("accounts", self.accounts, tiers, partners)
        self.timed("domains, identifiers, IP ranges", self.identities, plan)
        self.timed("team members", self.team, plan, staff)
        contacts = self.timed("contacts", self.contacts, plan)
        self.timed("deals", self.deals, plan, partners)
        self.timed("ARR history", self.arr_history, plan)
        first_contact_id, contact_start, contact_count, emails = contacts
        return Dataset(
            sizes=self.sizes,
            seed=self.seed,
            now=self.now,
            first_account_id=plan.first_id,
            domains=plan.domains,
            crm_ids=plan.crm_ids,
            tier_ranks=plan.tier_ranks,
            customers=plan.customers,
            activity_cum=list(accumulate(plan.weights)),
            first_contact_id=first_contact_id,
            contact_start=contact_start,
            contact_count=contact_count,
            contact_emails=emails,
            log=self.log,
            counts=self.counts,
        )

    # Configuration: tiers, partners and staff are shared with the demo's vocabulary.

    def configuration(self):
        tiers = {}
        for rank, name, treatment, roles, _, description in TIERS:
            tier = Tier.objects.filter(rank=rank).first()
            if tier is None:
                tier = Tier.objects.create(
                    rank=rank,
                    name=name,
                    treatment=treatment,
                    required_roles=[str(role) for role in roles],
                    description=description,
                )
            tiers[rank] = tier.pk
        partners = []
        for name, kind, website in PARTNERS:
            partner, _ = Partner.objects.get_or_create(
                name=name, defaults={"kind": kind, "website": website}
            )
            partners.append(partner.pk)
        staff = {}
        for role in (TeamRole.AE, TeamRole.SDR, TeamRole.CSM):
            users = []
            for number in range(1, STAFF_PER_ROLE + 1):
                user, _ = User.objects.get_or_create(
                    username=f"dataset.{role}.{number}",
                    defaults={"is_staff": True, "password": "!", "first_name": role.upper()},
                )
                users.append(user.pk)
            staff[role] = users
        return tiers, partners, staff

    # Accounts ---------------------------------------------------------------------------

    def accounts(self, tiers, partners):
        rng = self.rng("accounts")
        total = self.sizes.accounts
        plan = _Plan(first_id=next_id(Account))
        countries = list(COUNTRIES)
        country_weights = [COUNTRIES[code][0] for code in countries]
        sectors = list(SECTORS)
        customer_set = set(rng.sample(range(total), min(self.sizes.arr_customers, total)))
        used_slugs: Counter = Counter()
        rows = []
        for index in range(total):
            first, second = rng.choice(NAME_WORDS), rng.choice(NAME_WORDS)
            sector = rng.choice(sectors)
            country = rng.choices(countries, country_weights)[0]
            _, suffixes, (national, national_share) = COUNTRIES[country]
            slug = f"{first}{second}{sector}".lower()
            used_slugs[slug] += 1
            if used_slugs[slug] > 1:
                slug = f"{slug}{used_slugs[slug]}"
            tld = national if rng.random() < national_share else "com"
            domain = f"{slug}.{tld}"
            roll = rng.random()
            rank = next((r for r, limit in TIER_LIMITS if roll < limit), 0)
            is_customer = index in customer_set
            stage = Stage.CUSTOMER if is_customer else _weighted(rng, STAGE_WEIGHTS)
            weight = min(rng.paretovariate(PARETO_ALPHA), MAX_WEIGHT)
            if is_customer:
                weight *= CUSTOMER_BOOST
            parent = None
            if index > 10 and rng.random() < SUBSIDIARY_SHARE:
                parent = plan.first_id + rng.randrange(index)
            low, high = {1: (5_000, 80_000), 2: (500, 5_000), 3: (20, 500)}.get(rank, (5, 300))
            employees = int(rng.uniform(low, high))
            name = f"{first} {second} {sector} {rng.choice(suffixes)}"
            plan.domains.append(domain)
            plan.crm_ids.append(f"001{plan.first_id + index:09d}")
            plan.tier_ranks.append(rank)
            plan.customers.append(1 if is_customer else 0)
            plan.weights.append(weight)
            plan.stages.append(stage)
            renewal = self.today + timedelta(days=rng.randrange(1, 365)) if is_customer else None
            rows.append(
                (
                    plan.first_id + index,
                    name,
                    f"https://www.{domain}",
                    SECTORS[sector],
                    employees,
                    Decimal(employees * rng.randrange(80_000, 250_000)).quantize(CENTS),
                    country,
                    stage,
                    tiers.get(rank),
                    TierSource.MANUAL,
                    parent,
                    rng.choice(partners) if rng.random() < PARTNER_SHARE else None,
                    renewal,
                    None,
                    rng.random() < 0.01,
                    name_key(name),
                    self.now,
                    self.now,
                )
            )
        self.counts["accounts"] = bulk_load(
            Account,
            [
                "id",
                "name",
                "website",
                "industry",
                "employee_count",
                "annual_revenue",
                "country",
                "stage",
                "tier",
                "tier_source",
                "parent",
                "partner",
                "renewal_date",
                "merged_into",
                "do_not_contact",
                "name_key",
                "created_at",
                "updated_at",
            ],
            rows,
        )
        reset_sequences(Account)
        return plan

    def identities(self, plan: "_Plan"):
        rng = self.rng("identities")
        domain_rows, identifier_rows, ip_rows = [], [], []
        used = set(plan.domains)
        for index, domain in enumerate(plan.domains):
            account_id = plan.first_id + index
            domain_rows.append((account_id, domain, True, self.now))
            if rng.random() < ALIAS_DOMAIN_SHARE:
                alias = (
                    f"{domain.split('.', 1)[0]}-{rng.choice(('eu', 'global', 'group', 'hq'))}.com"
                )
                if alias not in used:
                    used.add(alias)
                    domain_rows.append((account_id, alias, False, self.now))
            identifier_rows.append(
                (account_id, IdentifierSystem.CRM, plan.crm_ids[index], self.now)
            )
            if plan.customers[index]:
                identifier_rows.append(
                    (account_id, IdentifierSystem.BILLING, f"cus_{account_id:08d}", self.now)
                )
                identifier_rows.append(
                    (account_id, IdentifierSystem.PRODUCT, f"ws-{account_id}", self.now)
                )
            if rng.random() < IP_RANGE_SHARE:
                number = len(ip_rows)
                # One /24 per account: the third octet walks, so ranges never overlap.
                network = f"20.{number >> 8 & 255}.{number & 255}.0/24"
                start, end, canonical = parse_ip_range(network)
                ip_rows.append((account_id, start, end, canonical, "dataset", self.now))
        self.counts["domains"] = bulk_load(
            AccountDomain, ["account", "domain", "is_primary", "created_at"], domain_rows
        )
        self.counts["identifiers"] = bulk_load(
            AccountIdentifier, ["account", "system", "external_id", "created_at"], identifier_rows
        )
        self.counts["IP ranges"] = bulk_load(
            IpRange, ["account", "start", "end", "network", "provider", "created_at"], ip_rows
        )

    def team(self, plan: "_Plan", staff):
        rng = self.rng("team")
        rows = []
        for index, rank in enumerate(plan.tier_ranks):
            account_id = plan.first_id + index
            if rank or plan.customers[index]:
                rows.append((account_id, rng.choice(staff[TeamRole.AE]), TeamRole.AE, self.now))
            if rank in (1, 2):
                rows.append((account_id, rng.choice(staff[TeamRole.SDR]), TeamRole.SDR, self.now))
            if plan.customers[index]:
                rows.append((account_id, rng.choice(staff[TeamRole.CSM]), TeamRole.CSM, self.now))
        self.counts["team members"] = bulk_load(
            AccountTeamMember, ["account", "user", "role", "created_at"], rows
        )

    # Contacts: heavy-tailed per account (the busiest accounts know the most people).

    def contacts(self, plan: "_Plan"):
        rng = self.rng("contacts")
        total = self.sizes.contacts
        accounts = len(plan.domains)
        per_account = [0] * accounts
        # Every account has someone once there are enough contacts; the rest follow activity.
        base = 1 if total >= accounts else 0
        for index in range(accounts if base else 0):
            per_account[index] = 1
        spread = total - base * accounts
        if spread > 0 and accounts:
            cumulative = list(accumulate(weight**0.5 for weight in plan.weights))
            top = cumulative[-1]
            for _ in range(spread):
                per_account[bisect_left(cumulative, rng.random() * top)] += 1
        personas = _title_personas()
        first_id = next_id(Contact)
        starts, emails = [], []
        titles = [title for title, _, _ in TITLES]
        title_cum = list(accumulate(TITLE_WEIGHTS))
        rows = []
        contact_id = first_id
        for index, count in enumerate(per_account):
            starts.append(contact_id)
            domain = plan.domains[index]
            seen = set()
            for _ in range(count):
                first = rng.choice(FIRST_NAMES)
                last = rng.choice(LAST_NAMES)
                local = f"{first}.{_NOT_LETTER.sub('', last.lower())}".lower()
                if local in seen:
                    local = f"{local}{len(seen)}"
                seen.add(local)
                email = f"{local}@{domain}"
                title = titles[bisect_left(title_cum, rng.random() * title_cum[-1])]
                role, seniority, department = personas[title]
                first_seen = self.now - timedelta(days=rng.randrange(1, 720))
                emails.append(email)
                rows.append(
                    (
                        contact_id,
                        plan.first_id + index,
                        email,
                        f"{first} {last}",
                        title,
                        seniority,
                        department,
                        role,
                        False,
                        first_seen,
                        first_seen + timedelta(days=rng.randrange(0, 30)),
                        self.now,
                        self.now,
                    )
                )
                contact_id += 1
        self.counts["contacts"] = bulk_load(
            Contact,
            [
                "id",
                "account",
                "email",
                "name",
                "title",
                "seniority",
                "department",
                "buying_role",
                "do_not_contact",
                "first_seen_at",
                "last_engaged_at",
                "created_at",
                "updated_at",
            ],
            rows,
        )
        reset_sequences(Contact)
        return first_id, starts, per_account, emails

    # Revenue: deals on the active accounts, 24 months of ARR for the customers.

    def deals(self, plan: "_Plan", partners):
        rng = self.rng("deals")
        cumulative = list(accumulate(plan.weights))
        top = cumulative[-1] if cumulative else 0
        rows = []
        for number in range(self.sizes.deals if plan.domains else 0):
            index = bisect_left(cumulative, rng.random() * top)
            rank = plan.tier_ranks[index]
            low, high = ARR_BOUNDS[rank]
            if plan.customers[index]:
                kind = rng.choice((DealKind.EXPANSION, DealKind.RENEWAL))
            else:
                kind = DealKind.NEW_BUSINESS
            status = _weighted(
                rng, [(DealStatus.OPEN, 0.4), (DealStatus.WON, 0.3), (DealStatus.LOST, 0.3)]
            )
            created = self.today - timedelta(days=rng.randrange(0, 540))
            closed = None
            stage = rng.choice(
                [
                    DealStage.QUALIFICATION,
                    DealStage.DISCOVERY,
                    DealStage.PROPOSAL,
                    DealStage.NEGOTIATION,
                ]
            )
            if status != DealStatus.OPEN:
                stage = DealStage.CLOSED
                closed = min(created + timedelta(days=rng.randrange(14, 180)), self.today)
            influence = PartnerInfluence.NONE
            partner = None
            if rng.random() < 0.1:
                influence = rng.choice((PartnerInfluence.INFLUENCED, PartnerInfluence.SOURCED))
                partner = rng.choice(partners)
            account_id = plan.first_id + index
            rows.append(
                (
                    account_id,
                    f"{plan.domains[index].split('.', 1)[0]} - {kind.label} {number}",
                    f"ds-deal-{number}",
                    kind,
                    stage,
                    status,
                    Decimal(rng.randrange(low, high) // 100 * 100).quantize(CENTS),
                    "USD",
                    created,
                    closed,
                    influence,
                    partner,
                    self.now,
                    self.now,
                )
            )
        self.counts["deals"] = bulk_load(
            Deal,
            [
                "account",
                "name",
                "external_id",
                "kind",
                "stage",
                "status",
                "amount",
                "currency",
                "created_date",
                "close_date",
                "partner_influence",
                "partner",
                "created_at",
                "updated_at",
            ],
            rows,
        )

    def arr_history(self, plan: "_Plan"):
        rng = self.rng("arr")
        months = self.sizes.arr_months
        first_month = _month_start(self.today, -(months - 1))
        rows = []
        for index, is_customer in enumerate(plan.customers):
            if not is_customer:
                continue
            low, high = ARR_BOUNDS[plan.tier_ranks[index]]
            # Most customers were already paying when the history starts.
            start = 0 if rng.random() < 0.7 else rng.randrange(months)
            arr = rng.randrange(low, high) // 100 * 100
            account_id = plan.first_id + index
            rows.append((account_id, _month_start(first_month, start), Decimal(arr), "", self.now))
            for month in range(start + 1, months):
                if rng.random() >= ARR_CHANGE_CHANCE:
                    continue
                arr = max(100, int(arr * rng.uniform(0.8, 1.5)) // 100 * 100)
                rows.append(
                    (account_id, _month_start(first_month, month), Decimal(arr), "", self.now)
                )
        self.counts["ARR changes"] = bulk_load(
            ArrChange, ["account", "effective_date", "arr", "note", "created_at"], rows
        )


@dataclass
class _Plan:
    first_id: int
    domains: list[str] = field(default_factory=list)
    crm_ids: list[str] = field(default_factory=list)
    tier_ranks: bytearray = field(default_factory=bytearray)
    customers: bytearray = field(default_factory=bytearray)
    weights: list[float] = field(default_factory=list)
    stages: list[str] = field(default_factory=list)


def _weighted(rng: random.Random, choices):
    labels = [label for label, _ in choices]
    return rng.choices(labels, [weight for _, weight in choices])[0]


def _month_start(day: date, shift: int = 0) -> date:
    months = day.year * 12 + day.month - 1 + shift
    return date(months // 12, months % 12 + 1, 1)


def _title_personas() -> dict[str, tuple[str, str, str]]:
    """Buying role, seniority and department per title, by the active persona rules (the
    demo's rules when none are stored), as `persona_rules_apply` would set them."""
    stored = list(PersonaRule.objects.filter(is_active=True).order_by("priority", "name"))
    if stored:
        rules = [
            (rule.title_pattern, rule.buying_role, rule.seniority, rule.department)
            for rule in stored
        ]
    else:
        rules = [
            (pattern, role, seniority, dept)
            for _, _, pattern, role, seniority, dept in PERSONA_RULES
        ]
    personas = {}
    for title, department, _ in TITLES:
        role, seniority, dept = BuyingRole.UNKNOWN, "", department
        for pattern, rule_role, rule_seniority, rule_department in rules:
            if re.search(pattern, title, re.IGNORECASE):
                role = rule_role
                seniority = rule_seniority or ""
                # Enrichment's department stands; the rule fills a blank one.
                dept = department or rule_department
                break
        personas[title] = (str(role), str(seniority), str(dept))
    return personas

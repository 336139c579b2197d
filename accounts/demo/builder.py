"""`DemoBuilder`: plans the demo accounts, then writes each table in bulk."""

import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group, User
from django.db import transaction
from django.utils import timezone

from .. import services
from ..choices import (
    AccountEventKind,
    BuyingRole,
    DealKind,
    DealStage,
    DealStatus,
    IdentifierSystem,
    PartnerInfluence,
    Stage,
    TeamRole,
)
from ..domains import parse_ip_range, registrable_domain
from ..identity import name_key
from ..models import (
    Account,
    AccountDomain,
    AccountEvent,
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
from .data import (
    ACTOR_LABEL,
    ARR_RANGE,
    CENTS,
    CONTACTS_PER_ACCOUNT,
    COUNTRIES,
    DEMO_PASSWORD,
    DEMO_USERNAME,
    EMPLOYEES,
    FIRST_NAMES,
    FUNNEL,
    HISTORY_MONTHS,
    LAST_NAMES,
    MIN_ACCOUNTS,
    NAME_WORDS,
    OPEN_DEAL_STAGES,
    PARTNERS,
    PERSONA_RULES,
    REGIONS,
    SECTORS,
    STAFF,
    STAGE_SHARES,
    TIERS,
    TITLE_WEIGHTS,
    TITLES,
)


def month_start(day: date, shift: int = 0) -> date:
    """The first day of `day`'s month, moved by `shift` months."""
    months = day.year * 12 + day.month - 1 + shift
    return date(months // 12, months % 12 + 1, 1)


def money(value: float, step: int = 100) -> Decimal:
    return Decimal(round(value / step) * step).quantize(CENTS)


def quota(rng: random.Random, shares, total: int) -> list:
    """`total` labels in the given shares (each at least once), shuffled."""
    counts = {label: max(1, int(total * share)) for label, share in shares}
    # The rounding remainder goes to the largest share.
    largest = max(shares, key=lambda item: item[1])[0]
    counts[largest] += total - sum(counts.values())
    labels = [label for label, _ in shares for _ in range(counts[label])]
    rng.shuffle(labels)
    return labels


@dataclass(eq=False)
class Spec:
    """One demo account before it is written: what the later phases need to know."""

    index: int
    tier: int
    stage: str
    parent: "Spec | None" = None
    depth: int = 0
    name: str = ""
    slug_name: str = ""  # the name without a legal suffix or region
    slug: str = ""
    country: str = "US"
    industry: str = ""
    domains: list[str] = field(default_factory=list)
    landing_month: int | None = None  # month offset from the window start
    churn_month: int | None = None
    created_on: date | None = None
    account: Account | None = None


class DemoBuilder:
    """Builds the demo data set; `build()` runs the phases in a fixed order."""

    def __init__(self, *, seed: int = 42, accounts: int = 300, today: date | None = None):
        if accounts < MIN_ACCOUNTS:
            raise ValueError(f"The demo needs at least {MIN_ACCOUNTS} accounts.")
        self.rng = random.Random(seed)  # noqa: S311 - reproducible demo data, not secrets
        self.total = accounts
        self.today = today or timezone.localdate()
        self.window_start = month_start(self.today, -(HISTORY_MONTHS - 1))
        self.used_domains: set[str] = set()
        self.used_emails: set[str] = set()
        self.counts: Counter = Counter()

    # Phases ---------------------------------------------------------------------------

    @transaction.atomic
    def build(self) -> Counter:
        self.create_configuration()
        self.create_staff()
        specs = self.plan_accounts()
        self.create_accounts(specs)
        self.create_domains_and_identifiers(specs)
        self.create_team(specs)
        self.create_contacts(specs)
        arr = self.create_arr_history(specs)
        self.create_deals(specs, arr)
        self.create_events(specs)
        self.counts["persona roles filled"] = services.persona_rules_apply()
        return self.counts

    def create_configuration(self):
        self.tiers = {}
        for rank, name, treatment, roles, _, description in TIERS:
            self.tiers[rank], _ = Tier.objects.get_or_create(
                rank=rank,
                defaults={
                    "name": name,
                    "treatment": treatment,
                    "required_roles": [str(role) for role in roles],
                    "description": description,
                },
            )
        for priority, name, pattern, role, seniority, department in PERSONA_RULES:
            PersonaRule.objects.get_or_create(
                name=name,
                defaults={
                    "title_pattern": pattern,
                    "buying_role": role,
                    "seniority": seniority,
                    "department": department,
                    "priority": priority,
                },
            )
        self.partners = [
            Partner.objects.get_or_create(name=name, defaults={"kind": kind, "website": site})[0]
            for name, kind, site in PARTNERS
        ]
        self.counts["partners"] = len(self.partners)

    def create_staff(self):
        # One hash for every demo login: hashing is deliberately slow.
        password = make_password(DEMO_PASSWORD)
        self.users = {}
        for username, first, last, team in STAFF:
            user, created = User.objects.get_or_create(
                username=username,
                defaults={
                    "first_name": first,
                    "last_name": last,
                    "email": f"{username}@abx-demo.example",
                    "is_staff": True,
                    "password": password,
                },
            )
            if created:
                user.groups.add(Group.objects.get_or_create(name=team)[0])
                self.counts["staff users"] += 1
            self.users[username] = user
        if not User.objects.filter(username=DEMO_USERNAME).exists():
            User.objects.create(
                username=DEMO_USERNAME,
                email="demo@abx-demo.example",
                first_name="Demo",
                is_staff=True,
                is_superuser=True,
                password=password,
            )
            self.counts["staff users"] += 1

    def plan_accounts(self) -> list[Spec]:
        rng = self.rng
        tiers = quota(rng, [(rank, share) for rank, *_, share, _ in TIERS], self.total)
        stages = quota(rng, STAGE_SHARES, self.total)
        specs = [
            Spec(index=i, tier=t, stage=s)
            for i, (t, s) in enumerate(zip(tiers, stages, strict=True))
        ]

        # Hierarchies: some tier 1/2 accounts own subsidiaries, a few of those own more.
        big = [s for s in specs if s.tier < 3]
        small = [s for s in specs if s.tier > 1]
        parents = rng.sample(big, max(2, self.total // 25))
        free = [s for s in small if s not in parents]
        rng.shuffle(free)
        children = []
        for parent in parents:
            for _ in range(rng.randint(1, 3)):
                if free:
                    child = free.pop()
                    child.parent, child.depth = parent, 1
                    children.append(child)
        for child in rng.sample(children, max(1, self.total // 100)):
            if free:
                grandchild = free.pop()
                grandchild.parent, grandchild.depth = child, 2

        companies = self.company_names()
        regions_used: dict[int, set[str]] = {}
        for spec in sorted(specs, key=lambda s: (s.depth, s.index)):
            region = None
            if spec.depth == 1 and rng.random() < 0.6:
                taken = regions_used.setdefault(spec.parent.index, set())
                options = [r for r in REGIONS if r[0] not in taken]
                region = rng.choice(options) if options else None
            if region:
                regions_used[spec.parent.index].add(region[0])
                suffix_name, country, tld = region
                spec.name = f"{spec.parent.slug_name} {suffix_name}"
                spec.slug_name = spec.parent.slug_name
                spec.slug, spec.country, spec.industry = (
                    spec.parent.slug,
                    country,
                    spec.parent.industry,
                )
                spec.domains = [self.claim_domain(f"{spec.slug}.{tld}", fallback=spec.slug)]
            else:
                first, second = next(companies)
                spec.slug_name = f"{first} {second}"
                spec.slug = f"{first}{second}".lower()
                spec.industry = SECTORS[second]
                spec.country = self.pick_country()
                _, legal, (tld, national) = COUNTRIES[spec.country]
                spec.name = spec.slug_name
                if rng.random() < 0.4:
                    spec.name = f"{spec.name} {rng.choice(legal)}"
                if rng.random() >= national:
                    tld = "io" if spec.industry == "Software" and rng.random() < 0.4 else "com"
                spec.domains = [self.claim_domain(f"{spec.slug}.{tld}", fallback=spec.slug)]
            self.plan_aliases(spec)
            self.plan_lifecycle(spec)
        return specs

    def company_names(self):
        pairs = [(first, second) for first in NAME_WORDS for second in SECTORS]
        self.rng.shuffle(pairs)
        return iter(pairs)

    def pick_country(self) -> str:
        codes = list(COUNTRIES)
        return self.rng.choices(codes, weights=[COUNTRIES[c][0] for c in codes])[0]

    def claim_domain(self, candidate: str, *, fallback: str) -> str:
        domain = registrable_domain(candidate)
        number = 2
        while domain in self.used_domains:
            domain = registrable_domain(f"{fallback}{number}.com")
            number += 1
        self.used_domains.add(domain)
        return domain

    def plan_aliases(self, spec: Spec):
        rng = self.rng
        candidates = []
        if spec.tier == 1 and rng.random() < 0.7:
            candidates.append(f"{spec.slug}.{rng.choice(['co.uk', 'de'])}")
        if rng.random() < 0.15:
            candidates.append(f"get{spec.slug}.com")
        if rng.random() < 0.1:
            candidates.append(f"{spec.slug}-group.com")
        for candidate in candidates:
            domain = registrable_domain(candidate)
            if domain not in self.used_domains:
                self.used_domains.add(domain)
                spec.domains.append(domain)

    def plan_lifecycle(self, spec: Spec):
        """Landing and churn months (offsets from the window start) and a creation date."""
        rng = self.rng
        last = HISTORY_MONTHS - 1
        if spec.stage == Stage.CUSTOMER:
            # Two thirds were customers before the window; the rest landed inside it.
            spec.landing_month = (
                rng.randint(-24, -1) if rng.random() < 0.65 else rng.randint(1, last)
            )
        elif spec.stage == Stage.CHURNED:
            spec.landing_month = rng.randint(-12, 12)
            spec.churn_month = rng.randint(max(spec.landing_month + 4, 3), last)
        if spec.landing_month is not None:
            landed = month_start(self.window_start, spec.landing_month)
            spec.created_on = landed - timedelta(days=rng.randint(120, 420))
        else:
            recent = {Stage.PROSPECT: 540, Stage.ENGAGED: 300, Stage.OPPORTUNITY: 240}
            spec.created_on = self.today - timedelta(days=rng.randint(30, recent[spec.stage]))

    def create_accounts(self, specs: list[Spec]):
        rng = self.rng
        partner_share = 0.15
        for depth in (0, 1, 2):
            rows = []
            for spec in [s for s in specs if s.depth == depth]:
                low, high = EMPLOYEES[spec.tier]
                employees = int(low * (high / low) ** rng.random())
                revenue = money(employees * rng.uniform(120_000, 400_000), 100_000)
                partner = rng.choice(self.partners) if rng.random() < partner_share else None
                spec.account = Account(
                    name=spec.name,
                    website=f"https://www.{spec.domains[0]}",
                    industry=spec.industry,
                    employee_count=employees,
                    annual_revenue=revenue,
                    country=spec.country,
                    stage=spec.stage,
                    tier=self.tiers[spec.tier],
                    parent=spec.parent.account if spec.parent else None,
                    partner=partner,
                    renewal_date=self.renewal_date(spec),
                    do_not_contact=rng.random() < 0.02,
                    # bulk_create does not call save(), which keeps the key.
                    name_key=name_key(spec.name),
                )
                rows.append(spec.account)
            Account.objects.bulk_create(rows)
        self.counts["accounts"] = len(specs)

    def renewal_date(self, spec: Spec) -> date | None:
        if spec.stage != Stage.CUSTOMER:
            return None
        renewal = month_start(self.window_start, spec.landing_month)
        while renewal <= self.today:
            renewal = renewal.replace(year=renewal.year + 1)
        return renewal

    def create_domains_and_identifiers(self, specs: list[Spec]):
        rng = self.rng
        domains, identifiers, ranges = [], [], []
        for spec in specs:
            account = spec.account
            domains += [
                AccountDomain(account=account, domain=domain, is_primary=position == 0)
                for position, domain in enumerate(spec.domains)
            ]
            if spec.stage != Stage.PROSPECT or rng.random() < 0.7:
                crm_id = f"001Dm{spec.index:06d}{rng.getrandbits(16):04X}"
                identifiers.append(
                    AccountIdentifier(
                        account=account, system=IdentifierSystem.CRM, external_id=crm_id
                    )
                )
            if spec.landing_month is not None:
                identifiers.append(
                    AccountIdentifier(
                        account=account,
                        system=IdentifierSystem.BILLING,
                        external_id=f"cus_{rng.getrandbits(56):014x}",
                    )
                )
            if spec.tier < 3 and rng.random() < 0.4:
                network = (
                    f"198.{18 + spec.index // 256 % 2}.{spec.index % 256}.0/24"
                    if rng.random() < 0.8
                    else f"2001:db8:{spec.index:x}::/48"
                )
                start, end, text = parse_ip_range(network)
                ranges.append(
                    IpRange(account=account, start=start, end=end, network=text, provider="Demo")
                )
        AccountDomain.objects.bulk_create(domains)
        AccountIdentifier.objects.bulk_create(identifiers)
        IpRange.objects.bulk_create(ranges)
        self.counts["domains"] = len(domains)
        self.counts["identifiers"] = len(identifiers)
        self.counts["IP ranges"] = len(ranges)

    def create_team(self, specs: list[Spec]):
        rng, users = self.rng, self.users
        rows = []
        for spec in specs:
            account = spec.account
            if spec.tier == 1:
                ae = users["ae.alex"]
            elif spec.tier == 2 or rng.random() < 0.85:
                ae = users[rng.choice(["ae.avery", "ae.jordan"])]
            else:
                ae = None  # 1:many accounts without signals are pooled, not owned
            if ae:
                rows.append(AccountTeamMember(account=account, role=TeamRole.AE, user=ae))
            if spec.stage in (Stage.PROSPECT, Stage.ENGAGED) and rng.random() < 0.8:
                sdr = users[rng.choice(["sdr.sam", "sdr.skyler"])]
                rows.append(AccountTeamMember(account=account, role=TeamRole.SDR, user=sdr))
            if spec.stage in (Stage.CUSTOMER, Stage.CHURNED):
                csm = users[rng.choice(["csm.casey", "csm.charlie"])]
                rows.append(AccountTeamMember(account=account, role=TeamRole.CSM, user=csm))
            if account.partner_id:
                rows.append(
                    AccountTeamMember(
                        account=account, role=TeamRole.PARTNER_MANAGER, user=users["pm.parker"]
                    )
                )
        AccountTeamMember.objects.bulk_create(rows)
        self.counts["team members"] = len(rows)

    def create_contacts(self, specs: list[Spec]):
        rng = self.rng
        rows = []
        for spec in specs:
            low, high = CONTACTS_PER_ACCOUNT[spec.tier]
            for _ in range(rng.randint(low, high)):
                first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
                title, department, _ = rng.choices(TITLES, weights=TITLE_WEIGHTS)[0]
                if rng.random() < 0.02:
                    title = ""  # enrichment found no title; the role stays unknown
                domain = spec.domains[0]
                if len(spec.domains) > 1 and rng.random() < 0.15:
                    domain = rng.choice(spec.domains[1:])
                role = BuyingRole.UNKNOWN
                if rng.random() < 0.04:
                    # A rep's judgement that no title rule would reach.
                    role = rng.choice(
                        [BuyingRole.CHAMPION, BuyingRole.CHAMPION, BuyingRole.BLOCKER]
                    )
                first_seen = self.moment(spec.created_on + timedelta(days=rng.randint(0, 90)))
                engaged = None
                if spec.stage != Stage.PROSPECT and rng.random() < 0.6:
                    engaged = self.moment(self.today - timedelta(days=rng.randint(0, 120)))
                    engaged = max(engaged, first_seen)
                rows.append(
                    Contact(
                        account=spec.account,
                        email=self.email(first, last, domain),
                        name=f"{first} {last}",
                        title=title,
                        department=department if title else "",
                        buying_role=role,
                        do_not_contact=rng.random() < 0.02,
                        first_seen_at=first_seen,
                        last_engaged_at=engaged,
                    )
                )
        Contact.objects.bulk_create(rows)
        self.counts["contacts"] = len(rows)

    def email(self, first: str, last: str, domain: str) -> str:
        first, last = first.lower(), last.lower().replace("'", "")
        pattern = self.rng.random()
        if pattern < 0.7:
            local = f"{first}.{last}"
        elif pattern < 0.9:
            local = f"{first[0]}{last}"
        else:
            local = first
        email, number = f"{local}@{domain}", 2
        while email in self.used_emails:
            email, number = f"{local}{number}@{domain}", number + 1
        self.used_emails.add(email)
        return email

    def moment(self, day: date) -> datetime:
        """A working-hours time on `day`, in UTC, never after now."""
        at = datetime.combine(day, time(hour=self.rng.randint(8, 17)), tzinfo=UTC)
        return min(at, timezone.now())

    def create_arr_history(self, specs: list[Spec]) -> dict[int, list[tuple[date, Decimal]]]:
        """Monthly ARR for customers (24 month starts) and churned accounts (until churn).

        Months before a customer landed are recorded as 0, so every customer's history
        covers the whole window; a churned account's history ends with its 0.
        """
        rng = self.rng
        rows, history = [], {}
        for spec in specs:
            if spec.landing_month is None:
                continue
            low, high = ARR_RANGE[spec.tier]
            arr = low * (high / low) ** rng.random()
            # Accounts that landed before the window have grown since.
            for _ in range(max(0, -spec.landing_month) // 6):
                arr *= rng.uniform(1.0, 1.25)
            points = []
            end = spec.churn_month if spec.churn_month is not None else HISTORY_MONTHS - 1
            for month in range(end + 1):
                if month < spec.landing_month or month == spec.churn_month:
                    value = Decimal("0.00")
                else:
                    if month > max(spec.landing_month, 0):
                        change = rng.random()
                        if change < 0.07:
                            arr *= rng.uniform(1.1, 1.5)
                        elif change < 0.10:
                            arr *= rng.uniform(0.7, 0.95)
                    value = money(arr)
                points.append((month_start(self.window_start, month), value))
            history[spec.index] = points
            rows += [
                ArrChange(account=spec.account, effective_date=day, arr=value)
                for day, value in points
            ]
        ArrChange.objects.bulk_create(rows)
        self.counts["ARR changes"] = len(rows)
        return history

    def create_deals(self, specs: list[Spec], arr: dict):
        rng, today = self.rng, self.today
        self.deals: list[Deal] = []
        for spec in specs:
            low, high = ARR_RANGE[spec.tier]
            typical = low * (high / low) ** rng.random()
            if spec.stage in (Stage.PROSPECT, Stage.ENGAGED):
                if rng.random() < 0.12:
                    closed = today - timedelta(days=rng.randint(60, 400))
                    opened = closed - timedelta(days=rng.randint(30, 120))
                    self.deal(spec, DealKind.NEW_BUSINESS, DealStatus.LOST, typical, opened, closed)
                if spec.stage == Stage.ENGAGED and rng.random() < 0.25:
                    opened = today - timedelta(days=rng.randint(5, 40))
                    self.deal(spec, DealKind.NEW_BUSINESS, DealStatus.OPEN, typical, opened)
            elif spec.stage == Stage.OPPORTUNITY:
                for _ in range(rng.choice([1, 1, 1, 2])):
                    opened = today - timedelta(days=rng.randint(10, 150))
                    self.deal(spec, DealKind.NEW_BUSINESS, DealStatus.OPEN, typical, opened)
            else:
                self.customer_deals(spec, arr[spec.index])
        Deal.objects.bulk_create(self.deals)
        self.counts["deals"] = len(self.deals)

    def customer_deals(self, spec: Spec, points: list[tuple[date, Decimal]]):
        """The won, lost and open deals that explain a paying account's ARR history."""
        rng, today, won, lost = self.rng, self.today, DealStatus.WON, DealStatus.LOST
        landed = month_start(self.window_start, spec.landing_month)
        first_arr = next(value for _, value in points if value > 0)
        opened = landed - timedelta(days=rng.randint(30, 120))
        self.deal(spec, DealKind.NEW_BUSINESS, won, first_arr, opened, landed - timedelta(days=1))
        arr = Decimal(0)  # the last ARR above zero
        for day, value in points:
            if arr > 0 and value > arr:
                opened = day - timedelta(days=rng.randint(30, 90))
                self.deal(spec, DealKind.EXPANSION, won, value - arr, opened, day - timedelta(1))
            arr = value if value > 0 else arr
        churned_on = None
        if spec.churn_month is not None:
            churned_on = month_start(self.window_start, spec.churn_month)
        anniversary = landed.replace(year=landed.year + 1)
        while anniversary <= today:
            churned = churned_on is not None and anniversary >= churned_on
            if anniversary >= self.window_start or churned:
                opened, closed = anniversary - timedelta(90), anniversary - timedelta(1)
                self.deal(spec, DealKind.RENEWAL, lost if churned else won, arr, opened, closed)
            if churned:
                return
            anniversary = anniversary.replace(year=anniversary.year + 1)
        if spec.stage != Stage.CUSTOMER:
            return
        if anniversary - today <= timedelta(days=120):
            opened = anniversary - timedelta(days=120)
            self.deal(
                spec, DealKind.RENEWAL, DealStatus.OPEN, arr, opened, stage=DealStage.PROPOSAL
            )
        if rng.random() < 0.2:
            opened = today - timedelta(days=rng.randint(5, 60))
            self.deal(spec, DealKind.EXPANSION, DealStatus.OPEN, arr * Decimal("0.3"), opened)

    def deal(self, spec, kind, status, amount, created, closed=None, stage=None):
        rng, partner = self.rng, None
        influence = PartnerInfluence.NONE
        if spec.account.partner_id and rng.random() < 0.6:
            influence = rng.choice([PartnerInfluence.INFLUENCED, PartnerInfluence.SOURCED])
            partner = spec.account.partner
        elif rng.random() < 0.06:
            influence, partner = PartnerInfluence.INFLUENCED, rng.choice(self.partners)
        if status == DealStatus.OPEN:
            # Open deals carry the expected close date.
            closed = self.today + timedelta(days=rng.randint(14, 150))
            stage = stage or rng.choice(OPEN_DEAL_STAGES)
        else:
            stage = DealStage.CLOSED
        self.deals.append(
            Deal(
                account=spec.account,
                name=f"{spec.account.name} - {DealKind(kind).label} {closed.year}",
                external_id=f"006Dm{len(self.deals):07d}",
                kind=kind,
                stage=stage,
                status=status,
                amount=money(float(amount)),
                currency=settings.ABX_CURRENCY,
                created_date=created,
                close_date=closed,
                partner_influence=influence,
                partner=partner,
            )
        )

    def create_events(self, specs: list[Spec]):
        """Creation, the initial tier, and the stage changes that led to today's stage."""
        rng = self.rng
        rows = []

        def event(spec, kind, day, old="", new=""):
            rows.append(
                AccountEvent(
                    account=spec.account,
                    kind=kind,
                    old_value=old,
                    new_value=new,
                    actor_label=ACTOR_LABEL,
                    occurred_at=self.moment(day),
                )
            )

        for spec in specs:
            event(spec, AccountEventKind.CREATED, spec.created_on, new=spec.name)
            tier = self.tiers[spec.tier].name
            event(spec, AccountEventKind.TIER_CHANGED, spec.created_on, new=tier)
            reached = FUNNEL.index(spec.stage)
            if reached == 0:
                continue
            if spec.landing_month is not None:
                customer_on = month_start(self.window_start, spec.landing_month)
            else:
                customer_on = None
            # Spread the earlier stages between creation and the later milestone.
            end = customer_on or self.today
            span = max((end - spec.created_on).days, reached + 1)
            cuts = sorted(rng.sample(range(1, span), min(reached, span - 1)))
            for step in range(1, min(reached, 2) + 1):
                day = spec.created_on + timedelta(days=cuts[step - 1])
                event(spec, AccountEventKind.STAGE_CHANGED, day, FUNNEL[step - 1], FUNNEL[step])
            changed = AccountEventKind.STAGE_CHANGED
            if customer_on:
                event(spec, changed, customer_on, Stage.OPPORTUNITY, Stage.CUSTOMER)
            if spec.churn_month is not None:
                churned_on = month_start(self.window_start, spec.churn_month)
                event(spec, changed, churned_on, Stage.CUSTOMER, Stage.CHURNED)
        AccountEvent.objects.bulk_create(rows)
        self.counts["events"] = len(rows)

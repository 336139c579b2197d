"""Demo signals: every signal type over the last 180 days for the demo accounts.

Registered as a demo phase (`accounts.demo.register_phase`) in `SignalsConfig.ready()`,
so it runs after the account graph. Deterministic for a seed: one `random.Random`,
accounts and contacts in id order. How busy an account is follows its lifecycle stage
(opportunities and customers engage most), a third of the prospects and engaged
accounts have an intent surge in the last month, customers use the product every day
(churned ones stopped), and about 3% of the traffic comes from companies no account
owns — it shows in the review queue, grouped by domain, name or IP.

The rows are written by the bulk loader (`COPY` on PostgreSQL, `executemany` on
SQLite), then the daily rollups are built from the signals table in one statement and
the review queue by the service ingestion uses.
"""

import json
import random
from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import OuterRef, Subquery
from django.utils import timezone

from abx_site.common.bulk import bulk_load
from accounts.choices import DealStatus, IdentityMethod, Stage
from accounts.identity import resolve_batch
from accounts.models import Account, AccountDomain, Contact, Deal
from accounts.services import contacts_engagement_record

from .dataset import rollups_rebuild_all
from .models import Signal, SignalType, Source
from .queue import candidates_of, identities_refresh, identity_of
from .services import resolution_hints

DAYS = 180
RECENT_DAILY = 45
# Signals per account over the window, by stage, before randomness.
ACTIVITY = {
    Stage.PROSPECT: 0.4,
    Stage.ENGAGED: 1.0,
    Stage.OPPORTUNITY: 1.6,
    Stage.CUSTOMER: 1.2,
    Stage.CHURNED: 0.3,
}
PAGES = ["/pricing", "/product", "/customers", "/security", "/blog/abx-playbook", "/docs/api"]
TOPICS = [
    "account-based marketing",
    "revenue operations",
    "customer data platform",
    "sales intelligence",
    "intent data",
]
FEATURES = ["dashboards", "playbooks", "scoreboards", "api", "exports", "alerts"]
WEBINARS = ["ABX in 30 minutes", "Scoring that sales trusts", "Plays for renewals"]
UNKNOWN_COMPANIES = [
    ("brightwave-analytics.com", "Brightwave Analytics"),
    ("northpeak.io", "Northpeak"),
    ("lumen-logistics.de", "Lumen Logistik GmbH"),
    ("quillfield.co.uk", "Quillfield Ltd"),
    ("tessellate.ai", "Tessellate AI"),
    ("harborline.com", "Harborline Freight"),
    ("ondine-health.fr", "Ondine Santé"),
    ("copperleaf.com.au", "Copperleaf Pty Ltd"),
]
UNKNOWN_NAMES = ["Vantage Rail Systems", "Marlowe & Finch LLP", "Kestrel Biotech"]
UNKNOWN_IPS = ["198.18.4.21", "198.18.77.3", "2001:db8:feed::42"]


def seed_signals(*, seed: int, today: date) -> Counter:
    """The demo phase: returns what it created, by kind."""
    return DemoSignals(seed=seed, today=today).build()


class DemoSignals:
    def __init__(self, *, seed: int, today: date):
        self.rng = random.Random(seed * 7919 + 3)  # noqa: S311 - demo data, not secrets
        self.today = today
        self.now = timezone.now()
        self.sources = dict(Source.objects.values_list("slug", "pk"))
        self.types = dict(SignalType.objects.values_list("key", "pk"))
        self.rows: list[tuple] = []
        self.counter = 0

    def build(self) -> Counter:
        accounts = list(
            Account.objects.active()
            .annotate(
                domain=Subquery(
                    AccountDomain.objects.filter(account=OuterRef("pk"), is_primary=True).values(
                        "domain"
                    )[:1]
                )
            )
            .order_by("pk")
            .values("pk", "name", "stage", "partner_id", "domain")
        )
        contacts: dict[int, list[tuple[int, str]]] = {}
        for pk, account_id, email in Contact.objects.order_by("pk").values_list(
            "pk", "account_id", "email"
        ):
            contacts.setdefault(account_id, []).append((pk, email))
        open_deals = set(
            Deal.objects.filter(status=DealStatus.OPEN).values_list("account_id", flat=True)
        )
        for account in accounts:
            self.account_signals(account, contacts.get(account["pk"], []), open_deals)
        matched = len(self.rows)
        self.unknown_signals()
        with transaction.atomic():
            # Unmatched signals outlive a deleted demo account graph; a second load
            # replaces them (their ids would collide).
            Signal.objects.filter(external_id__startswith="demo-", account__isnull=True).delete()
            bulk_load(Signal, COLUMNS, self.rows)
            # The demo loads into an empty signals table: every rollup is built from it
            # in one set-based statement, as ingestion would have left them.
            rollups = rollups_rebuild_all()
            self.queue()
            seen: dict[int, datetime] = {}
            for row in self.rows:
                contact_id, moment = row[CONTACT], row[OCCURRED_AT]
                if contact_id is not None:
                    seen[contact_id] = max(moment, seen.get(contact_id, moment))
            contacts_engagement_record(seen=seen)
        return Counter(
            {
                "signals": len(self.rows),
                "unmatched signals": len(self.rows) - matched,
                "daily rollups": rollups,
            }
        )

    # Matched accounts ---------------------------------------------------------------

    def account_signals(self, account, people, open_deals):
        rng = self.rng
        stage = account["stage"]
        level = ACTIVITY.get(stage, 0.5) * rng.uniform(0.3, 1.7)
        surge = stage in (Stage.PROSPECT, Stage.ENGAGED) and rng.random() < 0.33

        def days(count, *, recent=False):
            for _ in range(count):
                back = rng.randrange(30 if recent else DAYS)
                yield back

        for back in days(round(30 * level)):
            self.add(
                account,
                people,
                "web.visit",
                back,
                value=rng.randint(1, 8),
                topic=rng.choice(PAGES),
                with_person=0.3,
            )
        if surge:
            for back in days(round(15 * level), recent=True):
                self.add(
                    account,
                    people,
                    "web.visit",
                    back,
                    value=rng.randint(2, 12),
                    topic="/pricing",
                    with_person=0.4,
                )
        for back in days(round(2 * level)):
            self.add(account, people, "form.submitted", back, topic="demo request", with_person=1)
        if surge or rng.random() < 0.2:
            for week in range(0, DAYS, 14):
                hot = surge and week < 35
                score = rng.randint(70, 100) if hot else rng.randint(10, 55)
                self.add(
                    account,
                    people,
                    "intent.surge",
                    week,
                    value=score,
                    topic=rng.choice(TOPICS),
                    with_person=0,
                )
        for back in days(round(8 * level)):
            self.add(account, people, "email.open", back, topic="newsletter", with_person=1)
        for back in days(round(4 * level)):
            self.add(account, people, "email.click", back, topic="newsletter", with_person=1)
        for back in days(round(level)):
            self.add(
                account, people, "webinar.attended", back, topic=rng.choice(WEBINARS), with_person=1
            )
        if stage in (Stage.OPPORTUNITY, Stage.CUSTOMER):
            for back in days(round(4 * level)):
                self.add(
                    account,
                    people,
                    "meeting.held",
                    back,
                    value=rng.choice((30, 45, 60)),
                    with_person=1,
                )
        if stage in (Stage.CUSTOMER, Stage.CHURNED):
            self.product(account, people, churned=stage == Stage.CHURNED)
        if account["partner_id"] and rng.random() < 0.6:
            self.add(account, people, "partner.referral", rng.randrange(DAYS), with_person=0)
        if account["pk"] in open_deals:
            for stage_name in ("discovery", "proposal")[: rng.randint(1, 2)]:
                self.add(
                    account,
                    people,
                    "deal.stage_changed",
                    rng.randrange(60),
                    topic=stage_name,
                    with_person=0,
                )

    def product(self, account, people, *, churned):
        rng = self.rng
        seats = rng.randint(5, 120)
        # A churned customer stopped using the product some weeks ago.
        last_active = rng.randint(20, 90) if churned else 0
        for back in range(DAYS - 1, last_active - 1, -1):
            if rng.random() < 0.2:
                self.add(
                    account,
                    people,
                    "product.feature_used",
                    back,
                    value=rng.randint(1, 30),
                    topic=rng.choice(FEATURES),
                    with_person=0.5,
                )
            # Daily readings for the last weeks; weekly ones before (enough for trends,
            # and a quick first load).
            if back >= RECENT_DAILY and back % 7:
                continue
            trend = 1 + (DAYS - back) / DAYS * rng.uniform(-0.3, 0.4)
            weekday = (self.today - timedelta(days=back)).weekday()
            active = seats * trend * (0.35 if weekday >= 5 else 1) * rng.uniform(0.8, 1.1)
            self.add(
                account,
                people,
                "product.active_users",
                back,
                value=max(0, round(active)),
                with_person=0,
            )
        for back in (rng.randrange(last_active, DAYS) for _ in range(rng.randint(1, 8))):
            self.add(
                account,
                people,
                "support.ticket_opened",
                back,
                with_person=1,
                attributes={"priority": rng.choice(("low", "normal", "high", "urgent"))},
            )
        for back in (rng.randrange(last_active, DAYS) for _ in range(rng.randint(1, 3))):
            score = rng.randint(0, 6) if churned else rng.choice((6, 7, 8, 9, 9, 10, 10))
            self.add(account, people, "nps.response", back, value=score, with_person=1)

    def add(
        self, account, people, key, back, *, value=None, topic="", with_person=0.0, attributes=None
    ):
        rng = self.rng
        person = rng.choice(people) if people and rng.random() < with_person else None
        hints = {"account": {"domain": account["domain"]}} if account["domain"] else {}
        if person:
            hints["contact"] = {"email": person[1]}
        self.rows.append(
            self.row(
                key,
                back,
                value=value,
                topic=topic,
                hints=hints,
                attributes=attributes,
                account_id=account["pk"],
                contact_id=person[0] if person else None,
                method=IdentityMethod.CONTACT_EMAIL if person else IdentityMethod.DOMAIN,
            )
        )

    def row(
        self,
        key,
        back,
        *,
        value,
        topic,
        hints,
        attributes,
        account_id,
        contact_id,
        method,
        confidence=Decimal(1),
        review_key="",
    ) -> tuple:
        """A signal as a tuple of `COLUMNS`, for the bulk loader."""
        self.counter += 1
        moment = datetime.combine(self.today - timedelta(days=back), time(), tzinfo=UTC)
        moment += timedelta(seconds=self.rng.randrange(8 * 3600, 19 * 3600))
        moment = min(moment, self.now - timedelta(minutes=1))
        return (
            self.sources[SOURCE_OF[key]],
            self.types[key],
            moment,
            moment + timedelta(seconds=self.rng.randrange(1, 600)),
            account_id,
            contact_id,
            None if value is None else Decimal(value),
            topic,
            json.dumps(attributes or {}),
            f"demo-{self.counter:07d}",
            json.dumps(hints),
            method if account_id else IdentityMethod.UNMATCHED,
            confidence if account_id else None,
            review_key,
        )

    # Unknown companies: the review queue --------------------------------------------

    def unknown_signals(self):
        rng = self.rng
        pending: list[tuple[str, int, dict]] = []
        for domain, name in UNKNOWN_COMPANIES:
            for _ in range(rng.randint(3, 40)):
                hints = {"account": {"domain": domain, "name": name}}
                if rng.random() < 0.4:
                    hints = {"contact": {"email": f"visitor{rng.randint(1, 9)}@{domain}"}}
                pending.append(
                    (rng.choice(("web.visit", "email.click")), rng.randrange(DAYS), hints)
                )
        for name in UNKNOWN_NAMES:
            for _ in range(rng.randint(2, 12)):
                pending.append(("intent.surge", rng.randrange(DAYS), {"account": {"name": name}}))
        for ip in UNKNOWN_IPS:
            for _ in range(rng.randint(5, 25)):
                pending.append(("web.visit", rng.randrange(DAYS), {"ip": ip}))
        # Resolved like any incoming signal: a name close to an account's is matched or
        # brings its candidates.
        resolutions = resolve_batch([resolution_hints(hints) for _, _, hints in pending])
        self.review = {}
        for (key, back, hints), resolution in zip(pending, resolutions, strict=True):
            review_key = ""
            if not resolution.matched:
                identity = identity_of(hints)
                if identity is not None:
                    review_key = identity.key
                    entry = self.review.setdefault(identity.key, (identity, []))
                    if resolution.candidates:
                        entry[1][:] = candidates_of(resolution)
            value = {"web.visit": rng.randint(1, 6), "intent.surge": rng.randint(40, 95)}
            self.rows.append(
                self.row(
                    key,
                    back,
                    value=value.get(key),
                    topic=rng.choice(PAGES) if key == "web.visit" else rng.choice(TOPICS),
                    hints=hints,
                    attributes=None,
                    account_id=resolution.account_id,
                    contact_id=None,
                    method=resolution.method,
                    confidence=Decimal(str(resolution.confidence)).quantize(Decimal("0.0001")),
                    review_key=review_key,
                )
            )

    def queue(self):
        identities_refresh(
            keys=self.review,
            identities={key: identity for key, (identity, _) in self.review.items()},
            candidates={key: found for key, (_, found) in self.review.items() if found},
        )


COLUMNS = (
    "source",
    "type",
    "occurred_at",
    "received_at",
    "account",
    "contact",
    "value",
    "topic",
    "attributes",
    "external_id",
    "hints",
    "match_method",
    "match_confidence",
    "review_key",
)
OCCURRED_AT, CONTACT = COLUMNS.index("occurred_at"), COLUMNS.index("contact")

SOURCE_OF = {
    "web.visit": "website",
    "form.submitted": "website",
    "intent.surge": "intent",
    "email.open": "marketing",
    "email.click": "marketing",
    "webinar.attended": "marketing",
    "meeting.held": "sales",
    "product.active_users": "product",
    "product.feature_used": "product",
    "support.ticket_opened": "support",
    "nps.response": "nps",
    "partner.referral": "partner",
    "deal.stage_changed": "crm",
}

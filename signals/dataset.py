"""The signals of a generated data set (`manage.py generate_dataset`, DESIGN §10).

Registered as a data set phase in `SignalsConfig.ready()`. Signals are spread over the
accounts by their heavy-tailed activity weight (a few accounts are very busy, most are
quiet), over `days` days before the run's hour, in a realistic mix of types; product
signals come only from customers. About 3% arrive for companies no account owns
(unknown domains, drawn from a pool so that the review queue groups them, with their
queue entries). Every row
carries the identity hints an integration would have sent and how they matched.

The rows go in through the bulk path (`COPY` on PostgreSQL); the daily rollups are then
built from the signals table by one `INSERT ... SELECT ... GROUP BY`, as the ingestion
service would have left them.
"""

import time
from bisect import bisect_left
from collections import Counter
from datetime import timedelta
from decimal import Decimal
from itertools import accumulate

from django.db import connection, transaction

from abx_site.common.bulk import bulk_load, indexes_deferred
from accounts.choices import IdentityMethod

from .choices import IdentityKind
from .models import AccountSignalDaily, Signal, SignalType, Source
from .queue import identities_refresh, identity_of

UNMATCHED_SHARE = 0.03
UNKNOWN_DOMAINS = 2_000
PAGES = ["/", "/pricing", "/product", "/customers", "/docs", "/blog/abx-guide", "/careers"]
INTENT_TOPICS = [
    "account based marketing",
    "revenue operations",
    "customer success platform",
    "data warehouse",
    "intent data",
    "sales engagement",
]
FEATURES = ["reports", "dashboards", "api", "alerts", "exports", "sso", "workflows"]
CAMPAIGNS = ["q4-newsletter", "product-launch", "abx-webinar", "renewal-nurture", "event-invite"]
STAGES = ["discovery", "proposal", "negotiation", "closed"]

# (type key, source slug, weight, share with a contact, customers only)
MIX = [
    ("web.visit", "website", 34.0, 0.10, False),
    ("form.submitted", "website", 2.0, 1.0, False),
    ("intent.surge", "intent", 10.0, 0.0, False),
    ("email.open", "marketing", 14.0, 1.0, False),
    ("email.click", "marketing", 5.0, 1.0, False),
    ("webinar.attended", "marketing", 1.5, 1.0, False),
    ("meeting.held", "sales", 1.5, 1.0, False),
    ("product.active_users", "product", 12.0, 0.0, True),
    ("product.feature_used", "product", 14.0, 0.7, True),
    ("support.ticket_opened", "support", 3.0, 1.0, True),
    ("nps.response", "nps", 1.0, 1.0, True),
    ("partner.referral", "partner", 0.3, 0.0, False),
    ("deal.stage_changed", "crm", 0.7, 0.0, False),
]
COLUMNS = [
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
]
EXACT = Decimal("1.0000")


def signals_phase(dataset) -> Counter:
    """Load the data set's signals and their daily rollups."""
    if not dataset.account_count or not dataset.sizes.signals:
        return Counter()
    started = time.perf_counter()
    with transaction.atomic(), indexes_deferred(Signal):
        loaded = bulk_load(Signal, COLUMNS, _rows(dataset))
    dataset.log(f"signals: {time.perf_counter() - started:.1f} s")
    started = time.perf_counter()
    identities = _unknown_identities()
    identities_refresh(keys=identities, identities=identities)
    dataset.log(f"review queue: {time.perf_counter() - started:.1f} s")
    started = time.perf_counter()
    with transaction.atomic(), indexes_deferred(AccountSignalDaily):
        rollups = rollups_rebuild_all()
    dataset.log(f"daily rollups: {time.perf_counter() - started:.1f} s")
    return Counter({"signals": loaded, "daily rollups": rollups})


def _unknown_domain(number: int) -> str:
    return f"unknown-company-{number}.com"


def _unknown_identities() -> dict:
    """The review queue identity of each unknown company, by its key."""
    identities = (
        identity_of({"account": {"domain": _unknown_domain(number)}})
        for number in range(UNKNOWN_DOMAINS)
    )
    return {identity.key: identity for identity in identities}


def _rows(dataset):
    # Read the sources and types before the rows stream: during a COPY the connection
    # serves nothing else.
    sources = dict(Source.objects.values_list("slug", "pk"))
    types = dict(SignalType.objects.values_list("key", "pk"))
    return _generate(dataset, sources, types)


def _generate(dataset, sources: dict[str, int], types: dict[str, int]):
    rng = dataset.rng("signals")
    review_keys = [
        f"{IdentityKind.DOMAIN}:{_unknown_domain(number)}" for number in range(UNKNOWN_DOMAINS)
    ]
    mix = [entry for entry in MIX if entry[0] in types and entry[1] in sources]
    everyone = list(accumulate(weight for _, _, weight, _, _ in mix))
    prospects = list(accumulate(0.0 if only else weight for _, _, weight, _, only in mix))
    cumulative, top = dataset.activity_cum, dataset.activity_cum[-1]
    span = dataset.sizes.days * 86_400
    now = dataset.now
    first_account = dataset.first_account_id
    first_contact = dataset.first_contact_id
    for number in range(dataset.sizes.signals):
        index = bisect_left(cumulative, rng.random() * top)
        customer = dataset.customers[index]
        table = everyone if customer else prospects
        key, source, _, contact_share, _ = mix[bisect_left(table, rng.random() * table[-1])]
        occurred_at = now - timedelta(seconds=int(rng.random() * span))
        value, topic = _value_and_topic(rng, key)
        if rng.random() < UNMATCHED_SHARE:
            unknown = rng.randrange(UNKNOWN_DOMAINS)
            domain = _unknown_domain(unknown)
            yield (
                sources[source],
                types[key],
                occurred_at,
                now,
                None,
                None,
                value,
                topic,
                "{}",
                f"ds-{number}",
                f'{{"account": {{"domain": "{domain}"}}}}',
                IdentityMethod.UNMATCHED,
                None,
                review_keys[unknown],
            )
            continue
        contact = None
        count = dataset.contact_count[index]
        if count and rng.random() < contact_share:
            contact = dataset.contact_start[index] + rng.randrange(count)
        if contact is not None:
            email = dataset.contact_emails[contact - first_contact]
            hints = f'{{"contact": {{"email": "{email}"}}}}'
            method = IdentityMethod.CONTACT_EMAIL
        elif source == "product":
            hints = (
                '{"account": {"identifier": {"system": "product", "id": '
                f'"ws-{first_account + index}"}}}}}}'
            )
            method = IdentityMethod.IDENTIFIER
        else:
            hints = f'{{"account": {{"domain": "{dataset.domains[index]}"}}}}'
            method = IdentityMethod.DOMAIN
        yield (
            sources[source],
            types[key],
            occurred_at,
            now,
            first_account + index,
            contact,
            value,
            topic,
            "{}",
            f"ds-{number}",
            hints,
            method,
            EXACT,
            "",
        )


def _value_and_topic(rng, key: str) -> tuple[Decimal | None, str]:
    if key == "web.visit":
        return Decimal(1 + int(rng.expovariate(0.5))), rng.choice(PAGES)
    if key == "intent.surge":
        return Decimal(rng.randrange(40, 101)), rng.choice(INTENT_TOPICS)
    if key == "product.active_users":
        return Decimal(rng.randrange(1, 400)), ""
    if key == "product.feature_used":
        return Decimal(rng.randrange(1, 50)), rng.choice(FEATURES)
    if key == "meeting.held":
        return Decimal(rng.choice((30, 45, 60))), ""
    if key == "nps.response":
        return Decimal(min(10, max(0, int(rng.gauss(7.5, 2))))), ""
    if key in ("email.open", "email.click", "webinar.attended"):
        return None, rng.choice(CAMPAIGNS)
    if key == "deal.stage_changed":
        return None, rng.choice(STAGES)
    return None, ""


def rollups_rebuild_all() -> int:
    """Rebuild every daily rollup from the signals table in one statement; returns the
    rows. The day's last value is kept for gauges only, as the ingestion service does."""
    if connection.vendor == "postgresql":
        day = "(s.occurred_at AT TIME ZONE 'UTC')::date"
    else:
        # SQLite holds datetimes as UTC text: the date is its first ten characters.
        day = "date(s.occurred_at)"
    rollup = AccountSignalDaily._meta.db_table
    sql = f"""
        INSERT INTO {rollup}
            (account_id, type_id, day, count, value_sum, last_value, distinct_contacts)
        SELECT account_id, type_id, day, COUNT(*), COALESCE(SUM(value), 0),
               MAX(CASE WHEN rn = 1 AND gauge THEN value END), COUNT(DISTINCT contact_id)
        FROM (
            SELECT s.account_id, s.type_id, {day} AS day, s.value, s.contact_id,
                   t.aggregation = 'gauge' AS gauge,
                   ROW_NUMBER() OVER (
                       PARTITION BY s.account_id, s.type_id, {day}
                       ORDER BY s.value IS NULL, s.occurred_at DESC, s.id DESC
                   ) AS rn
            FROM {Signal._meta.db_table} s
            JOIN {SignalType._meta.db_table} t ON t.id = s.type_id
            WHERE s.account_id IS NOT NULL
        ) ranked
        GROUP BY account_id, type_id, day
    """  # noqa: S608 - table names from the models
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {rollup}")  # noqa: S608 - table name from the model
        cursor.execute(sql)
        return cursor.rowcount

"""Ingestion through `POST /api/v1/signals/` against a raw load and a naive endpoint.

Batches of 5,000 items (DESIGN §4's limit) with identity resolution on, hints mixed the
way integrations send them: domains, CRM ids, known and new contact emails, company
names, and some companies no account owns. The client is Django's test client in this
process (loopback without sockets): the time is the server's, from the body to the
answer. Bodies are encoded before the clock starts.
"""

import json
import random
import uuid
from datetime import timedelta

from django.db import transaction
from django.test import Client
from django.utils import timezone

from abx_site.common.bulk import bulk_load
from abx_site.common.models import ApiKey
from abx_site.common.scopes import Scope
from accounts.choices import IdentifierSystem, IdentityMethod
from accounts.models import Account, AccountDomain, AccountIdentifier, Contact
from signals.models import Signal, SignalType, Source

from ..registry import Bar, Context, Result, benchmark, median, timed

TARGET_RATE = 30_000
RAW_FACTOR = 5
NAIVE_FACTOR = 10
SAMPLE_ACCOUNTS = 20_000
# (source, type, value range or None, topics)
KINDS = [
    ("website", "web.visit", (1, 12), ["/", "/pricing", "/product", "/docs"]),
    ("marketing", "email.click", None, ["q4-newsletter", "product-launch"]),
    ("intent", "intent.surge", (40, 100), ["revenue operations", "intent data"]),
    ("product", "product.feature_used", (1, 40), ["reports", "api", "alerts"]),
]


@benchmark(
    name="ingest: POST /api/v1/signals/",
    target=f">= {TARGET_RATE:,} signals/s; raw load within {RAW_FACTOR}x; "
    f"naive DRF >= {NAIVE_FACTOR}x slower",
)
def ingest(ctx: Context) -> Result:
    batches = ctx.pick(tiny=2, small=4, default=4)
    batch_size = ctx.pick(tiny=300, default=5_000)
    naive_size = ctx.pick(tiny=300, default=5_000)
    pool = _Pool.load(random.Random(7))
    client = Client()
    _, key = ApiKey.objects.create_key(name="bench", scopes=[Scope.SIGNALS_WRITE])
    auth = {"HTTP_AUTHORIZATION": f"Api-Key {key}"}

    # A first small batch outside the clock: imports, the public-suffix list, caches.
    warm_up = json.dumps({"signals": pool.items(random.Random(99), "warm-up", 50)}).encode()
    client.post("/api/v1/signals/", warm_up, content_type="application/json", **auth)

    ours, raw, naive = [], [], []
    for repetition in range(ctx.repeat):
        rng = random.Random(repetition)
        run = uuid.uuid4().hex[:8]
        bodies = [
            json.dumps({"signals": pool.items(rng, f"{run}-{number}", batch_size)}).encode()
            for number in range(batches)
        ]

        def post_all(bodies=bodies):
            for body in bodies:
                response = client.post(
                    "/api/v1/signals/", body, content_type="application/json", **auth
                )
                answer = response.json()
                if response.status_code != 200 or answer["rejected"]:
                    raise RuntimeError(f"Ingest refused a benchmark batch: {answer}")

        ours.append(batches * batch_size / timed(post_all))
        rows = pool.raw_rows(run, batches * batch_size)
        raw.append(len(rows) / timed(lambda rows=rows: pool.raw_load(rows)))

        naive_body = json.dumps({"signals": pool.flat_items(rng, run, naive_size)}).encode()

        def post_naive(body=naive_body):
            response = client.post(
                "/bench/naive-signals/", body, content_type="application/json", **auth
            )
            if response.status_code != 200:
                raise RuntimeError(f"The naive endpoint refused a batch: {response.content[:300]}")

        naive.append(naive_size / timed(post_naive))
        ctx.log(
            f"  ingest rep {repetition + 1}: {ours[-1]:,.0f}/s, raw {raw[-1]:,.0f}/s, "
            f"naive {naive[-1]:,.0f}/s"
        )

    ours_rate, raw_rate, naive_rate = median(ours), median(raw), median(naive)
    return Result(
        median=ours_rate,
        unit="signals/s",
        samples=ours,
        baseline_name=f"raw load ({'COPY' if _vendor() == 'postgresql' else 'executemany'})",
        baseline=raw_rate,
        ratio=raw_rate / ours_rate,
        ratio_text=f"raw is {raw_rate / ours_rate:.1f}x ours; ours is "
        f"{ours_rate / naive_rate:.1f}x naive DRF ({naive_rate:,.0f}/s)",
        bars=[
            Bar(f">= {TARGET_RATE:,}/s", ours_rate >= TARGET_RATE),
            Bar(f"raw within {RAW_FACTOR}x", raw_rate <= RAW_FACTOR * ours_rate),
            Bar(f">= {NAIVE_FACTOR}x naive", ours_rate >= NAIVE_FACTOR * naive_rate),
        ],
        notes=f"{batches} batches x {batch_size:,} items per repetition; naive: "
        f"{naive_size:,} items",
    )


def _vendor() -> str:
    from django.db import connection

    return connection.vendor


class _Pool:
    """Identities drawn from the data set, to build items that resolve like real ones."""

    def __init__(self, accounts, domains, crm_ids, emails, names):
        self.accounts, self.domains, self.crm_ids = accounts, domains, crm_ids
        self.emails, self.names = emails, names
        self.sources = dict(Source.objects.values_list("slug", "pk"))
        self.types = dict(SignalType.objects.values_list("key", "pk"))
        self.now = timezone.now()

    @classmethod
    def load(cls, rng: random.Random) -> "_Pool":
        accounts = list(
            Account.objects.order_by("pk").values_list("pk", flat=True)[:SAMPLE_ACCOUNTS]
        )
        domains = list(
            AccountDomain.objects.filter(is_primary=True, account_id__in=accounts).values_list(
                "domain", flat=True
            )
        )
        crm_ids = list(
            AccountIdentifier.objects.filter(
                system=IdentifierSystem.CRM, account_id__in=accounts
            ).values_list("external_id", flat=True)
        )
        emails = list(
            Contact.objects.filter(account_id__in=accounts[:5_000]).values_list("email", flat=True)[
                :20_000
            ]
        )
        names = list(Account.objects.filter(pk__in=accounts[:500]).values_list("name", flat=True))
        if not (accounts and domains and crm_ids and emails):
            raise RuntimeError("Load a data set first (manage.py generate_dataset).")
        return cls(accounts, domains, crm_ids, emails, names)

    def _common(self, rng, external_id):
        source, key, values, topics = rng.choice(KINDS)
        moment = self.now - timedelta(seconds=rng.randrange(30 * 86_400))
        item = {
            "source": source,
            "type": key,
            "occurred_at": moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "external_id": external_id,
            "topic": rng.choice(topics),
        }
        if values:
            item["value"] = rng.randrange(*values)
        return item

    def items(self, rng: random.Random, run: str, count: int) -> list[dict]:
        items = []
        for number in range(count):
            item = self._common(rng, f"bench-{run}-{number}")
            roll = rng.random()
            if roll < 0.45:
                item["account"] = {"domain": rng.choice(self.domains)}
            elif roll < 0.60:
                item["account"] = {"identifier": {"system": "crm", "id": rng.choice(self.crm_ids)}}
            elif roll < 0.85:
                item["contact"] = {"email": rng.choice(self.emails)}
            elif roll < 0.90:
                # Someone new at a known company: matched by email domain, then created.
                domain = rng.choice(self.domains)
                item["contact"] = {
                    "email": f"new.person{number}.{run}@{domain}",
                    "name": "New Person",
                    "title": "Data Analyst",
                }
            elif roll < 0.98:
                item["account"] = {"domain": f"not-a-customer-{rng.randrange(500)}.com"}
            else:
                item["account"] = {"name": rng.choice(self.names)}
            items.append(item)
        return items

    def flat_items(self, rng: random.Random, run: str, count: int) -> list[dict]:
        items = []
        for number in range(count):
            item = self._common(rng, f"naive-{run}-{number}")
            item["account"] = rng.choice(self.accounts)
            items.append(item)
        return items

    def raw_rows(self, run: str, count: int) -> list[tuple]:
        """Rows as the ingestion service would store them, already resolved."""
        rng = random.Random(run)
        sources = [self.sources[source] for source, _, _, _ in KINDS]
        types = [self.types[key] for _, key, _, _ in KINDS]
        rows = []
        for number in range(count):
            kind = rng.randrange(len(KINDS))
            rows.append(
                (
                    sources[kind],
                    types[kind],
                    self.now - timedelta(seconds=rng.randrange(30 * 86_400)),
                    self.now,
                    rng.choice(self.accounts),
                    None,
                    None,
                    "",
                    "{}",
                    f"raw-{run}-{number}",
                    "{}",
                    IdentityMethod.DOMAIN,
                    None,
                    "",
                )
            )
        return rows

    def raw_load(self, rows: list[tuple]) -> None:
        with transaction.atomic():
            bulk_load(
                Signal,
                [
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
                ],
                rows,
            )

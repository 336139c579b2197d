"""The account 360 page (DESIGN §10): p95 render time and query count of
`/accounts/<id>/` for the account with the most signals, every registered panel on."""

from django.contrib.auth.models import User
from django.db import connection
from django.db.models import Count
from django.test import Client
from django.test.utils import CaptureQueriesContext

from signals.models import Signal

from ..registry import Bar, Context, Result, benchmark, median, percentile, timed

P95_MS = 150
MAX_QUERIES = 20


def _busiest_account_id() -> tuple[int, int]:
    """The account with the most signals: the heaviest page of the data set."""
    row = (
        Signal.objects.filter(account__isnull=False)
        .values("account_id")
        .annotate(n=Count("id"))
        .order_by("-n")
        .first()
    )
    if row is None:
        raise RuntimeError("The data set has no matched signals.")
    return row["account_id"], row["n"]


@benchmark(
    name="account 360 page (2M signals)",
    target=f"p95 <= {P95_MS} ms, <= {MAX_QUERIES} queries",
)
def account_page(ctx: Context) -> Result:
    requests = ctx.pick(tiny=20, small=50, default=100)
    account_id, signals = _busiest_account_id()
    user, _ = User.objects.get_or_create(
        username="bench-page", defaults={"is_staff": True, "email": "bench@example.com"}
    )
    client = Client()
    client.force_login(user)
    url = f"/accounts/{account_id}/"

    # Outside the clock: template compilation, the first connection, caches.
    response = client.get(url)
    if response.status_code != 200:
        raise RuntimeError(f"{url} answered {response.status_code}")
    with CaptureQueriesContext(connection) as queries:
        client.get(url)
    count = len(queries.captured_queries)

    samples = []
    for _ in range(ctx.repeat):
        samples.extend(timed(lambda: client.get(url)) * 1000 for _ in range(requests))
    p95 = percentile(samples, 0.95)
    ctx.log(f"  account page: p95 {p95:.1f} ms, median {median(samples):.1f} ms, {count} queries")
    return Result(
        median=median(samples),
        unit="ms",
        samples=samples,
        ratio_text=f"p95 {p95:.1f} ms over {len(samples)} requests; {count} queries",
        bars=[
            Bar(f"p95 <= {P95_MS} ms", p95 <= P95_MS),
            Bar(f"<= {MAX_QUERIES} queries", count <= MAX_QUERIES),
        ],
        notes=f"account {account_id} with {signals:,} signals; the session and user "
        "queries of the request are counted",
    )

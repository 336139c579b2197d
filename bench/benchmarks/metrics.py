"""Scores and scoreboards (metrics): recompute, the account scoreboard API, rollup by tier."""

import random
import time

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from abx_site.common.models import ApiKey
from abx_site.common.scopes import Scope
from accounts.models import Account
from metrics.services import scores_recompute as recompute

from ..registry import Bar, Context, Result, benchmark, median, percentile, timed

RECOMPUTE_SECONDS = 30
SCOREBOARD_P99_MS = 25
SCOREBOARD_QUERIES = 10
ROLLUP_MS = 500


@benchmark(name="recompute all scores", target=f"<= {RECOMPUTE_SECONDS} s")
def scores_recompute(ctx: Context) -> Result:
    samples = [timed(recompute) for _ in range(ctx.repeat)]
    seconds = median(samples)
    return Result(
        median=seconds,
        unit="s",
        samples=samples,
        bars=[Bar(f"<= {RECOMPUTE_SECONDS} s", seconds <= RECOMPUTE_SECONDS)],
        notes=f"{Account.objects.count():,} accounts",
    )


@benchmark(
    name="account scoreboard API",
    target=f"p99 <= {SCOREBOARD_P99_MS} ms, <= {SCOREBOARD_QUERIES} queries",
)
def account_scoreboard(ctx: Context) -> Result:
    requests = ctx.pick(tiny=20, small=200, default=300)
    ids = list(Account.objects.order_by("pk").values_list("pk", flat=True))
    picked = random.Random(3).choices(ids, k=requests)
    _, key = ApiKey.objects.create_key(
        name="bench", scopes=[Scope.SCOREBOARDS_READ, Scope.ACCOUNTS_READ]
    )
    client = Client(HTTP_AUTHORIZATION=f"Api-Key {key}")

    def latencies(url: str) -> tuple[list[float], int]:
        client.get(url.format(picked[0]))  # outside the clock: first-request set-up
        samples, most = [], 0
        for pk in picked:
            with CaptureQueriesContext(connection) as queries:
                started = time.perf_counter()
                response = client.get(url.format(pk))
                samples.append((time.perf_counter() - started) * 1000)
            if response.status_code != 200:
                raise RuntimeError(f"{url.format(pk)} answered {response.status_code}")
            most = max(most, len(queries))
        return samples, most

    ours, our_queries = latencies("/api/v1/accounts/{}/scoreboard/")
    baseline, _ = latencies("/bench/minimal-account/{}/")
    p99, baseline_p99 = percentile(ours, 0.99), percentile(baseline, 0.99)
    return Result(
        median=p99,
        unit="ms",
        samples=[percentile(ours, 0.5)],
        baseline_name="minimal DRF view, one SELECT (p99)",
        baseline=baseline_p99,
        ratio=p99 / baseline_p99,
        ratio_text=f"{p99 / baseline_p99:.1f}x the minimal view; {our_queries} queries at most",
        bars=[
            Bar(f"p99 <= {SCOREBOARD_P99_MS} ms", p99 <= SCOREBOARD_P99_MS),
            Bar(f"<= {SCOREBOARD_QUERIES} queries", our_queries <= SCOREBOARD_QUERIES),
        ],
        notes=f"p99 of {requests} requests over random accounts; median "
        f"{percentile(ours, 0.5):.1f} ms",
    )


@benchmark(name="rollup by tier", target=f"<= {ROLLUP_MS} ms")
def rollup_by_tier(ctx: Context) -> Result:
    _, key = ApiKey.objects.create_key(name="bench", scopes=[Scope.SCOREBOARDS_READ])
    client = Client(HTTP_AUTHORIZATION=f"Api-Key {key}")
    url = "/api/v1/scoreboards/rollup/?group_by=tier"

    def fetch():
        response = client.get(url)
        if response.status_code != 200:
            raise RuntimeError(f"{url} answered {response.status_code}: {response.content[:200]}")

    fetch()
    samples = [timed(fetch) for _ in range(ctx.repeat)]
    seconds = median(samples)
    return Result(
        median=seconds,
        unit="s",
        samples=samples,
        bars=[Bar(f"<= {ROLLUP_MS} ms", seconds * 1000 <= ROLLUP_MS)],
        notes=f"{Account.objects.count():,} accounts",
    )

"""Running benchmarks in this process: used by each child of `python -m bench` (one
process per benchmark, so that its peak memory is its own) and by the smoke test."""

import platform
import resource
import sqlite3
import time

import django
from django.core.management import call_command
from django.db import connection
from django.test.utils import override_settings

from accounts.dataset import PRESETS, generate

from . import benchmarks  # noqa: F401 - fills the registry
from .registry import BENCHMARKS, Context, find


def prepare(*, size: str, seed: int = 1, log=print) -> dict:
    """Load the data set of this size into the (empty) database; returns its load time."""
    started = time.perf_counter()
    counts = generate(sizes=PRESETS[size], seed=seed, log=log)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return {"seconds": time.perf_counter() - started, "counts": dict(counts)}


def run(name: str, ctx: Context) -> dict:
    """One benchmark's result as a dict (`{"todo": reason}` for one not run at this size)."""
    entry = find(name)
    if ctx.size not in entry.sizes:
        return {"target": entry.target, "todo": f"not run at size {ctx.size}"}
    with override_settings(ROOT_URLCONF="bench.urls"):
        result = entry.function(ctx)
    result.peak_rss_mib = peak_rss_mib()
    return {"target": entry.target, "result": result.as_dict()}


def names() -> list[str]:
    return [entry.name for entry in BENCHMARKS]


def peak_rss_mib() -> float:
    """This process's peak resident memory so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def environment() -> dict:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            database = f"PostgreSQL {cursor.fetchone()[0]}"
    else:
        database = f"SQLite {sqlite3.sqlite_version}"
    return {
        "database": database,
        "python": platform.python_version(),
        "django": django.get_version(),
    }


def migrate() -> None:
    call_command("migrate", verbosity=0, interactive=False)

"""`python -m bench` (`make bench`): every benchmark of DESIGN §10, on SQLite and on
PostgreSQL when one is reachable, written to `bench/results.md`.

Per database: a fresh database (a SQLite file under `bench/.data/`; on PostgreSQL a
dedicated `abx_bench` database on the server of `DATABASE_URL`, or 127.0.0.1:5432,
dropped and created again), loaded by `generate_dataset` at the chosen size; then each
benchmark runs in its own child process (its peak memory is its own), bounded by a
timeout. Sizes: `tiny`, `small`, `default` (DESIGN §10's) and `dense`.
"""

import argparse
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from .child import MARK

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "bench" / ".data"
BENCH_DB = "abx_bench"
PREPARE_TIMEOUT = 3_600
RUN_TIMEOUT = 1_800


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--size", default=os.environ.get("BENCH_SIZE", "default"))
    parser.add_argument("--repeat", type=int, default=int(os.environ.get("BENCH_REPEAT", 3)))
    parser.add_argument(
        "--databases",
        default=os.environ.get("BENCH_DATABASES", "sqlite,postgresql"),
        help="Comma-separated: sqlite, postgresql.",
    )
    parser.add_argument("--only", default="", help="Comma-separated benchmark names (prefixes).")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results.md"))
    args = parser.parse_args(argv)

    # The parent only reads the registry and writes the table; children do the work.
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    import django

    django.setup()
    from . import runner
    from .report import render

    names = runner.names()
    if args.only:
        prefixes = [part.strip() for part in args.only.split(",") if part.strip()]
        names = [name for name in names if any(name.startswith(p) for p in prefixes)]
    runs = []
    for database in [part.strip() for part in args.databases.split(",") if part.strip()]:
        url = _database_url(database, args.size)
        if url is None:
            print(f"{database}: not reachable, skipped.", flush=True)
            continue
        started = time.perf_counter()
        print(f"{database}: loading the {args.size} data set ...", flush=True)
        prepare = _child(url, ["prepare", "--size", args.size], PREPARE_TIMEOUT)
        if "error" in prepare:
            print(f"{database}: the data set failed to load: {prepare['error']}", flush=True)
            continue
        print(f"{database}: loaded in {prepare['seconds']:.0f} s", flush=True)
        results = {}
        for name in names:
            print(f"{database}: {name} ...", flush=True)
            answer = _child(
                url, ["run", name, "--size", args.size, "--repeat", str(args.repeat)], RUN_TIMEOUT
            )
            results[name] = answer
            print(f"{database}: {name}: {_summary(answer)}", flush=True)
        runs.append(
            {
                "label": "SQLite" if database == "sqlite" else "PostgreSQL",
                "environment": prepare.get("environment", {}),
                "prepare": prepare,
                "results": results,
                "seconds": time.perf_counter() - started,
            }
        )
        _drop(database, url)
    total = sum(run["seconds"] for run in runs)
    notes = (
        "Run time: "
        + ", ".join(f"{run['label']} {run['seconds'] / 60:.1f} min" for run in runs)
        + f" (total {total / 60:.1f} min, data set loads included)."
    )
    Path(args.out).write_text(
        render(runs=runs, size=args.size, repeat=args.repeat, extra_notes=notes)
    )
    print(f"Wrote {args.out}", flush=True)
    return 0


def _child(url: str, args: list[str], timeout: int) -> dict:
    env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "bench.settings"}
    try:
        process = subprocess.run(
            [sys.executable, "-m", "bench.child", *args],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=None,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        return {"error": f"stopped after {timeout} s"}
    for line in reversed(process.stdout.splitlines()):  # the answer is the last line
        if line.startswith(MARK):
            return json.loads(line[len(MARK) :])
    return {"error": f"exit code {process.returncode}"}


def _summary(answer: dict) -> str:
    if "result" in answer:
        result = answer["result"]
        return f"{result['median']:,.3f} {result['unit']}"
    return answer.get("todo") or answer.get("error", "?")


def _database_url(database: str, size: str) -> str | None:
    if database == "sqlite":
        DATA.mkdir(parents=True, exist_ok=True)
        path = DATA / f"bench-{size}.sqlite3"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return f"sqlite:///{path}"
    if database != "postgresql":
        raise SystemExit(f"Unknown database '{database}': use sqlite or postgresql.")
    configured = os.environ.get("BENCH_DATABASE_URL") or os.environ.get("DATABASE_URL", "")
    if not configured.startswith(("postgres://", "postgresql://")):
        configured = "postgres://postgres@127.0.0.1:5432/postgres"
    parts = urlsplit(configured)
    try:
        socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 5432), 2).close()
    except OSError:
        return None
    # The server of the configured database, but always a database of our own.
    _admin(
        configured,
        f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)',
        f'CREATE DATABASE "{BENCH_DB}"',
    )
    return urlunsplit(parts._replace(path=f"/{BENCH_DB}"))


def _drop(database: str, url: str) -> None:
    if database == "postgresql":
        _admin(url, f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')


def _admin(url: str, *statements: str) -> None:
    import psycopg

    parts = urlsplit(url)
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as connection:
        for statement in statements:
            connection.execute(statement)


if __name__ == "__main__":
    sys.exit(main())

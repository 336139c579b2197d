"""Real processes for the reliability tests, on the test database, and the means to hurt them.

`qcluster(...)` and `web_server(...)` start the product's own commands (`manage.py
qcluster`, gunicorn on `abx_site.wsgi`) in their own session, so that a test can SIGKILL a
whole process tree the way a crashed machine would. Each process writes to a log file;
when the `with` block ends, whatever happened, its whole process group is stopped
(SIGTERM, then SIGKILL) and waited for, and a test that failed shows the end of the log.

Every spawned process names its PostgreSQL sessions (`PGAPPNAME`, read by libpq), so a
test can find exactly that process's backends in `pg_stat_activity`: to see it waiting on
a lock, to terminate them, or to wait until they are gone after a kill.
"""

import http.client
import itertools
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import psycopg
from django_q import models as q

from tests.worker import ROOT, database_url, wait_for

_names = itertools.count(1)


def process_env(name: str, **extra) -> dict:
    """The environment of a spawned process: the base (production) settings on the test
    database, loopback webhooks allowed, and nothing of the test run's own settings."""
    inherited = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "ABX_", "PG"))
        and key not in ("DATABASE_URL", "REDIS_URL")  # a shared Redis would mix caches
    }
    return {
        **inherited,
        "DATABASE_URL": database_url(),
        "DJANGO_SETTINGS_MODULE": "abx_site.settings.base",
        "DJANGO_DEBUG": "true",
        "ABX_WEBHOOK_ALLOWED_NETWORKS": "127.0.0.0/8",
        "PGAPPNAME": name,
        "PYTHONUNBUFFERED": "1",
        **{key: str(value) for key, value in extra.items()},
    }


def _group_members(pgid: int) -> list[int]:
    """Live (not zombie) processes of a process group, read from /proc."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        state, _ppid, group = stat.rsplit(")", 1)[1].split()[:3]
        if int(group) == pgid and state != "Z":
            members.append(int(entry.name))
    return members


class Spawned:
    """A process started in its own session (its pid is its process group id)."""

    def __init__(self, name: str, popen: subprocess.Popen, log: Path):
        self.name = name
        self.popen = popen
        self.log_path = log

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def members(self) -> list[int]:
        return _group_members(self.pid)

    def signal_group(self, signum: int) -> None:
        with suppress(ProcessLookupError):
            os.killpg(self.pid, signum)

    def crash(self) -> None:
        """SIGKILL the whole tree at once, as a lost machine or an OOM kill would."""
        self.signal_group(signal.SIGKILL)
        self.popen.wait(timeout=30)
        if not wait_for(lambda: not self.members(), timeout=30, interval=0.1):
            raise AssertionError(f"{self.name}: processes {self.members()} survived SIGKILL")

    def stop(self, grace: float = 5.0) -> None:
        if self.alive() or self.members():
            self.signal_group(signal.SIGTERM)
            wait_for(lambda: not self.members(), timeout=grace, interval=0.1)
        if self.members():
            self.signal_group(signal.SIGKILL)
            wait_for(lambda: not self.members(), timeout=30, interval=0.1)
        if self.alive():
            self.popen.kill()
        self.popen.wait(timeout=30)

    def log(self, last: int = 6000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-last:]
        except OSError:
            return ""


@contextmanager
def spawned(name: str, args: list[str], env: dict, *, kind=Spawned) -> Iterator[Spawned]:
    fd, path = tempfile.mkstemp(prefix=f"{name}-", suffix=".log")
    log = Path(path)
    with os.fdopen(fd, "wb") as out:
        popen = subprocess.Popen(
            args,
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    process = kind(name, popen, log)
    failed = False
    try:
        yield process
    except BaseException:
        failed = True
        raise
    finally:
        process.stop()
        if failed:
            sys.stderr.write(f"\n--- the end of {name}'s log ---\n{process.log()}\n")
        log.unlink(missing_ok=True)


@contextmanager
def qcluster(*, workers: int = 1, retry: int = 5, **env) -> Iterator[Spawned]:
    """`manage.py qcluster` on the test database.

    `retry` is `ABX_Q_RETRY`: how long a task a worker took stays locked in the ORM queue
    before it is delivered again (seconds; production waits 31 minutes). It is shorter
    than the task timeout here, which django-q2 warns about: tests keep their tasks short.
    """
    name = f"abx-qcluster-{next(_names)}"
    environment = process_env(name, ABX_Q_WORKERS=workers, ABX_Q_RETRY=retry, **env)
    with spawned(name, [sys.executable, "manage.py", "qcluster"], environment) as process:
        yield process


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server(Spawned):
    """A web server: `request()` speaks HTTP to it."""

    port = 0

    def request(self, method: str, path: str, *, body=None, key: str = "", timeout=120):
        """(status, JSON answer) of one request; raises OSError/HTTPException when the
        server goes away before answering."""
        return http_request(self.port, method, path, body=body, key=key, timeout=timeout)


def http_request(port: int, method: str, path: str, *, body=None, key: str = "", timeout=120):
    headers = {"Accept": "application/json", "X-Forwarded-Proto": "https"}
    if key:
        headers["Authorization"] = f"Api-Key {key}"
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=data, headers=headers)
        response = conn.getresponse()
        raw = response.read()
    finally:
        conn.close()
    try:
        answer = json.loads(raw) if raw else None
    except ValueError:
        answer = raw.decode(errors="replace")[:2000]
    return response.status, answer


@contextmanager
def web_server(*, workers: int = 1, **env) -> Iterator[Server]:
    """gunicorn serving `abx_site.wsgi` on a free loopback port, with production settings
    (debug off; HTTPS as a proxy in front would say with `X-Forwarded-Proto`); returns
    once it answers HTTP."""
    name = f"abx-web-{next(_names)}"
    port = free_port()
    environment = process_env(
        name,
        DJANGO_DEBUG="false",
        DJANGO_SECRET_KEY="reliability-tests-" + "k" * 50,
        DJANGO_ALLOWED_HOSTS="127.0.0.1",
        **env,
    )
    args = [
        str(Path(sys.executable).with_name("gunicorn")),
        "abx_site.wsgi:application",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--timeout",
        "120",
        "--graceful-timeout",
        "3",
    ]
    with spawned(name, args, environment, kind=Server) as process:
        process.port = port

        def answers():
            if not process.alive():
                raise AssertionError(f"{name} exited:\n{process.log()}")
            try:
                http_request(port, "GET", "/api/v1/", timeout=5)
            except OSError:
                return False
            return True

        assert wait_for(answers, timeout=60, interval=0.2), f"{name} never answered"
        yield process


# PostgreSQL ---------------------------------------------------------------------------------


def conninfo() -> str:
    return database_url().replace("postgres://", "postgresql://", 1)


def pg_connect(*, autocommit: bool = True) -> psycopg.Connection:
    """A session of the test's own (not Django's) on the test database."""
    return psycopg.connect(conninfo(), autocommit=autocommit, application_name="abx-tests")


@contextmanager
def connections_refused(database: str, *, when: bool = True) -> Iterator[None]:
    """No new session may open on `database` inside the block (sessions already open stay);
    allowed again on the way out, whatever happened. Run from the maintenance database:
    PostgreSQL will not let a session refuse connections to its own database."""
    if not when:
        yield
        return
    admin = psycopg.connect(
        conninfo().rsplit("/", 1)[0] + "/postgres", autocommit=True, application_name="abx-tests"
    )
    try:
        admin.execute(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS false')
        yield
    finally:
        try:
            admin.execute(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS true')
        finally:
            admin.close()


def backends(observer: psycopg.Connection, name: str, *, waiting: bool = False) -> list[int]:
    """Backend pids of the process named `name` (only those waiting on a lock if `waiting`)."""
    if not observer.autocommit:
        # A transaction sees one snapshot of pg_stat_activity: drop it so each call sees anew.
        observer.execute("SELECT pg_stat_clear_snapshot()")
    sql = (
        "SELECT pid FROM pg_stat_activity "
        "WHERE datname = current_database() AND application_name = %s"
    )
    if waiting:
        sql += " AND wait_event_type = 'Lock'"
    return [pid for (pid,) in observer.execute(sql, [name]).fetchall()]


def wait_until_gone(observer: psycopg.Connection, name: str, *, timeout: float = 30) -> None:
    """After a kill: the dead process's backends notice their client is gone and roll back."""
    if not wait_for(lambda: not backends(observer, name), timeout=timeout, interval=0.1):
        raise AssertionError(f"the backends of {name} outlived it: {backends(observer, name)}")


def sleep_until(predicate, *, timeout: float, message: str):
    value = wait_for(predicate, timeout=timeout, interval=0.2)
    assert value, message
    return value


def queued(task_id: str) -> bool:
    """Whether the task is still in the ORM queue: not yet acknowledged by a worker."""
    return any(row.task_id() == task_id for row in q.OrmQ.objects.all())


def finished(task_id: str, *, timeout: float = 90):
    """The django-q2 record of a queued task once a worker has run it successfully and
    acknowledged it (a failed attempt may come first: it is delivered again after
    `ABX_Q_RETRY`). The worker saves the result before it acknowledges."""
    done = wait_for(
        lambda: not queued(task_id) and q.Task.objects.filter(id=task_id, success=True).first(),
        timeout=timeout,
        interval=0.2,
    )
    if not done:
        record = q.Task.objects.filter(id=task_id).first()
        outcome = "no record" if record is None else f"success={record.success}: "
        outcome += "" if record is None else str(record.result)[-1500:]
        raise AssertionError(f"task {task_id} was not run and acknowledged ({outcome})")
    return done


__all__ = [
    "Server",
    "Spawned",
    "backends",
    "connections_refused",
    "finished",
    "free_port",
    "http_request",
    "pg_connect",
    "process_env",
    "qcluster",
    "queued",
    "sleep_until",
    "spawned",
    "wait_until_gone",
    "web_server",
]

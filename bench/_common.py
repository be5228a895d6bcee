"""Shared set-up for benchmarks: a throwaway PostgreSQL database, a migrated project, a server process."""

from __future__ import annotations

import contextlib
import os
import platform
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN = os.environ.get("BENCH_PG_ADMIN", "postgres://postgres@127.0.0.1:5432/postgres")


def percentile(values: list[float], pct: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return ordered[index]


def machine() -> str:
    cores = os.cpu_count() or 0
    try:
        with open("/proc/meminfo") as f:
            kb = int(next(line for line in f if line.startswith("MemTotal")).split()[1])
        memory = f"{kb / 1024 / 1024:.1f} GiB"
    except (OSError, StopIteration, ValueError):
        memory = "unknown"
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"{platform.machine()}, {cores} cores, {memory}, Python {platform.python_version()}, {stamp}"


#: The zone deploy/postgresql/circlecare.conf gives the server. Django sets its zone on each new
#: connection unless the server already reports it by that name, so a bench database does as a
#: deployed one does (a server left at Debian's 'Etc/UTC' would cost each connection a round trip).
DEPLOYED_ZONE = "UTC"


@contextlib.contextmanager
def bench_database(name: str) -> Iterator[str]:
    """Create a fresh PostgreSQL database, point Django at it, drop it afterwards."""
    import psycopg

    url = PG_ADMIN.rsplit("/", 1)[0] + "/" + name
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
        conn.execute(f"ALTER DATABASE \"{name}\" SET timezone TO '{DEPLOYED_ZONE}'")
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "circlecare.settings")
    try:
        yield url
    finally:
        from django.db import connections

        connections.close_all()
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def setup_django() -> None:
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server(str):
    """The server's base URL, carrying the process id of the uvicorn that serves it."""

    pid: int

    def __new__(cls, base: str, pid: int) -> Server:
        made = super().__new__(cls, base)
        made.pid = pid
        return made


def _proc_stats() -> dict[int, tuple[int, str, float]]:
    """pid → (parent pid, name, CPU seconds of it and its reaped children) from /proc (Linux)."""
    tick = os.sysconf("SC_CLK_TCK")
    stats = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                raw = f.read()
        except OSError:  # the process ended while we looked
            continue
        name = raw[raw.index("(") + 1 : raw.rindex(")")]
        fields = raw[raw.rindex(")") + 2 :].split()
        # utime, stime, cutime, cstime are fields 14-17 of stat(5); fields[0] here is field 3.
        cpu = sum(int(v) for v in fields[11:15]) / tick
        stats[int(entry)] = (int(fields[1]), name, cpu)
    return stats


def cpu_split(server_pid: int) -> dict[str, float] | None:
    """CPU seconds used so far by the server (uvicorn and its workers) and by PostgreSQL (every
    ``postgres`` process, with the backends it has reaped). None where /proc is not there."""
    if not os.path.isdir("/proc/self"):
        return None
    stats = _proc_stats()
    tree, server = {server_pid}, 0.0
    for pid in sorted(stats):  # parents start before their children, so their pids are lower
        parent, _name, cpu = stats[pid]
        if pid in tree or parent in tree:
            tree.add(pid)
            server += cpu
    postgres = sum(cpu for _parent, name, cpu in stats.values() if name == "postgres")
    children = os.times()
    return {
        "server": server,
        "postgres": postgres,
        "load": children.children_user + children.children_system,
    }


@contextlib.contextmanager
def asgi_server(workers: int = 2, extra_env: dict[str, str] | None = None) -> Iterator[Server]:
    """uvicorn serving circlecare.asgi with ``workers`` processes on a free loopback port."""
    port = free_port()
    env = {**os.environ, **(extra_env or {})}
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "circlecare.asgi:application", "--host", "127.0.0.1",
         "--port", str(port), "--workers", str(workers), "--ws", "websockets-sansio",
         "--log-level", "warning", "--no-access-log"],
        cwd=ROOT, env=env,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("the server did not start") from None
                time.sleep(0.2)
        time.sleep(1.0)  # let every worker finish importing
        yield Server(base, proc.pid)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def progress(done: int, total: int, label: str = "") -> None:
    width = 30
    filled = int(width * done / max(total, 1))
    sys.stderr.write(f"\r{label} [{'#' * filled}{'.' * (width - filled)}] {done}/{total}")
    if done >= total:
        sys.stderr.write("\n")
    sys.stderr.flush()


def session_key(user: Any) -> str:
    """A signed-in session for ``user`` made directly in the session store (no login round trip)."""
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    store = SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.create()
    return store.session_key or ""

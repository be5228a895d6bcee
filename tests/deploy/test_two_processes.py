"""Past one machine: two server processes share Redis, and a chat message crosses from one to the other;
a member who opens the room again on the other process is in it once.

Two real uvicorn processes (one worker each, different ports) serve the project from one database
file and one Redis database. The group's lead opens the room on process A, a member on process B;
the lead lets the member in and says something, and the member sees it. This is what several ASGI
processes behind a reverse proxy rely on (deploy/README.md).

The database is this test's own SQLite file, migrated and seeded in subprocesses: a server process
cannot see pytest-django's in-memory test database.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379

SEED = """
import json, random
from datetime import timedelta
import django
django.setup()
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
from django.db import connection
from django.utils import timezone
from circlecare.meetings.live.models import RoomPresence
from circlecare.meetings.models import Attendance, Meeting
from tests.factories import CohortFactory, EnrollmentFactory

# Channel-layer group names carry meeting and presence ids; start them high and random so another
# run sharing this Redis database cannot meet the same names.
with connection.cursor() as cursor:
    cursor.execute(
        "INSERT INTO sqlite_sequence (name, seq) VALUES (%s, %s)",
        [RoomPresence._meta.db_table, random.randint(10**6, 10**9)],
    )

def session(user):
    store = SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.create()
    return store.session_key

cohort = CohortFactory()
now = timezone.now()
meeting = Meeting.objects.create(
    pk=random.randint(10**6, 10**9), cohort=cohort, number=1, starts_at=now,
    ends_at=now + timedelta(minutes=90), local_date=now.date(), local_time=now.time(),
)
member = EnrollmentFactory(cohort=cohort).member
Attendance.objects.create(meeting=meeting, member=member, status="attended", recorded_by=member, at=now)
print(json.dumps({"meeting": meeting.pk, "lead": session(cohort.lead), "member": session(member)}))
"""


def redis_db_or_skip() -> int:
    try:
        with socket.create_connection((REDIS_HOST, REDIS_PORT), timeout=1) as sock:
            sock.sendall(b"PING\r\n")
            if not sock.recv(16).startswith(b"+PONG"):
                pytest.skip("Redis on 127.0.0.1:6379 did not answer PING")
    except OSError:
        pytest.skip("Redis is not reachable on 127.0.0.1:6379 (the shared channel layer needs it)")
    return int(os.environ.get("TEST_REDIS_DB", str(random.randint(1, 15))))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    redis_db = redis_db_or_skip()
    base = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE"}
    }
    return {
        **base,
        "DJANGO_SETTINGS_MODULE": "circlecare.settings",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'two-processes.sqlite3'}",
        "REDIS_URL": f"redis://{REDIS_HOST}:{REDIS_PORT}/{redis_db}",
        # Sessions are made directly in the store; the lead's second factor is not what this tests.
        "MFA_REQUIRED_FOR_STAFF": "0",
        "LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT),
    }


@pytest.fixture
def seeded(env: dict[str, str]) -> dict[str, Any]:
    for command in ([sys.executable, "manage.py", "migrate", "-v0"], [sys.executable, "-c", SEED]):
        out = subprocess.run(
            command, cwd=ROOT, env=env, check=True, capture_output=True, text=True, timeout=120
        )
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


@pytest.fixture
def two_servers(env: dict[str, str], seeded: dict[str, Any]) -> Iterator[tuple[str, str]]:
    procs, origins = [], []
    try:
        for _ in range(2):
            port = free_port()
            procs.append(
                subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "uvicorn",
                        "circlecare.asgi:application",
                        "--host",
                        "127.0.0.1",
                        "--port",
                        str(port),
                        "--workers",
                        "1",
                        "--ws",
                        "websockets-sansio",
                        "--log-level",
                        "warning",
                        "--no-access-log",
                    ],
                    cwd=ROOT,
                    env=env,
                )
            )
            origins.append(f"http://127.0.0.1:{port}")
        deadline = time.monotonic() + 30
        for proc, origin in zip(procs, origins, strict=True):
            port = int(origin.rsplit(":", 1)[1])
            while True:
                try:
                    with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                        break
                except OSError:
                    assert proc.poll() is None, "a server process exited while starting"
                    assert time.monotonic() < deadline, "a server process did not start in 30 s"
                    time.sleep(0.1)
        yield origins[0], origins[1]
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


async def until(ws: Any, kind: str, timeout: float = 10) -> dict[str, Any]:
    return await until_any(ws, {kind}, timeout)


async def until_any(ws: Any, kinds: set[str], timeout: float = 10) -> dict[str, Any]:
    async def wait() -> dict[str, Any]:
        while True:
            message = json.loads(await ws.recv())
            if message.get("type") in kinds:
                return dict(message)

    return await asyncio.wait_for(wait(), timeout)


async def cross(a: str, b: str, meeting: int, lead: str, member: str) -> dict[str, Any]:
    import websockets
    from websockets.typing import Origin

    def room(origin: str) -> str:
        return origin.replace("http://", "ws://") + f"/ws/meetings/{meeting}/"

    def connect(origin: str, session: str) -> Any:
        headers = {"Cookie": f"sessionid={session}"}
        return websockets.connect(room(origin), origin=Origin(origin), additional_headers=headers)

    async with connect(a, lead) as on_a, connect(b, member) as on_b:
        await until(on_a, "admitted")
        await until(on_b, "waiting")
        await on_a.send(json.dumps({"type": "admit_all"}))
        await until(on_b, "admitted")
        await on_a.send(json.dumps({"type": "chat", "text": "Welcome, everyone."}))
        return await until(on_b, "chat")


def test_a_chat_message_sent_on_one_process_arrives_on_the_other(
    two_servers: tuple[str, str], seeded: dict[str, Any]
) -> None:
    a, b = two_servers
    assert a != b
    message = asyncio.run(cross(a, b, seeded["meeting"], seeded["lead"], seeded["member"]))
    assert message["text"] == "Welcome, everyone."


async def second_tab(a: str, b: str, meeting: int, lead: str, member: str) -> None:
    import websockets
    from websockets.typing import Origin

    def connect(origin: str, session: str) -> Any:
        room = origin.replace("http://", "ws://") + f"/ws/meetings/{meeting}/"
        headers = {"Cookie": f"sessionid={session}"}
        return websockets.connect(room, origin=Origin(origin), additional_headers=headers)

    async with connect(a, lead) as lead_on_a, connect(b, member) as first_on_b:
        await until(lead_on_a, "admitted")
        first = await until(first_on_b, "welcome")
        await until(first_on_b, "waiting")
        await lead_on_a.send(json.dumps({"type": "admit_all"}))
        await until(first_on_b, "admitted")
        assert (await until(lead_on_a, "joined"))["peer"] == first["peer"]

        async with connect(a, member) as second_on_a:
            second = await until(second_on_a, "welcome")
            await until(second_on_a, "admitted")
            await until(first_on_b, "replaced")
            with pytest.raises(websockets.ConnectionClosed):
                await asyncio.wait_for(first_on_b.recv(), 10)
            assert first_on_b.close_code == 4409
            # Who is in the room, as the lead sees it: the old tab leaves from the other
            # process, the new one joins from this one, in whichever order they arrive.
            seen: set[tuple[str, str]] = set()
            while len(seen) < 2:
                message = await until_any(lead_on_a, {"joined", "left"})
                seen.add((message["type"], message["peer"]))
            assert seen == {("joined", second["peer"]), ("left", first["peer"])}


def test_a_member_who_opens_the_room_on_the_other_process_too_is_in_it_once(
    two_servers: tuple[str, str], seeded: dict[str, Any]
) -> None:
    a, b = two_servers
    asyncio.run(second_tab(a, b, seeded["meeting"], seeded["lead"], seeded["member"]))

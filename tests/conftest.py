from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from asgiref.sync import SyncToAsync
from django.core.management import call_command
from django.db import connection, connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.signals import connection_created
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings

# Property tests check what is true, not how fast an example is made: on a loaded machine (two
# test processes, PostgreSQL and a browser sharing two cores) the default 200 ms deadline and the
# "too slow" health check fail tests whose properties hold. Each test still sets its own number
# of examples.
hypothesis_settings.register_profile(
    "circlecare", deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
hypothesis_settings.load_profile("circlecare")


def allow_truncate(sender: Any, connection: BaseDatabaseWrapper, **kwargs: Any) -> None:
    """On PostgreSQL, triggers refuse TRUNCATE of the audit and note tables unless the session's
    ``circlecare.allow_truncate`` is 'on' (audit migration 0010, clinic migration 0004). Between
    transactional tests the test database is emptied with TRUNCATE of every table, so the test
    suite's own connections, and only they, set it; the application never does."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET circlecare.allow_truncate = 'on'")


connection_created.connect(allow_truncate, dispatch_uid="circlecare-tests-allow-truncate")


def truncate_as_the_application(statement: str) -> None:
    """Run ``statement`` (a TRUNCATE) as a connection of the application's would, without the test
    suite's allowance, inside its own transaction."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL circlecare.allow_truncate = 'off'")
        # TRUNCATE refuses to run while the test's own inserts have foreign-key checks pending.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(statement)


@pytest.fixture(autouse=True)
def _fast_tests(settings: Any, request: pytest.FixtureRequest) -> None:
    # Argon2 is the real hasher; tests that are not about hashing use a fast one.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # Staff roles need a second factor in every environment. Tests of other behaviour sign staff in
    # with force_login; tests marked `mfa_enforced` (tests/accounts/test_security.py, browser
    # journeys) exercise the rule itself.
    settings.MFA_REQUIRED_FOR_STAFF = request.node.get_closest_marker("mfa_enforced") is not None


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    """What the cache keeps is keyed by ids (rate-limit counts by user, the room's "let in" and
    "this socket" marks by meeting and user), and ids come round again in every new test
    database: start every test without what an earlier test, or an earlier run, left there.
    A per-process cache is emptied; in a shared Redis cache only the room's keys go, as other
    processes may be using the rest."""
    from django.core.cache import caches
    from django.core.cache.backends.locmem import LocMemCache
    from django.core.cache.backends.redis import RedisCache

    cache = caches["default"]
    if isinstance(cache, LocMemCache):
        cache.clear()
    elif isinstance(cache, RedisCache):
        client = cache._cache.get_client(write=True)
        for key in client.scan_iter(match=cache.make_key("live:*")):
            client.delete(key)


@pytest.fixture(autouse=True)
def _close_async_tests_connections() -> Iterator[None]:
    """An async test's ``sync_to_async`` calls run in asgiref's one shared thread, whose database
    connection would otherwise stay open after the test and keep the test database from being
    dropped at the end of the run. Close it after every test that used that thread."""
    yield
    executor = SyncToAsync.single_thread_executor
    if executor._threads:
        executor.submit(connections.close_all).result()


@pytest.fixture
def run_worker() -> Callable[[], None]:
    """Run the real task worker over everything queued, then return (``db_worker --batch``)."""

    def _run() -> None:
        call_command("db_worker", "--batch", "--interval", "0")

    return _run


def requires_postgres() -> pytest.MarkDecorator:
    return pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="needs PostgreSQL: SQLite has no row locks, so it cannot show a race",
    )


def someone_waits_for_a_lock(still_going: Callable[[], bool], *, timeout: float = 10) -> bool:
    """PostgreSQL only: True once another session on this test database is seen waiting for a
    lock; False if ``still_going()`` turns false (the other side finished without waiting) or
    the deadline passes. A condition polled, for race tests to let a held lock go at the right
    moment rather than after a guessed pause."""
    import time

    deadline = time.monotonic() + timeout
    with connection.cursor() as cursor:
        while still_going() and time.monotonic() < deadline:
            # Activity is read once per transaction unless the snapshot is cleared.
            cursor.execute("SELECT pg_stat_clear_snapshot()")
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE wait_event_type = 'Lock' AND datname = current_database()"
            )
            if cursor.fetchone()[0] > 0:
                return True
    return False

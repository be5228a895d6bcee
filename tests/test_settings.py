"""Production settings refuse to start without their secrets; development needs nothing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
LOAD = "import django; django.setup(); from django.conf import settings; print(settings.DEBUG)"


def load_settings(show: str = LOAD, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in {"SECRET_KEY", "FIELD_ENCRYPTION_KEY", "EMAIL_BACKEND"}
    }
    clean.update({"DJANGO_SETTINGS_MODULE": "circlecare.settings", **env})
    return subprocess.run(
        [sys.executable, "-c", show],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("env", "missing"),
    [
        ({}, "SECRET_KEY, FIELD_ENCRYPTION_KEY"),
        ({"SECRET_KEY": "x" * 60}, "FIELD_ENCRYPTION_KEY"),
        ({"FIELD_ENCRYPTION_KEY": "k" * 44}, "SECRET_KEY"),
    ],
)
def test_production_refuses_to_start_without_keys(env: dict[str, str], missing: str) -> None:
    result = load_settings(CIRCLECARE_ENV="production", **env)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert missing in result.stderr


def test_production_with_keys_starts_without_debug() -> None:
    result = load_settings(
        CIRCLECARE_ENV="production", SECRET_KEY="s" * 60, FIELD_ENCRYPTION_KEY="k" * 44, DEBUG="1"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


def test_production_sends_mail_over_smtp_without_addresses_in_its_errors() -> None:
    """circlecare.mailing: Django's SMTP backend, with refusals told by their codes."""
    show = LOAD.replace("settings.DEBUG", "settings.EMAIL_BACKEND")
    keys = {"SECRET_KEY": "s" * 60, "FIELD_ENCRYPTION_KEY": "k" * 44}
    production = load_settings(show, CIRCLECARE_ENV="production", **keys)
    assert production.stdout.strip() == "circlecare.mailing.SMTPBackend", production.stderr
    development = load_settings(show)
    assert development.stdout.strip() == "django.core.mail.backends.console.EmailBackend"


def test_development_starts_with_nothing_set() -> None:
    result = load_settings()
    assert result.returncode == 0, result.stderr


def test_unknown_environment_is_refused() -> None:
    result = load_settings(CIRCLECARE_ENV="staging")
    assert result.returncode != 0
    assert "CIRCLECARE_ENV" in result.stderr


def test_task_keep_periods_default_to_two_weeks_and_a_month_and_come_from_the_environment() -> None:
    show = (
        "import django; django.setup(); from django.conf import settings; "
        "print(settings.TASK_RESULTS_KEEP_DAYS, settings.TASK_FAILURES_KEEP_DAYS)"
    )
    clean = {k: v for k, v in os.environ.items() if not k.startswith("TASK_")}
    for env, shown in (
        ({}, "14 30"),
        ({"TASK_RESULTS_KEEP_DAYS": "7", "TASK_FAILURES_KEEP_DAYS": "60"}, "7 60"),
    ):
        result = subprocess.run(
            [sys.executable, "-c", show],
            cwd=ROOT,
            env={**clean, "DJANGO_SETTINGS_MODULE": "circlecare.settings", **env},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == shown


def test_a_seat_change_waits_about_three_seconds_for_the_group_by_default() -> None:
    """R1d: the lock wait is bounded at about 3 s unless the environment says otherwise (the
    concurrency tests shorten it to keep the suite quick)."""
    show = (
        "import django; django.setup(); from django.conf import settings; "
        "print(settings.SEAT_LOCK_TIMEOUT_MS)"
    )
    clean = {k: v for k, v in os.environ.items() if k != "SEAT_LOCK_TIMEOUT_MS"}
    result = subprocess.run(
        [sys.executable, "-c", show],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "circlecare.settings"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "3000"


@pytest.mark.parametrize("name", ["TASK_RESULTS_KEEP_DAYS", "TASK_FAILURES_KEEP_DAYS"])
@pytest.mark.parametrize("days", ["0", "-3"])
def test_a_task_keep_period_under_a_day_is_refused(name: str, days: str) -> None:
    # Zero or fewer days would remove tasks the moment they finish, failures included.
    result = load_settings(**{name: days})
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert name in result.stderr


def test_sqlite_writers_queue_instead_of_failing_with_database_is_locked(
    tmp_path: Path, django_db_blocker: Any
) -> None:
    """Two transactions that each read and then write (a double-submitted form) on the demo's
    SQLite database: the second waits for the first instead of answering "database is locked"."""
    import threading

    from django.conf import settings
    from django.db import connections, transaction
    from django.db.backends.sqlite3.base import DatabaseWrapper

    configured = settings.DATABASES["default"]
    if configured["ENGINE"] != "django.db.backends.sqlite3":
        pytest.skip("the SQLite settings apply only when SQLite is the database")
    alias = "queue-test"

    def wrapper() -> DatabaseWrapper:
        """A connection to a file database with the project's SQLite options, for this thread."""
        params = {**configured, "NAME": str(tmp_path / "queue.sqlite3"), "TEST": {}}
        params["OPTIONS"] = {**configured["OPTIONS"], "timeout": 5}
        db = DatabaseWrapper(params, alias=alias)
        connections[alias] = db
        return db

    django_db_blocker.unblock()  # a database of its own, not the test database
    setup = wrapper()
    with setup.cursor() as cursor:
        cursor.execute("CREATE TABLE seats (n integer)")
        cursor.execute("INSERT INTO seats VALUES (0)")
    setup.close()
    first_wrote, second_read = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def take_a_seat(first: bool) -> None:
        db = wrapper()
        try:
            if not first:
                assert first_wrote.wait(5)
            with transaction.atomic(using=alias), db.cursor() as cursor:
                cursor.execute("SELECT n FROM seats")
                if not first:
                    second_read.set()
                (n,) = cursor.fetchone()
                cursor.execute("UPDATE seats SET n = %s", [n + 1])
                if first:
                    first_wrote.set()
                    # Keep the transaction open until the second one has read, which is how two
                    # deferred transactions deadlock. Taking the write lock at BEGIN, the second
                    # cannot read before this one commits: then this waits its bounded second.
                    second_read.wait(1)
        except BaseException as error:  # reported by the test below
            errors.append(error)
        finally:
            db.close()

    threads = [threading.Thread(target=take_a_seat, args=(f,)) for f in (True, False)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert errors == []
    check = wrapper()
    with check.cursor() as cursor:
        cursor.execute("SELECT n FROM seats")
        assert cursor.fetchone() == (2,)
    check.close()
    django_db_blocker.restore()

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection


@pytest.fixture(autouse=True)
def _fast_tests(settings: Any, request: pytest.FixtureRequest) -> None:
    # Argon2 is the real hasher; tests that are not about hashing use a fast one.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # Staff roles need a second factor in every environment. Tests of other behaviour sign staff in
    # with force_login; tests marked `mfa_enforced` (tests/accounts/test_security.py, browser
    # journeys) exercise the rule itself.
    settings.MFA_REQUIRED_FOR_STAFF = request.node.get_closest_marker("mfa_enforced") is not None


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

"""The project's deployment checks."""

from __future__ import annotations

from typing import Any

import pytest

from circlecare.checks import room_timing, site_url


@pytest.mark.parametrize(
    ("url", "hosts", "problem"),
    [
        ("https://care.example.org", ["care.example.org"], None),
        ("https://care.example.org", [".example.org"], None),
        ("http://care.example.org", ["care.example.org"], "is not an https:// address"),
        ("https://127.0.0.1:8000", ["care.example.org"], "ALLOWED_HOSTS does not serve"),
        ("https://", ["care.example.org"], "ALLOWED_HOSTS does not serve"),
    ],
)
def test_site_url_must_be_this_deployments_https_address(
    settings: Any, url: str, hosts: list[str], problem: str | None
) -> None:
    settings.SITE_URL = url
    settings.ALLOWED_HOSTS = hosts
    found = site_url()
    if problem is None:
        assert found == []
    else:
        assert [m.id for m in found] == ["circlecare.W001"]
        assert problem in found[0].msg


@pytest.mark.parametrize(
    ("seen", "stale", "grace", "answer", "problems"),
    [
        (15, 90, 15, 5, []),
        (1, 3, 3, 1, []),
        (15, 30, 15, 5, ["ROOM_PRESENCE_STALE_SECONDS (30) must be at least three times"]),
        (0, 90, 15, 5, ["ROOM_PRESENCE_SEEN_SECONDS must be more than 0"]),
        (15, 90, 5, 5, ["ROOM_GRACE_SECONDS (5) must be more than ROOM_ANSWER_SECONDS (5)"]),
        (15, 90, 15, -1, ["ROOM_ANSWER_SECONDS must be more than 0"]),
        (30, 60, 1, 2, ["at least three times", "must be more than ROOM_ANSWER_SECONDS"]),
    ],
)
def test_the_rooms_waits_must_come_in_an_order_that_works(
    settings: Any, seen: float, stale: float, grace: float, answer: float, problems: list[str]
) -> None:
    settings.ROOM_PRESENCE_SEEN_SECONDS = seen
    settings.ROOM_PRESENCE_STALE_SECONDS = stale
    settings.ROOM_GRACE_SECONDS = grace
    settings.ROOM_ANSWER_SECONDS = answer
    found = room_timing()
    assert [m.id for m in found] == ["circlecare.E001"] * len(problems)
    for message, problem in zip(found, problems, strict=True):
        assert problem in message.msg

"""TURN credentials of their own for each person let into a room, until the meeting is over."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.utils import timezone

from circlecare.checks import turn_relay
from circlecare.meetings.live import turn
from circlecare.meetings.models import Meeting
from tests.factories import CohortFactory

SECRET = "a-shared-secret"
URLS = ["turn:turn.example.org:3478?transport=udp", "turns:turn.example.org:5349?transport=tcp"]
NOW = datetime(2026, 3, 2, 18, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _turn(settings: Any) -> None:
    settings.TURN_SECRET = SECRET
    settings.TURN_URLS = URLS
    settings.TURN_CREDENTIAL_MAX_SECONDS = 4 * 3600
    settings.ICE_SERVERS = [{"urls": "stun:turn.example.org:3478"}]


def expiry_of(entry: dict[str, Any]) -> datetime:
    return datetime.fromtimestamp(int(entry["username"].split(":")[0]), tz=UTC)


def test_the_credential_is_what_coturn_works_out_from_the_secret_and_username() -> None:
    entry = turn.relay(peer="a1b2c3d4e5f6", over_at=NOW + timedelta(minutes=60), now=NOW)
    assert entry is not None
    expected = base64.b64encode(
        hmac.new(SECRET.encode(), entry["username"].encode(), hashlib.sha1).digest()
    ).decode()
    assert entry["credential"] == expected
    assert entry["urls"] == URLS
    assert entry["username"] == f"{int((NOW + timedelta(minutes=65)).timestamp())}:a1b2c3d4e5f6"


def test_it_lasts_until_a_little_after_the_meeting_is_over() -> None:
    entry = turn.relay(peer="a1b2c3d4e5f6", over_at=NOW + timedelta(minutes=90), now=NOW)
    assert entry is not None
    assert expiry_of(entry) == NOW + timedelta(minutes=90) + turn.MARGIN


def test_however_long_the_meeting_it_lasts_no_longer_than_the_limit(settings: Any) -> None:
    entry = turn.relay(peer="a1b2c3d4e5f6", over_at=NOW + timedelta(hours=9), now=NOW)
    assert entry is not None
    assert expiry_of(entry) == NOW + timedelta(hours=4)
    settings.TURN_CREDENTIAL_MAX_SECONDS = 3600
    entry = turn.relay(peer="a1b2c3d4e5f6", over_at=NOW + timedelta(hours=2), now=NOW)
    assert entry is not None
    assert expiry_of(entry) == NOW + timedelta(hours=1)


def test_it_is_never_already_expired() -> None:
    entry = turn.relay(peer="a1b2c3d4e5f6", over_at=NOW - timedelta(minutes=30), now=NOW)
    assert entry is not None
    assert expiry_of(entry) > NOW


def test_no_secret_no_credential(settings: Any) -> None:
    settings.TURN_SECRET = ""
    assert turn.relay(peer="a1b2c3d4e5f6", over_at=NOW + timedelta(hours=1), now=NOW) is None


def make_meeting(*, starts: datetime, minutes: int = 90) -> Meeting:
    meeting: Meeting = Meeting.objects.create(
        cohort=CohortFactory(), number=1, starts_at=starts,
        ends_at=starts + timedelta(minutes=minutes), local_date=starts.date(),
        local_time=starts.time(),
    )  # fmt: skip
    return meeting


@pytest.mark.django_db
def test_each_person_gets_their_own_named_only_by_their_peer_id() -> None:
    now = timezone.now()
    meeting = make_meeting(starts=now - timedelta(minutes=5))
    member = meeting.cohort.lead
    first = turn.ice_servers(meeting_id=meeting.pk, peer="aaaaaaaaaaaa", now=now)
    second = turn.ice_servers(meeting_id=meeting.pk, peer="bbbbbbbbbbbb", now=now)
    assert first[0] == second[0] == {"urls": "stun:turn.example.org:3478"}
    mine, theirs = first[1], second[1]
    assert mine["username"] != theirs["username"]
    assert mine["credential"] != theirs["credential"]
    named = mine["username"].split(":", 1)[1]
    assert named == "aaaaaaaaaaaa"
    for word in (str(member.pk), member.email, member.display_name):
        assert word not in named


@pytest.mark.django_db
def test_a_meeting_ended_early_gives_credentials_that_end_earlier() -> None:
    now = timezone.now()
    meeting = make_meeting(starts=now - timedelta(minutes=30))
    planned = expiry_of(turn.ice_servers(meeting_id=meeting.pk, peer="aaaaaaaaaaaa", now=now)[1])
    assert planned == (meeting.ends_at + turn.MARGIN).replace(microsecond=0)
    meeting.ended_at = now
    meeting.save(update_fields=["ended_at"])
    early = expiry_of(turn.ice_servers(meeting_id=meeting.pk, peer="aaaaaaaaaaaa", now=now)[1])
    assert early == (now + turn.MARGIN).replace(microsecond=0)
    assert early < planned


@pytest.mark.django_db
def test_without_a_secret_the_configured_servers_are_all(settings: Any) -> None:
    settings.TURN_SECRET = ""
    now = timezone.now()
    meeting = make_meeting(starts=now)
    assert turn.ice_servers(meeting_id=meeting.pk, peer="aaaaaaaaaaaa", now=now) == [
        {"urls": "stun:turn.example.org:3478"}
    ]


@pytest.mark.parametrize(
    ("secret", "urls", "most", "problems"),
    [
        ("", [], 60, []),
        (SECRET, URLS, 4 * 3600, []),
        (SECRET, [], 4 * 3600, ["TURN_URLS must be a JSON list"]),
        (SECRET, ["stun:turn.example.org"], 4 * 3600, ["TURN_URLS must be a JSON list"]),
        (SECRET, "turn:turn.example.org", 4 * 3600, ["TURN_URLS must be a JSON list"]),
        (SECRET, URLS, 60, ["TURN_CREDENTIAL_MAX_SECONDS (60) must be at least 600"]),
    ],
)
def test_a_secret_needs_addresses_and_a_usable_lifetime(
    settings: Any, secret: str, urls: Any, most: int, problems: list[str]
) -> None:
    settings.TURN_SECRET, settings.TURN_URLS, settings.TURN_CREDENTIAL_MAX_SECONDS = (
        secret,
        urls,
        most,
    )
    found = turn_relay()
    assert [m.id for m in found] == ["circlecare.E002"] * len(problems)
    for message, problem in zip(found, problems, strict=True):
        assert problem in message.msg

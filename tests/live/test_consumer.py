"""The room's websocket: who gets in, the waiting room, signalling, chat, controls and bad input."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.layers import channel_layers
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
from django.core.cache import cache
from django.db.models import F
from django.utils import timezone

from circlecare.asgi import application
from circlecare.enrollment import services as enrollment_services
from circlecare.enrollment.models import Enrollment
from circlecare.meetings.live.consumers import RoomConsumer
from circlecare.meetings.live.models import RoomPresence, RoomRemoval
from circlecare.meetings.models import Attendance, Meeting
from circlecare.programs.models import Cohort
from tests.factories import CohortFactory, EnrollmentFactory, UserFactory

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]

ORIGIN = (b"origin", b"http://testserver")
#: How long to wait for something that should arrive. Generous, because it costs nothing when it
#: does: only a failing test waits it out. (Waits for nothing to arrive stay short.)
WAIT = 10.0


@pytest.fixture(autouse=True)
def _quick_recheck(settings: Any) -> None:
    settings.ROOM_RECHECK_SECONDS = 0.2
    cache.clear()
    # Each test runs in its own event loop; a Redis channel layer holds loop-bound connections.
    channel_layers.backends = {}


def session_cookie(user: Any) -> bytes:
    store = SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.create()
    return f"{settings.SESSION_COOKIE_NAME}={store.session_key}".encode()


@sync_to_async
def make_room(*, starts_in: timedelta = timedelta(minutes=2), members: int = 2) -> dict[str, Any]:
    cohort = CohortFactory()
    now = timezone.now()
    start = now + starts_in
    meeting = Meeting.objects.create(
        cohort=cohort, number=1, starts_at=start, ends_at=start + timedelta(minutes=90),
        local_date=start.date(), local_time=start.time(),
    )  # fmt: skip
    people = []
    for _ in range(members):
        member = EnrollmentFactory(cohort=cohort).member
        Attendance.objects.create(
            meeting=meeting, member=member, status="attended", recorded_by=member, at=now
        )
        people.append(member)
    return {"meeting": meeting, "cohort": cohort, "lead": cohort.lead, "members": people}


async def connect(
    user: Any, meeting: Meeting, *, origin: bytes | None = b"http://testserver"
) -> WebsocketCommunicator:
    headers = [(b"cookie", await sync_to_async(session_cookie)(user))] if user else []
    if origin:
        headers.append((b"origin", origin))
    return WebsocketCommunicator(application, f"/ws/meetings/{meeting.pk}/", headers=headers)


async def receive_until(
    comm: WebsocketCommunicator, kind: str, timeout: float = WAIT
) -> dict[str, Any]:
    while True:
        message = await comm.receive_json_from(timeout=timeout)
        if message["type"] == kind:
            return message


async def enter(user: Any, meeting: Meeting) -> tuple[WebsocketCommunicator, dict[str, Any]]:
    comm = await connect(user, meeting)
    connected, _ = await comm.connect(timeout=WAIT)
    assert connected
    welcome = await comm.receive_json_from(timeout=WAIT)
    assert welcome["type"] == "welcome"
    return comm, welcome


async def let_in(
    lead: Any, member: Any, meeting: Meeting
) -> tuple[WebsocketCommunicator, WebsocketCommunicator, dict[str, Any]]:
    """The facilitator enters, then the member, whom the facilitator lets in."""
    fac, _ = await enter(lead, meeting)
    comm, welcome = await enter(member, meeting)
    await fac.send_json_to({"type": "admit", "peer": welcome["peer"]})
    await receive_until(comm, "admitted")
    return fac, comm, welcome


async def test_facilitator_is_admitted_and_members_wait_until_let_in() -> None:
    room = await make_room()
    lead, alex = room["lead"], room["members"][0]
    fac, fac_welcome = await enter(lead, room["meeting"])
    assert fac_welcome["facilitator"] is True
    await receive_until(fac, "admitted")

    member, welcome = await enter(alex, room["meeting"])
    assert welcome["facilitator"] is False and "email" not in json.dumps(welcome)
    await receive_until(member, "waiting")
    waiting = await receive_until(fac, "waiting_peer")
    assert waiting == {"type": "waiting_peer", "peer": welcome["peer"], "name": alex.display_name}

    # While waiting, a member can't talk to the room.
    await member.send_json_to({"type": "chat", "text": "hello?"})
    assert (await receive_until(member, "error"))["code"] == "waiting"

    await fac.send_json_to({"type": "admit", "peer": welcome["peer"]})
    await receive_until(member, "admitted")
    joined = await receive_until(fac, "joined")
    assert joined["name"] == alex.display_name
    assert (
        await sync_to_async(RoomPresence.objects.filter(user=alex, left_at__isnull=True).count)()
        == 1
    )

    await member.disconnect()
    left = await receive_until(fac, "left")
    assert left["peer"] == welcome["peer"]
    assert (
        await sync_to_async(RoomPresence.objects.filter(user=alex, left_at__isnull=False).count)()
        == 1
    )
    await fac.disconnect()


STUN = {"urls": "stun:turn.example.org:3478"}
TURN_URLS = ["turn:turn.example.org:3478?transport=udp"]


def turn_password(secret: str, username: str) -> str:
    return base64.b64encode(
        hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    ).decode()


async def test_turn_credentials_come_only_with_being_let_in(settings: Any) -> None:
    settings.ICE_SERVERS = [STUN]
    settings.TURN_SECRET = "the-shared-secret"
    settings.TURN_URLS = TURN_URLS
    room = await make_room()
    lead, alex = room["lead"], room["members"][0]
    fac, fac_welcome = await enter(lead, room["meeting"])
    fac_admitted = await receive_until(fac, "admitted")
    assert fac_admitted["ice_servers"][0] == STUN
    assert fac_admitted["ice_servers"][1]["username"].endswith(":" + fac_welcome["peer"])

    member, welcome = await enter(alex, room["meeting"])
    heard_while_waiting = [welcome, await receive_until(member, "waiting")]
    await receive_until(fac, "waiting_peer")
    assert await member.receive_nothing(timeout=0.5)
    for message in heard_while_waiting:
        assert "ice_servers" not in message
        assert "the-shared-secret" not in json.dumps(message)
        assert "turn:" not in json.dumps(message)

    await fac.send_json_to({"type": "admit", "peer": welcome["peer"]})
    admitted = await receive_until(member, "admitted")
    stun, relay = admitted["ice_servers"]
    assert stun == STUN
    assert relay["urls"] == TURN_URLS
    expiry, named = relay["username"].split(":")
    assert named == welcome["peer"]  # the room's peer id, nothing about who they are
    assert relay["credential"] == turn_password("the-shared-secret", relay["username"])
    # Until a little after the meeting's end.
    assert room["meeting"].ends_at < datetime.fromtimestamp(int(expiry), tz=UTC)
    assert relay["username"] != fac_admitted["ice_servers"][1]["username"]
    for comm in (fac, member):
        await comm.disconnect()


async def test_without_a_turn_secret_the_configured_servers_come_with_being_let_in(
    settings: Any,
) -> None:
    settings.ICE_SERVERS = [STUN]
    settings.TURN_SECRET = ""
    settings.TURN_URLS = TURN_URLS
    room = await make_room()
    fac, _ = await enter(room["lead"], room["meeting"])
    await receive_until(fac, "admitted")
    member, welcome = await enter(room["members"][0], room["meeting"])
    assert "ice_servers" not in welcome
    await receive_until(member, "waiting")
    await fac.send_json_to({"type": "admit", "peer": welcome["peer"]})
    assert (await receive_until(member, "admitted"))["ice_servers"] == [STUN]
    for comm in (fac, member):
        await comm.disconnect()


async def test_signalling_chat_and_admit_all_reach_the_right_people() -> None:
    room = await make_room(members=2)
    fac, _ = await enter(room["lead"], room["meeting"])
    a, aw = await enter(room["members"][0], room["meeting"])
    b, bw = await enter(room["members"][1], room["meeting"])
    await fac.send_json_to({"type": "admit_all"})
    await receive_until(a, "admitted")
    await receive_until(b, "admitted")

    offer = {"sdp": {"type": "offer", "sdp": "v=0..."}}
    await a.send_json_to({"type": "signal", "to": bw["peer"], "data": offer})
    got = await receive_until(b, "signal")
    assert got == {
        "type": "signal",
        "from": aw["peer"],
        "name": room["members"][0].display_name,
        "data": offer,
    }

    await b.send_json_to({"type": "chat", "text": "<img src=x onerror=alert(1)> hi\x00"})
    for comm in (fac, a, b):
        chat = await receive_until(comm, "chat")
        assert (
            chat["text"] == "<img src=x onerror=alert(1)> hi"
        )  # shown with textContent by the page
        # The time of sending, in ISO 8601 UTC: each page shows it on its viewer's clock.
        sent = datetime.fromisoformat(chat["at"])
        assert sent.utcoffset() == timedelta(0)
        assert abs(timezone.now() - sent) < timedelta(seconds=30)
    for comm in (fac, a, b):
        await comm.disconnect()


@pytest.mark.parametrize(
    "who", ["anonymous", "stranger", "other_cohort_member", "no_ticket", "withdrawn"]
)
async def test_people_who_may_not_be_in_the_room_are_refused(who: str) -> None:
    room = await make_room()
    meeting = room["meeting"]

    @sync_to_async
    def person() -> Any:
        if who == "anonymous":
            return None
        if who == "stranger":
            return UserFactory()
        if who == "other_cohort_member":
            return EnrollmentFactory().member
        if who == "no_ticket":
            return EnrollmentFactory(cohort=room["cohort"]).member  # confirmed, never joined
        member = room["members"][0]
        Enrollment.objects.filter(member=member).update(status="withdrawn")
        return member

    comm = await connect(await person(), meeting)
    connected, code = await comm.connect(timeout=WAIT)
    assert not connected and code == 4403


async def test_a_foreign_origin_is_refused() -> None:
    room = await make_room()
    for origin in (b"https://evil.example", None):
        comm = await connect(room["lead"], room["meeting"], origin=origin)
        connected, _ = await comm.connect(timeout=WAIT)
        assert not connected


@pytest.mark.parametrize(("starts_in", "ok"), [
    (timedelta(minutes=10, seconds=-2), True),
    (timedelta(minutes=10, seconds=5), False),
    (timedelta(minutes=-89, seconds=-55), True),
    (timedelta(minutes=-90, seconds=-1), False),
])  # fmt: skip
async def test_only_inside_the_join_window(starts_in: timedelta, ok: bool) -> None:
    room = await make_room(starts_in=starts_in)
    comm = await connect(room["lead"], room["meeting"])
    connected, _ = await comm.connect(timeout=WAIT)
    assert connected is ok
    if connected:
        await comm.disconnect()


async def test_a_member_removed_from_the_cohort_is_cut_off_within_seconds() -> None:
    room = await make_room()
    alex = room["members"][0]
    fac, member, _mw = await let_in(room["lead"], alex, room["meeting"])
    await sync_to_async(Enrollment.objects.filter(member=alex).update)(status="removed")
    assert (await receive_until(member, "removed"))["type"] == "removed"
    assert (await member.receive_output(timeout=WAIT))["type"] == "websocket.close"
    # And cannot come back.
    again = await connect(alex, room["meeting"])
    assert (await again.connect(timeout=WAIT))[0] is False
    await fac.disconnect()


async def test_a_re_check_that_fails_once_does_not_stop_the_re_checking(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from django.db import OperationalError

    from circlecare.meetings.live import access

    real = access.still_allowed
    failed: list[bool] = []

    def once_unreachable(entry: Any, user: Any, *args: Any) -> bool:
        if not failed and user.pk == alex.pk:
            failed.append(True)
            raise OperationalError("the database restarted")
        return real(entry, user, *args)

    room = await make_room()
    alex = room["members"][0]
    monkeypatch.setattr(access, "still_allowed", once_unreachable)
    fac, member, _mw = await let_in(room["lead"], alex, room["meeting"])
    await sync_to_async(Enrollment.objects.filter(member=alex).update)(status="removed")
    assert (await receive_until(member, "removed"))["reason"] == "place_ended"
    assert failed
    await fac.disconnect()


async def test_facilitator_removes_someone_with_a_reason_and_they_cannot_rejoin() -> None:
    room = await make_room()
    alex = room["members"][0]
    fac, member, mw = await let_in(room["lead"], alex, room["meeting"])

    await fac.send_json_to({"type": "remove", "peer": mw["peer"], "reason": ""})
    assert (await receive_until(fac, "error"))["code"] == "reason_required"
    await fac.send_json_to({"type": "remove", "peer": mw["peer"], "reason": "x" * 501})
    too_long = await receive_until(fac, "error")
    assert too_long["code"] == "too_long" and "500 characters" in too_long["message"]
    assert not await sync_to_async(RoomRemoval.objects.filter(user=alex).exists)()
    await fac.send_json_to(
        {"type": "remove", "peer": mw["peer"], "reason": "Repeatedly talking over others"}
    )
    await receive_until(member, "removed")
    removal = await sync_to_async(RoomRemoval.objects.select_related("removed_by").get)(user=alex)
    assert removal.removed_by == room["lead"] and removal.reason == "Repeatedly talking over others"
    again = await connect(alex, room["meeting"])
    assert (await again.connect(timeout=WAIT))[0] is False
    await fac.disconnect()


async def test_members_cannot_use_facilitator_controls() -> None:
    room = await make_room()
    fac, _ = await enter(room["lead"], room["meeting"])
    a, aw = await enter(room["members"][0], room["meeting"])
    b, bw = await enter(room["members"][1], room["meeting"])
    await receive_until(b, "waiting")
    await fac.send_json_to({"type": "admit", "peer": aw["peer"]})
    await receive_until(a, "admitted")
    for message in (
        {"type": "admit", "peer": bw["peer"]},
        {"type": "remove", "peer": bw["peer"], "reason": "x"},
        {"type": "end"},
        {"type": "ask_mute", "peer": bw["peer"]},
    ):
        await a.send_json_to(message)
        assert (await receive_until(a, "error"))["code"] == "forbidden"
    # b is still waiting: nobody let it in, removed it or ended the meeting.
    assert await b.receive_nothing(timeout=0.5)
    for comm in (fac, a, b):
        await comm.disconnect()


async def test_ending_the_meeting_closes_everyone() -> None:
    room = await make_room()
    fac, a, _aw = await let_in(room["lead"], room["members"][0], room["meeting"])
    await fac.send_json_to({"type": "end"})
    await receive_until(a, "ended")
    await receive_until(fac, "ended")
    # For good: nobody comes back in, however soon they try, facilitators included.
    meeting = await sync_to_async(Meeting.objects.get)(pk=room["meeting"].pk)
    assert meeting.ended_at is not None
    for person in (room["members"][0], room["lead"]):
        again = await connect(person, room["meeting"])
        assert (await again.connect(timeout=WAIT))[0] is False


async def test_a_facilitator_no_longer_leading_the_group_cannot_end_the_meeting(
    settings: Any,
) -> None:
    """Between re-checks the socket still holds the facilitator's place it opened with; ending
    the meeting asks the group as it is now."""
    settings.ROOM_RECHECK_SECONDS = 60
    room = await make_room()
    fac, a, _aw = await let_in(room["lead"], room["members"][0], room["meeting"])
    await receive_until(fac, "joined")
    room["cohort"].lead = await sync_to_async(UserFactory)()
    await room["cohort"].asave(update_fields=["lead"])

    await fac.send_json_to({"type": "end"})
    assert await a.receive_nothing(timeout=0.5)
    meeting = await Meeting.objects.aget(pk=room["meeting"].pk)
    assert meeting.ended_at is None
    await asyncio.gather(a.disconnect(), fac.disconnect())


@pytest.mark.parametrize("change", ["cancelled", "moved"])
async def test_a_meeting_cancelled_or_moved_in_its_early_window_says_so_not_that_it_ended(
    change: str,
) -> None:
    room = await make_room(starts_in=timedelta(minutes=5))
    fac, a, _aw = await let_in(room["lead"], room["members"][0], room["meeting"])
    meetings = Meeting.objects.filter(pk=room["meeting"].pk)
    if change == "cancelled":
        await meetings.aupdate(status="cancelled")
    else:
        later = timedelta(days=1)
        await meetings.aupdate(starts_at=F("starts_at") + later, ends_at=F("ends_at") + later)
    for comm in (fac, a):
        assert await receive_until(comm, "removed") == {"type": "removed", "reason": change}
        while (output := await comm.receive_output(timeout=WAIT))["type"] != "websocket.close":
            pass
        assert output["code"] == 4000


async def test_someone_who_leaves_the_group_is_told_so_not_that_they_were_removed() -> None:
    room = await make_room()
    alex = room["members"][0]
    fac, member, _mw = await let_in(room["lead"], alex, room["meeting"])
    await sync_to_async(Enrollment.objects.filter(member=alex).update)(status="withdrawn")
    assert (await receive_until(member, "removed"))["reason"] == "left"
    await fac.disconnect()


async def test_someone_whose_place_the_practice_ended_is_not_thanked_for_leaving() -> None:
    """A member removed from the group by its staff during a meeting did not leave: the room
    says their place has ended, as the e-mail they receive does, not "You've left"."""
    room = await make_room()
    alex = room["members"][0]
    fac, member, _mw = await let_in(room["lead"], alex, room["meeting"])
    enrollment = await Enrollment.objects.aget(member=alex, cohort=room["meeting"].cohort_id)
    await sync_to_async(enrollment_services.remove)(
        enrollment=enrollment, actor=room["lead"], reason="Asked to pause"
    )
    assert (await receive_until(member, "removed"))["reason"] == "place_ended"
    await fac.disconnect()


async def test_a_therapy_member_who_says_they_are_somewhere_unserved_is_let_out() -> None:
    """Joined from New York; then, from another tab, says they are in California, where the
    clinician is not licensed: the room closes for them, and does not let them back in."""
    from circlecare.meetings import services
    from circlecare.meetings.errors import LocationNotServed
    from circlecare.programs.models import ProgramKind
    from tests.factories import LicenseFactory, ProgramFactory

    @sync_to_async
    def therapy_room() -> dict[str, Any]:
        lead = LicenseFactory(state="NY").clinician.user
        cohort = CohortFactory(program=ProgramFactory(kind=ProgramKind.THERAPY), lead=lead)
        start = timezone.now() + timedelta(minutes=2)
        meeting = Meeting.objects.create(
            cohort=cohort, number=1, starts_at=start, ends_at=start + timedelta(minutes=90),
            local_date=start.date(), local_time=start.time(),
        )  # fmt: skip
        member = EnrollmentFactory(cohort=cohort).member
        services.join_meeting(meeting=meeting, member=member, state="NY")
        return {"meeting": meeting, "lead": lead, "member": member}

    room = await therapy_room()
    fac, member, _mw = await let_in(room["lead"], room["member"], room["meeting"])

    @sync_to_async
    def says_california() -> None:
        with pytest.raises(LocationNotServed):
            services.join_meeting(meeting=room["meeting"], member=room["member"], state="CA")

    await says_california()
    assert (await receive_until(member, "removed"))["reason"] == "location"
    again = await connect(room["member"], room["meeting"])
    assert (await again.connect(timeout=WAIT))[0] is False
    await fac.disconnect()


@pytest.mark.parametrize("frame", [
    "not json", "[]", '{"no": "type"}', '{"type": 5}', '{"type": "nope"}',
    '{"type": "signal", "to": "../../x", "data": {}}', '{"type": "signal", "to": "abcdefabcdef", "data": "x"}',
    '{"type": "chat", "text": 12}', "x" * (64 * 1024 + 1),
    # Nested past what the parser, or the Redis layer's serializer, can take.
    "[" * 5000 + "]" * 5000,
    # JSON that Python reads but a browser, or the Redis layer, can't.
    '{"type": "signal", "to": "abcdefabcdef", "data": {"x": NaN}}',
    '{"type": "signal", "to": "abcdefabcdef", "data": {"x": 1e999}}',
    '{"type": "signal", "to": "abcdefabcdef", "data": {"x": 100000000000000000000}}',
    '{"type": "signal", "to": "abcdefabcdef", "data": ' + '{"a": ' * 600 + "1" + "}" * 601,
])  # fmt: skip
async def test_malformed_and_oversized_messages_get_an_error_not_a_crash(frame: str) -> None:
    room = await make_room()
    fac, _ = await enter(room["lead"], room["meeting"])
    await receive_until(fac, "admitted")
    await fac.send_to(text_data=frame)
    if frame.startswith('{"type": "chat"'):
        assert await fac.receive_nothing(timeout=0.3)
    else:
        assert (await receive_until(fac, "error"))["type"] == "error"
    # Still working afterwards.
    await fac.send_json_to({"type": "chat", "text": "still here"})
    assert (await receive_until(fac, "chat"))["text"] == "still here"
    await fac.disconnect()


async def test_a_page_can_ping_itself_through_the_room() -> None:
    """The page's check of a peer gone quiet pings itself too: its echo shows its own socket
    still works, so silence from the peer means the peer is gone."""
    room = await make_room()
    fac, welcome = await enter(room["lead"], room["meeting"])
    await receive_until(fac, "admitted")
    await fac.send_json_to({"type": "signal", "to": welcome["peer"], "data": {"ping": True}})
    echo = await receive_until(fac, "signal")
    assert echo["from"] == welcome["peer"] and echo["data"] == {"ping": True}
    await fac.disconnect()


async def test_a_chat_message_over_the_limit_is_refused_whole_not_cut_short() -> None:
    room = await make_room()
    fac, member, _mw = await let_in(room["lead"], room["members"][0], room["meeting"])
    await receive_until(fac, "joined")

    await member.send_json_to({"type": "chat", "text": "a" * 1001})
    assert await receive_until(member, "error") == {
        "type": "error",
        "code": "too_long",
        "message": "That message is too long. Please keep it to 1,000 characters or fewer.",
    }
    # Nothing went to the room: the next message anyone sees is the one sent after it.
    longest = "b" * 1000
    await member.send_json_to({"type": "chat", "text": f"  {longest}  "})
    for comm in (fac, member):
        assert (await receive_until(comm, "chat"))["text"] == longest
    await asyncio.gather(member.disconnect(), fac.disconnect())


async def test_chat_rate_limit_and_flood() -> None:
    room = await make_room()
    fac, _ = await enter(room["lead"], room["meeting"])
    await receive_until(fac, "admitted")
    for i in range(31):
        await fac.send_json_to({"type": "chat", "text": f"m{i}"})
    kinds = [(await fac.receive_json_from(timeout=WAIT))["type"] for _ in range(31)]
    # The refusal goes straight back; the echoes travel through the channel layer, so order varies.
    assert kinds.count("chat") == 30 and kinds.count("error") == 1
    # A flood of any messages closes the socket.
    for _ in range(100):
        await fac.send_json_to({"type": "hand", "up": True})
    while True:
        output = await fac.receive_output(timeout=WAIT)
        if output["type"] == "websocket.close":
            assert output["code"] == 4429
            break


async def test_reconnecting_member_is_let_back_in_without_waiting() -> None:
    room = await make_room()
    alex = room["members"][0]
    fac, first, _fw = await let_in(room["lead"], alex, room["meeting"])
    await first.disconnect()
    second, _ = await enter(alex, room["meeting"])
    await receive_until(second, "admitted")
    await asyncio.gather(second.disconnect(), fac.disconnect())


async def crash(comm: WebsocketCommunicator, monkeypatch: pytest.MonkeyPatch) -> None:
    """The socket goes as it would with its server process: without recording that it left."""

    async def crashed(self: Any) -> None:
        return None

    monkeypatch.setattr(RoomConsumer, "_leave", crashed)
    await comm.disconnect()
    monkeypatch.undo()


async def test_a_stay_cut_off_by_a_crashed_server_ends_when_the_person_comes_back(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    room = await make_room()
    alex = room["members"][0]
    fac, first, _fw = await let_in(room["lead"], alex, room["meeting"])

    # Alex's server process dies: her socket goes without recording that she left.
    await crash(first, monkeypatch)
    inside = RoomPresence.objects.filter(user=alex, left_at__isnull=True)
    assert await sync_to_async(inside.count)() == 1

    second, _ = await enter(alex, room["meeting"])
    await receive_until(second, "admitted")
    assert await sync_to_async(inside.count)() == 1
    stays = RoomPresence.objects.filter(user=alex).order_by("joined_at")
    first_stay, second_stay = await sync_to_async(list)(stays)
    assert first_stay.left_at is not None and first_stay.left_at <= second_stay.joined_at
    assert second_stay.left_at is None
    await asyncio.gather(second.disconnect(), fac.disconnect())


async def closed_for_another_tab(comm: WebsocketCommunicator) -> None:
    """The old tab is told why, its socket closes, and the server then lets the consumer go."""
    assert await receive_until(comm, "replaced") == {"type": "replaced"}
    assert await comm.receive_output(timeout=WAIT) == {"type": "websocket.close", "code": 4409}
    await comm.disconnect()


async def room_changes(fac: WebsocketCommunicator, count: int) -> list[dict[str, Any]]:
    """The next ``count`` messages about who is in the room or waiting, as the facilitator sees them."""
    seen: list[dict[str, Any]] = []
    while len(seen) < count:
        message = await fac.receive_json_from(timeout=WAIT)
        if message["type"] in {"joined", "left", "waiting_peer", "waiting_gone"}:
            seen.append(message)
    return seen


async def test_a_second_tab_takes_over_so_the_room_sees_the_person_once(settings: Any) -> None:
    settings.ROOM_MAX_PEERS = 2  # the facilitator and Alex: the room is full
    room = await make_room(members=2)
    alex, bo = room["members"]
    fac, first, fw = await let_in(room["lead"], alex, room["meeting"])
    await receive_until(fac, "joined")

    second, sw = await enter(alex, room["meeting"])
    await closed_for_another_tab(first)
    # Straight in, without waiting again, and into the full room: it is the same person's place.
    await receive_until(second, "admitted")
    changes = await room_changes(fac, 3)
    assert {(m["type"], m["peer"]) for m in changes} == {
        ("waiting_gone", sw["peer"]),  # the new tab went by the waiting room without stopping
        ("joined", sw["peer"]),
        ("left", fw["peer"]),
    }
    assert await fac.receive_nothing(timeout=0.3)
    inside = RoomPresence.objects.filter(user=alex, left_at__isnull=True)
    assert await sync_to_async(inside.count)() == 1

    # Alex still takes one place, not two: the room has none left for Bo.
    other, ow = await enter(bo, room["meeting"])
    await fac.send_json_to({"type": "admit", "peer": ow["peer"]})
    assert (await receive_until(other, "error"))["code"] == "room_full"
    await asyncio.gather(second.disconnect(), fac.disconnect())


async def test_the_room_hears_a_replaced_tab_leave_without_waiting_for_it_to_close() -> None:
    room = await make_room()
    alex = room["members"][0]
    fac, first, fw = await let_in(room["lead"], alex, room["meeting"])
    await receive_until(fac, "joined")

    second, _sw = await enter(alex, room["meeting"])
    assert await receive_until(first, "replaced") == {"type": "replaced"}
    assert await first.receive_output(timeout=WAIT) == {"type": "websocket.close", "code": 4409}
    # The old tab has not finished closing (no disconnect yet), and the room already knows.
    assert (await receive_until(fac, "left"))["peer"] == fw["peer"]
    # Whatever the old tab still sends before it closes reaches nobody.
    await first.send_json_to({"type": "chat", "text": "From the old tab"})
    await receive_until(second, "admitted")
    await second.send_json_to({"type": "chat", "text": "From the new tab"})
    assert (await receive_until(fac, "chat"))["text"] == "From the new tab"
    await asyncio.gather(first.disconnect(), second.disconnect(), fac.disconnect())


async def test_a_second_tab_in_the_waiting_room_takes_the_first_ones_place() -> None:
    room = await make_room()
    alex = room["members"][0]
    fac, _ = await enter(room["lead"], room["meeting"])
    await receive_until(fac, "admitted")
    first, fw = await enter(alex, room["meeting"])
    assert (await receive_until(fac, "waiting_peer"))["peer"] == fw["peer"]

    second, sw = await enter(alex, room["meeting"])
    await receive_until(second, "waiting")
    await closed_for_another_tab(first)
    changes = await room_changes(fac, 2)
    assert {(m["type"], m["peer"]) for m in changes} == {
        ("waiting_gone", fw["peer"]),
        ("waiting_peer", sw["peer"]),
    }
    await fac.send_json_to({"type": "admit_all"})
    await receive_until(second, "admitted")
    assert (await receive_until(fac, "joined"))["peer"] == sw["peer"]
    await asyncio.gather(second.disconnect(), fac.disconnect())


async def test_two_tabs_opening_at_the_same_moment_leave_exactly_one() -> None:
    room = await make_room()
    alex = room["members"][0]
    fac, first, _fw = await let_in(room["lead"], alex, room["meeting"])
    await first.disconnect()
    await receive_until(fac, "left")

    (a, aw), (b, bw) = await asyncio.gather(
        enter(alex, room["meeting"]), enter(alex, room["meeting"])
    )
    told = {asyncio.ensure_future(receive_until(c, "replaced")): c for c in (a, b)}
    done, pending = await asyncio.wait(told, return_when=asyncio.FIRST_COMPLETED)
    for task in pending:
        task.cancel()
    [closed] = [told[task] for task in done]
    assert await closed.receive_output(timeout=WAIT) == {"type": "websocket.close", "code": 4409}
    await closed.disconnect()
    kept, kept_peer = (b, bw["peer"]) if closed is a else (a, aw["peer"])

    # The one left is in the room and works; the facilitator ends up seeing Alex once.
    await kept.send_json_to({"type": "chat", "text": "Still here"})
    assert (await receive_until(kept, "chat"))["text"] == "Still here"
    people: set[str] = set()
    for message in await room_changes(fac, 5):  # each tab passes the waiting room and joins
        if message["type"] == "joined":
            people.add(message["peer"])
        elif message["type"] == "left":
            people.discard(message["peer"])
    assert people == {kept_peer}
    await asyncio.gather(kept.disconnect(), fac.disconnect())


@pytest.mark.mfa_enforced
async def test_a_facilitator_needs_the_second_factor_in_the_room_too() -> None:
    room = await make_room()
    comm = await connect(room["lead"], room["meeting"])  # a session that never used TOTP
    connected, code = await comm.connect(timeout=WAIT)
    assert not connected and code == 4403
    member, _ = await enter(room["members"][0], room["meeting"])  # members need no second factor
    await member.disconnect()


async def test_the_mesh_is_capped(settings: Any) -> None:
    settings.ROOM_MAX_PEERS = 2
    room = await make_room(members=2)
    fac, _ = await enter(room["lead"], room["meeting"])
    a, _aw = await enter(room["members"][0], room["meeting"])
    b, _bw = await enter(room["members"][1], room["meeting"])
    await fac.send_json_to({"type": "admit_all"})
    outcomes = {}
    for name, comm in (("a", a), ("b", b)):
        while True:
            message = await comm.receive_json_from(timeout=WAIT)
            if message["type"] in {"admitted", "error"}:
                outcomes[name] = message.get("code", "admitted")
                break
    assert sorted(outcomes.values()) == ["admitted", "room_full"]
    await fac.disconnect()


@pytest.mark.parametrize("how", ["logout", "deactivated"])
async def test_signing_out_or_deactivation_ends_the_socket(how: str) -> None:
    from django.contrib.sessions.models import Session

    room = await make_room()
    alex = room["members"][0]
    fac, member, _mw = await let_in(room["lead"], alex, room["meeting"])

    @sync_to_async
    def end() -> None:
        if how == "logout":
            for session in Session.objects.all():
                if session.get_decoded().get(SESSION_KEY) == str(alex.pk):
                    session.delete()
        else:
            type(alex).objects.filter(pk=alex.pk).update(is_active=False)

    await end()
    # Not told a facilitator removed them: nobody did.
    said = await receive_until(member, "removed")
    assert said["reason"] == ("signed_out" if how == "logout" else "removed")
    await fac.disconnect()


class Clock:
    """The consumers' clock, moved on by the test instead of by waiting."""

    def __init__(self) -> None:
        self.now = timezone.now()

    def __call__(self) -> datetime:
        return self.now

    def on(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    from circlecare.meetings.live import consumers

    fake = Clock()
    monkeypatch.setattr(consumers, "clock", fake)
    return fake


async def open_stay(user: Any) -> RoomPresence:
    return await RoomPresence.objects.aget(user=user, left_at__isnull=True)


async def outcome(comm: WebsocketCommunicator) -> str:
    """Whether a socket was let into the room, or why not."""
    while True:
        message = await comm.receive_json_from(timeout=WAIT)
        if message["type"] in {"admitted", "error"}:
            return str(message.get("code", "admitted"))


async def test_a_stay_whose_connection_died_unheard_stops_holding_a_place_in_a_full_room(
    settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.ROOM_MAX_PEERS = 2
    settings.ROOM_PRESENCE_STALE_SECONDS = 90
    room = await make_room(members=2)
    alex, bo = room["members"]
    fac, first, _fw = await let_in(room["lead"], alex, room["meeting"])

    # Alex's server process dies with her socket: her stay is never closed.
    await crash(first, monkeypatch)

    # While her stay could still be someone on a slow network, it holds her place.
    comm, welcome = await enter(bo, room["meeting"])
    await fac.send_json_to({"type": "admit", "peer": welcome["peer"]})
    assert await outcome(comm) == "room_full"
    await comm.disconnect()

    # Not heard from for longer than the limit: it is a dead connection, and Bo gets the place.
    ghost = await open_stay(alex)
    last_heard = timezone.now() - timedelta(seconds=91)
    await RoomPresence.objects.filter(pk=ghost.pk).aupdate(
        joined_at=last_heard - timedelta(minutes=5), last_seen_at=last_heard
    )
    comm, _ = await enter(bo, room["meeting"])  # let in before: straight back in
    assert await outcome(comm) == "admitted"
    await ghost.arefresh_from_db()
    assert ghost.left_at == last_heard  # the stay ends when she was last heard from
    assert await RoomPresence.objects.filter(left_at__isnull=True).acount() == 2
    await asyncio.gather(comm.disconnect(), fac.disconnect())


async def test_the_room_hears_from_each_browser_and_writes_it_down_at_most_every_so_often(
    settings: Any, clock: Clock
) -> None:
    settings.ROOM_MAX_PEERS = 2
    settings.ROOM_PRESENCE_SEEN_SECONDS = 15
    settings.ROOM_PRESENCE_STALE_SECONDS = 90
    room = await make_room(members=2)
    alex, bo = room["members"]
    fac, member, _mw = await let_in(room["lead"], alex, room["meeting"])
    admitted_at = clock.now
    assert (await open_stay(alex)).last_seen_at == admitted_at

    # Heard from again at once: not written again.
    clock.on(14)
    await member.send_json_to({"type": "alive"})
    await member.send_json_to({"type": "chat", "text": "Hello"})
    await receive_until(member, "chat")
    assert (await open_stay(alex)).last_seen_at == admitted_at

    # Any word from the browser, its regular "still here" included, once the interval is up.
    for beat in range(8):  # two minutes of beats: longer than the stale limit
        clock.on(15)
        for who, comm in (("Jordan", fac), ("Alex", member)):
            await comm.send_json_to({"type": "alive"})
            # Its own chat coming back means the server has dealt with what it sent before.
            text = f"{who}, beat {beat}"
            await comm.send_json_to({"type": "chat", "text": text})
            while (await receive_until(comm, "chat"))["text"] != text:
                pass
    assert (await open_stay(alex)).last_seen_at == clock.now
    assert (await open_stay(room["lead"])).last_seen_at == clock.now

    # Still there, so still counted: the room stays full.
    comm, welcome = await enter(bo, room["meeting"])
    await fac.send_json_to({"type": "admit", "peer": welcome["peer"]})
    assert await outcome(comm) == "room_full"
    assert await RoomPresence.objects.filter(left_at__isnull=False).acount() == 0
    await asyncio.gather(comm.disconnect(), member.disconnect(), fac.disconnect())


@pytest.mark.parametrize(("places", "back"), [(3, True), (2, False)])
async def test_someone_taken_for_a_dead_connection_who_speaks_again_comes_back_if_there_is_room(
    settings: Any, clock: Clock, places: int, back: bool
) -> None:
    settings.ROOM_MAX_PEERS = places
    settings.ROOM_PRESENCE_SEEN_SECONDS = 15
    settings.ROOM_PRESENCE_STALE_SECONDS = 90
    room = await make_room(members=2)
    alex, bo = room["members"]
    fac, member, mw = await let_in(room["lead"], alex, room["meeting"])
    # Alex's laptop sleeps for two minutes; the facilitator's browser keeps saying it is there.
    for _beat in range(8):
        clock.on(15)
        await fac.send_json_to({"type": "alive"})
    comm, welcome = await enter(bo, room["meeting"])
    await fac.send_json_to({"type": "admit", "peer": welcome["peer"]})
    assert await outcome(comm) == "admitted"
    assert await RoomPresence.objects.filter(user=alex, left_at__isnull=True).acount() == 0

    # Her laptop wakes, and her browser speaks.
    clock.on(1)
    await member.send_json_to({"type": "alive"})
    if back:
        await member.send_json_to({"type": "chat", "text": "Sorry, I'm back"})
        assert (await receive_until(fac, "chat"))["text"] == "Sorry, I'm back"
        assert (await open_stay(alex)).joined_at == clock.now
    else:
        assert (await receive_until(member, "error"))["code"] == "room_full"
        assert await member.receive_output(timeout=WAIT) == {
            "type": "websocket.close",
            "code": 4403,
        }
        assert (await receive_until(fac, "left"))["peer"] == mw["peer"]
        assert await RoomPresence.objects.filter(user=alex, left_at__isnull=True).acount() == 0
    await asyncio.gather(comm.disconnect(), member.disconnect(), fac.disconnect())


async def test_a_therapy_member_is_told_of_the_clinician_not_a_facilitator() -> None:
    """The room's words to a waiting member name whoever leads the group as members know them."""
    from circlecare.meetings import services
    from circlecare.programs.models import ProgramKind
    from tests.factories import LicenseFactory, ProgramFactory

    @sync_to_async
    def therapy_room() -> dict[str, Any]:
        lead = LicenseFactory(state="NY").clinician.user
        cohort = CohortFactory(program=ProgramFactory(kind=ProgramKind.THERAPY), lead=lead)
        start = timezone.now() + timedelta(minutes=2)
        meeting = Meeting.objects.create(
            cohort=cohort, number=1, starts_at=start, ends_at=start + timedelta(minutes=90),
            local_date=start.date(), local_time=start.time(),
        )  # fmt: skip
        member = EnrollmentFactory(cohort=cohort).member
        services.join_meeting(meeting=meeting, member=member, state="NY")
        return {"meeting": meeting, "member": member}

    room = await therapy_room()
    member, _welcome = await enter(room["member"], room["meeting"])
    await receive_until(member, "waiting")
    await member.send_json_to({"type": "chat", "text": "hello?"})
    error = await receive_until(member, "error")
    assert error["message"] == "Please wait until a clinician lets you in."
    await member.send_json_to({"type": "end"})
    assert (await receive_until(member, "error"))["message"] == "Only a clinician can do that."
    await member.disconnect()


# --- leaders changed while the meeting goes on ----------------------------------------------


async def room_with_a_co_lead() -> dict[str, Any]:
    """A meeting about to start: its lead, a co-lead, and two members who joined from the
    meeting page."""
    room = await make_room()
    co_lead = await sync_to_async(UserFactory)(is_facilitator=True, display_name="Casey Co-lead")
    room["cohort"].co_facilitator = co_lead
    await room["cohort"].asave(update_fields=["co_facilitator"])
    return {**room, "co_lead": co_lead}


async def closed_code(comm: WebsocketCommunicator) -> int:
    while (output := await comm.receive_output(timeout=WAIT))["type"] != "websocket.close":
        pass
    return int(output["code"])


@pytest.mark.parametrize("action", ["admit", "admit_all", "ask_mute", "remove", "end"])
async def test_a_co_lead_the_practice_took_off_the_group_cannot_act_from_a_socket_opened_before(
    action: str, settings: Any
) -> None:
    """Between re-checks the socket still holds the co-lead's place it opened with: each of a
    leader's actions asks the group as it is now, is refused, and changes nothing."""
    settings.ROOM_RECHECK_SECONDS = 60  # the refusal is not the re-check's doing
    room = await room_with_a_co_lead()
    alex, blair = room["members"]
    co, a, aw = await let_in(room["co_lead"], alex, room["meeting"])
    b, bw = await enter(blair, room["meeting"])
    await receive_until(b, "waiting")
    await Cohort.objects.filter(pk=room["cohort"].pk).aupdate(co_facilitator=None)

    await co.send_json_to(
        {
            "admit": {"type": "admit", "peer": bw["peer"]},
            "admit_all": {"type": "admit_all"},
            "ask_mute": {"type": "ask_mute", "peer": aw["peer"]},
            "remove": {"type": "remove", "peer": aw["peer"], "reason": "Talking over others"},
            "end": {"type": "end"},
        }[action]
    )
    refused = await receive_until(co, "error")
    assert refused == {
        "type": "error",
        "code": "forbidden",
        "message": "You no longer lead this group, so you can't do that.",
    }
    # Nothing happened: Blair still waits, Alex is still in and was asked nothing, the meeting
    # goes on.
    assert await b.receive_nothing(timeout=0.5)
    assert all(m["type"] not in {"mute_request", "removed", "ended"} for m in await drain(a))
    assert not await RoomRemoval.objects.filter(meeting=room["meeting"]).aexists()
    assert (await Meeting.objects.aget(pk=room["meeting"].pk)).ended_at is None
    # And the socket lets go of the controls there and then.
    assert (await receive_until(co, "role"))["facilitator"] is False
    assert (await receive_until(co, "removed"))["reason"] == "not_leading"
    assert await closed_code(co) == 4403
    await asyncio.gather(a.disconnect(), b.disconnect())


async def drain(comm: WebsocketCommunicator, quiet: float = 0.5) -> list[dict[str, Any]]:
    """Every message that arrives until the socket has been quiet for ``quiet`` seconds."""
    got = []
    while not await comm.receive_nothing(timeout=quiet):
        got.append(await comm.receive_json_from(timeout=WAIT))
    return got


@pytest.mark.parametrize("change", ["co_lead_taken_off", "handed_to_another_lead"])
async def test_changing_a_groups_leaders_takes_the_controls_from_an_open_socket_at_once(
    change: str, settings: Any
) -> None:
    """The coordinator changes the group's leaders in the admin while the meeting is going on:
    whoever no longer leads it hears so straight away, not at the next re-check, and, having no
    place in the group otherwise, the room closes for them. The one who still leads keeps theirs."""
    from django.test import Client
    from django.urls import reverse

    settings.ROOM_RECHECK_SECONDS = 60  # nothing here waits for the re-check
    room = await room_with_a_co_lead()
    lead, co_lead = room["lead"], room["co_lead"]
    fac, _ = await enter(lead, room["meeting"])
    co, _ = await enter(co_lead, room["meeting"])
    await receive_until(co, "admitted")
    await receive_until(fac, "joined")
    new_lead = await sync_to_async(UserFactory)(is_facilitator=True)
    leaving, staying = (co, fac) if change == "co_lead_taken_off" else (fac, co)

    @sync_to_async
    def change_leaders() -> int:
        client = Client()
        client.force_login(UserFactory(is_staff=True))
        cohort = room["cohort"]
        return client.post(
            reverse("admin:programs_cohort_change", args=[cohort.pk]),
            {"name": cohort.name, "min_size": "1", "enrollment_deadline": "",
             **({"lead": lead.pk, "co_facilitator": ""} if change == "co_lead_taken_off"
                else {"lead": new_lead.pk, "co_facilitator": co_lead.pk})},
        ).status_code  # fmt: skip

    assert await change_leaders() == 302
    role = await receive_until(leaving, "role", timeout=5)
    assert role["facilitator"] is False and "no longer have the controls" in role["message"]
    assert (await receive_until(leaving, "removed"))["reason"] == "not_leading"
    assert await closed_code(leaving) == 4403
    assert all(m["type"] != "role" for m in await drain(staying))
    # The one still leading goes on leading.
    member, mw = await enter(room["members"][0], room["meeting"])
    await receive_until(staying, "waiting_peer")
    await staying.send_json_to({"type": "admit", "peer": mw["peer"]})
    await receive_until(member, "admitted")
    await asyncio.gather(member.disconnect(), staying.disconnect())


async def test_the_regular_re_check_also_notices_a_leader_who_no_longer_leads() -> None:
    """Should word of the change go astray (made some other way, or lost between servers), the
    re-check every few seconds takes the controls away all the same."""
    room = await room_with_a_co_lead()
    co, _ = await enter(room["co_lead"], room["meeting"])
    await receive_until(co, "admitted")
    await Cohort.objects.filter(pk=room["cohort"].pk).aupdate(co_facilitator=None)
    assert (await receive_until(co, "role"))["facilitator"] is False
    assert (await receive_until(co, "removed"))["reason"] == "not_leading"
    assert await closed_code(co) == 4403

"""A facilitator and three members meet in the live room, in Chromium with fake cameras and microphones.

Each receives the others' audio and video (inbound bytes grow in getStats()), chat reaches everyone,
a removed member is cut off, and a non-member is refused. A member who opens the room in a second tab
is in it once: the first tab says so and closes. Someone whose "left" never arrives is taken off
the page once their connection stays down, and shown again when they come back.
"""

from __future__ import annotations

import re
import time
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from circlecare.meetings.live.consumers import RoomConsumer
from circlecare.meetings.live.models import RoomRemoval
from circlecare.meetings.models import Attendance
from tests.browser.conftest import ROOM_ANSWER_SECONDS, ROOM_GRACE_SECONDS, login
from tests.factories import PASSWORD, CohortFactory, EnrollmentFactory, UserFactory
from tests.meetings.factories import meeting_at

pytestmark = pytest.mark.django_db(transaction=True)


def inbound(page: Page) -> dict[str, dict[str, int]]:
    return page.evaluate("() => window.circlecareRoom.inboundBytes()")


def wait_for_media(pages: dict[str, Page], others: int, timeout: float = 40) -> None:
    """Poll every page until it receives growing audio and video bytes from each other person."""
    deadline = time.monotonic() + timeout
    first = {name: inbound(page) for name, page in pages.items()}
    while True:
        time.sleep(1)
        now = {name: inbound(page) for name, page in pages.items()}
        done = all(
            len(now[name]) == others
            and all(
                stats["video"] > first[name].get(peer, {}).get("video", 0)
                and stats["audio"] > first[name].get(peer, {}).get("audio", 0)
                for peer, stats in now[name].items()
            )
            for name in pages
        )
        if done:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"media did not flow to everyone: {now}")
        first = {
            name: {p: s for p, s in now[name].items() if s["video"] == 0} or first[name]
            for name in pages
        }


def room_with_alex(base_url: str, group: str) -> tuple[str, Any, Any]:
    """A meeting of ``group`` starting in three minutes, led by Jordan, with Alex (who has
    attended it) as a member: its room's address, the lead and Alex."""
    cohort = CohortFactory(name=group)
    now = timezone.now()
    meeting = meeting_at(cohort, now + timedelta(minutes=3))  # ends 90 minutes later
    lead = cohort.lead
    lead.display_name = "Jordan"
    lead.save()
    alex = EnrollmentFactory(cohort=cohort, member__display_name="Alex").member
    Attendance.objects.create(
        meeting=meeting, member=alex, status="attended", recorded_by=alex, at=now
    )
    return f"{base_url}/meetings/{meeting.pk}/room/", lead, alex


def open_room(new_page: Any, base_url: str, person: Any, room_url: str) -> Page:
    """A new browser page, signed in as ``person``, at the room."""
    page = new_page()
    login(page, base_url, person.email, PASSWORD)
    page.goto(room_url)
    return page


def test_four_people_meet_chat_and_a_removed_member_is_cut_off(
    asgi_server: Any, new_page: Any
) -> None:
    cohort = CohortFactory(name="Tuesday evenings")
    now = timezone.now()
    meeting = meeting_at(cohort, now + timedelta(minutes=3))  # ends 90 minutes later
    lead = cohort.lead
    lead.display_name = "Jordan"
    lead.save()
    members = []
    for name in ("Alex", "Sam", "Kai"):
        member = EnrollmentFactory(cohort=cohort, member__display_name=name).member
        Attendance.objects.create(
            meeting=meeting, member=member, status="attended", recorded_by=member, at=now
        )
        members.append(member)

    room_url = f"{asgi_server.url}/meetings/{meeting.pk}/room/"
    pages: dict[str, Page] = {}
    for user in [lead, *members]:
        # Sam's clock is in India (UTC+5:30): chat times are shown on the viewer's own clock.
        page = new_page(timezone_id="Asia/Kolkata") if user.display_name == "Sam" else new_page()
        login(page, asgi_server.url, user.email, PASSWORD)
        page.goto(room_url)
        pages[user.display_name] = page

    facilitator = pages["Jordan"]
    expect(facilitator.locator("#room-waiting-list li")).to_have_count(3)
    expect(facilitator.locator("#room-waiting-alert")).to_contain_text(
        "3 people are waiting to be let in."
    )
    expect(pages["Alex"].locator("#room-waiting")).to_be_visible()
    facilitator.get_by_role("button", name="Let everyone in").click()
    expect(facilitator.locator("#room-waiting-alert")).to_be_hidden()
    for page in pages.values():
        expect(page.locator("#room-status")).to_contain_text("You're in the meeting")

    wait_for_media(pages, others=3)

    message_box = pages["Sam"].get_by_label("Message to everyone in the room")
    expect(message_box).to_be_visible()
    expect(pages["Sam"].locator("label[for=room-chat-text]")).to_be_visible()
    message_box.fill("Hello everyone <b>!</b>")
    pages["Sam"].get_by_role("button", name="Send").click()
    for page in pages.values():
        expect(page.locator("#room-chat-log")).to_contain_text("Hello everyone <b>!</b>")
    sent = pages["Sam"].locator("#room-chat-log li time")
    expect(sent).to_have_text(re.compile(r"^\d{1,2}:\d\d [ap]m$"))
    at = datetime.fromisoformat(sent.get_attribute("datetime") or "").astimezone(
        ZoneInfo("Asia/Kolkata")
    )
    # Written as the site writes every time, e.g. "7:05 pm".
    assert (
        sent.inner_text()
        == f"{at.hour % 12 or 12}:{at.minute:02d} {'am' if at.hour < 12 else 'pm'}"
    )

    pages["Kai"].get_by_role("button", name="Raise hand").click()
    expect(
        facilitator.locator("#room-people li", has_text="Kai").locator(".room-hand")
    ).to_be_visible()

    facilitator.get_by_label("Remove Kai…").click()  # the disclosure that holds the form
    facilitator.get_by_label("Reason for removing Kai (kept with the practice)").fill(
        "Asked to leave after a warning"
    )
    facilitator.get_by_role("button", name="Remove Kai", exact=True).click()
    expect(pages["Kai"].locator("#room-status")).to_contain_text("removed from this meeting")
    for name in ("Jordan", "Alex", "Sam"):
        expect(pages[name].locator("#room-videos .room-tile")).to_have_count(3)  # self + 2 others
        expect(pages[name].locator("#room-news")).to_have_text("Kai left the meeting.")
    assert RoomRemoval.objects.get(user=members[2]).removed_by == lead

    # A non-member never gets in: the room page is a 404 and the socket is refused.
    stranger = UserFactory()
    page = new_page()
    login(page, asgi_server.url, stranger.email, PASSWORD)
    response = page.goto(room_url)
    assert response is not None and response.status == 404


def test_a_member_who_opens_the_room_in_a_second_tab_is_in_it_once(
    asgi_server: Any, new_page: Any
) -> None:
    room_url, lead, alex = room_with_alex(asgi_server.url, "Thursday mornings")
    facilitator = open_room(new_page, asgi_server.url, lead, room_url)
    first = open_room(new_page, asgi_server.url, alex, room_url)
    facilitator.get_by_role("button", name="Let in Alex").click()
    expect(first.locator("#room-status")).to_contain_text("You're in the meeting")
    expect(facilitator.locator("#room-people li", has_text="Alex")).to_have_count(1)

    second = first.context.new_page()  # the same signed-in browser
    second.goto(room_url)
    expect(second.locator("#room-status")).to_contain_text("You're in the meeting")
    expect(first.locator("#room-status")).to_have_text(
        "This meeting is now open in another tab or on another device, so it has closed here. "
        "You can carry on there."
    )
    expect(facilitator.locator("#room-people li", has_text="Alex")).to_have_count(1)
    expect(facilitator.locator("#room-videos .room-tile")).to_have_count(2)  # self + Alex
    expect(facilitator.locator("#room-waiting-list li")).to_have_count(0)
    wait_for_media({"Jordan": facilitator, "Alex": second}, others=1)
    # The old tab stays closed rather than reconnecting and taking the room back.
    assert first.evaluate("() => window.circlecareRoom.state.done") is True
    expect(second.locator("#room-status")).to_contain_text("You're in the meeting")

    # The controls say what they will do next, and nothing contradicts that ("Unmute, pressed").
    controls = second.get_by_role("group", name="Meeting controls")
    controls.get_by_role("button", name="Mute", exact=True).click()
    unmute = controls.get_by_role("button", name="Unmute")
    expect(unmute).to_be_visible()
    controls.get_by_role("button", name="Raise hand").click()
    expect(controls.get_by_role("button", name="Lower hand")).to_be_visible()
    assert controls.locator("[aria-pressed]").count() == 0


def test_the_facilitator_is_not_told_someone_is_waiting_once_they_are_in_or_gone(
    asgi_server: Any, new_page: Any
) -> None:
    """The line under "In the room" kept saying "Alex is waiting to be let in." after Alex was let in
    (or gave up waiting), beside Alex's name in the room."""
    room_url, lead, alex = room_with_alex(asgi_server.url, "Monday lunchtimes")
    facilitator = open_room(new_page, asgi_server.url, lead, room_url)
    news = facilitator.locator("#room-news")

    member = open_room(new_page, asgi_server.url, alex, room_url)
    expect(news).to_have_text("Alex is waiting to be let in.")
    member.close()  # gives up before being let in
    expect(facilitator.locator("#room-waiting-list li")).to_have_count(0)
    expect(news).to_have_text("")

    member = open_room(new_page, asgi_server.url, alex, room_url)
    expect(news).to_have_text("Alex is waiting to be let in.")
    facilitator.get_by_role("button", name="Let in Alex").click()
    expect(member.locator("#room-status")).to_contain_text("You're in the meeting")
    expect(facilitator.locator("#room-people li", has_text="Alex")).to_have_count(1)
    expect(facilitator.locator("#room-waiting-alert")).to_be_hidden()
    expect(news).to_have_text("")


def test_removing_someone_with_only_spaces_for_a_reason_says_a_reason_is_needed(
    asgi_server: Any, new_page: Any
) -> None:
    _room_url, _alex, facilitator, member = two_in_a_room(asgi_server, new_page)

    facilitator.get_by_label("Remove Alex…").click()
    reason = facilitator.get_by_label("Reason for removing Alex (kept with the practice)")
    reason.fill("   ")
    facilitator.get_by_role("button", name="Remove Alex", exact=True).click()
    assert (
        reason.evaluate("el => el.validationMessage") == "Please give a reason for removing Alex."
    )
    expect(member.locator("#room-status")).to_contain_text("You're in the meeting")
    assert not RoomRemoval.objects.exists()

    # Typing a reason clears the message, and the removal goes ahead.
    reason.fill("Asked to leave after a warning")
    assert reason.evaluate("el => el.validationMessage") == ""
    facilitator.get_by_role("button", name="Remove Alex", exact=True).click()
    expect(member.locator("#room-status")).to_contain_text("removed from this meeting")


# room.js: how long a connection may stay disconnected, and how long a peer has to answer (as the
# test server gives them to the page).
GRACE_SECONDS = ROOM_GRACE_SECONDS
ANSWER_SECONDS = ROOM_ANSWER_SECONDS
# Chromium notices that a peer has gone quiet after about 5 seconds.
NOTICED_SECONDS = 6
# Time for a busy machine to get round to it all: the waits above are short, their sum is tight.
SLACK_SECONDS = 8


def two_in_a_room(asgi_server: Any, new_page: Any) -> tuple[Any, Any, Page, Page]:
    """Jordan (facilitator) and Alex in a meeting, their media flowing both ways."""
    room_url, lead, alex = room_with_alex(asgi_server.url, "Friday afternoons")
    facilitator = open_room(new_page, asgi_server.url, lead, room_url)
    member = open_room(new_page, asgi_server.url, alex, room_url)
    facilitator.get_by_role("button", name="Let in Alex").click()
    wait_for_media({"Jordan": facilitator, "Alex": member}, others=1)
    # The page waits as long as the server says.
    waits = facilitator.evaluate("() => window.circlecareRoom.waits")
    assert (waits["grace"], waits["answer"]) == (GRACE_SECONDS * 1000, ANSWER_SECONDS * 1000)
    return room_url, alex, facilitator, member


def test_someone_whose_leaving_never_reaches_the_room_is_taken_off_and_can_come_back(
    asgi_server: Any, new_page: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    room_url, alex, facilitator, member = two_in_a_room(asgi_server, new_page)

    # Alex's server process dies with her socket: it tells nobody that she left.
    async def crashed(self: RoomConsumer) -> None:
        return None

    monkeypatch.setattr(RoomConsumer, "_leave", crashed)
    member.close()
    within = (NOTICED_SECONDS + GRACE_SECONDS + ANSWER_SECONDS + SLACK_SECONDS) * 1000
    expect(facilitator.locator("#room-videos .room-tile")).to_have_count(1, timeout=within)
    expect(facilitator.locator("#room-people li", has_text="Alex")).to_have_count(0)
    expect(facilitator.locator("#room-news")).to_have_text(
        "Alex's connection was lost, so they're no longer shown. If they come back, "
        "you'll see them again."
    )
    expect(facilitator.locator("#room-status")).to_contain_text("You're in the meeting")
    monkeypatch.undo()

    # Alex comes back: she is shown again, once, with her video and sound.
    back = open_room(new_page, asgi_server.url, alex, room_url)
    expect(back.locator("#room-status")).to_contain_text("You're in the meeting")
    wait_for_media({"Jordan": facilitator, "Alex": back}, others=1)
    expect(facilitator.locator("#room-videos .room-tile")).to_have_count(2)
    expect(facilitator.locator("#room-people li", has_text="Alex")).to_have_count(1)


def test_someone_still_in_the_room_whose_video_link_breaks_is_reconnected_not_dropped(
    asgi_server: Any, new_page: Any
) -> None:
    _room_url, _alex, facilitator, member = two_in_a_room(asgi_server, new_page)
    deadline = (NOTICED_SECONDS + GRACE_SECONDS + ANSWER_SECONDS + SLACK_SECONDS + 10) * 1000
    # The link breaks at one end while both sockets stay up (as when a network path dies), then
    # at the other: of the two who notice, one makes offers and reconnects, and the other has
    # to ask for a new connection.
    for broken, notices in ((member, facilitator), (facilitator, member)):
        broken.evaluate("() => window.circlecareRoom.state.peers.forEach(e => e.pc.close())")
        notices.wait_for_function(
            "() => [...window.circlecareRoom.state.peers.values()].some("
            "e => e.pc.connectionState !== 'connected')",
            timeout=NOTICED_SECONDS * 2000,
        )
        for page in (facilitator, member):
            page.wait_for_function(
                "() => { const all = [...window.circlecareRoom.state.peers.values()];"
                " return all.length === 1 && all[0].pc.connectionState === 'connected'; }",
                timeout=deadline,
            )
        wait_for_media({"Jordan": facilitator, "Alex": member}, others=1)
    # Neither was ever taken off the other's page.
    for page, other in ((facilitator, "Alex"), (member, "Jordan")):
        expect(page.locator("#room-news")).to_have_text("")
        expect(page.locator("#room-people li", has_text=other)).to_have_count(1)


def test_a_co_lead_the_practice_takes_off_the_group_loses_the_room_and_its_controls(
    asgi_server: Any, new_page: Any
) -> None:
    """Sam helps Jordan lead; while the meeting is on, the practice takes Sam off the group.
    Sam's page loses the controls for letting people in and says why the meeting closed for
    them, without Sam reloading; Jordan still leads."""
    room_url, lead, alex = room_with_alex(asgi_server.url, "Wednesday evenings")
    cohort = alex.enrollments.get().cohort
    sam = UserFactory(display_name="Sam")
    cohort.co_facilitator = sam
    cohort.save(update_fields=["co_facilitator"])
    jordan_page = open_room(new_page, asgi_server.url, lead, room_url)
    sam_page = open_room(new_page, asgi_server.url, sam, room_url)
    member = open_room(new_page, asgi_server.url, alex, room_url)
    expect(sam_page.get_by_role("button", name="Let in Alex")).to_be_visible()

    cohort.co_facilitator = None
    cohort.save(update_fields=["co_facilitator"])

    # The room's regular re-check notices; the page is told why and its controls go.
    expect(sam_page.locator("#room-status")).to_contain_text(
        "The practice has changed who leads this group", timeout=15_000
    )
    expect(sam_page.get_by_role("button", name="Let in Alex")).to_have_count(0)
    jordan_page.get_by_role("button", name="Let in Alex").click()
    expect(member.locator("#room-status")).to_contain_text("You're in the meeting")

"""Meeting pages: who sees them, times in the viewer's zone, joining, attendance, staff pages."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.template.loader import render_to_string
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from icalendar import Calendar

from circlecare.audit.models import AuditEvent
from circlecare.enrollment import services as enrollment_services
from circlecare.enrollment.models import Enrollment
from circlecare.meetings import calendar, queries, schedule
from circlecare.meetings.models import (
    Attendance,
    AttendanceStatus,
    LocationAttestation,
    Meeting,
    MeetingStatus,
)
from circlecare.programs.models import Cohort, CohortStatus, ProgramKind
from tests.factories import (
    CohortFactory,
    LicenseFactory,
    ProgramFactory,
    UserFactory,
)
from tests.meetings.factories import coordinator, meeting_at, member_of

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
WEEK = timedelta(days=7)


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _setup(kind: str = ProgramKind.SKILLS, start: datetime | None = None) -> dict[str, Any]:
    lic = LicenseFactory(state="NY")
    cohort = CohortFactory(
        program=ProgramFactory(kind=kind, title="Closer: relationships therapy"),
        lead=lic.clinician.user,
        co_facilitator=UserFactory(is_facilitator=True),
        name="Tuesday evenings",
    )
    meeting = meeting_at(cohort, start or timezone.now() + timedelta(days=3))
    other_lic = LicenseFactory(state="NY")
    return {
        "cohort": cohort,
        "meeting": meeting,
        # Seated a week before the meeting (or now, for one ahead), so on its attendance sheet.
        "member": member_of(cohort, seated_since=min(meeting.starts_at, timezone.now()) - WEEK),
        "other_member": member_of(CohortFactory()),
        "lead": cohort.lead,
        "co": cohort.co_facilitator,
        "coordinator": coordinator(),
        "other_clinician": CohortFactory(lead=other_lic.clinician.user).lead,
    }


MEETING_ROUTES = ["meetings:detail", "meetings:ics"]


@pytest.mark.parametrize("route", MEETING_ROUTES)
def test_meeting_pages_answer_only_people_of_the_cohort(route: str) -> None:
    s = _setup()
    url = reverse(route, kwargs={"pk": s["meeting"].pk})
    missing = reverse(route, kwargs={"pk": s["meeting"].pk + 1000})
    for role in ("member", "lead", "co", "coordinator"):
        assert _client(s[role]).get(url).status_code == 200, role
    for role in ("other_member", "other_clinician"):
        client = _client(s[role])
        refused = client.get(url)
        assert refused.status_code == 404, role
        # Byte-identical to a meeting that does not exist: nothing is confirmed.
        assert refused.content == client.get(missing).content
    anonymous = Client().get(url)
    assert anonymous.status_code == 302 and "/accounts/login/" in anonymous["Location"]


def test_read_only_meeting_pages_answer_head_as_they_answer_get() -> None:
    """A link checker or a calendar app asking with HEAD gets the page's status, not a 405; the
    room and the notes pages, whose every opening is recorded, still take GET only."""
    s = _setup()
    pk, cohort = s["meeting"].pk, s["cohort"].pk
    member, lead = _client(s["member"]), _client(s["lead"])
    for client, url in (
        (member, reverse("meetings:detail", kwargs={"pk": pk})),
        (member, reverse("meetings:ics", kwargs={"pk": pk})),
        (member, reverse("meetings:mine")),
        (member, reverse("session_status")),
        (lead, reverse("meetings:groups")),
        (lead, reverse("meetings:schedule", kwargs={"pk": cohort})),
    ):
        assert client.head(url).status_code == client.get(url).status_code == 200, url
    assert member.head(reverse("meetings:room", kwargs={"pk": pk})).status_code == 405


def test_a_clinician_helping_lead_a_group_sees_its_meetings_and_schedule() -> None:
    """Someone recorded as a clinician but not as a facilitator, co-leading a group: its
    meetings are among those they lead, and its schedule is on their groups page, as the API
    has it. A member who leads nothing sees neither."""
    s = _setup()
    helper = LicenseFactory(state="NY").clinician.user
    helper.is_facilitator = False
    helper.save(update_fields=["is_facilitator"])
    s["cohort"].co_facilitator = helper
    s["cohort"].save(update_fields=["co_facilitator"])
    client = _client(helper)
    mine = client.get(reverse("meetings:mine")).content.decode()
    assert "Meetings you lead" in mine
    assert reverse("meetings:detail", kwargs={"pk": s["meeting"].pk}) in mine
    groups = client.get(reverse("meetings:groups"))
    assert groups.status_code == 200
    assert reverse("meetings:schedule", kwargs={"pk": s["cohort"].pk}) in groups.content.decode()
    member = _client(s["member"])
    assert "Meetings you lead" not in member.get(reverse("meetings:mine")).content.decode()
    assert member.get(reverse("meetings:groups")).status_code == 404


def test_attendance_page_is_for_facilitators_and_coordinators_only() -> None:
    s = _setup(start=timezone.now())
    url = reverse("meetings:attendance", kwargs={"pk": s["meeting"].pk})
    for role in ("lead", "co", "coordinator"):
        response = _client(s[role]).get(url)
        assert response.status_code == 200, role
        assert response["Cache-Control"] == "no-store"
    for role in ("member", "other_member", "other_clinician"):
        assert _client(s[role]).get(url).status_code == 404, role


def test_schedule_pages_are_for_coordinators_and_leads_to_view() -> None:
    s = _setup()
    url = reverse("meetings:schedule", kwargs={"pk": s["cohort"].pk})
    assert _client(s["coordinator"]).get(url).status_code == 200
    lead_page = _client(s["lead"]).get(url)
    assert lead_page.status_code == 200
    assert b"Skip this week" not in lead_page.content
    # The group's zone reads as a place, with its exact name beside it for staff.
    assert "Meets weekly on New York time" in lead_page.content.decode()
    for role in ("member", "other_member", "other_clinician"):
        assert _client(s[role]).get(url).status_code == 404, role
    for name in ("meetings:skip", "meetings:cancel", "meetings:move"):
        response = _client(s["lead"]).post(reverse(name, kwargs={"pk": s["meeting"].pk}))
        assert response.status_code == 404, name
    s["meeting"].refresh_from_db()
    assert s["meeting"].ics_sequence == 0


def test_schedule_times_are_kept_whole_on_a_narrow_screen() -> None:
    """At phone width the time column was squeezed to a word a line; every time in both of the
    schedule's tables sits in a cell whose times the stylesheet keeps on one line."""
    stylesheet = (ROOT / "circlecare/static/css/circlecare.css").read_text(encoding="utf-8")
    assert re.search(r"\.times-whole time \{\s*white-space: nowrap;", stylesheet)
    s = _setup()
    meeting_at(s["cohort"], s["meeting"].starts_at + timedelta(weeks=1), number=2)
    draft = CohortFactory(status=CohortStatus.DRAFT, lead=s["lead"])
    for cohort, count in ((s["cohort"], 2), (draft, draft.program.weeks)):
        url = reverse("meetings:schedule", kwargs={"pk": cohort.pk})
        html = _client(s["coordinator"]).get(url).content.decode()
        cells = re.findall(r"<td([^>]*)>(?:<a [^>]*>)?<time ", html)
        assert cells == [' class="times-whole"'] * count


def test_staff_meeting_pages_name_the_group_in_their_title() -> None:
    # A facilitator of two groups with both week 1s open in tabs, or a screen reader reading
    # the title, tells them apart by the group.
    s = _setup()
    client = _client(s["coordinator"])
    number = s["meeting"].number
    for route, words in (
        ("meetings:attendance", "Attendance — week"),
        ("meetings:move", "Move week"),
    ):
        page = client.get(reverse(route, kwargs={"pk": s["meeting"].pk})).content.decode()
        assert f"<title>{words} {number} — Tuesday evenings · circlecare</title>" in page, route


def test_member_in_london_sees_a_new_york_meeting_in_london_time() -> None:
    s = _setup(start=datetime(2027, 1, 13, 0, 0, tzinfo=UTC))  # 7 pm Tue 12 Jan in New York
    s["member"].time_zone = "Europe/London"
    s["member"].save()
    page = _client(s["member"]).get(reverse("meetings:detail", kwargs={"pk": s["meeting"].pk}))
    text = page.content.decode()
    assert "Wed 13 Jan 2027, 12:00 am GMT" in text
    assert "7:00 pm on Tue 12 Jan in New York" in text


def test_join_button_says_when_it_opens_before_the_window() -> None:
    s = _setup(start=timezone.now() + timedelta(minutes=30))
    page = _client(s["member"]).get(reverse("meetings:detail", kwargs={"pk": s["meeting"].pk}))
    assert b"The Join button opens at" in page.content
    assert b"Join the meeting" not in page.content


def test_member_joins_inside_the_window_and_reaches_the_room() -> None:
    s = _setup(start=timezone.now() + timedelta(minutes=5))
    client = _client(s["member"])
    page = client.get(reverse("meetings:detail", kwargs={"pk": s["meeting"].pk}))
    assert b"Join the meeting" in page.content
    response = client.post(reverse("meetings:join", kwargs={"pk": s["meeting"].pk}))
    assert response.status_code == 302
    assert response["Location"] == reverse("meetings:room", kwargs={"pk": s["meeting"].pk})
    room = client.get(response["Location"])
    assert b"Nothing here is recorded" in room.content and b"room.js" in room.content
    mark = Attendance.objects.get(meeting=s["meeting"], member=s["member"])
    assert mark.status == AttendanceStatus.ATTENDED


def test_the_room_page_gives_the_room_its_waits_from_settings(settings: Any) -> None:
    settings.ROOM_GRACE_SECONDS = 2.5
    settings.ROOM_ANSWER_SECONDS = 1
    settings.ROOM_PRESENCE_SEEN_SECONDS = 20
    s = _setup(start=timezone.now() + timedelta(minutes=5))
    client = _client(s["member"])
    client.post(reverse("meetings:join", kwargs={"pk": s["meeting"].pk}))
    room = client.get(reverse("meetings:room", kwargs={"pk": s["meeting"].pk}))
    assert room.status_code == 200
    text = room.content.decode()
    assert 'data-grace-ms="2500"' in text
    assert 'data-answer-ms="1000"' in text
    assert 'data-alive-ms="20000"' in text


def test_room_is_closed_to_members_who_have_not_joined() -> None:
    s = _setup(start=timezone.now())
    response = _client(s["member"]).get(reverse("meetings:room", kwargs={"pk": s["meeting"].pk}))
    assert response.status_code == 302
    assert (
        _client(s["other_member"])
        .get(reverse("meetings:room", kwargs={"pk": s["meeting"].pk}))
        .status_code
        == 404
    )


def test_join_outside_the_window_changes_nothing() -> None:
    s = _setup(start=timezone.now() + timedelta(hours=2))
    response = _client(s["member"]).post(reverse("meetings:join", kwargs={"pk": s["meeting"].pk}))
    assert response.status_code == 302
    assert not Attendance.objects.exists()


def test_therapy_join_asks_where_the_member_is_now() -> None:
    s = _setup(kind=ProgramKind.THERAPY, start=timezone.now())
    client = _client(s["member"])
    url = reverse("meetings:join", kwargs={"pk": s["meeting"].pk})
    page = client.get(reverse("meetings:detail", kwargs={"pk": s["meeting"].pk}))
    assert b"Where are you right now?" in page.content
    missing = client.post(url, {"state": ""})
    assert missing.status_code == 400
    assert b"Please choose the state you are in right now." in missing.content
    assert not LocationAttestation.objects.exists()
    assert client.post(url, {"state": "NY"}).status_code == 302
    assert LocationAttestation.objects.get().allowed


def test_therapy_join_from_elsewhere_is_refused_kindly_and_the_facilitator_sees_it() -> None:
    s = _setup(kind=ProgramKind.THERAPY, start=timezone.now())
    response = _client(s["member"]).post(
        reverse("meetings:join", kwargs={"pk": s["meeting"].pk}), {"state": "CA"}
    )
    assert response.status_code == 403
    text = response.content.decode()
    assert "California" in text
    assert 'href="tel:988"' in text  # crisis resources
    # Nobody is told to call them, so nothing promises a call: the way to the practice is there.
    assert "will get in touch" not in text and f'href="{reverse("inquiries:contact")}"' in text
    assert not Attendance.objects.exists()
    attendance_page = _client(s["lead"]).get(
        reverse("meetings:attendance", kwargs={"pk": s["meeting"].pk})
    )
    assert (
        f"{s['member'].display_name} said they were in California"
        in attendance_page.content.decode()
    )


@pytest.mark.parametrize(
    ("state", "wording"),
    [("TX", "who is in Texas today"), ("XX", "who is outside the US today")],
)
def test_refusal_names_where_the_member_is_in_plain_words(state: str, wording: str) -> None:
    s = _setup(kind=ProgramKind.THERAPY, start=timezone.now())
    response = _client(s["member"]).post(
        reverse("meetings:join", kwargs={"pk": s["meeting"].pk}), {"state": state}
    )
    assert response.status_code == 403
    text = response.content.decode()
    assert wording in text
    assert "is in outside" not in text


def test_location_choice_for_abroad_answers_where_are_you_now() -> None:
    s = _setup(kind=ProgramKind.THERAPY, start=timezone.now())
    page = _client(s["member"]).get(reverse("meetings:detail", kwargs={"pk": s["meeting"].pk}))
    text = page.content.decode()
    assert '<option value="XX">Outside the US</option>' in text
    assert "I live outside the US" not in text


def test_the_attendance_page_of_a_cancelled_meeting_does_not_say_it_will_open() -> None:
    s = _setup()
    _client(s["coordinator"]).post(reverse("meetings:cancel", kwargs={"pk": s["meeting"].pk}))
    page = _client(s["lead"]).get(reverse("meetings:attendance", kwargs={"pk": s["meeting"].pk}))
    body = page.content.decode()
    assert "This meeting was cancelled, so there is no attendance to record." in body
    assert "once the meeting opens" not in body


def test_facilitator_edits_attendance_and_the_member_sees_it() -> None:
    s = _setup(start=timezone.now() - timedelta(days=1))
    Meeting.objects.filter(pk=s["meeting"].pk).update(
        ends_at=timezone.now() - timedelta(days=1) + timedelta(minutes=90)
    )
    url = reverse("meetings:attendance", kwargs={"pk": s["meeting"].pk})
    field = f"status-{s['member'].pk}"
    bad = _client(s["co"]).post(url, {field: "present"})
    assert bad.status_code == 400
    assert not Attendance.objects.exists()
    ok = _client(s["co"]).post(url, {field: AttendanceStatus.EXCUSED})
    assert ok.status_code == 302
    assert Attendance.objects.get(member=s["member"]).status == AttendanceStatus.EXCUSED
    mine = _client(s["member"]).get(reverse("meetings:mine"))
    assert b"Excused" in mine.content
    detail = _client(s["member"]).get(reverse("meetings:detail", kwargs={"pk": s["meeting"].pk}))
    assert b"Excused" in detail.content


def test_the_attendance_page_of_a_cancelled_meeting_says_it_was_cancelled() -> None:
    """It said attendance could be recorded once the meeting opened, which it never will."""
    s = _setup(start=timezone.now() - timedelta(days=1))
    Meeting.objects.filter(pk=s["meeting"].pk).update(status=MeetingStatus.CANCELLED)
    url = reverse("meetings:attendance", kwargs={"pk": s["meeting"].pk})
    page = _client(s["lead"]).get(url).content.decode()
    assert "This meeting was cancelled" in page
    assert "once the meeting opens" not in page


def test_a_recorded_mark_is_not_offered_back_as_not_recorded() -> None:
    """A mark can be changed but not cleared: the sheet does not offer "Not recorded" for it,
    so saving never reports a change that did not happen."""
    s = _setup(start=timezone.now() - timedelta(minutes=5))
    marked = s["member"]
    unmarked = member_of(s["cohort"], display_name="Not yet marked")
    url = reverse("meetings:attendance", kwargs={"pk": s["meeting"].pk})
    _client(s["lead"]).post(url, {f"status-{marked.pk}": AttendanceStatus.ATTENDED})
    page = _client(s["lead"]).get(url).content.decode()

    def options(member: Any) -> str:
        start = page.index(f'<select name="status-{member.pk}"')
        return page[start : page.index("</select>", start)]

    assert 'value=""' not in options(marked)
    assert f'value="{AttendanceStatus.ATTENDED}" selected' in options(marked)
    assert 'value="" selected' in options(unmarked)


def test_saving_the_sheet_unchanged_says_nothing_changed() -> None:
    s = _setup(start=timezone.now() - timedelta(minutes=5))
    url = reverse("meetings:attendance", kwargs={"pk": s["meeting"].pk})
    lead = _client(s["lead"])
    field = f"status-{s['member'].pk}"
    first = lead.post(url, {field: AttendanceStatus.ATTENDED}, follow=True).content.decode()
    assert "Attendance saved." in first
    before = AuditEvent.objects.count()
    for unchanged in ({field: AttendanceStatus.ATTENDED}, {}):
        again = lead.post(url, unchanged, follow=True).content.decode()
        assert "Nothing changed, so there was nothing to save." in again
        assert "Attendance saved." not in again
    assert AuditEvent.objects.count() == before
    assert Attendance.objects.get().status == AttendanceStatus.ATTENDED


def test_attendance_sheet_keeps_nothing_when_a_member_left_meanwhile(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The facilitator's roster was read (the sheet opens ten minutes before the start), then
    one member left the group before the meeting began and before the marks were saved: no mark
    is kept, the page names who left and shows the marks that were chosen."""
    s = _setup(start=timezone.now() + timedelta(minutes=5))
    s["member"].display_name = "Ana"
    s["member"].save()
    leaving = member_of(s["cohort"], display_name="Zed")
    real_roster = queries.roster
    calls = []

    def roster_then_leave(meeting: Meeting) -> Any:
        rows = real_roster(meeting)
        if not calls:
            enrollment_services.withdraw(
                enrollment=Enrollment.objects.get(member=leaving, cohort=s["cohort"])
            )
        calls.append(meeting)
        return rows

    monkeypatch.setattr(queries, "roster", roster_then_leave)
    url = reverse("meetings:attendance", kwargs={"pk": s["meeting"].pk})
    page = _client(s["lead"]).post(
        url,
        {
            f"status-{s['member'].pk}": AttendanceStatus.LATE,
            f"status-{leaving.pk}": AttendanceStatus.ATTENDED,
        },
    )
    assert page.status_code == 400
    assert not Attendance.objects.exists()
    text = page.content.decode()
    assert "Nothing was saved" in text
    assert "Zed no longer belongs to this group" in text
    # The roster shown is the current one, with the mark the facilitator chose for Ana.
    assert f'name="status-{leaving.pk}"' not in text
    assert [(member, chosen) for member, _, chosen in page.context["rows"]] == [
        (s["member"], AttendanceStatus.LATE)
    ]
    assert f'<option value="{AttendanceStatus.LATE}" selected>' in text


def test_a_past_meetings_sheet_keeps_who_left_since_and_leaves_out_later_joiners(
    django_assert_max_num_queries: Any,
) -> None:
    s = _setup(start=timezone.now() - WEEK)
    meeting, cohort = s["meeting"], s["cohort"]
    s["member"].display_name = "Ana"
    s["member"].save()
    left = member_of(cohort, display_name="Bo", seated_since=meeting.starts_at - WEEK)
    Attendance.objects.create(
        meeting=meeting,
        member=left,
        status=AttendanceStatus.LATE,
        recorded_by=left,
        at=timezone.now(),
    )
    enrollment_services.withdraw(enrollment=Enrollment.objects.get(member=left, cohort=cohort))
    later = member_of(cohort, display_name="Cy")
    url = reverse("meetings:attendance", kwargs={"pk": meeting.pk})
    lead = _client(s["lead"])
    with django_assert_max_num_queries(20) as small:
        page = lead.get(url)
    cost = len(small.captured_queries)
    assert [(m.display_name, chosen) for m, _, chosen in page.context["rows"]] == [
        ("Ana", ""),
        ("Bo", AttendanceStatus.LATE),
    ]
    assert f'name="status-{later.pk}"' not in page.content.decode()
    # Bo's mark can be corrected there, though Bo has left the group.
    saved = lead.post(url, {f"status-{left.pk}": AttendanceStatus.ATTENDED})
    assert saved.status_code == 302
    assert Attendance.objects.get(member=left).status == AttendanceStatus.ATTENDED
    # The sheet costs the same however many are on it.
    for n in range(5):
        member_of(cohort, display_name=f"Dee {n}", seated_since=meeting.starts_at - WEEK)
    with django_assert_max_num_queries(cost):
        page = lead.get(url)
    assert len(page.context["rows"]) == 7


def test_one_event_ics_download_parses_back() -> None:
    s = _setup()
    response = _client(s["member"]).get(reverse("meetings:ics", kwargs={"pk": s["meeting"].pk}))
    assert response["Content-Type"].startswith("text/calendar")
    assert "attachment" in response["Content-Disposition"]
    events = Calendar.from_ical(response.content).walk("VEVENT")
    assert len(events) == 1
    event = events[0]
    assert str(event["UID"]) == s["meeting"].uid
    assert event.decoded("DTSTART") == s["meeting"].starts_at.replace(microsecond=0)
    assert event.decoded("DTEND") == s["meeting"].ends_at.replace(microsecond=0)
    assert "Closer" not in str(event["SUMMARY"])
    assert str(event["STATUS"]) == "CONFIRMED"


def _feed_url(client: Client) -> str:
    made = client.post(reverse("meetings:calendar"), {"action": "create"})
    assert made.status_code == 302 and made["Location"] == reverse("meetings:mine")
    page = client.get(made["Location"])
    assert page.status_code == 200
    assert page["Cache-Control"] == "no-store"
    url = page.context["new_feed_url"]
    assert url.endswith(".ics") and url in page.content.decode()
    # Shown once: reloading the page shows the page, without making or showing another address.
    again = client.get(made["Location"])
    assert again.context["new_feed_url"] is None and url not in again.content.decode()
    return str(url)


def test_the_calendar_link_is_on_the_sites_address_not_the_requests_host(settings: Any) -> None:
    """A forged Host header must not put someone else's host name in the link a member copies
    into their calendar app: the page gives the same address as the API, on SITE_URL."""
    settings.SITE_URL = "https://care.example.org"
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "attacker.example"]
    client = _client(_setup()["member"])
    made = client.post(
        reverse("meetings:calendar"), {"action": "create"}, HTTP_HOST="attacker.example"
    )
    assert made.status_code == 302
    url = client.get(made["Location"]).context["new_feed_url"]
    assert url.startswith("https://care.example.org/meetings/") and url.endswith(".ics")
    assert "attacker.example" not in url
    token = url.rsplit("/", 1)[-1].removesuffix(".ics")
    assert url == calendar.feed_url(token)  # the API's address for the same link
    assert Client().get(url[len(settings.SITE_URL) :]).status_code == 200


def test_secret_feed_follows_moves_and_cancellations_and_can_be_rotated_and_revoked() -> None:
    s = _setup()
    second = meeting_at(s["cohort"], s["meeting"].starts_at + timedelta(weeks=1), number=2)
    client = _client(s["member"])
    url = _feed_url(client)
    anonymous = Client()
    first_feed = Calendar.from_ical(anonymous.get(url).content)
    checked = anonymous.head(url)
    assert checked.status_code == 200 and checked["Content-Type"].startswith("text/calendar")
    uids = {str(e["UID"]): int(e["SEQUENCE"]) for e in first_feed.walk("VEVENT")}
    assert uids == {s["meeting"].uid: 0, second.uid: 0}

    staff = _client(s["coordinator"])
    staff.post(reverse("meetings:cancel", kwargs={"pk": second.pk}))
    staff.post(
        reverse("meetings:move", kwargs={"pk": s["meeting"].pk}),
        {
            "local_date": (s["meeting"].local_date + timedelta(days=1)).isoformat(),
            "local_time": "18:00",
        },
    )
    events = {
        str(e["UID"]): e for e in Calendar.from_ical(anonymous.get(url).content).walk("VEVENT")
    }
    assert int(events[second.uid]["SEQUENCE"]) == 1
    assert str(events[second.uid]["STATUS"]) == "CANCELLED"
    moved = events[s["meeting"].uid]
    assert int(moved["SEQUENCE"]) == 1
    assert (
        moved.decoded("DTSTART").astimezone(s["meeting"].starts_at.tzinfo) != s["meeting"].starts_at
    )

    new_url = _feed_url(client)
    assert anonymous.get(url).status_code == 404
    assert anonymous.get(new_url).status_code == 200
    client.post(reverse("meetings:calendar"), {"action": "revoke"})
    assert anonymous.get(new_url).status_code == 404
    assert anonymous.get(reverse("meetings:feed", kwargs={"token": "guess"})).status_code == 404


def test_staff_preview_before_opening_shows_clock_change_notes() -> None:
    cohort = CohortFactory(
        status=CohortStatus.DRAFT,
        program=ProgramFactory(weeks=3),
        first_meeting_date=date(2027, 3, 7),
        weekday=6,
        start_time=time(2, 30),
        time_zone="America/New_York",
    )
    staff = _client(coordinator())
    url = reverse("meetings:schedule", kwargs={"pk": cohort.pk})
    page = staff.get(url).content.decode()
    assert "2:30 am does not exist on this date" in page
    assert "Open this group and create these meetings" in page
    assert not Meeting.objects.filter(cohort=cohort).exists()
    staff.post(reverse("meetings:open", kwargs={"pk": cohort.pk}))
    cohort.refresh_from_db()
    assert cohort.status == CohortStatus.OPEN
    assert Meeting.objects.filter(cohort=cohort).count() == 3


def test_a_meeting_whose_time_has_passed_is_not_shown_as_scheduled() -> None:
    """Nobody joined and no attendance was taken: the lead's schedule said "Scheduled" for a
    meeting that had ended hours before (its own page says "This meeting has ended.")."""
    s = _setup(start=timezone.now() - timedelta(days=1))
    later = meeting_at(s["cohort"], timezone.now() + timedelta(days=6), number=2)
    page = _client(s["lead"]).get(reverse("meetings:schedule", kwargs={"pk": s["cohort"].pk}))
    rows = page.content.decode().split("<tr>")
    past = next(r for r in rows if f'/meetings/{s["meeting"].pk}/"' in r)
    coming = next(r for r in rows if f'/meetings/{later.pk}/"' in r)
    assert "<td>Ended</td>" in past and "Scheduled" not in past
    assert "<td>Scheduled</td>" in coming


def test_a_meeting_its_leader_ended_shows_as_ended_and_offers_no_changes() -> None:
    """One ended under way (held, someone joined) and one ended in its early window, before its
    start: both are over, neither is offered to move, skip or cancel, and asking says why."""
    s = _setup(start=timezone.now() - timedelta(minutes=20))
    Meeting.objects.filter(pk=s["meeting"].pk).update(
        status=MeetingStatus.HELD, ended_at=timezone.now() - timedelta(minutes=1)
    )
    early = meeting_at(
        s["cohort"], timezone.now() + timedelta(minutes=5), number=2, ended_at=timezone.now()
    )
    later = meeting_at(s["cohort"], timezone.now() + timedelta(days=6), number=3)
    staff = _client(s["coordinator"])
    page = staff.get(reverse("meetings:schedule", kwargs={"pk": s["cohort"].pk}))
    rows = page.content.decode().split("<tr>")
    for meeting in (s["meeting"], early):
        row = next(r for r in rows if f'/meetings/{meeting.pk}/"' in r)
        assert "<td>Ended</td>" in row, meeting.number
        assert "/move/" not in row and "/skip/" not in row and "/cancel/" not in row
    coming = next(r for r in rows if f'/meetings/{later.pk}/"' in r)
    assert "<td>Scheduled</td>" in coming and "/move/" in coming
    for name in ("meetings:move", "meetings:skip", "meetings:cancel"):
        asked = staff.get(reverse(name, kwargs={"pk": early.pk}), follow=True)
        assert "This meeting has ended, so it can&#x27;t be changed now." in (
            asked.content.decode()
        ), name
        data = {
            "local_date": (early.local_date + timedelta(days=2)).isoformat(),
            "local_time": early.local_time.strftime("%H:%M"),
        }
        refused = staff.post(reverse(name, kwargs={"pk": early.pk}), data, follow=True)
        assert "This meeting has ended, so it can&#x27;t be changed now." in (
            refused.content.decode()
        ), name
    early.refresh_from_db()
    assert (early.status, early.ics_sequence) == (MeetingStatus.SCHEDULED, 0)


def test_staff_skip_and_bad_move_input() -> None:
    s = _setup()
    staff = _client(s["coordinator"])
    move_url = reverse("meetings:move", kwargs={"pk": s["meeting"].pk})
    bad = staff.post(move_url, {"local_date": "not a date", "local_time": "25:00"})
    assert bad.status_code == 400
    assert b"Please give a date, such as 2026-12-15." in bad.content
    assert b"Please give a time in hours and minutes, such as 18:30." in bad.content
    # Seconds (which the time picker never sends) are refused, not stored in a meeting's time.
    tomorrow = (s["meeting"].local_date + timedelta(days=1)).isoformat()
    for fine in ("19:00:30", "19:00:00.999999"):
        refused = staff.post(move_url, {"local_date": tomorrow, "local_time": fine})
        assert refused.status_code == 400
        assert b"Please give a time in hours and minutes" in refused.content
    past = staff.post(move_url, {"local_date": "2020-01-01", "local_time": "10:00"})
    assert past.status_code == 400
    assert b"Choose a time in the future." in past.content
    s["meeting"].refresh_from_db()
    assert s["meeting"].ics_sequence == 0
    staff.post(reverse("meetings:skip", kwargs={"pk": s["meeting"].pk}))
    s["meeting"].refresh_from_db()
    assert s["meeting"].ics_sequence == 1
    pattern = staff.post(
        reverse("meetings:pattern", kwargs={"pk": s["cohort"].pk}),
        {"from_date": "2020-01-01", "start_time": "09:00"},
    )
    assert pattern.status_code == 400
    assert b"must start in the future" in pattern.content


@pytest.mark.parametrize("zone", ["UTC", "Europe/London"])
def test_a_move_or_pattern_on_the_calendars_last_day_is_refused_not_a_server_error(
    zone: str,
) -> None:
    s = _setup()
    Cohort.objects.filter(pk=s["cohort"].pk).update(time_zone=zone)
    staff = _client(s["coordinator"])
    moved = staff.post(
        reverse("meetings:move", kwargs={"pk": s["meeting"].pk}),
        {"local_date": "9999-12-31", "local_time": "23:00"},
    )
    assert moved.status_code == 400
    assert b"runs past the dates the calendar can hold" in moved.content
    pattern = staff.post(
        reverse("meetings:pattern", kwargs={"pk": s["cohort"].pk}),
        {"from_date": "9999-12-31", "start_time": "22:00"},
    )
    assert pattern.status_code == 400
    assert b"runs past the dates the calendar can hold" in pattern.content
    s["meeting"].refresh_from_db()
    assert (s["meeting"].ics_sequence, s["meeting"].starts_at.year) == (
        0,
        s["meeting"].local_date.year,
    )


def test_my_meetings_query_count_does_not_grow_with_meetings(
    django_assert_max_num_queries: Any,
) -> None:
    member = UserFactory()

    def add(n: int) -> None:
        for _ in range(n):
            cohort = CohortFactory()
            from tests.factories import EnrollmentFactory

            EnrollmentFactory(member=member, cohort=cohort)
            meeting_at(cohort, timezone.now() + timedelta(days=2))
            meeting_at(cohort, timezone.now() - timedelta(days=5), number=2)

    client = _client(member)
    add(1)
    client.get(reverse("meetings:mine"))
    with django_assert_max_num_queries(12) as small:
        client.get(reverse("meetings:mine"))
    add(5)
    with django_assert_max_num_queries(len(small.captured_queries)):
        client.get(reverse("meetings:mine"))


def test_meetings_a_facilitator_leads_say_which_are_cancelled() -> None:
    """The lead's list of coming meetings showed a cancelled one just like the others."""
    s = _setup()
    cancelled = meeting_at(s["cohort"], timezone.now() + timedelta(days=10), number=2)
    Meeting.objects.filter(pk=cancelled.pk).update(status=MeetingStatus.CANCELLED)
    page = _client(s["lead"]).get(reverse("meetings:mine")).content.decode()
    led = page.split('id="led-heading"')[1].split("</section>")[0]
    rows = led.split("<li>")
    held = next(r for r in rows if f'/meetings/{s["meeting"].pk}/"' in r)
    off = next(r for r in rows if f'/meetings/{cancelled.pk}/"' in r)
    assert "Cancelled" in off and "Cancelled" not in held


def test_a_meeting_ended_early_is_no_longer_shown_as_the_next_one() -> None:
    """The facilitator ended it for everyone before its time: My groups and My meetings still
    offered it as the next meeting, whose page then said it had ended."""
    s = _setup(start=timezone.now() - timedelta(minutes=30))
    Meeting.objects.filter(pk=s["meeting"].pk).update(
        ended_at=timezone.now() - timedelta(minutes=5)
    )
    later = meeting_at(s["cohort"], timezone.now() + timedelta(days=7), number=2)
    client = _client(s["member"])
    groups = client.get(reverse("enrollment:my_groups")).content.decode()
    assert f'/meetings/{later.pk}/"' in groups and f'/meetings/{s["meeting"].pk}/"' not in groups
    page = client.get(reverse("meetings:mine")).content.decode()
    coming, earlier = page.split('id="past-heading"')
    assert f'/meetings/{s["meeting"].pk}/"' not in coming
    assert f'/meetings/{s["meeting"].pk}/"' in earlier
    rendered = render_to_string(
        "meetings/_member_group_panel.html",
        {"cohort": s["cohort"], "enrollment": None, "user": s["member"]},
    )
    assert f"/meetings/{s['meeting'].pk}/" not in rendered


def test_a_meeting_ended_early_says_when_in_the_viewers_zone() -> None:
    s = _setup(start=timezone.now() - timedelta(minutes=30))
    url = reverse("meetings:detail", kwargs={"pk": s["meeting"].pk})
    s["member"].time_zone = "America/Los_Angeles"
    s["member"].save(update_fields=["time_zone"])
    before = _client(s["member"]).get(url).content.decode()
    assert "earlier than planned" not in before and "<dt>Ends</dt>" in before
    ended = timezone.now() - timedelta(minutes=5)
    Meeting.objects.filter(pk=s["meeting"].pk).update(ended_at=ended)
    for viewer, zone in ((s["member"], "America/Los_Angeles"), (s["lead"], "America/New_York")):
        page = _client(viewer).get(url).content.decode()
        said = re.search(r"Ended <time[^>]*>([^<]*)</time>(.*?), earlier than planned\.", page)
        assert said is not None, zone
        assert said.group(1) == schedule.format_local(ended, zone)
        assert "<dt>Planned to end</dt>" in page
        assert "This meeting has ended." in page


def test_member_group_panel_shows_the_next_meeting() -> None:
    s = _setup()
    meeting_at(s["cohort"], timezone.now() - timedelta(days=7), number=2)  # already over
    cancelled = meeting_at(s["cohort"], timezone.now() + timedelta(days=1), number=3)
    Meeting.objects.filter(pk=cancelled.pk).update(status=MeetingStatus.CANCELLED)
    seat = s["cohort"].enrollments.get(member=s["member"])
    html = render_to_string(
        "meetings/_member_group_panel.html",
        {"cohort": s["cohort"], "enrollment": seat, "user": s["member"]},
    )
    assert reverse("meetings:detail", kwargs={"pk": s["meeting"].pk}) in html
    empty = render_to_string(
        "meetings/_member_group_panel.html",
        {"cohort": CohortFactory(), "enrollment": None, "user": s["member"]},
    )
    assert "No meetings are scheduled" in empty


def test_out_of_range_ids_and_tokens_are_plain_404s() -> None:
    s = _setup()
    client = _client(s["member"])
    huge = 10**30
    for name in ("meetings:detail", "meetings:ics", "meetings:attendance", "meetings:room"):
        assert client.get(reverse(name, kwargs={"pk": huge})).status_code == 404, name
    assert client.post(reverse("meetings:join", kwargs={"pk": huge})).status_code == 404
    assert client.get(reverse("meetings:feed", kwargs={"token": "x" * 500})).status_code == 404
    staff = _client(s["coordinator"])
    assert staff.get(reverse("meetings:schedule", kwargs={"pk": huge})).status_code == 404


def test_skip_and_cancel_ask_for_confirmation_first() -> None:
    s = _setup()
    staff = _client(s["coordinator"])
    for name, button in (
        ("meetings:skip", "Skip this week"),
        ("meetings:cancel", "Cancel this meeting"),
    ):
        page = staff.get(reverse(name, kwargs={"pk": s["meeting"].pk}))
        assert page.status_code == 200
        assert button in page.content.decode()
    s["meeting"].refresh_from_db()
    assert s["meeting"].ics_sequence == 0 and s["meeting"].status == MeetingStatus.SCHEDULED
    staff.post(reverse("meetings:cancel", kwargs={"pk": s["meeting"].pk}))
    s["meeting"].refresh_from_db()
    assert s["meeting"].status == MeetingStatus.CANCELLED


def test_group_schedules_list_shows_coordinators_every_group_and_leads_their_own() -> None:
    s = _setup()
    draft = CohortFactory(status=CohortStatus.DRAFT, name="Spring draft")
    everyone = _client(s["coordinator"]).get(reverse("meetings:groups")).content.decode()
    assert "Spring draft" in everyone and "Tuesday evenings" in everyone
    assert "Not scheduled yet" in everyone
    own = _client(s["lead"]).get(reverse("meetings:groups")).content.decode()
    assert "Tuesday evenings" in own and "Spring draft" not in own
    del draft


def test_group_schedules_table_is_named_and_each_row_is_headed_by_its_group() -> None:
    # Too wide for a phone, the table scrolls in a box named after its caption; each row's
    # cells are read out with the group they belong to.
    s = _setup()
    page = _client(s["coordinator"]).get(reverse("meetings:groups")).content.decode()
    assert re.search(
        r'<table class="table">\s*<caption class="visually-hidden">Groups, when each starts', page
    )
    assert re.search(r'<th scope="row"><a href="[^"]+">[^<]*Tuesday evenings</a>', page)


def test_group_schedules_list_names_each_groups_clock_by_place_not_zone_code() -> None:
    s = _setup()
    CohortFactory(
        lead=s["lead"],
        name="Pacific evenings",
        time_zone="America/Los_Angeles",
        start_time=time(18, 30),
    )
    page = _client(s["lead"]).get(reverse("meetings:groups")).content.decode()
    assert "6:30 pm Los Angeles time" in page
    assert "America/Los_Angeles" not in page and "America/New_York" not in page


def test_facilitator_sees_refused_joins_on_the_meeting_page_and_feed_use_is_shown() -> None:
    s = _setup(kind=ProgramKind.THERAPY, start=timezone.now())
    _client(s["member"]).post(
        reverse("meetings:join", kwargs={"pk": s["meeting"].pk}), {"state": "TX"}
    )
    page = _client(s["lead"]).get(reverse("meetings:detail", kwargs={"pk": s["meeting"].pk}))
    assert "said they were in Texas" in page.content.decode()
    member_page = _client(s["member"]).get(
        reverse("meetings:detail", kwargs={"pk": s["meeting"].pk})
    )
    assert "said they were in" not in member_page.content.decode()

    client = _client(s["member"])
    url = _feed_url(client)
    assert b"no calendar has fetched it yet" in client.get(reverse("meetings:mine")).content
    Client().get(url)
    assert b"a calendar last fetched it" in client.get(reverse("meetings:mine")).content


def test_a_refusal_settled_by_joining_from_an_allowed_state_is_not_followed_up() -> None:
    s = _setup(kind=ProgramKind.THERAPY, start=timezone.now())
    s["member"].display_name = "Ana"
    s["member"].save()
    still_out = member_of(s["cohort"], display_name="Bo")
    join = reverse("meetings:join", kwargs={"pk": s["meeting"].pk})
    ana, bo = _client(s["member"]), _client(still_out)
    assert ana.post(join, {"state": "TX"}).status_code == 403
    assert bo.post(join, {"state": "CA"}).status_code == 403
    assert ana.post(join, {"state": "NY"}).status_code == 302
    # Bo joined from New York first and later tried again from California: that one is open.
    LocationAttestation.objects.filter(member=still_out).update(at=timezone.now())
    LocationAttestation.objects.create(
        member=still_out,
        meeting=s["meeting"],
        state="NY",
        allowed=True,
        at=timezone.now() - timedelta(minutes=1),
    )

    detail = _client(s["lead"]).get(reverse("meetings:detail", kwargs={"pk": s["meeting"].pk}))
    warning = detail.content.decode().split('class="notice notice-warning"')[1].split("</div>")[0]
    assert "Bo (said they were in California" in warning
    assert "Ana" not in warning
    assert "Ana could not join in Texas" in detail.content.decode()
    assert "then joined in New York" in detail.content.decode()

    sheet = _client(s["lead"]).get(reverse("meetings:attendance", kwargs={"pk": s["meeting"].pk}))
    text = sheet.content.decode()
    follow_ups = [line for line in text.splitlines() if "Please follow up" in line]
    assert len(follow_ups) == 1 and "Bo said they were in California" in follow_ups[0]
    assert "Ana said they were in Texas" in text
    assert "they then joined in New York" in text


def test_a_leaders_feed_carries_the_meetings_they_lead() -> None:
    s = _setup()
    for who in ("lead", "co"):
        body = Client().get(_feed_url(_client(s[who]))).content
        uids = {str(e["UID"]) for e in Calendar.from_ical(body).walk("VEVENT")}
        assert uids == {s["meeting"].uid}, who
    # Someone who neither leads nor has a seat gets none of them.
    body = Client().get(_feed_url(_client(s["other_member"]))).content
    assert s["meeting"].uid not in {str(e["UID"]) for e in Calendar.from_ical(body).walk("VEVENT")}


def test_a_members_calendar_does_not_name_their_group_and_its_leaders_does() -> None:
    """A group's own name can say what its members are treated for; members' e-mails never name
    it, and neither do the events in their calendars, which family or an employer may see."""
    s = _setup()
    s["cohort"].name = "Grief and loss, Tuesdays"
    s["cohort"].save()
    ics = reverse("meetings:ics", kwargs={"pk": s["meeting"].pk})

    def texts(body: bytes) -> str:
        calendar = Calendar.from_ical(body)
        events = calendar.walk("VEVENT")
        assert [str(e["UID"]) for e in events] == [s["meeting"].uid]
        return " ".join(
            [str(calendar.get("X-WR-CALNAME")), str(calendar.get("NAME"))]
            + [str(e[key]) for e in events for key in ("SUMMARY", "DESCRIPTION")]
        )

    member = _client(s["member"])
    for body in (Client().get(_feed_url(member)).content, member.get(ics).content):
        seen = texts(body)
        assert "circlecare group meeting" in seen
        assert "Grief" not in seen and "Closer" not in seen
    for who in ("lead", "co", "coordinator"):
        assert "Grief and loss, Tuesdays" in texts(_client(s[who]).get(ics).content), who
    for who in ("lead", "co"):
        assert "Grief and loss, Tuesdays" in texts(Client().get(_feed_url(_client(s[who]))).content)


def test_a_new_pattern_moves_the_feeds_last_modified_with_its_sequence() -> None:
    """Calendars that go by LAST-MODIFIED kept the old times after a new weekly pattern: the
    moved meetings' SEQUENCE grew, but their LAST-MODIFIED stayed where it was."""
    s = _setup()
    later = meeting_at(s["cohort"], s["meeting"].starts_at + timedelta(weeks=1), number=2)
    yesterday = timezone.now() - timedelta(days=1)
    Meeting.objects.filter(cohort=s["cohort"]).update(updated_at=yesterday)
    url = _feed_url(_client(s["member"]))

    def events() -> list[Any]:
        body = Client().get(url).content
        return list(Calendar.from_ical(body).walk("VEVENT"))

    assert [e.decoded("LAST-MODIFIED") for e in events()] == [yesterday.replace(microsecond=0)] * 2
    new_day = later.local_date + timedelta(days=1)
    _client(s["coordinator"]).post(
        reverse("meetings:pattern", kwargs={"pk": s["cohort"].pk}),
        {"from_date": new_day.isoformat(), "start_time": "18:00"},
    )
    after = events()
    assert [str(e["UID"]) for e in after] == [s["meeting"].uid, later.uid]
    for event in after:
        assert int(event["SEQUENCE"]) == 1
        assert event.decoded("LAST-MODIFIED") > yesterday + timedelta(hours=23)


def test_a_cancelled_groups_meetings_stay_in_the_feed_marked_cancelled() -> None:
    """A calendar that copied the meetings must be told they are off, not lose sight of them."""
    from circlecare.enrollment.services import cancel_cohort

    s = _setup()
    url = _feed_url(_client(s["member"]))
    before = s["meeting"].updated_at
    cancel_cohort(cohort=s["cohort"], actor=s["coordinator"])
    events = Calendar.from_ical(Client().get(url).content).walk("VEVENT")
    assert [(str(e["UID"]), str(e["STATUS"]), int(e["SEQUENCE"])) for e in events] == [
        (s["meeting"].uid, "CANCELLED", 1)
    ]
    s["meeting"].refresh_from_db()
    assert s["meeting"].updated_at > before  # the calendar's LAST-MODIFIED moves


def test_someone_who_leaves_the_group_gets_no_more_of_its_reminders_or_events() -> None:
    from django.core import mail

    from circlecare.meetings import reminders
    from circlecare.meetings.models import ReminderKind

    s = _setup()
    stays = member_of(s["cohort"])
    url = _feed_url(_client(s["member"]))
    assert [
        str(e["UID"]) for e in Calendar.from_ical(Client().get(url).content).walk("VEVENT")
    ] == [s["meeting"].uid]
    enrollment_services.withdraw(
        enrollment=Enrollment.objects.get(member=s["member"], cohort=s["cohort"])
    )
    assert Calendar.from_ical(Client().get(url).content).walk("VEVENT") == []
    due = s["meeting"].starts_at - timedelta(minutes=55)
    reminders.send_reminders(s["meeting"].pk, ReminderKind.HOUR, now=due)
    reminded = {m.to[0] for m in mail.outbox}
    assert stays.email in reminded and s["member"].email not in reminded


def test_a_cancelled_group_adds_nothing_to_the_feeds_of_those_who_were_only_waiting() -> None:
    """Someone on the waiting list or with an open offer never had the meetings in their
    calendar; a cancellation must not put the group's meetings there, nor the ones it already
    held as if they had been theirs."""
    from circlecare.enrollment.services import cancel_cohort
    from tests.factories import EnrollmentFactory

    s = _setup()
    held = meeting_at(
        s["cohort"], timezone.now() - timedelta(days=4), number=2, status=MeetingStatus.HELD
    )
    waiting, offered = UserFactory(), UserFactory()
    EnrollmentFactory(member=waiting, cohort=s["cohort"], status="waitlisted", confirmed_at=None)
    EnrollmentFactory(
        member=offered,
        cohort=s["cohort"],
        status="offered",
        offered_at=timezone.now(),
        offer_expires_at=timezone.now() + timedelta(days=1),
        confirmed_at=None,
    )
    urls = {who: _feed_url(_client(who)) for who in (s["member"], waiting, offered)}
    cancel_cohort(cohort=s["cohort"], actor=s["coordinator"])
    for who in (waiting, offered):
        assert Calendar.from_ical(Client().get(urls[who]).content).walk("VEVENT") == []
    # The member who had a seat is told the meeting ahead is off and keeps the one held.
    events = Calendar.from_ical(Client().get(urls[s["member"]]).content).walk("VEVENT")
    assert {(str(e["UID"]), str(e["STATUS"])) for e in events} == {
        (held.uid, "CONFIRMED"),
        (s["meeting"].uid, "CANCELLED"),
    }


def test_feed_query_count_does_not_grow_with_meetings(
    django_assert_max_num_queries: Any,
) -> None:
    from tests.factories import EnrollmentFactory

    member = UserFactory()
    client = _client(member)
    url = _feed_url(client)

    def add(n: int) -> None:
        for _ in range(n):
            cohort = CohortFactory()
            EnrollmentFactory(member=member, cohort=cohort)
            meeting_at(cohort, timezone.now() + timedelta(days=2))

    add(1)
    with django_assert_max_num_queries(6) as small:
        assert Client().get(url).status_code == 200
    add(6)
    with django_assert_max_num_queries(len(small.captured_queries)):
        body = Client().get(url).content
    assert len(Calendar.from_ical(body).walk("VEVENT")) == 7


def test_a_new_agreement_version_must_be_signed_before_joining_the_next_meeting() -> None:
    from circlecare.enrollment.models import ConsentDocument, ConsentKind, ConsentSignature

    s = _setup(start=timezone.now() + timedelta(minutes=5))
    document = ConsentDocument.objects.create(
        kind=ConsentKind.TELEHEALTH, version=2, title="Meeting online (v2)", body="…",
        effective_at=timezone.now() - timedelta(days=1),
    )  # fmt: skip
    client = _client(s["member"])
    response = client.post(reverse("meetings:join", kwargs={"pk": s["meeting"].pk}))
    assert response.status_code == 302
    assert response["Location"].startswith(
        reverse("enrollment:consents", kwargs={"cohort_id": s["cohort"].pk})
    )
    assert not Attendance.objects.filter(meeting=s["meeting"], member=s["member"]).exists()
    ConsentSignature.objects.create(
        member=s["member"], document=document, signed_at=timezone.now(), signed_name="Member"
    )
    response = client.post(reverse("meetings:join", kwargs={"pk": s["meeting"].pk}))
    assert response["Location"] == reverse("meetings:room", kwargs={"pk": s["meeting"].pk})


def test_a_version_taking_effect_inside_the_join_window_is_offered_where_join_sends_them() -> None:
    """The Join button asks for the versions in force when the meeting starts: the agreements
    page it sends the member to offers the same ones, rather than saying all are signed."""
    from circlecare.enrollment.models import ConsentDocument, ConsentKind

    s = _setup(start=timezone.now() + timedelta(minutes=5))
    document = ConsentDocument.objects.create(
        kind=ConsentKind.TELEHEALTH, version=2, title="Meeting online (v2)", body="…",
        effective_at=timezone.now() + timedelta(minutes=2),
    )  # fmt: skip
    client = _client(s["member"])
    join = reverse("meetings:join", kwargs={"pk": s["meeting"].pk})
    agreements = client.post(join, follow=True)
    assert agreements.redirect_chain[0][0].startswith(
        reverse("enrollment:consents", kwargs={"cohort_id": s["cohort"].pk})
    )
    assert "Meeting online (v2)" in agreements.content.decode()
    signed = {f"agree_{document.pk}": "on", "adult": "on", "signed_name": "Member"}
    assert client.post(agreements.redirect_chain[-1][0], signed).status_code == 302
    assert client.post(join)["Location"] == reverse("meetings:room", kwargs={"pk": s["meeting"].pk})


def test_a_member_asked_to_leave_is_told_why_and_offered_no_join_button() -> None:
    from circlecare.meetings.live.models import RoomRemoval

    s = _setup(start=timezone.now() - timedelta(minutes=5))
    client = _client(s["member"])
    client.post(reverse("meetings:join", kwargs={"pk": s["meeting"].pk}))
    RoomRemoval.objects.create(
        meeting=s["meeting"], user=s["member"], removed_by=s["lead"], reason="Talking over others"
    )
    room = client.get(reverse("meetings:room", kwargs={"pk": s["meeting"].pk}), follow=True)
    page = room.content.decode()
    assert "A facilitator asked you to leave this meeting" in page
    assert reverse("meetings:join", kwargs={"pk": s["meeting"].pk}) not in page
    assert "Talking over others" not in page  # the reason stays with the practice


def test_a_therapy_member_refused_for_where_they_are_is_told_why_at_the_room() -> None:
    s = _setup(kind=ProgramKind.THERAPY, start=timezone.now() - timedelta(minutes=5))
    client = _client(s["member"])
    join = reverse("meetings:join", kwargs={"pk": s["meeting"].pk})
    client.post(join, {"state": "NY"})
    assert client.get(reverse("meetings:room", kwargs={"pk": s["meeting"].pk})).status_code == 200
    assert client.post(join, {"state": "CA"}).status_code == 403
    room = client.get(reverse("meetings:room", kwargs={"pk": s["meeting"].pk}), follow=True)
    assert room.redirect_chain[-1][0] == reverse("meetings:detail", kwargs={"pk": s["meeting"].pk})
    assert "You said you&#x27;re in California" in room.content.decode()


def test_asking_to_change_a_meeting_that_can_no_longer_change_says_so() -> None:
    s = _setup()
    staff = _client(s["coordinator"])
    staff.post(reverse("meetings:cancel", kwargs={"pk": s["meeting"].pk}))
    again = staff.get(reverse("meetings:cancel", kwargs={"pk": s["meeting"].pk}), follow=True)
    assert "This meeting is already cancelled." in again.content.decode()
    assert "Cancel the meeting on" not in again.content.decode()


def test_a_skip_sent_twice_skips_one_week_only() -> None:
    """The confirmation sent again (a double press, or back and send): one week, not two."""
    s = _setup()
    staff = _client(s["coordinator"])
    url = reverse("meetings:skip", kwargs={"pk": s["meeting"].pk})
    page = staff.get(url).content.decode()
    sequence = re.search(r'name="sequence" value="(\d+)"', page)
    assert sequence is not None
    was = s["meeting"].starts_at
    first = staff.post(url, {"sequence": sequence.group(1)}, follow=True)
    assert "That week is skipped" in first.content.decode()
    again = staff.post(url, {"sequence": sequence.group(1)}, follow=True)
    assert "This meeting has changed since the page was shown" in again.content.decode()
    s["meeting"].refresh_from_db()
    assert s["meeting"].starts_at - was == timedelta(weeks=1)


def test_the_move_page_of_a_meeting_that_can_no_longer_move_says_so() -> None:
    """Not a form to fill in, only to be told afterwards that the meeting can't be moved."""
    started = _setup(start=timezone.now() - timedelta(minutes=5))
    staff = _client(started["coordinator"])
    page = staff.get(reverse("meetings:move", kwargs={"pk": started["meeting"].pk}), follow=True)
    assert "This meeting has already started, so it can&#x27;t be changed now." in (
        page.content.decode()
    )
    assert "New start time" not in page.content.decode()
    s = _setup()
    staff.post(reverse("meetings:cancel", kwargs={"pk": s["meeting"].pk}))
    page = staff.get(reverse("meetings:move", kwargs={"pk": s["meeting"].pk}), follow=True)
    assert page.redirect_chain[-1][0] == reverse("meetings:schedule", kwargs={"pk": s["cohort"].pk})
    assert "This meeting is already cancelled." in page.content.decode()


def test_a_group_cancelled_before_its_meetings_were_made_offers_none_to_make() -> None:
    cohort = CohortFactory(status=CohortStatus.CANCELLED)
    staff = _client(coordinator())
    url = reverse("meetings:schedule", kwargs={"pk": cohort.pk})
    page = staff.get(url).content.decode()
    assert "This group is cancelled, so it has no meetings to schedule." in page
    assert reverse("meetings:open", kwargs={"pk": cohort.pk}) not in page
    refused = staff.post(reverse("meetings:open", kwargs={"pk": cohort.pk}), follow=True)
    assert "This group is cancelled, so it has no meetings to schedule." in (
        refused.content.decode()
    )
    assert "Open the group first." not in refused.content.decode()
    assert not cohort.meetings.exists()


def test_a_draft_whose_first_meeting_has_passed_says_so_instead_of_opening() -> None:
    cohort = CohortFactory(
        status=CohortStatus.DRAFT, first_meeting_date=date(2025, 1, 6), weekday=0
    )
    staff = _client(coordinator())
    url = reverse("meetings:schedule", kwargs={"pk": cohort.pk})
    page = staff.get(url).content.decode()
    assert "(Mon 06 Jan 2025) has already passed, so it can&#x27;t be opened" in page
    assert "Open this group and create these meetings" not in page

    response = staff.post(reverse("meetings:open", kwargs={"pk": cohort.pk}), follow=True)
    assert "has already passed, so it can&#x27;t be opened" in response.content.decode()
    assert "The group is open" not in response.content.decode()
    cohort.refresh_from_db()
    assert cohort.status == CohortStatus.DRAFT
    assert not Meeting.objects.filter(cohort=cohort).exists()


def test_moving_a_meeting_into_the_hour_clocks_skip_says_when_it_really_starts() -> None:
    from circlecare.meetings import services

    # Next year's second Sunday of March, when New York's clocks jump from 2:00 to 3:00 am.
    march = date(timezone.localdate().year + 1, 3, 1)
    spring_forward = march + timedelta(days=(6 - march.weekday()) % 7 + 7)
    cohort = CohortFactory(
        status=CohortStatus.DRAFT,
        program=ProgramFactory(weeks=3),
        first_meeting_date=spring_forward - timedelta(weeks=1),
        weekday=6,
        start_time=time(18, 0),
        time_zone="America/New_York",
    )
    staff_member = coordinator()
    week_2 = services.open_cohort(cohort=cohort, actor=staff_member)[1]
    response = _client(staff_member).post(
        reverse("meetings:move", kwargs={"pk": week_2.pk}),
        {"local_date": spring_forward.isoformat(), "local_time": "02:30"},
        follow=True,
    )
    page = response.content.decode()
    assert (
        "The meeting has moved and members are told. 2:30 am does not exist on this date "
        "(clocks go forward); the meeting starts at 3:30 am."
    ) in page
    week_2.refresh_from_db()
    assert week_2.starts_at.astimezone(ZoneInfo("America/New_York")).time() == time(3, 30)


def test_a_new_pattern_says_which_meetings_a_clock_change_adjusts() -> None:
    """As a move does: staff setting 2:30 am on Sundays hear, when they save, that on the
    spring-forward Sunday the meeting is at 3:30 am, and on the fall-back one at the first
    1:30 am for a 1:30 pattern."""
    from circlecare.meetings.services import create_meetings

    cohort = CohortFactory(
        program=ProgramFactory(weeks=3),
        first_meeting_date=date(2026, 2, 24),
        weekday=1,
        start_time=time(19, 0),
        time_zone="America/New_York",
    )
    staff = coordinator()
    client = _client(staff)
    url = reverse("meetings:pattern", kwargs={"pk": cohort.pk})
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(timezone, "now", lambda: datetime(2026, 2, 20, tzinfo=UTC))
        create_meetings(cohort=cohort, actor=staff)
        done = client.post(url, {"from_date": "2026-03-01", "start_time": "02:30"}, follow=True)
        said = [str(m) for m in done.context["messages"]]
        assert said == [
            "The future meetings follow the new pattern; members are told. Sun 8 Mar: 2:30 am "
            "does not exist on this date (clocks go forward); the meeting starts at 3:30 am."
        ]
        done = client.post(url, {"from_date": "2026-10-25", "start_time": "01:30"}, follow=True)
        said = [str(m) for m in done.context["messages"]]
        assert said == [
            "The future meetings follow the new pattern; members are told. Sun 1 Nov: 1:30 am "
            "happens twice on this date (clocks go back); the meeting is at the first 1:30 am "
            "(EDT)."
        ]
        # A pattern clear of clock changes says nothing more.
        done = client.post(url, {"from_date": "2026-04-05", "start_time": "19:00"}, follow=True)
        said = [str(m) for m in done.context["messages"]]
        assert said == ["The future meetings follow the new pattern; members are told."]


def test_skipping_a_week_says_when_a_moved_meeting_lands_on_a_clock_change() -> None:
    from circlecare.meetings.services import create_meetings

    # Sundays at 2:30 am New York, 22 February and 1 March 2026: skipping the first moves the
    # second onto 8 March, when clocks jump from 2 am to 3 am.
    cohort = CohortFactory(
        program=ProgramFactory(weeks=2),
        first_meeting_date=date(2026, 2, 22),
        weekday=6,
        start_time=time(2, 30),
        time_zone="America/New_York",
    )
    staff = coordinator()
    client = _client(staff)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(timezone, "now", lambda: datetime(2026, 2, 20, tzinfo=UTC))
        first, _second = create_meetings(cohort=cohort, actor=staff)
        done = client.post(reverse("meetings:skip", kwargs={"pk": first.pk}), follow=True)
    said = [str(m) for m in done.context["messages"]]
    assert said == [
        "That week is skipped; the later meetings are each a week later and members are told. "
        "Sun 8 Mar: 2:30 am does not exist on this date (clocks go forward); the meeting starts "
        "at 3:30 am."
    ]


def test_a_cancelled_meetings_page_does_not_tell_the_member_attendance_is_to_come() -> None:
    s = _setup()
    url = reverse("meetings:detail", kwargs={"pk": s["meeting"].pk})
    assert "Not recorded yet" in _client(s["member"]).get(url).content.decode()
    _client(s["coordinator"]).post(reverse("meetings:cancel", kwargs={"pk": s["meeting"].pk}))
    body = _client(s["member"]).get(url).content.decode()
    assert "This meeting is cancelled." in body
    assert "Not recorded yet" not in body

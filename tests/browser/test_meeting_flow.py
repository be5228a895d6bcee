"""A member in London sees her New York group's next meeting in London time, saves it to her
calendar and joins inside the window."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone
from icalendar import Calendar
from playwright.sync_api import expect

from circlecare.meetings.models import Attendance, AttendanceStatus
from circlecare.meetings.schedule import format_for_viewer
from circlecare.programs.models import ProgramKind
from tests.browser.conftest import axe_serious
from tests.factories import PASSWORD, CohortFactory, LicenseFactory, ProgramFactory
from tests.meetings.factories import meeting_at, member_of

pytestmark = pytest.mark.django_db(transaction=True)


def test_london_member_sees_new_york_meeting_downloads_it_and_joins(
    live_server: Any, new_page: Any, tmp_path: Path
) -> None:
    lic = LicenseFactory(state="NY")
    cohort = CohortFactory(
        program=ProgramFactory(kind=ProgramKind.SKILLS, title="DBT skills"),
        lead=lic.clinician.user,
        name="New York evenings",
        time_zone="America/New_York",
    )
    member = member_of(cohort, time_zone="Europe/London", home_state="XX")
    # Starts in five minutes: inside the join window, which opens ten minutes before.
    start = (timezone.now() + timedelta(minutes=5)).replace(second=0, microsecond=0)
    meeting = meeting_at(cohort, start)
    london, new_york = format_for_viewer(start, "Europe/London", "America/New_York")
    assert new_york is not None  # London and New York clocks always differ

    page = new_page(timezone_id="Europe/London", accept_downloads=True)
    page.goto(f"{live_server.url}/accounts/login/")
    page.locator("input[name=login]").fill(member.email)
    page.locator("input[name=password]").fill(PASSWORD)
    page.get_by_role("button", name="Log in", exact=True).click()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()
    page.goto(f"{live_server.url}/meetings/")
    expect(page.get_by_role("heading", name="My meetings")).to_be_visible()
    card = page.locator("li.card").first
    expect(card).to_contain_text(london)
    expect(card).to_contain_text(new_york)
    assert axe_serious(page) == []

    page.get_by_role("link", name="DBT skills — New York evenings, week 1").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Week 1 meeting")
    expect(page.locator(".lead time[data-local-time]")).to_have_text(london)
    expect(page.locator(".lead [data-group-time]")).to_contain_text(new_york)
    assert axe_serious(page) == []

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Add to my calendar (.ics)").click()
    saved = tmp_path / "meeting.ics"
    download_info.value.save_as(saved)
    events = Calendar.from_ical(saved.read_bytes()).walk("VEVENT")
    assert len(events) == 1
    assert str(events[0]["UID"]) == meeting.uid
    assert events[0].decoded("DTSTART") == start

    page.get_by_role("button", name="Join the meeting").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("New York evenings")
    expect(page.get_by_text("Nothing here is recorded", exact=False)).to_be_visible()
    assert axe_serious(page) == []
    assert Attendance.objects.get(meeting=meeting, member=member).status == (
        AttendanceStatus.ATTENDED
    )

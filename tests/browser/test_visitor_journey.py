"""A visitor in London finds a New York group, sees its times in London time and writes to us."""

from __future__ import annotations

from datetime import time, timedelta
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from circlecare.inquiries.models import Inquiry
from circlecare.programs.models import ProgramKind
from tests.browser.conftest import axe_serious
from tests.factories import (
    CohortFactory,
    LicenseFactory,
    ProgramFactory,
    ProgramWeekFactory,
    next_weekday,
)

pytestmark = pytest.mark.django_db(transaction=True)


def test_visitor_home_to_cohort_to_contact(live_server: Any, new_page: Any) -> None:
    lic = LicenseFactory(state="NY")
    program = ProgramFactory(
        title="Closer: a therapy group for relationships",
        slug="closer",
        kind=ProgramKind.THERAPY,
        focus="relationships",
    )
    ProgramWeekFactory(program=program, number=1, topic="What brings us here")
    # A January date: New York is UTC-5 and London UTC+0, so 7:00 pm in New York is midnight in London.
    start = next_weekday(timezone.localdate() + timedelta(days=10), 1)
    CohortFactory(
        program=program,
        lead=lic.clinician.user,
        name="Tuesday evenings",
        first_meeting_date=start,
        weekday=start.weekday(),
        start_time=time(19, 0),
        time_zone="America/New_York",
        capacity=8,
    )

    page = new_page(timezone_id="Europe/London")
    page.goto(live_server.url + "/")
    expect(page.get_by_role("heading", level=1)).to_contain_text(
        "You don't have to work it out alone"
    )
    assert axe_serious(page) == []

    page.get_by_role("link", name="See upcoming groups").click()
    ProgramFactory(title="DBT Skills", kind=ProgramKind.SKILLS)
    page.reload()
    count = page.get_by_role("status").filter(has_text="Showing")
    expect(count).to_have_text("Showing 2 programs.")
    # The filter swaps the cards in; the status region stays and says what changed, briefly.
    page.get_by_label("Kind of group").select_option("therapy")
    expect(count).to_have_text("Showing 1 program that matches your choice.")
    expect(page.get_by_role("link", name="DBT Skills")).to_have_count(0)
    page.get_by_role("link", name=program.title).click()
    expect(page.get_by_role("heading", name="Week 1: What brings us here")).to_be_visible()
    assert axe_serious(page) == []

    page.get_by_role("link", name="Tuesday evenings").first.click()
    first = page.locator("dd time[data-local-time]").first
    # Rendered for the browser's own zone (London), with the group's own time beside it.
    expect(first).to_have_attribute("data-zone-known", "1")
    expect(first).to_contain_text("GMT" if start.month in (1, 2, 3, 10, 11, 12) else "BST")
    expect(page.locator("[data-group-time]").first).to_contain_text("in New York")
    expect(page.get_by_text("Serves residents of New York.")).to_be_visible()
    expect(page.get_by_text("8 of 8 left")).to_be_visible()
    assert axe_serious(page) == []

    # On the next page the server already knows the zone (the cookie), no script needed.
    page.reload()
    expect(page.locator("dd time[data-local-time]").first).to_have_attribute("data-zone-known", "1")

    page.get_by_role("link", name="Contact", exact=True).first.click()
    page.get_by_label("Your name").fill("Charlie")
    page.get_by_label("Your e-mail").fill("charlie@example.org")
    page.get_by_label("Where you live").select_option("XX")
    page.get_by_label("Which kind of group interests you?").select_option("care_circle")
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("we've got your message")
    assert axe_serious(page) == []
    assert Inquiry.objects.get().email == "charlie@example.org"


def test_contact_form_errors_are_announced_next_to_fields(live_server: Any, new_page: Any) -> None:
    page = new_page()
    page.goto(live_server.url + "/contact/")
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_role("alert").first).to_be_visible()
    expect(page.locator(".field-error").first).to_be_visible()
    assert axe_serious(page) == []
    assert Inquiry.objects.count() == 0


def test_a_visitor_in_los_angeles_reads_times_as_the_server_writes_them(
    live_server: Any, new_page: Any
) -> None:
    """First in the browser (the server does not know the zone yet), then from the server once
    the page has told it: the same text both times, with the zone's own abbreviation."""
    from circlecare.meetings.schedule import format_local, meeting_times

    start = next_weekday(timezone.localdate() + timedelta(days=10), 1)
    cohort = CohortFactory(
        first_meeting_date=start,
        weekday=start.weekday(),
        start_time=time(19, 0),
        time_zone="America/New_York",
    )
    expected = format_local(meeting_times(cohort)[0], "America/Los_Angeles")
    page = new_page(timezone_id="America/Los_Angeles")
    page.goto(live_server.url + cohort.get_absolute_url())
    first = page.locator("dd time[data-local-time]").first
    expect(first).to_have_attribute("data-zone-known", "1")
    expect(first).to_have_text(expected)
    page.reload()  # now from the server, which read the zone from the cookie
    expect(page.locator("dd time[data-local-time]").first).to_have_text(expected)


@pytest.mark.parametrize(
    ("group_zone", "start_at", "expected"),
    [
        # 7:00 pm in New York is 4:00 pm in Los Angeles, the same day, but already tomorrow in UTC.
        ("America/New_York", time(19, 0), r"^\(7:00 pm in New York\)$"),
        # 9:00 am in Tokyo is the day before in Los Angeles: the group's day is named.
        ("Asia/Tokyo", time(9, 0), r"^\(9:00 am on \w{3} \d{1,2} \w{3} in Tokyo\)$"),
    ],
)
def test_the_groups_own_time_is_written_for_the_browsers_zone_as_the_server_would(
    live_server: Any, new_page: Any, group_zone: str, start_at: time, expected: str
) -> None:
    """Before the server knows the visitor's zone, the page script writes both times; the note
    with the group's time must read as the server writes it once it knows the zone."""
    import re

    start = next_weekday(timezone.localdate() + timedelta(days=10), 1)
    cohort = CohortFactory(
        program=ProgramFactory(kind=ProgramKind.SKILLS),
        first_meeting_date=start,
        weekday=start.weekday(),
        start_time=start_at,
        time_zone=group_zone,
    )
    page = new_page(timezone_id="America/Los_Angeles")
    page.goto(live_server.url + cohort.get_absolute_url())
    first = page.locator("dd time[data-local-time]").first
    expect(first).to_have_attribute("data-zone-known", "1")
    note = page.locator("dd [data-group-time]").first
    expect(note).to_have_text(re.compile(expected))
    written_by_script = note.text_content()
    page.reload()  # the cookie now tells the server the zone
    expect(page.locator("dd [data-group-time]").first).to_have_text(written_by_script or "")

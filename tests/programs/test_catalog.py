"""Public pages: home, program list and filters, program page, cohort page."""

from __future__ import annotations

import html
from datetime import date, time, timedelta
from html.parser import HTMLParser
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from circlecare.programs.models import CohortStatus, ProgramKind
from tests.factories import (
    CohortFactory,
    CompactPrivilegeFactory,
    EnrollmentFactory,
    LicenseFactory,
    ProgramFactory,
    ProgramWeekFactory,
    UserFactory,
    next_weekday,
)

pytestmark = pytest.mark.django_db


def count_queries(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


def make_cohorts(program: object, n: int) -> None:
    lic = LicenseFactory(state="NJ")
    start = next_weekday(timezone.localdate() + timedelta(days=10), 1)
    for i in range(n):
        cohort = CohortFactory(
            program=program,
            lead=lic.clinician.user,
            first_meeting_date=start,
            weekday=start.weekday(),
            name=f"Group {i}",
        )
        if i % 2 == 0:
            EnrollmentFactory(cohort=cohort)


def test_home_explains_the_three_kinds(client: Client) -> None:
    body = client.get(reverse("home")).content.decode()
    for words in ("Therapy groups", "Skills groups", "Care circles", "988"):
        assert words in body


def test_program_list_filters_by_kind_and_focus(client: Client) -> None:
    ProgramFactory(title="Closer", kind=ProgramKind.THERAPY, focus="relationships")
    ProgramFactory(title="DBT Skills", kind=ProgramKind.SKILLS, focus="emotions")
    body = client.get(reverse("programs:list"), {"kind": "therapy"}).content.decode()
    assert "Closer" in body and "DBT Skills" not in body
    body = client.get(reverse("programs:list"), {"focus": "emotions"}).content.decode()
    assert "DBT Skills" in body and "Closer" not in body
    # An unknown filter value shows everything instead of failing.
    response = client.get(reverse("programs:list"), {"kind": "<script>", "focus": "x" * 5000})
    assert response.status_code == 200
    assert "Closer" in response.content.decode() and "<script>" not in response.content.decode()


def test_htmx_filter_returns_only_the_results(client: Client) -> None:
    ProgramFactory(title="Closer", kind=ProgramKind.THERAPY)
    response = client.get(reverse("programs:list"), {"kind": "therapy"}, HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert "Closer" in body and "<html" not in body


def test_htmx_filter_updates_the_count_in_its_status_region_not_the_cards(client: Client) -> None:
    """A screen reader hears the short count when the filters change, not every card again."""
    ProgramFactory(title="Closer", kind=ProgramKind.THERAPY)
    ProgramFactory(title="DBT Skills", kind=ProgramKind.SKILLS)
    page = client.get(reverse("programs:list")).content.decode()
    assert '<p id="program-count" class="muted" role="status">Showing 2 programs.</p>' in page
    assert '<div id="program-results">' in page  # the cards themselves are not a live region
    swapped = client.get(
        reverse("programs:list"), {"kind": "skills"}, HTTP_HX_REQUEST="true"
    ).content.decode()
    # Only the words go in: the region that screen readers are listening to stays in place.
    assert (
        '<p id="program-count" hx-swap-oob="innerHTML">'
        "Showing 1 program that matches your choice.</p>"
    ) in swapped
    none = client.get(
        reverse("programs:list"), {"focus": "grief"}, HTTP_HX_REQUEST="true"
    ).content.decode()
    assert "No programs match your choice." in none


class Headings(HTMLParser):
    """Heading levels in document order, each marked as before, inside or after #program-results."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, int]] = []
        self.region = "before"
        self.depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.region == "inside" and tag == "div":
            self.depth += 1
        if tag == "div" and ("id", "program-results") in attrs:
            self.region, self.depth = "inside", 1
        if len(tag) == 2 and tag[0] == "h" and tag[1] in "123456":
            self.found.append((self.region, int(tag[1])))

    def handle_endtag(self, tag: str) -> None:
        if self.region == "inside" and tag == "div":
            self.depth -= 1
            if self.depth == 0:
                self.region = "after"


def headings(html: str) -> list[tuple[str, int]]:
    parser = Headings()
    parser.feed(html)
    parser.close()
    return parser.found


def skipped_levels(levels: list[int]) -> list[tuple[int, int]]:
    return [(a, b) for a, b in pairwise(levels) if b > a + 1]


@pytest.mark.parametrize("query", [{}, {"kind": "skills"}])
def test_catalog_headings_go_down_one_level_at_a_time(
    client: Client, query: dict[str, str]
) -> None:
    ProgramFactory(title="DBT Skills", kind=ProgramKind.SKILLS)
    ProgramFactory(title="Closer", kind=ProgramKind.THERAPY)
    page = headings(client.get(reverse("programs:list"), query).content.decode())
    levels = [level for _, level in page]
    assert levels.count(1) == 1
    cards = [level for region, level in page if region == "inside"]
    assert cards and set(cards) == {3}
    outline = levels[levels.index(1) :]
    assert skipped_levels(outline) == [], outline

    # The filters swap the results in with htmx: the page around them plus the new results.
    swapped = headings(
        client.get(reverse("programs:list"), query, HTTP_HX_REQUEST="true").content.decode()
    )
    assert swapped and {region for region, _ in swapped} == {"before"}
    outline = (
        [level for region, level in page if region == "before"]
        + [level for _, level in swapped]
        + [level for region, level in page if region == "after"]
    )
    outline = outline[outline.index(1) :]
    assert skipped_levels(outline) == [], outline


def test_catalog_query_counts_do_not_grow_with_cohorts(client: Client) -> None:
    program = ProgramFactory(slug="small", kind=ProgramKind.THERAPY)
    make_cohorts(program, 5)
    small = {
        "list": count_queries(client, reverse("programs:list")),
        "home": count_queries(client, reverse("home")),
        "detail": count_queries(client, program.get_absolute_url()),
    }
    make_cohorts(program, 495)
    ProgramWeekFactory.create_batch(8, program=program)
    large = {
        "list": count_queries(client, reverse("programs:list")),
        "home": count_queries(client, reverse("home")),
        "detail": count_queries(client, program.get_absolute_url()),
    }
    assert small == large


def test_program_page_shows_outline_and_upcoming_groups_only(client: Client) -> None:
    program = ProgramFactory(title="DBT Skills")
    ProgramWeekFactory(program=program, number=1, topic="Wise mind")
    CohortFactory(program=program, name="Visible group")
    CohortFactory(program=program, name="Draft group", status=CohortStatus.DRAFT)
    CohortFactory(program=program, name="Old group", first_meeting_date=date(2020, 1, 7), weekday=1)
    body = client.get(program.get_absolute_url()).content.decode()
    assert "Week 1: Wise mind" in body
    assert "Visible group" in body
    assert "Draft group" not in body and "Old group" not in body


def test_unpublished_program_and_draft_cohort_are_404(client: Client) -> None:
    program = ProgramFactory(is_published=False)
    assert client.get(program.get_absolute_url()).status_code == 404
    draft = CohortFactory(status=CohortStatus.DRAFT)
    assert client.get(draft.get_absolute_url()).status_code == 404
    assert client.get(reverse("programs:cohort", args=[999999])).status_code == 404
    assert client.get("/groups/no-such-program/").status_code == 404


def test_cohort_page_shows_seats_leader_states_and_times_in_viewer_zone(client: Client) -> None:
    lic = LicenseFactory(state="NY")
    LicenseFactory(clinician=lic.clinician, state="FL")
    CompactPrivilegeFactory(
        clinician=lic.clinician,
        state="PA",
        home_license=LicenseFactory(clinician=lic.clinician, state="NJ"),
    )
    program = ProgramFactory(kind=ProgramKind.THERAPY, weeks=8)
    start = next_weekday(timezone.localdate() + timedelta(days=10), 1)
    cohort = CohortFactory(
        program=program,
        lead=lic.clinician.user,
        capacity=8,
        first_meeting_date=start,
        weekday=start.weekday(),
        start_time=time(19, 0),
        time_zone="America/New_York",
    )
    EnrollmentFactory.create_batch(3, cohort=cohort)
    client.cookies["tz"] = "Europe/London"
    body = client.get(cohort.get_absolute_url()).content.decode()
    assert "5 of 8 left" in body
    assert "Serves residents of Florida, New Jersey, New York and Pennsylvania." in body
    assert lic.clinician.user.display_name in body
    assert "7:00 pm on " in body and " in New York)" in body
    assert "GMT" in body or "BST" in body


def test_expired_licence_is_not_listed_as_served(client: Client) -> None:
    lic = LicenseFactory(state="NY")
    LicenseFactory(
        clinician=lic.clinician, state="FL", valid_to=timezone.localdate() + timedelta(days=20)
    )
    program = ProgramFactory(kind=ProgramKind.THERAPY, weeks=8)
    cohort = CohortFactory(program=program, lead=lic.clinician.user)
    body = client.get(cohort.get_absolute_url()).content.decode()
    assert "Serves residents of New York." in body


def test_full_cohort_says_waiting_list(client: Client) -> None:
    cohort = CohortFactory(capacity=2)
    EnrollmentFactory.create_batch(2, cohort=cohort)
    body = client.get(cohort.get_absolute_url()).content.decode()
    assert "Full" in body and "waiting list" in body


def test_cohort_page_follows_stored_meetings_after_a_move(client: Client) -> None:
    from circlecare.meetings.services import create_meetings, move_meeting

    cohort = CohortFactory(time_zone="America/New_York", start_time=time(19, 0))
    coordinator = UserFactory(is_staff=True)
    meetings = create_meetings(cohort=cohort, actor=coordinator)
    first = meetings[0]
    move_meeting(
        meeting=first, local_date=first.local_date, local_time=time(18, 0), actor=coordinator
    )
    client.cookies["tz"] = "America/New_York"
    body = client.get(cohort.get_absolute_url()).content.decode()
    assert "Week 1: " in body
    week_one = body.split("Week 1: ", 1)[1][:200]
    assert "6:00 pm" in week_one and "7:00 pm" not in week_one


def test_a_couples_group_counts_its_room_in_couples(client: Client) -> None:
    """Couples take two seats at once: the room is said in couples, and one free seat is full."""
    program = ProgramFactory(for_couples=True)
    cohort = CohortFactory(program=program, capacity=5)

    def pages() -> list[str]:
        return [
            client.get(url).content.decode()
            for url in (cohort.get_absolute_url(), program.get_absolute_url())
        ]

    for body in pages():
        assert "Room for 2 couples" in body
        assert "of 5 left" not in body
    EnrollmentFactory.create_batch(2, cohort=cohort)
    for body in pages():
        assert "Room for 1 more couple" in body
        assert "Room for 1 more couples" not in body
    # One seat is still free, and no couple can take it: the group is full for joining.
    EnrollmentFactory.create_batch(2, cohort=cohort)
    for body in pages():
        assert "1 of 5 left" not in body and "Room for" not in body
        assert "Full — you and your partner can join the waiting list together" in body


def test_a_couples_group_with_two_free_seats_and_a_waiting_couple_is_full(client: Client) -> None:
    """A couple joins the waiting list while anyone is on it, so the page says so."""
    cohort = CohortFactory(program=ProgramFactory(for_couples=True), capacity=4)
    EnrollmentFactory.create_batch(2, cohort=cohort, status="waitlisted", confirmed_at=None)
    body = client.get(cohort.get_absolute_url()).content.decode()
    assert "Room for" not in body
    assert "join the waiting list together" in body


def test_couples_catalog_query_counts_do_not_grow_with_cohorts(client: Client) -> None:
    program = ProgramFactory(slug="together", for_couples=True)
    make_cohorts(program, 3)
    small = count_queries(client, program.get_absolute_url())
    make_cohorts(program, 30)
    assert count_queries(client, program.get_absolute_url()) == small
    cohort = program.cohorts.first()
    assert cohort is not None
    EnrollmentFactory(cohort=cohort)
    one_cohort = count_queries(client, cohort.get_absolute_url())
    EnrollmentFactory.create_batch(3, cohort=cohort, status="waitlisted", confirmed_at=None)
    assert count_queries(client, cohort.get_absolute_url()) == one_cohort


def test_the_cohort_pages_meetings_keep_their_programme_week_when_one_is_cancelled(
    client: Client,
) -> None:
    from circlecare.meetings import services
    from circlecare.meetings.models import Meeting
    from tests.meetings.factories import coordinator

    cohort = CohortFactory(program=ProgramFactory(weeks=4), time_zone="America/New_York")
    services.create_meetings(cohort=cohort, actor=None)
    services.cancel_meeting(
        meeting=Meeting.objects.get(cohort=cohort, number=2), actor=coordinator()
    )
    page = client.get(cohort.get_absolute_url()).content.decode()
    schedule = page[page.index('id="schedule-heading"') :]
    assert [f"Week {n}:" in schedule for n in (1, 2, 3, 4)] == [True, False, True, True]


@pytest.mark.parametrize("zone", ["Pacific/Honolulu", "Asia/Tokyo", "Pacific/Kiritimati"])
@pytest.mark.parametrize("with_deadline", [True, False])
def test_joining_closes_at_the_groups_own_midnight_far_from_utc(
    zone: str, with_deadline: bool
) -> None:
    """The page's reason and the catalog's listing change together, at midnight in the group's
    zone after its last day for joining: half a day or more from midnight in UTC."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from circlecare.accounts.validators import validate_time_zone
    from circlecare.programs.queries import public_cohorts

    validate_time_zone(zone)  # a zone a group may use
    first = next_weekday(timezone.localdate() + timedelta(days=20), 1)
    last_day = first - timedelta(days=3) if with_deadline else first
    cohort = CohortFactory(
        first_meeting_date=first,
        weekday=first.weekday(),
        enrollment_deadline=last_day if with_deadline else None,
        time_zone=zone,
    )
    midnight = datetime.combine(last_day + timedelta(days=1), time(0), tzinfo=ZoneInfo(zone))
    reason = (
        "The deadline for joining this group has passed."
        if with_deadline
        else "This group has already started meeting."
    )
    for at, closed in ((midnight - timedelta(microseconds=1), ""), (midnight, reason)):
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(timezone, "now", lambda at=at: at)
            assert cohort.closed_for_joining == closed
            assert (cohort in public_cohorts()) is (closed == "")


def test_a_group_is_listed_until_its_deadline_ends_by_its_own_clock(client: Client) -> None:
    """10 pm in New York on the deadline day is already the next day in UTC: the group still
    takes members, so the catalog still lists it; an hour after its midnight it is gone."""
    from datetime import UTC, datetime

    from circlecare.programs.queries import catalog, public_cohorts

    deadline = timezone.localdate() + timedelta(days=20)
    cohort = CohortFactory(
        first_meeting_date=deadline + timedelta(days=7),
        weekday=(deadline + timedelta(days=7)).weekday(),
        enrollment_deadline=deadline,
        time_zone="America/New_York",
    )
    evening = datetime.combine(deadline + timedelta(days=1), time(3, 0), tzinfo=UTC)
    later = evening + timedelta(hours=3)  # 1 am the next day in New York (EST, UTC-5)
    for at, listed in ((evening, True), (later, False)):
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(timezone, "now", lambda at=at: at)
            assert (cohort.closed_for_joining == "") is listed
            assert (cohort in public_cohorts()) is listed
            program = next(p for p in catalog() if p.pk == cohort.program_id)
            assert program.upcoming_count == (1 if listed else 0)


def test_a_cancelled_or_finished_groups_page_says_so_and_lists_no_meetings_or_seats(
    client: Client,
) -> None:
    """Someone following an old link to a group is not shown its weeks as meetings to come and
    free seats when it has been cancelled (or has finished): the page says what became of it."""
    from circlecare.enrollment.services import cancel_cohort
    from circlecare.meetings.services import create_meetings

    cancelled = CohortFactory(capacity=10)
    create_meetings(cohort=cancelled, actor=None)
    EnrollmentFactory(cohort=cancelled)
    cancel_cohort(cohort=cancelled, actor=UserFactory(is_staff=True))
    finished = CohortFactory(capacity=10, status=CohortStatus.FINISHED)
    for cohort, said in ((cancelled, "has been cancelled"), (finished, "has finished")):
        for viewer in (None, UserFactory()):
            if viewer is not None:
                client.force_login(viewer)
            body = client.get(cohort.get_absolute_url()).content.decode()
            assert f"This group {said}." in body
            assert "of 10 left" not in body and "waiting list" not in body
            assert 'id="schedule-heading"' not in body and "Week 1:" not in body
            client.logout()


@pytest.mark.parametrize(
    ("zone", "day_after"), [("Asia/Kathmandu", True), ("America/Los_Angeles", False)]
)
def test_the_catalog_gives_a_programmes_first_start_on_the_visitors_calendar(
    client: Client, zone: str, day_after: bool
) -> None:
    """A New York group meeting on Tuesdays at 7 pm first meets on Wednesday morning in
    Kathmandu: the catalog, which says its times are the visitor's, names that Wednesday, as
    the group's own page does."""
    from circlecare.meetings.services import create_meetings

    tuesday = next_weekday(timezone.localdate() + timedelta(days=10), 1)
    program = ProgramFactory(title="Evenings together")
    cohort = CohortFactory(
        program=program,
        first_meeting_date=tuesday,
        start_time=time(19, 0),
        time_zone="America/New_York",
    )
    create_meetings(cohort=cohort, actor=UserFactory(is_staff=True))
    client.cookies["tz"] = zone
    body = client.get(reverse("programs:list")).content.decode()
    shown = tuesday + timedelta(days=1) if day_after else tuesday
    assert f"first from {shown.day} {shown:%B}" in body
    # Before the browser has said where the visitor is, the day is the group's own.
    del client.cookies["tz"]
    body = client.get(reverse("programs:list")).content.decode()
    assert f"first from {tuesday.day} {tuesday:%B}" in body


def test_a_group_that_has_stopped_taking_members_does_not_offer_its_free_seats(
    client: Client,
) -> None:
    """A group already meeting, or past its joining deadline, may have free seats, but nobody
    new can take them: its page does not count them as seats left beside "not taking new
    members"."""
    running = CohortFactory(capacity=10, status=CohortStatus.RUNNING)
    past_deadline = CohortFactory(capacity=10)
    # Yesterday where the group meets: its zone decides when the deadline's day ends.
    here = timezone.localdate(timezone=ZoneInfo(past_deadline.time_zone))
    past_deadline.enrollment_deadline = here - timedelta(days=1)
    past_deadline.save()
    for cohort in (running, past_deadline):
        for viewer in (None, UserFactory()):
            if viewer is not None:
                client.force_login(viewer)
            body = html.unescape(client.get(cohort.get_absolute_url()).content.decode())
            assert cohort.closed_for_joining in body
            assert "of 10 left" not in body and "join the waiting list" not in body
            client.logout()

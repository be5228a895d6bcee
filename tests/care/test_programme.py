"""The weekly programme: where a member is, this week's content, and a facilitator's adaptation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.template import engines
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import timezone

from circlecare.care.models import CohortWeek
from circlecare.care.queries import this_week, week_number
from circlecare.meetings.schedule import meeting_times
from circlecare.programs.models import ProgramKind
from tests.care.factories import make_circle
from tests.factories import EnrollmentFactory, UserFactory

pytestmark = pytest.mark.django_db


def logged_in(user: object) -> Client:
    client = Client()
    client.force_login(user)  # type: ignore[arg-type]
    return client


def started_circle(weeks_ago: int, weeks: int = 6) -> object:
    today = timezone.localdate()
    first = today - timedelta(weeks=weeks_ago) - timedelta(days=1)
    return make_circle(2, weeks=weeks, first_meeting_date=first, weekday=first.weekday())


def test_week_number_follows_the_meetings() -> None:
    circle = make_circle(1, weeks=6)
    times = meeting_times(circle.cohort)
    assert week_number(circle.cohort, times[0] - timedelta(minutes=1))[:2] == ("upcoming", 1)
    assert week_number(circle.cohort, times[0])[:2] == ("running", 1)
    assert week_number(circle.cohort, times[2] + timedelta(days=1))[:2] == ("running", 3)
    assert week_number(circle.cohort, times[5] + timedelta(days=6))[:2] == ("running", 6)
    assert week_number(circle.cohort, times[5] + timedelta(days=7))[:2] == ("finished", 6)


def test_this_week_falls_back_to_the_program_and_shows_adaptations() -> None:
    circle = make_circle(1, weeks=4)
    now = meeting_times(circle.cohort)[1] + timedelta(hours=2)
    week = this_week(circle.cohort, now)
    assert week.plan is not None
    assert (week.plan.number, week.plan.total, week.plan.topic, week.plan.adapted) == (
        2,
        4,
        "Topic 2",
        False,
    )
    CohortWeek.objects.create(cohort=circle.cohort, number=2, practice="Call one person.")
    week = this_week(circle.cohort, now)
    assert week.plan is not None
    assert (week.plan.topic, week.plan.practice, week.plan.adapted) == (
        "Topic 2",
        "Call one person.",
        True,
    )


def test_panel_shows_this_week_and_the_board_link() -> None:
    circle = started_circle(weeks_ago=2)
    member = circle.members[0]  # type: ignore[attr-defined]
    cohort = circle.cohort  # type: ignore[attr-defined]
    request = RequestFactory().get("/")
    request.user = member
    request.viewer_zone = datetime.now(UTC).tzinfo  # type: ignore[attr-defined]
    template = engines["django"].from_string('{% include "care/_member_group_panel.html" %}')
    seat = cohort.enrollments.get(member=member)
    html = template.render(
        {"cohort": cohort, "enrollment": seat, "request": request, "user": member}
    )
    assert "Week 3 of 6" in html
    assert "Topic 3" in html and "Practice 3" in html and "Prompt 3" in html
    assert reverse("care:board", args=[cohort.pk]) in html


def test_panel_of_a_skills_group_has_no_board_link() -> None:
    group = make_circle(1, kind=ProgramKind.SKILLS)
    page = logged_in(group.members[0]).get(reverse("care:home")).content.decode()
    assert "Coming up: week 1 of 6".lower() in page.lower()
    assert reverse("care:board", args=[group.cohort.pk]) not in page


def test_facilitator_adapts_a_week_for_their_cohort_only() -> None:
    circle = make_circle(1)
    other = make_circle(1)
    url = reverse("care:adapt_week", args=[circle.cohort.pk, 2])
    response = logged_in(circle.lead).post(
        url, {"topic": "Topic 2", "practice": "Walk with someone from the group."}
    )
    assert response.status_code == 302
    adapted = CohortWeek.objects.get()
    # Only what differs from the program is stored; the topic keeps following the program.
    assert (adapted.cohort, adapted.topic, adapted.practice) == (
        circle.cohort,
        "",
        "Walk with someone from the group.",
    )
    page = logged_in(circle.members[0]).get(reverse("care:programme", args=[circle.cohort.pk]))
    assert "Walk with someone from the group." in page.content.decode()
    other_page = logged_in(other.members[0]).get(reverse("care:programme", args=[other.cohort.pk]))
    assert "Walk with someone" not in other_page.content.decode()

    logged_in(circle.lead).post(url, {"reset": "1"})
    assert not CohortWeek.objects.exists()


def test_going_back_to_the_programs_week_works_from_a_form_with_errors() -> None:
    circle = make_circle(1)
    url = reverse("care:adapt_week", args=[circle.cohort.pk, 2])
    client = logged_in(circle.lead)
    client.post(url, {"practice": "Walk with someone from the group."})
    assert CohortWeek.objects.exists()

    page = client.post(url, {"topic": "t" * 200})
    assert page.status_code == 400
    assert 'name="reset"' in page.content.decode()
    assert CohortWeek.objects.get().practice == "Walk with someone from the group."

    response = client.post(url, {"topic": "t" * 200, "reset": "1"})
    assert response.status_code == 302
    assert not CohortWeek.objects.exists()


@pytest.mark.parametrize("who", ["member", "other_lead", "coordinator"])
def test_only_the_cohorts_facilitators_can_adapt(who: str) -> None:
    circle = make_circle(1)
    user = {
        "member": circle.members[0],
        "other_lead": make_circle(0).lead,
        "coordinator": UserFactory(is_staff=True),
    }[who]
    url = reverse("care:adapt_week", args=[circle.cohort.pk, 1])
    assert logged_in(user).get(url).status_code == 404
    assert logged_in(user).post(url, {"topic": "Hijacked"}).status_code == 404
    assert not CohortWeek.objects.exists()


def test_week_out_of_range_is_404() -> None:
    circle = make_circle(1, weeks=6)
    client = logged_in(circle.lead)
    assert client.get(reverse("care:adapt_week", args=[circle.cohort.pk, 7])).status_code == 404
    assert client.get(reverse("care:adapt_week", args=[circle.cohort.pk, 0])).status_code == 404


def test_co_facilitator_can_adapt() -> None:
    co = UserFactory(is_facilitator=True)
    circle = make_circle(1, co_facilitator=co)
    response = logged_in(co).post(
        reverse("care:adapt_week", args=[circle.cohort.pk, 1]), {"skill": "Noticing"}
    )
    assert response.status_code == 302
    assert CohortWeek.objects.get().skill == "Noticing"


def test_programme_is_private_to_the_cohort() -> None:
    circle = make_circle(1)
    outsider = make_circle(1).members[0]
    url = reverse("care:programme", args=[circle.cohort.pk])
    assert logged_in(outsider).get(url).status_code == 404
    assert logged_in(circle.members[0]).get(url).status_code == 200


def test_this_week_and_the_next_meeting_follow_the_groups_real_meetings() -> None:
    from circlecare.meetings import services as meeting_services
    from circlecare.meetings.models import Meeting
    from tests.meetings.factories import coordinator, first_real_start, rescheduled_group

    cohort = rescheduled_group()
    first = first_real_start(cohort)
    # After the old first Saturday, before the new first Wednesday: nothing has been held.
    now = first - timedelta(days=8)
    assert week_number(cohort, now) == ("upcoming", 1, first)
    assert this_week(cohort, now).starts_at == first
    # Week 2 is skipped: week 1 runs on until week 2's new date.
    week2 = Meeting.objects.get(cohort=cohort, number=2)
    meeting_services.skip_week(meeting=week2, actor=coordinator())
    week2.refresh_from_db()
    assert week_number(cohort, first + timedelta(days=9)) == ("running", 1, week2.starts_at)
    assert week_number(cohort, week2.starts_at)[:2] == ("running", 2)


def test_between_meetings_reads_every_groups_meetings_at_once(
    django_assert_num_queries: Any,
) -> None:
    from circlecare.care.queries import member_cohorts
    from tests.meetings.factories import first_real_start, rescheduled_group

    member = UserFactory()
    cohorts = [rescheduled_group() for _ in range(3)]
    for cohort in cohorts:
        EnrollmentFactory(member=member, cohort=cohort)
    groups = member_cohorts(member)
    with django_assert_num_queries(0):
        starts = [week_number(c, timezone.now())[2] for c, _e in groups]
    assert starts == [first_real_start(c) for c in cohorts]


def test_the_start_of_an_upcoming_group_is_shown_in_the_members_own_zone() -> None:
    """10 pm in New York is 3 am the next day in London: a member in London reads that day."""
    from datetime import time

    from tests.factories import next_weekday

    start = next_weekday(timezone.localdate() + timedelta(days=30), 0)  # a Monday in winter
    circle = make_circle(
        first_meeting_date=start,
        weekday=0,
        start_time=time(22, 0),
        time_zone="America/New_York",
    )
    member = circle.members[0]
    member.time_zone = "Europe/London"
    member.save(update_fields=["time_zone"])
    page = logged_in(member).get(reverse("care:home")).content.decode()
    after = page[page.index("Starts ") :][:400]
    assert f"Tue {(start + timedelta(days=1)).day} " in after  # the London day, not Monday
    assert "(10:00 pm on Mon" in after  # and the group's own time beside it


def test_an_upcoming_groups_start_is_given_on_the_members_own_calendar() -> None:
    """A New York group meeting on Tuesdays at 7 pm first meets on a Wednesday morning for a
    member in Kathmandu; the programme page said the Tuesday, the group's own date."""
    from datetime import time

    from tests.factories import next_weekday

    tuesday = next_weekday(timezone.localdate() + timedelta(days=10), 1)
    circle = make_circle(
        1,
        first_meeting_date=tuesday,
        weekday=1,
        start_time=time(19, 0),
        time_zone="America/New_York",
    )
    member = circle.members[0]
    member.time_zone = "Asia/Kathmandu"
    member.save(update_fields=["time_zone"])
    page = logged_in(member).get(reverse("care:programme", args=[circle.cohort.pk]))
    lead = page.content.decode().split('<p class="lead">', 1)[1].split("</p>", 1)[0]
    wednesday = tuesday + timedelta(days=1)
    assert "The group starts on" in lead
    assert f"Wed {wednesday.day} {wednesday:%b} {wednesday.year}, 5:45 am" in lead
    assert f"7:00 pm on Tue {tuesday.day} {tuesday:%b} in New York" in lead


def test_a_one_week_programme_is_not_counted_in_weeks() -> None:
    """A programme of a single meeting reads as one, not as "1 weeks", wherever its length is
    said: the catalog, the group's page, and the member's pages once it is done."""
    circle = started_circle(weeks_ago=2, weeks=1)
    cohort = circle.cohort
    member = circle.members[0]
    client = logged_in(member)
    catalog = client.get(reverse("programs:list")).content.decode()
    group = client.get(cohort.get_absolute_url()).content.decode()
    home = client.get(reverse("care:home")).content.decode()
    programme = client.get(reverse("care:programme", args=[cohort.pk])).content.decode()
    assert "One meeting of" in catalog and "1 weekly meetings" not in catalog
    assert "Once, for" in group and "1 weeks" not in group
    assert "The programme is done." in home and "1 weeks" not in home
    assert "The programme is done." in programme and "1 weeks" not in programme

"""The join flow, My groups and the roster, as a browser without JavaScript would use them."""

from __future__ import annotations

import html
import json
import re
from datetime import time, timedelta
from typing import Any
from urllib.parse import urlencode

import pytest
from allauth.account.models import EmailAddress
from django.core import mail
from django.db import connection
from django.template import Context, Template
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from circlecare.enrollment import services
from circlecare.enrollment.consents import consents_missing
from circlecare.enrollment.errors import InviteInvalid
from circlecare.enrollment.models import ConsentSignature, Enrollment, PartnerInvite
from circlecare.meetings import services as meetings
from circlecare.programs.models import Cohort, CohortStatus, ProgramKind
from tests.enrollment.factories import invite_partner, publish_consents, ready_member
from tests.factories import (
    CohortFactory,
    LicenseFactory,
    ProgramFactory,
    UserFactory,
    next_weekday,
)

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "river stones hum softly"


@pytest.fixture(autouse=True)
def _consents() -> None:
    publish_consents()


def client_for(user: Any, **kwargs: Any) -> Client:
    client = Client(**kwargs)
    client.force_login(user)
    return client


def cohort_page(client: Client, cohort: Any) -> str:
    response = client.get(cohort.get_absolute_url())
    assert response.status_code == 200
    return response.content.decode()


# ---------------------------------------------------------------------------------- join flow


def test_anonymous_visitor_is_sent_to_sign_up_and_back() -> None:
    cohort = CohortFactory()
    html = cohort_page(Client(), cohort)
    assert f"/accounts/signup/?next=/groups/group/{cohort.pk}/" in html
    assert f"/accounts/login/?next=/groups/group/{cohort.pk}/" in html


def test_the_steps_in_order_then_a_seat() -> None:
    cohort = CohortFactory(capacity=2)
    member = UserFactory()
    client = client_for(member)
    html = cohort_page(client, cohort)
    assert "Read and sign" in html
    assert reverse("enrollment:consents", args=[cohort.pk]) in html

    url = reverse("enrollment:consents", args=[cohort.pk])
    assert client.get(url).status_code == 200
    form = {f"agree_{d.pk}": "on" for d in consents_missing(member, cohort)}
    refused = client.post(url, {**form, "signed_name": "Sam"})  # the adult box left empty
    assert refused.status_code == 400
    assert "18 or older" in refused.content.decode()
    assert not ConsentSignature.objects.filter(member=member).exists()
    signed = client.post(url, {**form, "adult": "on", "signed_name": "Sam"})
    assert signed.status_code == 302
    assert ConsentSignature.objects.filter(member=member).count() == 2

    html = cohort_page(client, cohort)
    assert "Take a seat" in html
    joined = client.post(reverse("enrollment:join", args=[cohort.pk]))
    assert joined.status_code == 302
    assert joined["Location"] == reverse("enrollment:my_groups")
    page = client.get(reverse("enrollment:my_groups")).content.decode()
    assert "You have a seat." in page
    assert "You have a seat in this group." in cohort_page(client, cohort)


@pytest.mark.parametrize(
    "odd", ["zzz", "home", "a b", "-1", "//evil.example/", "https://evil.example/"]
)
def test_the_agreements_page_goes_on_only_to_a_path_of_this_site(odd: str) -> None:
    """A ``next`` that is not a path here (a bare word redirect() would take for a page name, or
    another site) leads to the group's next step instead: never an error page after signing."""
    cohort = CohortFactory(capacity=2)
    member = UserFactory()
    client = client_for(member)
    url = reverse("enrollment:consents", args=[cohort.pk])
    form = {f"agree_{d.pk}": "on" for d in consents_missing(member, cohort)}
    signed = client.post(url, {**form, "adult": "on", "signed_name": "Sam", "next": odd})
    assert signed.status_code == 302 and signed["Location"].startswith("/")
    assert not signed["Location"].startswith("//")
    assert ConsentSignature.objects.filter(member=member).count() == 2
    again = client.get(url, {"next": odd})  # everything signed: straight on
    assert again.status_code == 302 and again["Location"] == signed["Location"]
    kept = client.get(url, {"next": "/my/"})
    assert kept["Location"] == "/my/"


def test_a_full_group_offers_the_waiting_list_and_shows_the_place() -> None:
    cohort = CohortFactory(capacity=1)
    services.enroll(member=ready_member(), cohort=cohort)
    member = ready_member()
    client = client_for(member)
    assert "Join the waiting list" in cohort_page(client, cohort)
    client.post(reverse("enrollment:join", args=[cohort.pk]))
    page = client.get(reverse("enrollment:my_groups")).content.decode()
    assert "Number 1 on the waiting list." in page


def test_not_eligible_sees_why_and_where_else_to_go() -> None:
    lic = LicenseFactory(state="NY")
    therapy = CohortFactory(lead=lic.clinician.user, program__kind=ProgramKind.THERAPY)
    circle = CohortFactory(program=ProgramFactory(kind=ProgramKind.CARE_CIRCLE, title="Circle"))
    member = ready_member(home_state="TX")
    client = client_for(member)
    html = cohort_page(client, therapy)
    assert "This group serves residents of New York." in html
    assert circle.get_absolute_url() in html
    response = client.post(reverse("enrollment:join", args=[therapy.pk]))
    assert response.status_code == 403
    assert "New York" in response.content.decode()
    assert not Enrollment.objects.filter(member=member).exists()


def test_a_refusal_to_join_is_said_once() -> None:
    """Posting the join form for a therapy group the member may not join (or before its
    agreements) answers with the reason once, in the next step, not also in a banner above it."""
    lic = LicenseFactory(state="NY")
    therapy = CohortFactory(lead=lic.clinician.user, program__kind=ProgramKind.THERAPY)
    client = client_for(ready_member(home_state="TX"))
    response = client.post(reverse("enrollment:join", args=[therapy.pk]))
    assert response.status_code == 403
    page = html.unescape(response.content.decode())
    assert page.count("This group serves residents of New York.") == 1
    assert 'role="alert"' not in page

    skills = CohortFactory(program__kind=ProgramKind.SKILLS)
    unsigned = client_for(UserFactory(home_state="TX"))
    response = unsigned.post(reverse("enrollment:join", args=[skills.pk]))
    assert response.status_code == 409
    page = html.unescape(response.content.decode())
    assert page.count("Please read and sign") == 1
    assert not Enrollment.objects.exists()


def test_a_refused_join_page_works_out_where_the_member_stands_once() -> None:
    """The page's own message and its next step both need the member's standing: one check."""
    from unittest.mock import patch

    from circlecare.enrollment import services
    from circlecare.errors import DomainError
    from circlecare.practice import eligibility

    lic = LicenseFactory(state="NY")
    therapy = CohortFactory(lead=lic.clinician.user, program__kind=ProgramKind.THERAPY)
    member = ready_member(home_state="TX")
    with (
        patch.object(eligibility, "check", wraps=eligibility.check) as checked,
        pytest.raises(DomainError),
    ):
        services.enroll(member=member, cohort=therapy)
    by_the_service = checked.call_count
    with patch.object(eligibility, "check", wraps=eligibility.check) as checked:
        response = client_for(member).post(reverse("enrollment:join", args=[therapy.pk]))
    assert response.status_code == 403
    assert checked.call_count == by_the_service + 1


def test_other_groups_start_in_the_viewers_zone() -> None:
    """A group starting Monday 7 pm in New York starts on Tuesday morning in Tokyo: the list of
    groups they can join says Tuesday to a viewer there, with the group's own time beside it."""
    lic = LicenseFactory(state="NY")
    therapy = CohortFactory(lead=lic.clinician.user, program__kind=ProgramKind.THERAPY)
    monday = next_weekday(timezone.localdate() + timedelta(days=14), 0)
    CohortFactory(
        program=ProgramFactory(kind=ProgramKind.SKILLS, title="Skills"),
        first_meeting_date=monday,
        weekday=0,
        start_time=time(19, 0),
        time_zone="America/New_York",
    )
    member = ready_member(home_state="TX", time_zone="Asia/Tokyo")
    page = cohort_page(client_for(member), therapy)
    listed = page[page.index('data-testid="alternatives"') :]
    listed = listed[: listed.index("</ul>")]
    tuesday = monday + timedelta(days=1)
    assert "Starts <time datetime=" in listed
    assert f">Tue {tuesday.day} {tuesday:%b %Y}, 9:00 am JST</time>" in listed
    assert f"(7:00 pm on Mon {monday.day} {monday:%b} in New York)" in listed
    assert "Monday" not in listed
    # Each group's start comes from the meetings loaded with the list, not a query per group.
    client = client_for(member)
    cohort_page(client, therapy)  # what a first visit reads once is not counted
    with CaptureQueriesContext(connection) as one:
        cohort_page(client, therapy)
    for _ in range(3):
        meetings.create_meetings(cohort=CohortFactory(program__kind=ProgramKind.SKILLS), actor=None)
    with CaptureQueriesContext(connection) as four:
        assert cohort_page(client, therapy).count("Starts <time") == 4
    assert len(four.captured_queries) == len(one.captured_queries)


@pytest.mark.parametrize("status", [CohortStatus.DRAFT])
def test_join_a_hidden_or_missing_group_is_404(status: str) -> None:
    client = client_for(ready_member())
    hidden = CohortFactory(status=status)
    assert client.post(reverse("enrollment:join", args=[hidden.pk])).status_code == 404
    assert client.post(reverse("enrollment:join", args=[999_999])).status_code == 404


def test_join_a_closed_group_says_so_and_changes_nothing() -> None:
    cohort = CohortFactory(status=CohortStatus.RUNNING)
    member = ready_member()
    response = client_for(member).post(reverse("enrollment:join", args=[cohort.pk]))
    assert response.status_code == 409
    assert not Enrollment.objects.filter(member=member).exists()


# ---------------------------------------------------------------------------------- CSRF


def test_join_without_a_csrf_token_is_refused() -> None:
    cohort = CohortFactory()
    member = ready_member()
    client = client_for(member, enforce_csrf_checks=True)
    assert client.post(reverse("enrollment:join", args=[cohort.pk])).status_code == 403
    assert not Enrollment.objects.filter(member=member).exists()
    # With the token from the page, the same request works.
    cohort_page(client, cohort)
    token = client.cookies["csrftoken"].value
    response = client.post(reverse("enrollment:join", args=[cohort.pk]), HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 302
    assert Enrollment.objects.filter(member=member, status="confirmed").exists()


def test_withdraw_without_a_csrf_token_is_refused() -> None:
    enrollment = services.enroll(member=ready_member(), cohort=CohortFactory())
    client = client_for(enrollment.member, enforce_csrf_checks=True)
    url = reverse("enrollment:withdraw", args=[enrollment.pk])
    assert client.post(url).status_code == 403
    enrollment.refresh_from_db()
    assert enrollment.status == "confirmed"


# ---------------------------------------------------------------------------------- 404 for others


def test_another_members_enrollment_answers_404() -> None:
    cohort = CohortFactory(capacity=1)
    mine = services.enroll(member=ready_member(), cohort=cohort)
    theirs = services.enroll(member=ready_member(), cohort=cohort)
    services.withdraw(enrollment=mine)  # theirs is now an offer
    intruder = client_for(mine.member)
    for name in ("withdraw", "accept", "decline"):
        url = reverse(f"enrollment:{name}", args=[theirs.pk])
        assert intruder.post(url).status_code == 404
        missing = reverse(f"enrollment:{name}", args=[999_999])
        assert intruder.post(missing).content == intruder.post(url).content
    assert intruder.get(reverse("enrollment:withdraw", args=[theirs.pk])).status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == "offered"


def test_roster_is_for_the_groups_staff_only() -> None:
    co = UserFactory(is_facilitator=True)
    cohort = CohortFactory(co_facilitator=co)
    services.enroll(member=ready_member(display_name="Robin"), cohort=cohort)
    url = reverse("enrollment:roster", args=[cohort.pk])
    for outsider in (ready_member(), LicenseFactory().clinician.user):
        assert client_for(outsider).get(url).status_code == 404
    for insider in (cohort.lead, co, UserFactory(is_staff=True)):
        response = client_for(insider).get(url)
        assert response.status_code == 200
        assert "Robin" in response.content.decode()
    assert Client().get(url).status_code == 302  # to the login page


def test_the_roster_reads_a_fixed_number_of_queries_whatever_its_rows(
    django_assert_num_queries: Any,
) -> None:
    """Every kind of row (seat, offer, waiting, left with a goodbye) is read with the page: nothing
    the rows show is left for a query per row."""
    cohort = CohortFactory(capacity=2)
    client = client_for(cohort.lead)
    url = reverse("enrollment:roster", args=[cohort.pk])
    client.get(url)

    def page() -> str:
        # The session, the user, the cohort with its seat counts (the waiting list's length among
        # them), everyone not waiting, and the waiting list's page.
        with django_assert_num_queries(5):
            response = client.get(url)
        assert response.status_code == 200
        return response.content.decode()

    page()
    seated = services.enroll(member=ready_member(display_name="Ana"), cohort=cohort)
    services.enroll(member=ready_member(display_name="Ben"), cohort=cohort)
    for name in ("Cai", "Dee", "Eve"):
        services.enroll(member=ready_member(display_name=name), cohort=cohort)
    services.withdraw(enrollment=seated, goodbye="Thank you all")  # Cai is offered the seat
    html = page()
    for shown in ("Ben", "Cai", "Offered, until", "Dee", "Eve", "Ana", "Thank you all"):
        assert shown in html


def test_the_roster_says_how_each_person_left() -> None:
    """Saying no to an offer, or leaving the waiting list, is not leaving the group: the roster
    says which it was."""
    cohort = CohortFactory(capacity=1)
    seated = services.enroll(member=ready_member(display_name="Ana"), cohort=cohort)
    offered = services.enroll(member=ready_member(display_name="Ben"), cohort=cohort)
    waiting = services.enroll(member=ready_member(display_name="Cai"), cohort=cohort)
    services.withdraw(enrollment=seated)  # Ben is offered Ana's seat
    offered.refresh_from_db()
    services.decline_offer(enrollment=offered)  # and Cai is offered it next
    services.accept_offer(enrollment=waiting)
    late = services.enroll(member=ready_member(display_name="Dee"), cohort=cohort)
    services.withdraw(enrollment=late)
    services.remove(enrollment=waiting, actor=cohort.lead, reason="Asked to leave.")

    page = client_for(cohort.lead).get(reverse("enrollment:roster", args=[cohort.pk]))
    left = page.content.decode().split('id="ended-heading"')[1].split("</section>")[0]
    rows = {li.split(" <span")[0].strip(): li for li in left.split("<li>")[1:]}
    assert "(Left the group," in rows["Ana"]
    assert "(Declined a seat offer," in rows["Ben"]
    assert "(Removed," in rows["Cai"]
    assert "(Left the waiting list," in rows["Dee"]


def test_each_roster_row_is_headed_by_its_member() -> None:
    # The rows scroll sideways on a phone; a screen reader moving along a row hears whose
    # status, date and removal link each cell is.
    cohort = CohortFactory(capacity=1)
    services.enroll(member=ready_member(display_name="Ana"), cohort=cohort)
    services.enroll(member=ready_member(display_name="Ben"), cohort=cohort)
    page = client_for(cohort.lead).get(reverse("enrollment:roster", args=[cohort.pk]))
    html_text = page.content.decode()
    members, waiting = (
        html_text.split(f'id="{heading}"')[1].split("</tbody>")[0]
        for heading in ("members-heading", "waiting-heading")
    )
    assert re.findall(r'<th scope="row">(\w+)', members) == ["Ana"]
    assert re.findall(r'<th scope="row">(\w+)', waiting) == ["Ben"]


def test_a_long_waiting_list_is_shown_a_page_at_a_time_in_its_order(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from circlecare.enrollment import views

    monkeypatch.setattr(views, "WAITING_PER_PAGE", 2)
    cohort = CohortFactory(capacity=1)
    services.enroll(member=ready_member(display_name="Seated"), cohort=cohort)
    for name in ("Ana", "Ben", "Cai", "Dee", "Eve"):
        services.enroll(member=ready_member(display_name=name), cohort=cohort)
    client = client_for(cohort.lead)
    url = reverse("enrollment:roster", args=[cohort.pk])

    def waiting_rows(query: str) -> list[tuple[str, str]]:
        page = client.get(url + query)
        assert page.status_code == 200
        body = page.content.decode().split('id="waiting-heading"')[1].split("</tbody>")[0]
        body = body.split("<tbody>")[1]
        cells = [re.split(r"</t[dh]>", c)[0].strip() for c in re.split(r"<t[dh][^>]*>", body)[1:]]
        return [(cells[i], cells[i + 1].split("<")[0].strip()) for i in range(0, len(cells), 4)]

    assert waiting_rows("") == [("1", "Ana"), ("2", "Ben")]
    assert waiting_rows("?waiting=2") == [("3", "Cai"), ("4", "Dee")]
    assert waiting_rows("?waiting=3") == [("5", "Eve")]
    # Nonsense or out-of-range page numbers show the nearest page, never an error.
    assert waiting_rows("?waiting=abc") == [("1", "Ana"), ("2", "Ben")]
    assert waiting_rows("?waiting=99") == [("5", "Eve")]
    page = client.get(url + "?waiting=2").content.decode()
    assert "Places 3–4 of 5" in page and "?waiting=1" in page and "?waiting=3" in page
    assert "5 waiting" in page


# ---------------------------------------------------------------------------------- offers and leaving


def test_offer_is_shown_with_its_deadline_and_can_be_accepted() -> None:
    cohort = CohortFactory(capacity=1)
    seated = services.enroll(member=ready_member(), cohort=cohort)
    waiting = services.enroll(member=ready_member(time_zone="Europe/London"), cohort=cohort)
    services.withdraw(enrollment=seated)
    client = client_for(waiting.member)
    page = client.get(reverse("enrollment:my_groups")).content.decode()
    assert "Accept the seat" in page
    assert "GMT" in page  # the deadline in the member's own zone
    # Listed among several groups' buttons and links, each names its own group.
    title = f"{cohort.program.title} — {cohort.name}" if cohort.name else cohort.program.title
    assert f'Accept the seat<span class="visually-hidden"> in {title}</span>' in page
    # One way to leave, in the offer's own words: not "Leave this group" beside it as well.
    assert (
        f'Decline and leave the waiting list<span class="visually-hidden">: {title}</span>' in page
    )
    assert "Leave this group" not in page
    client.post(reverse("enrollment:accept", args=[waiting.pk]))
    waiting.refresh_from_db()
    assert waiting.status == "confirmed"


def test_withdraw_with_a_goodbye_the_group_sees() -> None:
    cohort = CohortFactory()
    leaving = services.enroll(member=ready_member(display_name="Lee"), cohort=cohort)
    staying = services.enroll(member=ready_member(), cohort=cohort)
    client = client_for(leaving.member)
    too_long = client.post(
        reverse("enrollment:withdraw", args=[leaving.pk]), {"goodbye": "x" * 1001}
    )
    assert too_long.status_code == 400
    leaving.refresh_from_db()
    assert leaving.status == "confirmed"
    client.post(reverse("enrollment:withdraw", args=[leaving.pk]), {"goodbye": "Be well <3"})
    leaving.refresh_from_db()
    assert leaving.status == "withdrawn"
    page = client_for(staying.member).get(reverse("enrollment:my_groups")).content.decode()
    assert "Lee" in page
    assert "Be well &lt;3" in page


def test_leaving_with_a_seat_offered_but_not_taken_leaves_the_waiting_list() -> None:
    cohort = CohortFactory(capacity=1)
    seated = services.enroll(member=ready_member(), cohort=cohort)
    waiting = services.enroll(member=ready_member(), cohort=cohort)
    services.enroll(member=ready_member(), cohort=cohort)  # someone for the seat to go to
    services.withdraw(enrollment=seated)
    waiting.refresh_from_db()
    assert waiting.status == "offered"
    client = client_for(waiting.member)
    url = reverse("enrollment:withdraw", args=[waiting.pk])
    form = html.unescape(client.get(url).content.decode())
    assert "the seat offered to you will go to the next person" in form
    assert "Leave the waiting list</button>" in form
    page = html.unescape(client.post(url, follow=True).content.decode())
    assert "You've left the waiting list for this group." in page
    assert "Thank you for being part of it" not in page


def running_full_group() -> tuple[Any, Enrollment, Enrollment]:
    """A one-seat group in its third week (running), its seat taken and one person waiting."""
    from tests.meetings.factories import meeting_at

    now = timezone.now()
    cohort = CohortFactory(capacity=1)
    seated = services.enroll(member=ready_member(), cohort=cohort)
    waiting = services.enroll(member=ready_member(), cohort=cohort)
    meeting_at(cohort, now - timedelta(days=14, hours=1), number=1)
    meeting_at(cohort, now + timedelta(days=35), number=8)
    assert services.advance_cohorts(now=now) == 1
    cohort.refresh_from_db()
    assert cohort.status == CohortStatus.RUNNING
    return cohort, seated, waiting


def test_leaving_in_week_three_does_not_promise_the_seat_to_the_waiting_list() -> None:
    """Once a group has started meeting no seat is offered from its waiting list: the pages
    of the one leaving, the one removing and the one waiting say so, not the opposite."""
    cohort, seated, waiting = running_full_group()
    staff = UserFactory(is_staff=True)
    remove_page = html.unescape(
        client_for(staff).get(reverse("enrollment:remove", args=[seated.pk])).content.decode()
    )
    assert "offered to the next person" not in remove_page
    assert "their seat will not be offered to anyone else" in remove_page
    url = reverse("enrollment:withdraw", args=[seated.pk])
    leave_page = html.unescape(client_for(seated.member).get(url).content.decode())
    assert "offered to the next person" not in leave_page
    client_for(seated.member).post(url)
    waiting.refresh_from_db()
    assert waiting.status == "waitlisted"  # no seat is offered mid-programme

    client = client_for(waiting.member)
    mine = html.unescape(client.get(reverse("enrollment:my_groups")).content.decode())
    assert "Number 1 on the waiting list" not in mine
    assert "no more seats will be offered from its waiting list" in mine
    group = html.unescape(cohort_page(client, cohort))
    assert "number 1" not in group
    assert "it has started meeting, so no more seats will be offered" in group


def test_the_waiting_list_of_a_group_still_taking_members_shows_the_place() -> None:
    cohort = CohortFactory(capacity=1)
    services.enroll(member=ready_member(), cohort=cohort)
    waiting = services.enroll(member=ready_member(), cohort=cohort)
    client = client_for(waiting.member)
    mine = html.unescape(client.get(reverse("enrollment:my_groups")).content.decode())
    assert "Number 1 on the waiting list." in mine
    assert "no more seats will be offered" not in mine
    assert "waiting list for this group: number 1." in html.unescape(cohort_page(client, cohort))


def test_declining_an_offer_once_the_group_has_started_does_not_say_it_passes_on() -> None:
    """An offer made before the first meeting can still be answered after it; the seat is not
    offered on then."""
    from tests.meetings.factories import meeting_at

    now = timezone.now()
    cohort = CohortFactory(capacity=1)
    seated = services.enroll(member=ready_member(), cohort=cohort)
    offered = services.enroll(member=ready_member(), cohort=cohort)
    services.enroll(member=ready_member(), cohort=cohort)
    services.withdraw(enrollment=seated)
    offered.refresh_from_db()
    assert offered.status == "offered"
    meeting_at(cohort, now - timedelta(hours=1), number=1)
    services.advance_cohorts(now=now)
    page = html.unescape(
        client_for(offered.member)
        .post(reverse("enrollment:decline", args=[offered.pk]), follow=True)
        .content.decode()
    )
    assert "You've declined the seat and left the waiting list." in page
    assert "offered to the next person" not in page


def test_declining_an_offer_says_the_seat_passes_on_only_when_someone_is_waiting() -> None:
    """Declining takes the member off the waiting list, and the seat goes to the next person
    only if there is one: with nobody behind them, nothing is promised to anyone."""
    cohort = CohortFactory(capacity=1)
    seated = services.enroll(member=ready_member(), cohort=cohort)
    first = services.enroll(member=ready_member(), cohort=cohort)
    last = services.enroll(member=ready_member(), cohort=cohort)
    services.withdraw(enrollment=seated)

    def decline(enrollment: Enrollment) -> str:
        enrollment.refresh_from_db()
        assert enrollment.status == "offered"
        url = reverse("enrollment:decline", args=[enrollment.pk])
        return html.unescape(client_for(enrollment.member).post(url, follow=True).content.decode())

    assert (
        "You've declined the seat and left the waiting list; it will be offered to the next "
        "person waiting." in decline(first)
    )
    page = decline(last)
    assert "You've declined the seat and left the waiting list." in page
    assert "offered to the next person" not in page


def test_the_leaving_page_promises_the_seat_on_only_when_someone_is_waiting() -> None:
    cohort = CohortFactory(capacity=1)
    seated = services.enroll(member=ready_member(), cohort=cohort)
    url = reverse("enrollment:withdraw", args=[seated.pk])
    alone = html.unescape(client_for(seated.member).get(url).content.decode())
    assert "offered to the next person" not in alone
    assert "You won't be asked this group's questionnaires" in alone

    waiting = services.enroll(member=ready_member(), cohort=cohort)
    queued = html.unescape(client_for(seated.member).get(url).content.decode())
    assert "Your seat will be offered to the next person on the waiting list." in queued

    # The one waiting leaves a waiting list, not the group, and the page says so first.
    leave_list = html.unescape(
        client_for(waiting.member)
        .get(reverse("enrollment:withdraw", args=[waiting.pk]))
        .content.decode()
    )
    assert "<h1>Leave the waiting list for " in leave_list


def test_the_group_page_tells_a_removed_member_to_talk_to_the_practice_not_to_join() -> None:
    cohort = CohortFactory(capacity=3)
    place = services.enroll(member=ready_member(), cohort=cohort)
    services.remove(enrollment=place, actor=UserFactory(is_staff=True), reason="Asked to")
    client = client_for(place.member)
    page = html.unescape(cohort_page(client, cohort))
    assert "The practice ended your place in this group" in page
    assert "Take a seat" not in page
    response = client.post(reverse("enrollment:join", args=[cohort.pk]))
    assert response.status_code == 403
    refused = html.unescape(response.content.decode())
    assert refused.count("The practice ended your place in this group") == 1
    assert Enrollment.objects.filter(member=place.member).count() == 1


def test_past_groups_say_how_each_ended_in_the_members_own_words() -> None:
    """A group the practice cancelled is not a removal, and leaving a waiting list is not
    withdrawing from a group."""
    cancelled = CohortFactory()
    member = ready_member()
    services.enroll(member=member, cohort=cancelled)
    services.cancel_cohort(cohort=cancelled, actor=UserFactory(is_staff=True))
    full = CohortFactory(capacity=1)
    services.enroll(member=ready_member(), cohort=full)
    services.withdraw(enrollment=services.enroll(member=member, cohort=full))
    page = client_for(member).get(reverse("enrollment:my_groups")).content.decode()
    assert '<span class="muted">(The group was cancelled)</span>' in page
    assert '<span class="muted">(Left the waiting list)</span>' in page
    assert "(Removed)" not in page and "(Withdrawn)" not in page
    assert "You haven't joined a group yet." not in html.unescape(page)
    assert "You're not in a group right now." in html.unescape(page)


def test_the_goodbye_field_says_truly_who_reads_it() -> None:
    """The roster shows goodbyes to the group's leads and coordinators, so the field that asks
    for one says so."""
    cohort = CohortFactory()
    leaving = services.enroll(member=ready_member(display_name="Lee"), cohort=cohort)
    url = reverse("enrollment:withdraw", args=[leaving.pk])
    form = html.unescape(client_for(leaving.member).get(url).content.decode())
    assert "Only the group's members and the people who run the group see it." in form
    client_for(leaving.member).post(url, {"goodbye": "Be well"})
    roster = client_for(cohort.lead).get(reverse("enrollment:roster", args=[cohort.pk]))
    assert "Goodbye: Be well" in roster.content.decode()


def test_leaving_the_waiting_list_says_so_not_that_you_left_the_group() -> None:
    cohort = CohortFactory(capacity=1)
    services.enroll(member=ready_member(), cohort=cohort)
    waiting = services.enroll(member=ready_member(), cohort=cohort)
    assert waiting.status == "waitlisted"
    client = client_for(waiting.member)
    url = reverse("enrollment:withdraw", args=[waiting.pk])
    assert "Leave the waiting list</button>" in client.get(url).content.decode()
    page = html.unescape(client.post(url, follow=True).content.decode())
    waiting.refresh_from_db()
    assert waiting.status == "withdrawn"
    assert "You've left the waiting list for this group." in page
    assert "Thank you for being part of it" not in page


# ---------------------------------------------------------------------------------- staff input


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("abc", "Please enter a whole number."),
        ("0", "A group needs at least one seat."),
        ("-3", "A group needs at least one seat."),
        ("100000", "A group can have at most 60 seats."),
        ("", "Please enter a capacity."),
    ],
)
def test_capacity_bad_input_is_explained_and_changes_nothing(value: str, message: str) -> None:
    cohort = CohortFactory(capacity=5)
    client = client_for(UserFactory(is_staff=True))
    response = client.post(reverse("enrollment:capacity", args=[cohort.pk]), {"capacity": value})
    assert response.status_code == 400
    assert "field-error" in response.content.decode() and message in response.content.decode()
    cohort.refresh_from_db()
    assert cohort.capacity == 5


def test_capacity_below_the_seats_held_is_refused_with_a_reason() -> None:
    cohort = CohortFactory(capacity=3)
    for _ in range(2):
        services.enroll(member=ready_member(), cohort=cohort)
    client = client_for(UserFactory(is_staff=True))
    response = client.post(reverse("enrollment:capacity", args=[cohort.pk]), {"capacity": "1"})
    assert response.status_code == 400
    assert "2 people hold a seat" in response.content.decode()


def test_the_roster_of_a_cancelled_group_offers_no_capacity_change() -> None:
    cohort = CohortFactory(capacity=5)
    Cohort.objects.filter(pk=cohort.pk).update(status=CohortStatus.CANCELLED)
    client = client_for(UserFactory(is_staff=True))
    page = client.get(reverse("enrollment:roster", args=[cohort.pk])).content.decode()
    assert reverse("enrollment:capacity", args=[cohort.pk]) not in page
    assert "The group is cancelled, so its capacity no longer changes." in page
    response = client.post(reverse("enrollment:capacity", args=[cohort.pk]), {"capacity": "9"})
    assert response.status_code == 400
    assert "so its capacity no longer changes" in response.content.decode()
    cohort.refresh_from_db()
    assert cohort.capacity == 5


def test_remove_needs_a_reason() -> None:
    enrollment = services.enroll(member=ready_member(), cohort=CohortFactory())
    client = client_for(UserFactory(is_staff=True))
    url = reverse("enrollment:remove", args=[enrollment.pk])
    assert client.post(url, {"reason": ""}).status_code == 400
    enrollment.refresh_from_db()
    assert enrollment.status == "confirmed"
    assert client.post(url, {"reason": "Asked to leave"}).status_code == 302
    enrollment.refresh_from_db()
    assert enrollment.status == "removed"
    assert client_for(ready_member()).post(url, {"reason": "x"}).status_code == 404


def test_remove_asks_for_the_reason_on_a_page_of_its_own() -> None:
    enrollment = services.enroll(member=ready_member(display_name="Robin"), cohort=CohortFactory())
    client = client_for(UserFactory(is_staff=True))
    roster = client.get(reverse("enrollment:roster", args=[enrollment.cohort_id])).content.decode()
    url = reverse("enrollment:remove", args=[enrollment.pk])
    assert f'href="{url}"' in roster
    assert client_for(ready_member()).get(url).status_code == 404  # not their group to run
    page = client.get(url)
    assert page.status_code == 200
    assert "Remove Robin from the group?" in page.content.decode()
    assert "They will not be able to join this group again by themselves" in page.content.decode()
    assert "staff can let them join again from the roster" in page.content.decode()
    enrollment.refresh_from_db()
    assert enrollment.status == "confirmed"  # looking at the page changes nothing
    client.post(url, {"reason": "Asked to leave"})
    again = client.get(url, follow=True)
    assert "Robin is no longer in this group." in again.content.decode()


def test_the_remove_page_says_a_couples_partner_leaves_too() -> None:
    cohort = CohortFactory(program=ProgramFactory(for_couples=True), capacity=4)
    inviter = ready_member(display_name="Ana")
    partner = ready_member(display_name="Bo", email="partner@example.org")
    _invite, token = invite_partner(member=inviter, cohort=cohort, email=partner.email)
    ana, _bo = services.accept_partner_invite(token=token, member=partner)
    client = client_for(UserFactory(is_staff=True))
    url = reverse("enrollment:remove", args=[ana.pk])
    page = client.get(url).content.decode()
    assert "Ana is here as a couple with Bo." in page
    assert "Remove both" in page
    done = client.post(url, {"reason": "Asked to leave"}, follow=True).content.decode()
    assert "Ana and their partner Bo have been removed." in done
    assert set(Enrollment.objects.values_list("status", flat=True)) == {"removed"}


# ------------------------------------------------------------------------------- letting back in


def _removed(cohort: Any, name: str = "Robin") -> Enrollment:
    place = services.enroll(member=ready_member(display_name=name), cohort=cohort)
    return services.remove(
        enrollment=place, actor=UserFactory(is_staff=True), reason="Repeated harm to others"
    )


def _ended_section(page: str) -> str:
    return page.split('id="ended-heading"')[1].split("</section>")[0]


def test_a_removed_member_whose_account_is_closed_is_not_let_back_in() -> None:
    """They can't sign in to join, and the address of a deleted account reaches nobody: the
    coordinator must not be told "We've e-mailed them"."""
    from circlecare.accounts.data_rights import delete_account

    cohort = CohortFactory(capacity=3)
    place = _removed(cohort)
    delete_account(member=place.member)
    client = client_for(UserFactory(is_staff=True))
    roster_url = reverse("enrollment:roster", args=[cohort.pk])
    url = reverse("enrollment:readmit", args=[place.pk])
    assert f'href="{url}"' not in _ended_section(client.get(roster_url).content.decode())
    for asked in (client.get(url, follow=True), client.post(url, follow=True)):
        shown = html.unescape(asked.content.decode())
        assert "Their account is closed, so they can't join the group again." in shown
        assert "We've e-mailed them" not in shown
    place.refresh_from_db()
    assert place.readmitted_at is None


def test_staff_let_a_removed_member_join_again_from_the_roster() -> None:
    cohort = CohortFactory(capacity=3)
    place = _removed(cohort)
    coordinator = UserFactory(is_staff=True, display_name="Casey")
    client = client_for(coordinator)
    roster_url = reverse("enrollment:roster", args=[cohort.pk])
    url = reverse("enrollment:readmit", args=[place.pk])
    assert f'href="{url}"' in _ended_section(client.get(roster_url).content.decode())
    page = html.unescape(client.get(url).content.decode())
    assert "Let Robin join this group again?" in page
    assert "does not give them a seat" in page
    assert 'name="csrfmiddlewaretoken"' in page
    place.refresh_from_db()
    assert place.readmitted_at is None  # looking at the page changes nothing
    done = client.post(url, follow=True)
    assert done.redirect_chain == [(roster_url, 302)]
    shown = html.unescape(done.content.decode())
    assert "Robin can join this group again. We've e-mailed them to say so." in shown
    ended = _ended_section(shown)
    assert "Let back in to join again on" in ended and "by Casey" in ended
    assert f'href="{url}"' not in ended
    place.refresh_from_db()
    assert place.readmitted_by == coordinator
    # Sent again (a second tab, the back button): said, and nothing changes.
    again = html.unescape(client.post(url, follow=True).content.decode())
    assert "Robin has already been let back in to this group." in again
    # The member's group page offers joining again as anyone's does, and joining works.
    member = client_for(place.member)
    group_page = html.unescape(cohort_page(member, cohort))
    assert "The practice ended your place in this group" not in group_page
    assert "Take a seat" in group_page
    assert member.post(reverse("enrollment:join", args=[cohort.pk])).status_code == 302
    assert Enrollment.objects.filter(member=place.member, status="confirmed").exists()


def test_letting_back_in_without_a_csrf_token_is_refused() -> None:
    cohort = CohortFactory()
    place = _removed(cohort)
    client = client_for(cohort.lead, enforce_csrf_checks=True)
    url = reverse("enrollment:readmit", args=[place.pk])
    assert client.post(url).status_code == 403
    place.refresh_from_db()
    assert place.readmitted_at is None
    client.get(url)  # the confirmation page sets the token
    token = client.cookies["csrftoken"].value
    assert client.post(url, HTTP_X_CSRFTOKEN=token).status_code == 302
    place.refresh_from_db()
    assert place.readmitted_by == cohort.lead


def test_only_the_groups_staff_can_let_anyone_back_in() -> None:
    cohort = CohortFactory()
    place = _removed(cohort)
    seated = services.enroll(member=ready_member(), cohort=cohort)
    url = reverse("enrollment:readmit", args=[place.pk])
    missing = reverse("enrollment:readmit", args=[999_999])
    for outsider in (place.member, seated.member, CohortFactory().lead):
        client = client_for(outsider)
        assert client.get(url).status_code == 404
        assert client.post(url).status_code == 404
        assert client.post(missing).content == client.post(url).content
    assert Client().post(url).status_code == 302  # to the login page
    place.refresh_from_db()
    assert place.readmitted_at is None
    staff = client_for(UserFactory(is_staff=True))
    assert staff.get(missing).status_code == 404
    assert staff.put(url).status_code == 405
    assert staff.delete(url).status_code == 405
    assert staff.get(url + "?next=//elsewhere.example").status_code == 200
    place.refresh_from_db()
    assert place.readmitted_at is None


def test_only_a_place_the_practice_ended_for_the_member_offers_letting_back_in() -> None:
    """Leaving, a cancelled group or a partner's removal keeps nobody out, and a group that has
    started meeting takes nobody new: the roster offers nothing, and the address says why."""
    staff = client_for(UserFactory(is_staff=True))
    cohort = CohortFactory(capacity=3)
    left = services.enroll(member=ready_member(display_name="Ana"), cohort=cohort)
    services.withdraw(enrollment=left)
    roster = staff.get(reverse("enrollment:roster", args=[cohort.pk])).content.decode()
    assert "Let them join again" not in roster
    page = html.unescape(
        staff.get(reverse("enrollment:readmit", args=[left.pk]), follow=True).content.decode()
    )
    assert "Nothing keeps Ana from joining this group themselves." in page
    still_in = services.enroll(member=ready_member(display_name="Bo"), cohort=cohort)
    page = html.unescape(
        staff.post(reverse("enrollment:readmit", args=[still_in.pk]), follow=True).content.decode()
    )
    assert "Bo still has a place in this group." in page
    running = CohortFactory()
    removed = _removed(running, name="Cai")
    Cohort.objects.filter(pk=running.pk).update(status=CohortStatus.RUNNING)
    roster = staff.get(reverse("enrollment:roster", args=[running.pk])).content.decode()
    assert "Cai" in _ended_section(roster) and "Let them join again" not in roster
    page = html.unescape(
        staff.post(reverse("enrollment:readmit", args=[removed.pk]), follow=True).content.decode()
    )
    assert "This group isn't taking new members. Cai can't be let back in to join it now." in page
    assert not Enrollment.objects.filter(readmitted_at__isnull=False).exists()


def test_the_roster_with_someone_let_back_in_reads_the_same_number_of_queries(
    django_assert_num_queries: Any,
) -> None:
    cohort = CohortFactory(capacity=3)
    for name in ("Ana", "Ben"):
        services.readmit(enrollment=_removed(cohort, name), actor=UserFactory(is_staff=True))
    _removed(cohort, "Cai")
    client = client_for(cohort.lead)
    url = reverse("enrollment:roster", args=[cohort.pk])
    client.get(url)
    with django_assert_num_queries(5):
        page = client.get(url).content.decode()
    assert page.count("Let back in to join again on") == 2
    assert page.count("Let them join again<") == 1


def test_the_inviter_sees_a_waiting_invitation_and_can_send_it_again_or_cancel_it() -> None:
    cohort = CohortFactory(program=ProgramFactory(for_couples=True), capacity=4)
    inviter = ready_member(display_name="Ana")
    client = client_for(inviter)
    invite_url = reverse("enrollment:partner_invite", args=[cohort.pk])
    client.post(invite_url, {"email": "bo@example.org"})
    first = PartnerInvite.objects.get()
    page = client.get(reverse("enrollment:my_groups")).content.decode()
    assert "Waiting for your partner" in page
    assert "You invited bo@example.org on" in page
    assert "invited bo@example.org" in client.get(invite_url).content.decode()

    # Sending again: a new link, the old one stops working.
    client.post(invite_url, {"email": "bo@example.org"})
    first.refresh_from_db()
    assert first.status == "cancelled"
    # Once more through the service, which hands back the link's secret for the check below.
    second, token = invite_partner(member=inviter, cohort=cohort, email="bo@example.org")

    # Nobody else can cancel it, and a wrong id changes nothing.
    cancel = reverse("enrollment:partner_invite_cancel", args=[second.pk])
    assert client_for(ready_member()).post(cancel).status_code == 404
    assert client.get(cancel).status_code == 405
    second.refresh_from_db()
    assert second.status == "pending"

    done = client.post(cancel, follow=True).content.decode()
    assert "Your invitation to bo@example.org is cancelled" in done
    assert "Waiting for your partner" not in done
    second.refresh_from_db()
    assert second.status == "cancelled"
    again = client.post(cancel, follow=True).content.decode()
    assert "This invitation is already cancelled." in again
    # The partner's link no longer works.
    bo = ready_member(email="bo@example.org")
    with pytest.raises(InviteInvalid):
        services.accept_partner_invite(token=token, member=bo)
    assert not Enrollment.objects.exists()


def test_include_if_exists_renders_nothing_for_a_missing_template() -> None:
    template = Template('{% load enrollment_tags %}[{% include_if_exists "nowhere/_panel.html" %}]')
    assert template.render(Context({})) == "[]"


# ---------------------------------------------------------------------------------- couples


def test_a_couple_joins_together_through_the_invitation() -> None:
    cohort = CohortFactory(program=ProgramFactory(for_couples=True), capacity=4)
    inviter = ready_member(display_name="Ana")
    partner = ready_member(email="partner@example.org")
    client = client_for(inviter)
    assert "Invite your partner" in cohort_page(client, cohort)
    url = reverse("enrollment:partner_invite", args=[cohort.pk])
    bad = client.post(url, {"email": "not an address"})
    assert bad.status_code == 400
    assert "field-error" in bad.content.decode()
    _invite, token = invite_partner(member=inviter, cohort=cohort, email=partner.email)
    accept_url = reverse("enrollment:partner_accept", args=[token])
    # Only the invited address can open it; anyone else gets the same 404 as a wrong link.
    assert client_for(ready_member()).get(accept_url).status_code == 404
    assert client.get(accept_url).status_code == 404
    partner_client = client_for(partner)
    assert "Join Ana" in partner_client.get(accept_url).content.decode()
    joined = partner_client.post(accept_url, follow=True)
    assert "You&#x27;ve joined together: you both have a seat." in joined.content.decode()
    statuses = set(Enrollment.objects.filter(cohort=cohort).values_list("status", flat=True))
    assert statuses == {"confirmed"}
    assert Enrollment.objects.filter(cohort=cohort).count() == 2
    # Leaving says that the partner's place ends too.
    mine = Enrollment.objects.get(cohort=cohort, member=inviter)
    leaving = client.get(reverse("enrollment:withdraw", args=[mine.pk])).content.decode()
    assert "your partner's place ends too" in leaving


def test_inviting_a_partner_before_a_step_leads_to_that_step_and_back() -> None:
    """Someone who has not signed the agreements yet is not stopped at the invitation form with
    the step's words as an error on the e-mail address and no way on: they are taken to the step,
    and back to the invitation after it."""
    cohort = CohortFactory(program=ProgramFactory(for_couples=True), capacity=4)
    client = client_for(UserFactory())
    url = reverse("enrollment:partner_invite", args=[cohort.pk])
    consents = reverse("enrollment:consents", args=[cohort.pk])
    for response in (client.get(url), client.post(url, {"email": "bo@example.org"})):
        assert response.status_code == 302
        assert response["Location"] == f"{consents}?{urlencode({'next': url})}"
    assert not PartnerInvite.objects.exists()
    page = client.get(url, follow=True).content.decode()
    assert "Please read and sign:" in page
    assert f'value="{url}"' in page  # the agreements form goes back to the invitation


def _link(body: str, path: str) -> str:
    """The path (and query) of the link to ``path`` in an e-mail or page."""
    match = re.search(rf"(?:https?://[^/\s\"]+)?({re.escape(path)}[^\s\"<]*)", body)
    assert match, body
    return html.unescape(match.group(1))


@pytest.mark.django_db(transaction=True)
def test_the_secret_in_an_invitation_link_is_never_kept_in_the_task_queue(
    run_worker: Any,
) -> None:
    """The task table keeps what each task was queued with (and what it returned) in clear,
    before and after the worker runs it: the invitation e-mail's task is queued with the
    invitation's id alone, and its link's secret is in no task row, yet the link works."""
    cohort = CohortFactory(program=ProgramFactory(for_couples=True), capacity=4)
    inviter = ready_member(display_name="Ana")
    partner = ready_member(email="partner@example.org")
    sent = client_for(inviter).post(
        reverse("enrollment:partner_invite", args=[cohort.pk]), {"email": partner.email}
    )
    assert sent.status_code == 302
    invite = PartnerInvite.objects.get()
    queued = DBTaskResult.objects.get(task_path__endswith=".send_partner_invite")
    assert queued.args_kwargs == {"args": [invite.pk], "kwargs": {}}
    run_worker()
    [message] = [
        m for m in mail.outbox if m.subject == "circlecare: an invitation to join a group together"
    ]
    invitation = _link(message.body, "/my/partner/")
    secret = invitation.removeprefix("/my/partner/").strip("/")
    assert len(secret) >= 40
    stored = [
        json.dumps([row.args_kwargs, row.return_value, row.traceback])
        for row in DBTaskResult.objects.all()
    ]
    assert stored and not [row for row in stored if secret in row]
    joined = client_for(partner).post(invitation, follow=True)
    assert "You&#x27;ve joined together: you both have a seat." in joined.content.decode()


@pytest.mark.django_db(transaction=True)
def test_a_new_partner_comes_back_to_the_invitation_after_confirming_their_address(
    run_worker: Any,
) -> None:
    """Invitation link → sign up → the confirmation link from the e-mail → sign in → the
    invitation, without looking for the invitation e-mail again."""
    cohort = CohortFactory(program=ProgramFactory(for_couples=True), capacity=4)
    inviter = ready_member(display_name="Ana")
    services.invite_partner(member=inviter, cohort=cohort, email="new.partner@example.org")
    run_worker()
    invitation = _link(mail.outbox[-1].body, "/my/partner/")
    client = Client()

    # Not signed in: the invitation asks them to sign in, and from there to sign up.
    response = client.get(invitation)
    assert response.status_code == 302
    login_page = client.get(response["Location"]).content.decode()
    signup_url = f"{reverse('account_signup')}?{urlencode({'next': invitation})}"
    assert f'href="{signup_url}"' in login_page
    signup_page = client.get(signup_url).content.decode()
    assert f'name="next" value="{invitation}"' in signup_page
    signed_up = client.post(
        signup_url,
        {
            "email": "new.partner@example.org",
            "password1": NEW_PASSWORD,
            "password2": NEW_PASSWORD,
            "display_name": "Bo",
            "home_state": "NJ",
            "time_zone": "America/New_York",
            "adult": "on",
            "next": invitation,
        },
    )
    assert signed_up.status_code == 302
    assert "_auth_user_id" not in client.session

    # The confirmation e-mail's link confirms the address and leads back to the invitation.
    confirm = _link(mail.outbox[-1].body, "/accounts/confirm-email/")
    confirm_page = client.get(confirm).content.decode()
    assert f'name="next" value="{invitation}"' in confirm_page
    confirmed = client.post(confirm, {"next": invitation})
    assert confirmed.status_code == 302
    assert confirmed["Location"] == invitation
    assert EmailAddress.objects.get(email="new.partner@example.org").verified

    # The address is confirmed; signing in (the invitation asks for it) lands on the invitation.
    to_login = client.get(invitation)
    assert to_login.status_code == 302
    login_url = to_login["Location"]
    signed_in = client.post(
        login_url, {"login": "new.partner@example.org", "password": NEW_PASSWORD}
    )
    assert signed_in.status_code == 302
    assert signed_in["Location"] == invitation
    landed = client.get(invitation)
    assert landed.status_code == 200
    assert "Join Ana in a couples group" in landed.content.decode()


def test_a_couple_joining_a_full_group_is_told_they_wait_together() -> None:
    cohort = CohortFactory(program=ProgramFactory(for_couples=True), capacity=1)
    inviter, partner = ready_member(), ready_member(email="second@example.org")
    _invite, token = invite_partner(member=inviter, cohort=cohort, email=partner.email)
    page = client_for(partner).post(reverse("enrollment:partner_accept", args=[token]), follow=True)
    assert "on the waiting list together" in page.content.decode()
    assert set(Enrollment.objects.values_list("status", flat=True)) == {"waitlisted"}


@pytest.mark.parametrize(
    ("capacity", "room", "outcome"),
    [
        (4, "Invite your partner", "confirmed"),
        # Two seats held, one free: no couple fits, so the page says full and the couple waits.
        (3, "Join the waiting list with your partner", "waitlisted"),
    ],
)
def test_the_couples_next_step_says_what_accepting_will_do(
    capacity: int, room: str, outcome: str
) -> None:
    cohort = CohortFactory(program=ProgramFactory(for_couples=True), capacity=capacity)
    first, second = ready_member(), ready_member(email="first-partner@example.org")
    _invite, token = invite_partner(member=first, cohort=cohort, email=second.email)
    services.accept_partner_invite(token=token, member=second)
    inviter, partner = ready_member(), ready_member(email="partner@example.org")
    client = client_for(inviter)
    html = cohort_page(client, cohort)
    assert room in html
    if outcome == "waitlisted":
        assert "The group is full." in html and "1 more couple" not in html
        assert "Take a seat" not in html and "seat left" not in html
    invite_page = client.get(reverse("enrollment:partner_invite", args=[cohort.pk]))
    assert ("waiting list together" in invite_page.content.decode()) == (outcome == "waitlisted")
    _invite, token = invite_partner(member=inviter, cohort=cohort, email=partner.email)
    accept_url = reverse("enrollment:partner_accept", args=[token])
    accept_page = client_for(partner).get(accept_url).content.decode()
    if outcome == "waitlisted":
        assert "The group is full: you'll join its waiting list together" in accept_page
    else:
        assert "There's room for you both" in accept_page
    client_for(partner).post(accept_url)
    statuses = set(
        Enrollment.objects.filter(member__in=[inviter, partner]).values_list("status", flat=True)
    )
    assert statuses == {outcome}


def test_a_stale_leave_link_does_not_tell_a_removed_member_they_left() -> None:
    """Someone whose place the practice ended, following an old "Leave this group" link, is
    not told that they left."""
    cohort = CohortFactory(capacity=3)
    place = services.enroll(member=ready_member(), cohort=cohort)
    services.remove(enrollment=place, actor=UserFactory(is_staff=True), reason="Asked to")
    client = client_for(place.member)
    url = reverse("enrollment:withdraw", args=[place.pk])
    for response in (client.get(url, follow=True), client.post(url, follow=True)):
        page = html.unescape(response.content.decode())
        assert "Your place in this group has already ended." in page
        assert "You've already left" not in page


def test_the_partner_of_someone_who_left_is_not_told_they_left() -> None:
    """A couple's places end together: the partner who stayed reads that their place ended
    when their partner left, on My groups and on the roster, not that they left."""
    cohort = CohortFactory(program=ProgramFactory(for_couples=True), capacity=4)
    inviter, partner = ready_member(), ready_member(email="stays@example.org")
    _invite, token = invite_partner(member=inviter, cohort=cohort, email="stays@example.org")
    services.accept_partner_invite(token=token, member=partner)
    services.withdraw(enrollment=Enrollment.objects.get(member=inviter))
    mine = html.unescape(client_for(partner).get(reverse("enrollment:my_groups")).content.decode())
    assert "(Ended when your partner left)" in mine
    assert "Left the group" not in mine
    theirs = html.unescape(
        client_for(inviter).get(reverse("enrollment:my_groups")).content.decode()
    )
    assert "(Left the group)" in theirs
    roster = html.unescape(
        client_for(UserFactory(is_staff=True))
        .get(reverse("enrollment:roster", args=[cohort.pk]))
        .content.decode()
    )
    assert "Ended when their partner left" in roster


def test_a_couples_offer_says_it_is_for_both_and_declining_ends_both_places() -> None:
    """Either partner answers a couple's offer for both: My groups says so before one of them
    declines with a single press, and the decline says both have left the waiting list."""
    cohort = CohortFactory(program=ProgramFactory(for_couples=True), capacity=3)
    first, first_partner = ready_member(), ready_member(email="one@example.org")
    _invite, token = invite_partner(member=first, cohort=cohort, email="one@example.org")
    services.accept_partner_invite(token=token, member=first_partner)
    inviter, partner = ready_member(), ready_member(email="two@example.org")
    _invite, token = invite_partner(member=inviter, cohort=cohort, email="two@example.org")
    services.accept_partner_invite(token=token, member=partner)
    services.withdraw(enrollment=Enrollment.objects.get(member=first))
    offer = Enrollment.objects.get(member=inviter)
    assert offer.status == "offered"
    client = client_for(inviter)
    page = html.unescape(client.get(reverse("enrollment:my_groups")).content.decode())
    assert "Two seats have come free, for you and your partner" in page
    assert "declining takes you both off the waiting list" in page
    done = client.post(reverse("enrollment:decline", args=[offer.pk]), follow=True)
    said = html.unescape(done.content.decode())
    assert "You've declined the seats for you and your partner" in said
    assert set(
        Enrollment.objects.filter(member__in=[inviter, partner]).values_list("status", flat=True)
    ) == {"withdrawn"}


def test_the_groups_staff_get_the_roster_not_a_join_button() -> None:
    cohort = CohortFactory()
    html = cohort_page(client_for(cohort.lead), cohort)
    assert reverse("enrollment:roster", args=[cohort.pk]) in html
    assert "Take a seat" not in html


def test_my_groups_reads_a_fixed_number_of_queries(django_assert_num_queries: Any) -> None:
    from circlecare.enrollment import queries

    member = ready_member()
    services.enroll(member=member, cohort=CohortFactory())
    # Three for the cards (waiting places and signed agreements included), four for what the
    # groups' panels show (meetings, weeks, changes, due).
    with django_assert_num_queries(7):
        cards, _past = queries.my_groups(member)
    for _ in range(4):
        full = CohortFactory(capacity=1)
        services.enroll(member=ready_member(), cohort=full)
        services.enroll(member=member, cohort=full)
    with django_assert_num_queries(7) as read:
        cards, _past = queries.my_groups(member)
    assert len(cards) == 5
    assert {card.position for card in cards} == {None, 1}
    # The groups' leaders are shown by name; their password hashes stay in the database, as do
    # the programmes' long texts, which the cards do not show.
    for column in ('"password"', '"description"', '"audience"'):
        assert not any(column in query["sql"] for query in read.captured_queries), column


def test_a_waiting_place_someone_cannot_be_offered_from_where_they_live_says_so() -> None:
    """On My groups, a therapy waiting place of someone who moved where its lead may not see
    them says a seat can't be offered there (not only a number on the list), and a seat says
    it is kept for now; a place in a group open to everyone says nothing of it. Three more
    queries in all, however many therapy groups."""
    from circlecare.enrollment import queries

    member = ready_member(home_state="NY")
    groups = []
    for _ in range(3):
        lead = LicenseFactory(state="NY").clinician.user
        cohort = CohortFactory(lead=lead, program__kind=ProgramKind.THERAPY, capacity=1)
        services.enroll(member=ready_member(home_state="NY"), cohort=cohort)
        services.enroll(member=member, cohort=cohort)
        groups.append(cohort)
    lead = LicenseFactory(state="NY").clinician.user
    seated = CohortFactory(lead=lead, program__kind=ProgramKind.THERAPY)
    services.enroll(member=member, cohort=seated)
    open_to_all = CohortFactory(capacity=1)
    services.enroll(member=ready_member(), cohort=open_to_all)
    services.enroll(member=member, cohort=open_to_all)
    client = client_for(member)
    assert (
        'data-testid="outside"' not in client.get(reverse("enrollment:my_groups")).content.decode()
    )
    member.home_state = "TX"
    member.save(update_fields=["home_state"])
    with CaptureQueriesContext(connection) as read:
        cards, _past = queries.my_groups(member)
    assert len(read) == 7 + 3
    page = html.unescape(client.get(reverse("enrollment:my_groups")).content.decode())
    assert page.count('data-testid="outside"') == 4
    assert "Your place is kept for now, and before each meeting you confirm where you are." in page
    assert (
        f"{groups[0].title} can include only people living in New York, and you now live in "
        "Texas. Your place on its waiting list is kept, but a seat can't be offered to you while "
        "you live there." in page
    )
    assert {card.cohort.pk for card in cards if card.outside} == {g.pk for g in [*groups, seated]}


def test_a_join_reads_only_what_it_decides_on() -> None:
    """Pressing "Take a seat" reads the group, its lead's licences and the member's steps, and no
    more of the group than the decision needs; the page after a refusal needs nothing else."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tests.factories import CohortFactory as Cohorts

    cohort = Cohorts(capacity=1)
    url = reverse("enrollment:join", args=[cohort.pk])
    client_for(ready_member()).post(url)  # the one seat, taken
    client = client_for(ready_member())
    with CaptureQueriesContext(connection) as ctx:
        assert client.post(url).status_code == 302
    reads = [q["sql"] for q in ctx.captured_queries]
    group = next(sql for sql in reads if sql.startswith('SELECT "programs_cohort"."id"'))
    for column in ('"description"', '"audience"', '"display_name"', '"bio"', '"password"'):
        assert column not in group, column
    assert Enrollment.objects.get(cohort=cohort, status="waitlisted")

    closed = Cohorts(status=CohortStatus.RUNNING)
    with CaptureQueriesContext(connection) as refused:
        response = client.post(reverse("enrollment:join", args=[closed.pk]))
    assert response.status_code == 409
    assert closed.program.title in response.content.decode()
    # The refusal's page is drawn from the rows already read: no deferred column is fetched later.
    sql = [q["sql"] for q in refused.captured_queries]
    # The group, read once: a closed group is refused before any lock or step.
    assert sum('FROM "programs_cohort"' in s for s in sql) == 1
    assert not any('FROM "programs_program"' in s for s in sql)
    assert sum('FROM "accounts_user"' in s for s in sql) == 1  # the signed-in member


def test_after_the_joining_deadline_the_group_says_so_before_any_step() -> None:
    """No agreements to sign or questions to answer for a group nobody new can join; the
    catalog no longer lists it, and a direct post is refused and changes nothing."""
    from datetime import timedelta

    from django.utils import timezone

    cohort = CohortFactory(
        program=ProgramFactory(kind=ProgramKind.CARE_CIRCLE),
        enrollment_deadline=timezone.localdate() - timedelta(days=2),
    )
    member = ready_member()
    client = client_for(member)
    page = client.get(cohort.get_absolute_url()).content.decode()
    assert "The deadline for joining this group has passed." in page
    assert "Take a seat" not in page and "Read and sign" not in page
    listing = client.get(cohort.program.get_absolute_url()).content.decode()
    assert cohort.get_absolute_url() not in listing
    intake = client.get(reverse("measures:intake", args=[cohort.pk]))
    assert intake.status_code == 302 and intake["Location"] == cohort.get_absolute_url()
    refused = client.post(reverse("enrollment:join", args=[cohort.pk]))
    assert refused.status_code == 409
    assert not Enrollment.objects.filter(cohort=cohort).exists()


def _region_names(html: str) -> list[str]:
    """The accessible names of the page's labelled sections: the text of each one's heading."""
    import re

    names = []
    for target in re.findall(r'<section[^>]*aria-labelledby="([^"]+)"', html):
        heading = re.search(rf'id="{re.escape(target)}"[^>]*>(.*?)</h[1-6]>', html, re.S)
        assert heading is not None, target
        names.append(" ".join(re.sub(r"<[^>]+>", "", heading.group(1)).split()))
    return names


def test_two_groups_of_one_programme_have_sections_told_apart() -> None:
    """Screen-reader users move between regions by name: "Next meeting" twice is no help."""
    program = ProgramFactory(kind=ProgramKind.CARE_CIRCLE, title="Closer")
    member = ready_member()
    for name in ("Tuesday", "Thursday"):
        services.enroll(member=member, cohort=CohortFactory(program=program, name=name))
    client = client_for(member)
    for url in (reverse("enrollment:my_groups"), reverse("care:home")):
        names = _region_names(client.get(url).content.decode())
        assert names and len(names) == len(set(names)), (url, names)


def test_every_link_on_my_groups_opens_for_seats_places_and_offers() -> None:
    """A group's own pages (its meetings, programme, board) are for those with a seat: the cards
    of a waiting-list place or an offer do not link to them, and every link shown works."""
    import re
    from datetime import timedelta

    from django.utils import timezone

    from circlecare.programs.models import ProgramKind
    from tests.meetings.factories import meeting_at

    member = ready_member()
    soon = timezone.now() + timedelta(days=2)
    circle = ProgramFactory(kind=ProgramKind.CARE_CIRCLE)
    seated, waiting, offered = (CohortFactory(program=circle, capacity=1) for _ in range(3))
    for cohort in (seated, waiting, offered):
        meeting_at(cohort, soon)
    services.enroll(member=member, cohort=seated)
    services.enroll(member=ready_member(), cohort=waiting)
    services.enroll(member=member, cohort=waiting)
    ahead = services.enroll(member=ready_member(), cohort=offered)
    offer = services.enroll(member=member, cohort=offered)
    services.withdraw(enrollment=ahead)
    offer.refresh_from_db()
    assert offer.status == "offered"

    client = client_for(member)
    page = client.get(reverse("enrollment:my_groups")).content.decode()
    links = set(re.findall(r'href="(/[^"#]*)', page))
    assert reverse("care:programme", kwargs={"cohort_id": seated.pk}) in links
    for cohort in (waiting, offered):
        assert reverse("care:programme", kwargs={"cohort_id": cohort.pk}) not in links
    for link in sorted(links):
        assert client.get(link.replace("&amp;", "&")).status_code in {200, 302}, link
    # Nor do they show the group's week and next meeting as if the member were in it.
    cards = {int(card.split('"', 1)[0]): card for card in page.split('data-enrollment="')[1:]}
    assert "Next meeting" in cards[Enrollment.objects.get(member=member, cohort=seated).pk]
    for cohort in (waiting, offered):
        card = cards[Enrollment.objects.get(member=member, cohort=cohort).pk]
        assert "Next meeting" not in card and "This week in" not in card


def test_my_groups_lists_the_groups_someone_runs_and_only_for_them() -> None:
    cohort = CohortFactory(name="Thursday evening group")
    lead_page = client_for(cohort.lead).get(reverse("enrollment:my_groups")).content.decode()
    assert "Groups you run" in lead_page and "Thursday evening group" in lead_page
    member_page = client_for(ready_member()).get(reverse("enrollment:my_groups")).content.decode()
    assert "Groups you run" not in member_page


def test_my_groups_page_costs_the_same_with_more_groups() -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    member = ready_member()
    client = client_for(member)
    services.enroll(member=member, cohort=CohortFactory())
    client.get(reverse("enrollment:my_groups"))

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(reverse("enrollment:my_groups")).status_code == 200
        return len(ctx)

    one = count()
    for _ in range(3):
        services.enroll(member=member, cohort=CohortFactory())
    assert count() == one


def test_my_groups_cards_show_when_the_group_really_first_meets(
    django_assert_num_queries: Any,
) -> None:
    from datetime import timedelta
    from zoneinfo import ZoneInfo

    from circlecare.enrollment import queries
    from tests.meetings.factories import first_real_start, rescheduled_group

    member = ready_member()
    cohort = rescheduled_group()
    first = first_real_start(cohort)
    services.enroll(member=member, cohort=cohort)
    cards, _past = queries.my_groups(member)
    with django_assert_num_queries(0):  # read with the page's meetings
        assert [card.first_start for card in cards] == [first]
    page = client_for(member).get(reverse("enrollment:my_groups")).content.decode()
    local = first.astimezone(ZoneInfo(member.time_zone or "UTC"))
    planned = local.date() - timedelta(days=11)  # the Saturday first planned
    assert f"{local:%a} {local.day} {local:%b}" in page
    assert f"{planned:%a} {planned.day} {planned:%b}" not in page


def _call_off(state: str, cohort: Any, inviter: Any, partner: Any, invite: Any) -> None:
    if state == "withdrawn":
        services.cancel_partner_invite(invite_id=invite.pk, member=inviter)
    elif state == "withdrawn_for_another_address":
        services.invite_partner(member=inviter, cohort=cohort, email="someone.else@example.org")
    elif state == "replaced":
        services.invite_partner(member=inviter, cohort=cohort, email=partner.email.upper())
    elif state == "not_for_couples":
        services.change_for_couples(
            program=cohort.program, for_couples=False, actor=UserFactory(is_staff=True)
        )
    elif state == "expired":
        PartnerInvite.objects.filter(pk=invite.pk).update(expires_at=timezone.now())
    elif state == "group_closed":
        type(cohort).objects.filter(pk=cohort.pk).update(status=CohortStatus.CANCELLED)
    elif state == "called_off_long_ago":  # before the reason was kept
        PartnerInvite.objects.filter(pk=invite.pk).update(status="cancelled", end_reason="")


@pytest.mark.parametrize(
    ("state", "says", "next_step"),
    [
        (
            "withdrawn",
            "Your partner called off this invitation, so its link no longer works.",
            "See upcoming groups",
        ),
        (
            "withdrawn_for_another_address",
            "Your partner called off this invitation, so its link no longer works.",
            "See upcoming groups",
        ),
        (
            "replaced",
            "Your partner sent you a newer invitation to this group, which replaces this one.",
            "See upcoming groups",
        ),
        (
            "not_for_couples",
            "The group this invitation was for is no longer for couples: each person joins it "
            "on their own.",
            "About the group",
        ),
        (
            "expired",
            "Invitations stay open for 14 days, and this one has expired, so its link no longer "
            "works.",
            "See upcoming groups",
        ),
        (
            "group_closed",
            "This group has been cancelled. So the invitation to join it together has closed too.",
            "See upcoming groups",
        ),
        (
            "called_off_long_ago",
            "This invitation was called off, so its link no longer works.",
            "See upcoming groups",
        ),
    ],
)
def test_a_called_off_invitation_says_what_happened_and_where_to_go_next(
    state: str, says: str, next_step: str
) -> None:
    cohort = CohortFactory(program=ProgramFactory(for_couples=True), capacity=4)
    inviter = ready_member(display_name="Ana")
    partner = ready_member(email="partner@example.org")
    invite, token = invite_partner(member=inviter, cohort=cohort, email=partner.email)
    url = reverse("enrollment:partner_accept", args=[token])
    partner_client = client_for(partner)
    assert "Join Ana" in partner_client.get(url).content.decode()

    _call_off(state, cohort, inviter, partner, invite)
    page = partner_client.get(url)
    assert page.status_code == 200
    body = page.content.decode()
    assert says in body
    assert f">{next_step}</a>" in body
    assert "Accept and join together" not in body
    # Accepting it anyway changes nothing and says the same.
    refused = partner_client.post(url)
    assert refused.status_code == 409 and says in refused.content.decode()
    assert not Enrollment.objects.filter(cohort=cohort).exists()
    # Anyone else still learns nothing about it.
    assert client_for(ready_member()).get(url).status_code == 404


def test_an_accepted_invitation_opened_again_points_to_my_groups() -> None:
    cohort = CohortFactory(program=ProgramFactory(for_couples=True), capacity=4)
    partner = ready_member(email="partner@example.org")
    _invite, token = invite_partner(member=ready_member(), cohort=cohort, email=partner.email)
    url = reverse("enrollment:partner_accept", args=[token])
    partner_client = client_for(partner)
    partner_client.post(url)
    body = partner_client.get(url).content.decode()
    assert "You've already accepted this invitation" in body
    assert f'href="{reverse("enrollment:my_groups")}"' in body
    assert partner_client.post(url).status_code == 409
    assert Enrollment.objects.filter(cohort=cohort).count() == 2


def test_an_invitation_called_off_while_its_page_is_open_says_so_on_accepting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cohort = CohortFactory(program=ProgramFactory(for_couples=True), capacity=4)
    inviter = ready_member()
    partner = ready_member(email="partner@example.org")
    _invite, token = invite_partner(member=inviter, cohort=cohort, email=partner.email)
    url = reverse("enrollment:partner_accept", args=[token])
    partner_client = client_for(partner)
    assert partner_client.get(url).status_code == 200
    real_state = services.invitation_state
    # The inviter calls it off between the page's own check and the acceptance.
    calls = iter([services.INVITE_OPEN])

    def state_then_called_off(invite: Any, now: Any = None) -> str:
        first = next(calls, None)
        if first is not None:
            services.cancel_partner_invite(invite_id=invite.pk, member=inviter)
            return first
        return real_state(invite, now)

    monkeypatch.setattr(services, "invitation_state", state_then_called_off)
    refused = partner_client.post(url)
    assert refused.status_code == 409
    assert "Your partner called off this invitation" in refused.content.decode()
    assert not Enrollment.objects.filter(cohort=cohort).exists()


@pytest.mark.parametrize("partner_lives", ["TX", ""])
def test_a_partner_who_cannot_join_from_where_they_live_is_shown_next_steps(
    partner_lives: str, django_capture_on_commit_callbacks: Any
) -> None:
    """Not a dead end: the partner is shown where to add or correct where they live and groups
    they can join. The invitation still waits; the inviter is told, once, that their partner
    couldn't join yet, and nothing of where the partner lives."""
    from circlecare.enrollment.tasks import send_partner_could_not_join

    lead = LicenseFactory(state="NY").clinician.user
    cohort = CohortFactory(
        lead=lead, program=ProgramFactory(kind=ProgramKind.THERAPY, for_couples=True), capacity=4
    )
    circle = CohortFactory(program=ProgramFactory(kind=ProgramKind.CARE_CIRCLE), name="Open circle")
    inviter = ready_member(display_name="Ana", home_state="NY")
    partner = ready_member(email="partner@example.org", home_state=partner_lives)
    invite, token = invite_partner(member=inviter, cohort=cohort, email=partner.email)
    url = reverse("enrollment:partner_accept", args=[token])
    with django_capture_on_commit_callbacks(execute=False) as told:
        refused = client_for(partner).post(url)
    assert refused.status_code == 403
    body = html.unescape(refused.content.decode())
    assert f'href="{reverse("profile")}"' in body
    assert ("Add where you live" if not partner_lives else "If where you live has changed") in body
    assert 'data-testid="alternatives"' in body and circle.get_absolute_url() in body
    assert "Ana has been told you couldn't join yet, but not why." in body
    assert not Enrollment.objects.filter(cohort=cohort).exists()
    invite.refresh_from_db()
    assert invite.status == "pending" and invite.could_not_join_at is not None
    assert len(told) == 1

    # Trying again tells the inviter nothing more.
    with django_capture_on_commit_callbacks(execute=False) as again:
        client_for(partner).post(url)
    assert again == []

    mail.outbox.clear()
    assert send_partner_could_not_join.call(invite.pk) == 1
    [sent] = mail.outbox
    assert sent.to == [inviter.email] and "can't join it yet" in sent.body
    assert "Texas" not in sent.body and "TX" not in sent.body and cohort.title not in sent.body
    mine = html.unescape(client_for(inviter).get(reverse("enrollment:my_groups")).content.decode())
    assert 'data-testid="partner-could-not-join"' in mine
    assert "couldn't join this group yet" in mine and "Texas" not in mine


def test_a_partner_with_a_step_to_do_is_only_sent_to_it_and_the_inviter_is_not_told() -> None:
    cohort = CohortFactory(program=ProgramFactory(for_couples=True), capacity=4)
    inviter = ready_member()
    partner = UserFactory(email="partner@example.org")  # has not signed the agreements
    invite, token = invite_partner(member=inviter, cohort=cohort, email=partner.email)
    refused = client_for(partner).post(reverse("enrollment:partner_accept", args=[token]))
    assert refused.status_code == 409
    assert 'data-testid="alternatives"' not in refused.content.decode()
    invite.refresh_from_db()
    assert invite.could_not_join_at is None
    mine = client_for(inviter).get(reverse("enrollment:my_groups")).content.decode()
    assert 'data-testid="partner-could-not-join"' not in mine

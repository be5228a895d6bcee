"""A member's enrollments through the API: list, join (with its steps), withdraw, offers; rosters."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from circlecare.enrollment.models import Enrollment, EnrollmentStatus
from circlecare.meetings.models import Attendance, AttendanceStatus
from circlecare.programs.models import CohortStatus, ProgramKind
from tests.api.helpers import NOT_FOUND, Api, make_practice
from tests.enrollment.factories import publish_consents, sign_all
from tests.factories import (
    ClinicianFactory,
    CohortFactory,
    EnrollmentFactory,
    LicenseFactory,
    ProgramFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

URL = "/api/v1/enrollments"


def skills_group(**fields: object) -> object:
    return CohortFactory(program=ProgramFactory(kind=ProgramKind.SKILLS), **fields)


def test_my_enrollments_are_paginated_with_waiting_places() -> None:
    member = UserFactory()
    for _ in range(2):
        EnrollmentFactory(member=member, cohort=skills_group())
    full = skills_group(capacity=1)
    EnrollmentFactory(cohort=full)
    EnrollmentFactory(cohort=full, status=EnrollmentStatus.WAITLISTED, confirmed_at=None)
    EnrollmentFactory(
        member=member, cohort=full, status=EnrollmentStatus.WAITLISTED, confirmed_at=None
    )
    EnrollmentFactory(cohort=skills_group())  # someone else's
    api = Api(member)
    page = api.get(URL, {"limit": 2}).json()
    assert page["count"] == 3 and len(page["items"]) == 2
    everything = api.get(URL).json()["items"]
    waiting = [e for e in everything if e["status"] == "waitlisted"]
    assert [e["waiting_position"] for e in waiting] == [2]
    assert waiting[0]["cohort"]["id"] == full.pk
    assert api.get(URL, {"offset": 3}).json() == {"items": [], "count": 3}


def test_join_takes_a_seat_then_refuses_a_second_place() -> None:
    member = UserFactory()
    cohort = skills_group()
    api = Api(member)
    response = api.post(URL, {"cohort_id": cohort.pk})
    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "confirmed" and body["cohort"]["id"] == cohort.pk
    assert Enrollment.objects.get(member=member).status == EnrollmentStatus.CONFIRMED
    again = api.post(URL, {"cohort_id": cohort.pk})
    assert again.status_code == 409
    assert again.json()["code"] == "already_enrolled"
    assert Enrollment.objects.filter(member=member).count() == 1


def test_join_a_full_group_puts_me_on_the_waiting_list() -> None:
    cohort = skills_group(capacity=1)
    EnrollmentFactory(cohort=cohort)
    cohort.status = CohortStatus.FULL
    cohort.save()
    response = Api(UserFactory()).post(URL, {"cohort_id": cohort.pk})
    assert response.status_code == 201
    assert response.json()["status"] == "waitlisted"
    assert response.json()["waiting_position"] == 1


def test_an_unmet_consent_step_answers_409_with_the_steps_code_and_nothing_changes() -> None:
    publish_consents()
    member = UserFactory()
    cohort = skills_group()
    api = Api(member)
    response = api.post(URL, {"cohort_id": cohort.pk})
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "consent"
    assert body["message"].startswith("Please read and sign")
    assert body["detail"]["url"] == reverse("enrollment:consents", args=[cohort.pk])
    assert not Enrollment.objects.filter(member=member).exists()
    sign_all(member)
    assert api.post(URL, {"cohort_id": cohort.pk}).status_code == 201


def test_an_out_of_state_member_cannot_join_a_therapy_group() -> None:
    lead = ClinicianFactory().user
    LicenseFactory(clinician=lead.clinician, state="NY")
    cohort = CohortFactory(program=ProgramFactory(kind=ProgramKind.THERAPY), lead=lead)
    member = UserFactory(home_state="TX", time_zone="America/Chicago")
    response = Api(member).post(URL, {"cohort_id": cohort.pk})
    assert response.status_code == 409
    assert response.json()["code"] == "not_eligible"
    assert response.json()["message"]
    assert not Enrollment.objects.filter(member=member).exists()


@pytest.mark.parametrize("status", [CohortStatus.DRAFT, None])
def test_joining_a_draft_or_missing_group_is_404(status: str | None) -> None:
    cohort_id = skills_group(status=status).pk if status else 987654
    response = Api(UserFactory()).post(URL, {"cohort_id": cohort_id})
    assert response.status_code == 404 and response.json() == NOT_FOUND


def test_a_closed_group_refuses_with_its_reason() -> None:
    cohort = skills_group(enrollment_deadline=timezone.localdate() - timedelta(days=2))
    response = Api(UserFactory()).post(URL, {"cohort_id": cohort.pk})
    assert response.status_code == 409
    assert response.json()["code"] == "enrollment_closed"


def test_a_member_the_practice_removed_is_refused_with_its_own_code() -> None:
    from circlecare.enrollment import services

    cohort = skills_group()
    member = UserFactory()
    sign_all(member)
    place = services.enroll(member=member, cohort=cohort)
    services.remove(enrollment=place, actor=UserFactory(is_staff=True), reason="Asked to")
    response = Api(member).post(URL, {"cohort_id": cohort.pk})
    assert response.status_code == 403
    assert response.json()["code"] == "removed_from_group"
    assert Enrollment.objects.filter(member=member).count() == 1


def test_bad_join_bodies_are_422() -> None:
    api = Api(UserFactory())
    for body in ({}, {"cohort_id": "x"}, {"cohort_id": 0}, {"cohort_id": 10**30}):
        response = api.post(URL, body)
        assert response.status_code == 422, body
        assert response.json()["code"] == "invalid"


def test_withdraw_frees_the_seat_for_the_next_person() -> None:
    cohort = skills_group(capacity=1, status=CohortStatus.FULL)
    member = UserFactory()
    mine = EnrollmentFactory(member=member, cohort=cohort)
    waiting = EnrollmentFactory(
        cohort=cohort, status=EnrollmentStatus.WAITLISTED, confirmed_at=None
    )
    api = Api(member)
    response = api.post(f"{URL}/{mine.pk}/withdraw", {"goodbye": "Thank you all."})
    assert response.status_code == 200 and response.json()["status"] == "withdrawn"
    mine.refresh_from_db()
    waiting.refresh_from_db()
    assert mine.goodbye == "Thank you all."
    assert waiting.status == EnrollmentStatus.OFFERED
    again = api.post(f"{URL}/{mine.pk}/withdraw")
    assert again.status_code == 409 and again.json()["code"] == "invalid_transition"
    too_long = api.post(f"{URL}/{mine.pk}/withdraw", {"goodbye": "x" * 1001})
    assert too_long.status_code == 422


def test_withdraw_needs_no_body() -> None:
    """The goodbye is optional: a POST with no body at all leaves the group, as accept and
    decline do."""
    member = UserFactory()
    mine = EnrollmentFactory(member=member, cohort=skills_group())
    api = Api(member)
    response = api.client.generic("POST", f"{URL}/{mine.pk}/withdraw", b"", **api.headers)
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "withdrawn"
    mine.refresh_from_db()
    assert (mine.status, mine.goodbye) == (EnrollmentStatus.WITHDRAWN, "")


def _offer(member: object) -> Enrollment:
    return EnrollmentFactory(
        member=member,
        cohort=skills_group(),
        status=EnrollmentStatus.OFFERED,
        confirmed_at=None,
        offered_at=timezone.now(),
        offer_expires_at=timezone.now() + timedelta(hours=24),
    )


def test_accept_an_offer() -> None:
    member = UserFactory()
    offer = _offer(member)
    api = Api(member)
    response = api.post(f"{URL}/{offer.pk}/accept")
    assert response.status_code == 200 and response.json()["status"] == "confirmed"
    assert api.post(f"{URL}/{offer.pk}/accept").json()["code"] == "invalid_transition"


def test_decline_an_offer() -> None:
    member = UserFactory()
    offer = _offer(member)
    response = Api(member).post(f"{URL}/{offer.pk}/decline")
    assert response.status_code == 200 and response.json()["status"] == "withdrawn"
    offer.refresh_from_db()
    assert offer.end_reason == "declined offer"


def test_an_expired_offer_answers_409_and_keeps_the_waiting_place() -> None:
    member = UserFactory()
    offer = _offer(member)
    Enrollment.objects.filter(pk=offer.pk).update(
        offer_expires_at=timezone.now() - timedelta(minutes=1)
    )
    response = Api(member).post(f"{URL}/{offer.pk}/accept")
    assert response.status_code == 409 and response.json()["code"] == "offer_expired"
    offer.refresh_from_db()
    # Back on the list behind those not yet offered (here nobody, so the seat is offered anew).
    assert offer.passes == 1 and offer.is_live


def test_changes_need_the_write_scope() -> None:
    member = UserFactory()
    offer = _offer(member)
    api = Api(member, scopes=["read"])
    assert api.get(URL).status_code == 200
    for response in (
        api.post(URL, {"cohort_id": skills_group().pk}),
        api.post(f"{URL}/{offer.pk}/accept"),
        api.post(f"{URL}/{offer.pk}/withdraw"),
    ):
        assert response.status_code == 403 and response.json()["code"] == "forbidden"
    offer.refresh_from_db()
    assert offer.status == EnrollmentStatus.OFFERED
    assert Api(member, scopes=["write"]).get(URL).status_code == 403


def test_roster_shows_names_statuses_places_and_attendance() -> None:
    practice = make_practice()
    cohort = practice.cohort
    late_comer = UserFactory(display_name="Morgan")
    EnrollmentFactory(
        member=late_comer, cohort=cohort, status=EnrollmentStatus.WAITLISTED, confirmed_at=None
    )
    Attendance.objects.create(
        meeting=practice.meeting,
        member=practice.member,
        status=AttendanceStatus.LATE,
        at=timezone.now(),
    )
    for who in (practice.lead, practice.co_facilitator, practice.coordinator):
        body = Api(who).get(f"{URL}/rosters/{cohort.pk}").json()
        assert body["count"] == 2
        rows = {r["display_name"]: r for r in body["items"]}
        assert rows["Alex"]["status"] == "confirmed"
        assert rows["Alex"]["attendance"] == {"attended": 0, "late": 1, "absent": 0, "excused": 0}
        assert rows["Morgan"]["status"] == "waitlisted" and rows["Morgan"]["waiting_position"] == 1
        assert "email" not in rows["Alex"]


def test_the_roster_reads_no_more_of_its_members_than_it_shows() -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    practice = make_practice()
    with CaptureQueriesContext(connection) as read:
        body = Api(practice.lead).get(f"{URL}/rosters/{practice.cohort.pk}").json()
    assert [r["display_name"] for r in body["items"]] == ["Alex"]
    rows = [q["sql"] for q in read.captured_queries if 'FROM "enrollment_enrollment"' in q["sql"]]
    assert rows
    for column in ('"password"', '"email"', '"home_state"'):
        assert not any(column in sql for sql in rows), column


def test_the_groups_i_run() -> None:
    practice = make_practice()
    led = Api(practice.lead).get(f"{URL}/rosters").json()
    assert [g["id"] for g in led["items"]] == [practice.cohort.pk]
    everything = Api(practice.coordinator).get(f"{URL}/rosters").json()
    assert {g["id"] for g in everything["items"]} == {practice.cohort.pk, practice.other_cohort.pk}
    assert Api(practice.member).get(f"{URL}/rosters").json() == {"items": [], "count": 0}


def test_any_apps_join_step_answers_with_its_own_code_and_where_to_do_it() -> None:
    from circlecare.enrollment import steps

    def intake(member: object, cohort: object) -> steps.Requirement:
        return steps.Requirement(
            code="intake", message="Please answer a few questions first.", url="/measures/x/"
        )

    steps.register("test-intake", intake, order=30)  # removed again by the autouse fixture
    member = UserFactory()
    response = Api(member).post(URL, {"cohort_id": skills_group().pk})
    assert response.status_code == 409
    assert response.json() == {
        "code": "intake",
        "message": "Please answer a few questions first.",
        "detail": {"url": "/measures/x/"},
    }
    assert not Enrollment.objects.filter(member=member).exists()


def test_a_browser_session_reads_and_needs_csrf_to_join() -> None:
    from django.test import Client

    member = UserFactory()
    cohort = skills_group()
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(member)
    assert browser.get(URL).json() == {"items": [], "count": 0}
    refused = browser.post(URL, {"cohort_id": cohort.pk}, content_type="application/json")
    assert refused.status_code in {401, 403}
    assert not Enrollment.objects.filter(member=member).exists()


def test_a_long_roster_is_read_a_page_at_a_time_in_its_order() -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    practice = make_practice()
    cohort = practice.cohort
    people = [UserFactory(display_name=f"W{i}") for i in range(7)]
    for i, person in enumerate(people):
        EnrollmentFactory(
            member=person,
            cohort=cohort,
            status=EnrollmentStatus.WAITLISTED,
            confirmed_at=None,
            passes=1 if i == 0 else 0,  # W0 let an offer lapse: last in the list
        )
    gone = UserFactory(display_name="Gone")
    EnrollmentFactory(member=gone, cohort=cohort, status=EnrollmentStatus.WITHDRAWN)
    api = Api(practice.lead)
    whole = api.get(f"{URL}/rosters/{cohort.pk}?limit=100").json()
    names = [r["display_name"] for r in whole["items"]]
    assert whole["count"] == len(names) == 9
    assert names[0] == "Alex" and names[-1] == "Gone"
    assert names[1:8] == ["W1", "W2", "W3", "W4", "W5", "W6", "W0"]
    assert [r["waiting_position"] for r in whole["items"][1:8]] == [1, 2, 3, 4, 5, 6, 7]
    # Pages that cut across the seats, the waiting list and those who left give the same rows.
    pages = [api.get(f"{URL}/rosters/{cohort.pk}?limit=3&offset={o}").json() for o in (0, 3, 6)]
    assert [r for page in pages for r in page["items"]] == whole["items"]
    assert {page["count"] for page in pages} == {9}
    # A page's cost does not depend on the roster's length.
    with CaptureQueriesContext(connection) as small:
        api.get(f"{URL}/rosters/{cohort.pk}?limit=2&offset=2")
    for _ in range(30):
        EnrollmentFactory(
            member=UserFactory(), cohort=cohort, status=EnrollmentStatus.WAITLISTED,
            confirmed_at=None,
        )  # fmt: skip
    with CaptureQueriesContext(connection) as large:
        api.get(f"{URL}/rosters/{cohort.pk}?limit=2&offset=2")
    assert len(large) == len(small)


def test_first_meeting_at_is_the_groups_real_first_meeting() -> None:
    from tests.meetings.factories import first_real_start, rescheduled_group

    member = UserFactory()
    cohort = rescheduled_group(program=ProgramFactory(kind=ProgramKind.SKILLS, weeks=8))
    EnrollmentFactory(member=member, cohort=cohort)
    expected = first_real_start(cohort).isoformat().replace("+00:00", "Z")
    mine = Api(member).get(URL).json()["items"]
    assert [e["cohort"]["first_meeting_at"] for e in mine] == [expected]
    public = Api(None).get(f"/api/v1/cohorts/{cohort.pk}").json()
    assert public["first_meeting_at"] == expected

"""Who may join which group: the licence × state × date matrix, the message, and the alternatives."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from circlecare.enrollment.models import GROUP_CANCELLED, REMOVED_BY_PRACTICE, EnrollmentStatus
from circlecare.practice.eligibility import Reason, check
from circlecare.programs.models import CohortStatus, ProgramKind
from tests.factories import (
    ClinicianFactory,
    CohortFactory,
    CompactPrivilegeFactory,
    EnrollmentFactory,
    LicenseFactory,
    ProgramFactory,
    UserFactory,
    next_weekday,
)

pytestmark = pytest.mark.django_db

FIRST = next_weekday(date(2029, 3, 1), 1)  # a Tuesday; eight weekly meetings
LAST = FIRST + timedelta(weeks=7)
ON = FIRST - timedelta(days=10)
STATES = ["NY", "NJ", "FL", "TX", "PA"]


def therapy_cohort(lead: Any, **fields: Any) -> Any:
    program = fields.pop("program", None) or ProgramFactory(
        kind=ProgramKind.THERAPY, focus="relationships", weeks=8
    )
    return CohortFactory(
        program=program, lead=lead, first_meeting_date=FIRST, weekday=FIRST.weekday(), **fields
    )


# ------------------------------------------------------------------------------ the matrix


span = st.tuples(st.integers(-60, 60), st.integers(-60, 60))  # day offsets from FIRST and LAST


@st.composite
def practice(draw: Any) -> dict[str, Any]:
    licences = draw(
        st.lists(
            st.tuples(st.sampled_from(STATES), span),
            min_size=0,
            max_size=4,
            unique_by=lambda x: x[0],
        )
    )
    privileges = draw(
        st.lists(
            st.tuples(st.sampled_from(STATES), st.integers(0, 3), span),
            min_size=0,
            max_size=2,
            unique_by=lambda x: x[0],
        )
    )
    home = draw(st.sampled_from([*STATES, "XX", ""]))
    co_states = draw(st.lists(st.sampled_from(STATES), max_size=2, unique=True))
    return {"licences": licences, "privileges": privileges, "home": home, "co": co_states}


def window(offsets: tuple[int, int]) -> tuple[date, date]:
    start = FIRST + timedelta(days=offsets[0])
    end = max(LAST + timedelta(days=offsets[1]), start)
    return start, end


def covers(offsets: tuple[int, int]) -> bool:
    start, end = window(offsets)
    return start <= FIRST and end >= LAST


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(case=practice())
def test_matrix_matches_the_rule(case: dict[str, Any]) -> None:
    with transaction.atomic():
        lead = ClinicianFactory()
        made = []
        for state, offsets in case["licences"]:
            start, end = window(offsets)
            made.append(LicenseFactory(clinician=lead, state=state, valid_from=start, valid_to=end))
        expected = {state for (state, offsets) in case["licences"] if covers(offsets)}
        for state, index, offsets in case["privileges"]:
            if not made:
                break
            home_licence = made[index % len(made)]
            start, end = window(offsets)
            CompactPrivilegeFactory(
                clinician=lead,
                state=state,
                home_license=home_licence,
                valid_from=start,
                valid_to=end,
            )
            home_offsets = case["licences"][index % len(made)][1]
            if covers(offsets) and covers(home_offsets):
                expected.add(state)
        co = ClinicianFactory()
        for state in case["co"]:
            LicenseFactory(
                clinician=co, state=state, valid_from=date(2000, 1, 1), valid_to=date(2099, 1, 1)
            )
        cohort = therapy_cohort(lead.user, co_facilitator=co.user)
        member = UserFactory(home_state=case["home"])

        decision = check(member, cohort, on=ON)

        assert decision.allowed == (case["home"] in expected)
        assert set(decision.served_states) == expected
        if case["home"] == "XX":
            assert decision.reason == Reason.OUTSIDE_US
        transaction.set_rollback(True)


# ------------------------------------------------------------------------------ edges, by name


def test_licence_expiring_on_the_last_meeting_day_is_enough() -> None:
    lic = LicenseFactory(state="NJ", valid_from=date(2020, 1, 1), valid_to=LAST)
    cohort = therapy_cohort(lic.clinician.user)
    assert check(UserFactory(home_state="NJ"), cohort, on=ON).allowed


def test_licence_expiring_the_day_before_the_last_meeting_is_not() -> None:
    lic = LicenseFactory(state="NJ", valid_from=date(2020, 1, 1), valid_to=LAST - timedelta(days=1))
    cohort = therapy_cohort(lic.clinician.user)
    assert not check(UserFactory(home_state="NJ"), cohort, on=ON).allowed


def test_a_skipped_week_moves_the_last_meeting_the_licence_must_cover() -> None:
    """Skipping a week moves the group's last meeting a week on: a licence that ends before
    that meeting no longer covers someone joining from its state."""
    from circlecare.meetings import services as meetings
    from circlecare.programs.models import Cohort

    lic = LicenseFactory(state="NJ", valid_from=date(2020, 1, 1), valid_to=LAST + timedelta(days=3))
    cohort = therapy_cohort(lic.clinician.user)
    meetings.create_meetings(cohort=cohort, actor=None)
    assert check(UserFactory(home_state="NJ"), cohort, on=ON).allowed
    third = cohort.meetings.order_by("starts_at")[2]
    meetings.skip_week(meeting=third, actor=UserFactory(is_staff=True))
    cohort = Cohort.objects.select_related("program", "lead").get(pk=cohort.pk)
    decision = check(UserFactory(home_state="NJ"), cohort, on=ON)
    assert not decision.allowed
    assert decision.reason == Reason.NOT_SERVING
    # A join reads the last meeting with the group, in the query it already makes.
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from circlecare.programs.queries import joining_cohort

    joining = joining_cohort(cohort.pk)
    member = UserFactory(home_state="NJ")
    with CaptureQueriesContext(connection) as read:
        assert check(member, joining, on=ON).reason == Reason.NOT_SERVING
    assert not [q for q in read.captured_queries if "meetings_meeting" in q["sql"]]
    # The group's page says the same about who it serves.
    from circlecare.programs.views import served_states_label

    assert (
        served_states_label(cohort) == "This group is not taking members from any state right now."
    )


def test_licence_starting_after_the_first_meeting_is_refused() -> None:
    lic = LicenseFactory(
        state="NJ", valid_from=FIRST + timedelta(days=1), valid_to=date(2040, 1, 1)
    )
    cohort = therapy_cohort(lic.clinician.user)
    decision = check(UserFactory(home_state="NJ"), cohort, on=ON)
    assert not decision.allowed
    assert decision.reason == Reason.NOT_SERVING
    # The group's page says the same about who it serves.
    from circlecare.programs.views import served_states_label

    assert (
        served_states_label(cohort) == "This group is not taking members from any state right now."
    )


def test_compact_privilege_needs_a_valid_home_licence() -> None:
    home = LicenseFactory(
        state="NJ", valid_from=date(2020, 1, 1), valid_to=FIRST + timedelta(days=7)
    )
    CompactPrivilegeFactory(
        clinician=home.clinician, state="PA", home_license=home, valid_to=date(2040, 1, 1)
    )
    cohort = therapy_cohort(home.clinician.user)
    assert not check(UserFactory(home_state="PA"), cohort, on=ON).allowed
    home.valid_to = date(2040, 1, 1)
    home.save()
    cohort.refresh_from_db()
    assert check(UserFactory(home_state="PA"), cohort, on=ON).allowed


def test_the_co_facilitators_licence_never_counts() -> None:
    lead = LicenseFactory(state="NY").clinician
    co = LicenseFactory(state="TX").clinician
    cohort = therapy_cohort(lead.user, co_facilitator=co.user)
    decision = check(UserFactory(home_state="TX"), cohort, on=ON)
    assert not decision.allowed
    assert decision.reason == Reason.STATE_NOT_SERVED
    assert decision.message.startswith("This group serves residents of New York.")


def test_the_message_names_the_states_served() -> None:
    lead = ClinicianFactory()
    for state in ["NY", "FL", "NJ"]:
        LicenseFactory(clinician=lead, state=state)
    cohort = therapy_cohort(lead.user)
    decision = check(UserFactory(home_state="TX"), cohort, on=ON)
    assert "This group serves residents of Florida, New Jersey and New York." in decision.message
    assert "Texas" in decision.message


def test_outside_the_us_cannot_join_therapy_but_may_join_skills_and_circles() -> None:
    lead = LicenseFactory(state="NY").clinician
    cohort = therapy_cohort(lead.user)
    abroad = UserFactory(home_state="XX")
    decision = check(abroad, cohort, on=ON)
    assert (decision.allowed, decision.reason) == (False, Reason.OUTSIDE_US)
    for kind in (ProgramKind.SKILLS, ProgramKind.CARE_CIRCLE):
        other = CohortFactory(program=ProgramFactory(kind=kind))
        assert check(abroad, other, on=ON).allowed


def test_a_member_without_a_home_state_is_asked_for_it() -> None:
    cohort = therapy_cohort(LicenseFactory(state="NY").clinician.user)
    decision = check(UserFactory(home_state=""), cohort, on=ON)
    assert decision.reason == Reason.NO_HOME_STATE
    assert "profile" in decision.message


# ------------------------------------------------------------------------------ alternatives


def test_alternatives_list_licensed_therapy_then_open_skills_and_circles_soonest_first() -> None:
    today = date.today()
    start = next_weekday(today + timedelta(days=14), 1)
    ny_lead = LicenseFactory(state="NY").clinician
    tx_lead = LicenseFactory(state="TX").clinician
    relationships = ProgramFactory(kind=ProgramKind.THERAPY, focus="relationships")
    anxiety = ProgramFactory(kind=ProgramKind.THERAPY, focus="anxiety")
    asked = CohortFactory(program=relationships, lead=ny_lead.user, first_meeting_date=start)
    therapy_tx = CohortFactory(
        program=relationships, lead=tx_lead.user, first_meeting_date=start + timedelta(weeks=3)
    )
    CohortFactory(program=anxiety, lead=tx_lead.user, first_meeting_date=start)  # other focus
    CohortFactory(program=relationships, lead=ny_lead.user, first_meeting_date=start)  # not in TX
    later_circle = CohortFactory(
        program=ProgramFactory(kind=ProgramKind.CARE_CIRCLE),
        first_meeting_date=start + timedelta(weeks=2),
    )
    sooner_skills = CohortFactory(
        program=ProgramFactory(kind=ProgramKind.SKILLS),
        first_meeting_date=start + timedelta(weeks=1),
    )
    full_skills = CohortFactory(
        program=ProgramFactory(kind=ProgramKind.SKILLS), first_meeting_date=start, capacity=1
    )
    EnrollmentFactory(cohort=full_skills, status=EnrollmentStatus.CONFIRMED)
    CohortFactory(program=ProgramFactory(kind=ProgramKind.SKILLS), status=CohortStatus.DRAFT)

    decision = check(UserFactory(home_state="TX"), asked, on=today)

    assert not decision.allowed
    assert [c.pk for c in decision.alternatives] == [
        therapy_tx.pk,
        sooner_skills.pk,
        later_circle.pk,
    ]


def test_alternatives_leave_out_the_groups_the_member_is_already_in() -> None:
    today = date.today()
    asked = therapy_cohort(LicenseFactory(state="NY").clinician.user)
    member = UserFactory(home_state="TX")
    seated = CohortFactory(program=ProgramFactory(kind=ProgramKind.SKILLS))
    waiting = CohortFactory(program=ProgramFactory(kind=ProgramKind.CARE_CIRCLE))
    left = CohortFactory(program=ProgramFactory(kind=ProgramKind.SKILLS))
    EnrollmentFactory(cohort=seated, member=member, status=EnrollmentStatus.CONFIRMED)
    EnrollmentFactory(cohort=waiting, member=member, status=EnrollmentStatus.WAITLISTED)
    EnrollmentFactory(cohort=left, member=member, status=EnrollmentStatus.WITHDRAWN)
    # A place the practice ended bars joining that group again; a cancelled group's does not.
    removed_from = CohortFactory(program=ProgramFactory(kind=ProgramKind.SKILLS))
    EnrollmentFactory(
        cohort=removed_from,
        member=member,
        status=EnrollmentStatus.REMOVED,
        end_reason=REMOVED_BY_PRACTICE,
        removal_reason="Asked to",
    )
    reopened = CohortFactory(program=ProgramFactory(kind=ProgramKind.SKILLS))
    EnrollmentFactory(
        cohort=reopened,
        member=member,
        status=EnrollmentStatus.REMOVED,
        end_reason=GROUP_CANCELLED,
    )
    open_one = CohortFactory(program=ProgramFactory(kind=ProgramKind.CARE_CIRCLE))

    decision = check(member, asked, on=today)

    assert {c.pk for c in decision.alternatives} == {left.pk, reopened.pk, open_one.pk}


def test_alternatives_cost_a_fixed_number_of_queries(django_assert_max_num_queries: Any) -> None:
    today = date.today()
    lead = LicenseFactory(state="NY").clinician
    program = ProgramFactory(kind=ProgramKind.THERAPY)
    asked = CohortFactory(program=program, lead=lead.user)
    member = UserFactory(home_state="TX")
    for _ in range(3):
        CohortFactory(program=program, lead=LicenseFactory(state="TX").clinician.user)
        CohortFactory(program=ProgramFactory(kind=ProgramKind.SKILLS))
    with django_assert_max_num_queries(8) as small:
        check(member, asked, on=today)
    for _ in range(6):
        CohortFactory(program=program, lead=LicenseFactory(state="TX").clinician.user)
        CohortFactory(program=ProgramFactory(kind=ProgramKind.SKILLS))
    with django_assert_max_num_queries(len(small.captured_queries)):
        decision = check(member, asked, on=today)
    assert len(decision.alternatives) == 6


def test_a_new_lead_must_cover_the_groups_own_today_whatever_the_coordinators_date() -> None:
    """At 1 am on 2 December in London it is still 5 pm on 1 December in Los Angeles, and a Los
    Angeles group meeting on Tuesdays (1 December 2026 is one) meets that evening: a clinician
    licensed in California only from 2 December cannot take it over yet."""
    from datetime import UTC, datetime, time

    from django.utils import timezone

    from circlecare.meetings import services as meeting_services
    from circlecare.practice.eligibility import members_a_new_lead_could_not_serve

    lead = LicenseFactory(state="CA", valid_from=date(2020, 1, 1)).clinician.user
    cohort = CohortFactory(
        program=ProgramFactory(kind=ProgramKind.THERAPY, weeks=8),
        lead=lead,
        first_meeting_date=date(2026, 11, 10),
        weekday=1,
        start_time=time(19, 0),
        time_zone="America/Los_Angeles",
    )
    EnrollmentFactory(cohort=cohort, member=UserFactory(home_state="CA"))
    newcomer = LicenseFactory(state="CA", valid_from=date(2026, 12, 2)).clinician.user
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(timezone, "now", lambda: datetime(2026, 12, 2, 1, 0, tzinfo=UTC))
        meeting_services.create_meetings(cohort=cohort, actor=None)
        with timezone.override("Europe/London"):
            assert cohort.local_today() == date(2026, 12, 1)
            assert members_a_new_lead_could_not_serve(cohort, newcomer) == {"CA"}

"""Database constraints back the invariants even when code is bypassed."""

from __future__ import annotations

from datetime import date, time

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from circlecare.programs.models import Cohort
from tests.factories import (
    CohortFactory,
    EnrollmentFactory,
    LicenseFactory,
    ProgramFactory,
    ProgramWeekFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def refused(**fields: object) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        CohortFactory(**fields)


@pytest.mark.parametrize("capacity", [0, 61, 10_000])
def test_capacity_must_be_sensible(capacity: int) -> None:
    refused(capacity=capacity)


def test_negative_capacity_is_refused() -> None:
    cohort = CohortFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        Cohort.objects.filter(pk=cohort.pk).update(capacity=-1)


def test_minimum_group_size_cannot_exceed_capacity() -> None:
    refused(capacity=4, min_size=5)
    with pytest.raises(IntegrityError), transaction.atomic():
        ProgramFactory(default_capacity=4, min_group_size=6)


def test_co_facilitator_is_not_the_lead() -> None:
    lead = UserFactory()
    refused(lead=lead, co_facilitator=lead)


def test_enrolment_deadline_is_not_after_the_start() -> None:
    refused(first_meeting_date=date(2027, 1, 5), weekday=1, enrollment_deadline=date(2027, 1, 6))


def test_unknown_status_and_weekday_are_refused() -> None:
    refused(status="maybe")
    refused(weekday=7)


def test_program_weeks_and_minutes_ranges() -> None:
    for fields in ({"weeks": 0}, {"weeks": 53}, {"minutes_per_meeting": 5}):
        with pytest.raises(IntegrityError), transaction.atomic():
            ProgramFactory(**fields)


def test_curriculum_week_numbers_are_unique_per_program() -> None:
    program = ProgramFactory()
    ProgramWeekFactory(program=program, number=1)
    with pytest.raises(IntegrityError), transaction.atomic():
        ProgramWeekFactory(program=program, number=1)


def test_licence_dates_must_be_ordered() -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        LicenseFactory(valid_from=date(2026, 1, 1), valid_to=date(2025, 1, 1))


def test_one_live_enrollment_per_member_and_cohort() -> None:
    first = EnrollmentFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        EnrollmentFactory(member=first.member, cohort=first.cohort, status="waitlisted")
    # A past, ended enrollment does not block joining again.
    first.status = "withdrawn"
    first.save()
    EnrollmentFactory(member=first.member, cohort=first.cohort, status="waitlisted")


def test_an_offer_always_has_a_deadline() -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        EnrollmentFactory(status="offered", offer_expires_at=None)


def test_model_validation_explains_a_weekday_mismatch() -> None:
    cohort = CohortFactory.build(
        lead=UserFactory(), first_meeting_date=date(2027, 1, 5), weekday=3, start_time=time(19)
    )
    cohort.program.save()
    cohort.program_id = cohort.program.pk
    with pytest.raises(ValidationError) as excinfo:
        cohort.full_clean()
    assert "weekday" in excinfo.value.message_dict

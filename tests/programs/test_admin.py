"""A coordinator changes who a programme is for from the programme list, and is told what it
did to its groups, or why it can't be done."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse

from circlecare.enrollment import services
from circlecare.programs.models import CohortStatus, Program
from tests.enrollment.factories import (
    invite_partner,
    only_enrollment_steps,
    publish_consents,
    ready_member,
)
from tests.factories import CohortFactory, ProgramFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _enrollment_steps_only() -> Iterator[None]:
    with only_enrollment_steps():
        yield


def coordinator_client() -> Client:
    client = Client()
    client.force_login(UserFactory(is_staff=True))
    return client


def run_action(client: Client, action: str, program: Program) -> list[str]:
    response = client.post(
        reverse("admin:programs_program_changelist"),
        {"action": action, "_selected_action": [program.pk]},
    )
    assert response.status_code == 302
    return [str(m) for m in get_messages(response.wsgi_request)]


def test_a_coordinator_switches_couples_off_and_the_group_opens() -> None:
    publish_consents()
    cohort = CohortFactory(program=ProgramFactory(for_couples=True), name="Fridays", capacity=3)
    inviter, partner = ready_member(), ready_member()
    _invite, token = invite_partner(member=inviter, cohort=cohort, email=partner.email)
    services.accept_partner_invite(token=token, member=partner)
    cohort.refresh_from_db()
    assert cohort.status == CohortStatus.FULL  # one seat left: no room for a couple
    client = coordinator_client()

    # The change form shows it, but changes it only through the actions.
    page = client.get(reverse("admin:programs_program_change", args=[cohort.program_id]))
    assert 'name="for_couples"' not in page.content.decode()

    said = run_action(client, "make_not_for_couples", cohort.program)
    cohort.refresh_from_db()
    assert cohort.status == CohortStatus.OPEN
    assert Program.objects.get(pk=cohort.program_id).for_couples is False
    assert "no longer for couples" in said[0] and "Now open:" in said[0]
    assert "Fridays" in said[0]


def test_a_coordinator_is_told_why_a_programme_cannot_be_made_for_couples() -> None:
    publish_consents()
    cohort = CohortFactory(program=ProgramFactory(title="Closer"), name="Mondays")
    services.enroll(member=ready_member(), cohort=cohort)
    said = run_action(coordinator_client(), "make_for_couples", cohort.program)
    assert said == [
        "Closer: People have places of their own in this programme's groups (1 in Closer — "
        "Mondays). A group for couples seats couples together, so it can't become one while "
        "they're in it. Offer couples a new programme, or make this one for couples once those "
        "groups have finished."
    ]
    assert Program.objects.get(pk=cohort.program_id).for_couples is False


PROGRAM = {
    "kind": "skills", "title": "Steady", "slug": "steady", "focus": "anxiety",
    "summary": "Skills for steadier days.", "audience": "Adults.", "weeks": "6",
    "minutes_per_meeting": "90", "default_capacity": "10", "min_group_size": "4",
    "is_published": "on",
    "curriculum-TOTAL_FORMS": "0", "curriculum-INITIAL_FORMS": "0",
    "curriculum-MIN_NUM_FORMS": "0", "curriculum-MAX_NUM_FORMS": "1000",
}  # fmt: skip


def field_errors(response: object, field: str) -> list[str]:
    form = response.context["adminform"].form  # type: ignore[attr-defined]
    return [str(e) for e in form.errors.get(field, [])]


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"default_capacity": "0"}, "default_capacity", "A group needs at least one seat."),
        ({"default_capacity": "-3"}, "default_capacity", "A group needs at least one seat."),
        ({"default_capacity": "40000"}, "default_capacity", "at most 60 seats"),
        ({"min_group_size": "12"}, "min_group_size", "can't be larger than the capacity"),
        ({"weeks": "0"}, "weeks", "at least 1 week"),
        ({"minutes_per_meeting": "5"}, "minutes_per_meeting", "at least 15 minutes"),
    ],
)
def test_a_programme_with_numbers_out_of_range_is_refused_in_plain_words(
    changes: dict[str, str], field: str, words: str
) -> None:
    response = coordinator_client().post(
        reverse("admin:programs_program_add"), {**PROGRAM, **changes}
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "Constraint" not in page and "greater than or equal to 0" not in page
    assert any(words in e for e in field_errors(response, field))
    assert not Program.objects.filter(slug="steady").exists()


@pytest.mark.parametrize(
    ("capacity", "words"),
    [
        ("0", "A group needs at least one seat."),
        ("-1", "A group needs at least one seat."),
        ("1000000", "A group can have at most 60 seats."),
    ],
)
def test_a_group_with_a_capacity_out_of_range_is_refused_in_plain_words(
    capacity: str, words: str
) -> None:
    from circlecare.programs.models import Cohort
    from tests.factories import LicenseFactory

    program = ProgramFactory()
    response = coordinator_client().post(
        reverse("admin:programs_cohort_add"),
        {
            "program": program.pk, "name": "Monday", "lead": LicenseFactory().clinician.user.pk,
            "first_meeting_date": "2027-01-04", "weekday": "0", "start_time": "18:00",
            "time_zone": "America/New_York", "capacity": capacity, "min_size": "1",
        },
    )  # fmt: skip
    assert response.status_code == 200
    assert "Constraint" not in response.content.decode()
    assert field_errors(response, "capacity") == [words]
    assert not Cohort.objects.filter(name="Monday").exists()


def test_a_programme_with_groups_keeps_its_kind() -> None:
    """Who may join its groups and what they are asked follow from it."""
    cohort = CohortFactory(program=ProgramFactory(kind="skills", slug="steady"))
    url = reverse("admin:programs_program_change", args=[cohort.program_id])
    response = coordinator_client().post(url, {**PROGRAM, "kind": "therapy"})
    assert response.status_code == 200
    assert any("its kind decides who may join them" in e for e in field_errors(response, "kind"))
    assert Program.objects.get(pk=cohort.program_id).kind == "skills"
    # Without groups yet, it may still change.
    empty = ProgramFactory(kind="skills", slug="calm")
    changed = coordinator_client().post(
        reverse("admin:programs_program_change", args=[empty.pk]),
        {**PROGRAM, "slug": "calm", "kind": "therapy"},
    )
    assert changed.status_code == 302
    assert Program.objects.get(pk=empty.pk).kind == "therapy"


def test_a_programme_whose_groups_have_meetings_keeps_its_length() -> None:
    """Their meetings were made for it, and the final questionnaire and "by week N" follow it;
    a programme whose groups have no meetings yet may still change."""
    from django.utils import timezone

    from tests.meetings.factories import meeting_at

    program = ProgramFactory(kind="skills", slug="steady", weeks=6)
    cohort = CohortFactory(program=program)
    url = reverse("admin:programs_program_change", args=[program.pk])
    before = coordinator_client().post(url, {**PROGRAM, "weeks": "8"})
    assert before.status_code == 302
    assert Program.objects.get(pk=program.pk).weeks == 8
    meeting_at(cohort, timezone.now(), number=1)
    refused = coordinator_client().post(url, {**PROGRAM, "weeks": "6"})
    assert refused.status_code == 200
    assert any(
        "already have their 8 weeks of meetings" in e for e in field_errors(refused, "weeks")
    )
    assert Program.objects.get(pk=program.pk).weeks == 8
    kept = coordinator_client().post(url, {**PROGRAM, "weeks": "8", "title": "Steadier"})
    assert kept.status_code == 302


def test_a_group_whose_meetings_would_run_past_the_calendar_is_refused_in_plain_words() -> None:
    from circlecare.programs.models import Cohort
    from tests.factories import LicenseFactory

    program = ProgramFactory(weeks=8)
    response = coordinator_client().post(
        reverse("admin:programs_cohort_add"),
        {
            "program": program.pk, "name": "Far off", "lead": LicenseFactory().clinician.user.pk,
            "first_meeting_date": "9999-12-31", "weekday": "4", "start_time": "18:00",
            "time_zone": "Pacific/Kiritimati", "capacity": "8", "min_size": "1",
        },
    )  # fmt: skip
    assert response.status_code == 200
    assert field_errors(response, "first_meeting_date") == [
        "The group's meetings would run past the last date the calendar can hold; check the year."
    ]
    assert not Cohort.objects.filter(name="Far off").exists()

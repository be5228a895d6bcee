"""A coordinator (``is_staff``) works the admin without being a superuser: the inquiry inbox and the
practice's records open; making people staff or superusers does not."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse

from circlecare.accounts.backends import COORDINATOR_PERMISSIONS
from tests.factories import InquiryFactory, UserFactory

pytestmark = pytest.mark.django_db


def coordinator_client() -> Client:
    client = Client()
    client.force_login(UserFactory(is_staff=True))
    return client


def test_every_coordinator_permission_exists() -> None:
    existing = {
        f"{app}.{codename}"
        for app, codename in Permission.objects.values_list("content_type__app_label", "codename")
    }
    assert existing >= COORDINATOR_PERMISSIONS, COORDINATOR_PERMISSIONS - existing


def test_a_coordinator_answers_inquiries_in_the_admin() -> None:
    inquiry = InquiryFactory()
    client = coordinator_client()
    assert client.get(reverse("admin:index")).status_code == 200
    assert client.get(reverse("admin:inquiries_inquiry_changelist")).status_code == 200
    assert (
        client.get(reverse("admin:inquiries_inquiry_change", args=[inquiry.pk])).status_code == 200
    )
    marked = client.post(
        reverse("admin:inquiries_inquiry_changelist"),
        {"action": "mark_contacted", "_selected_action": [inquiry.pk]},
    )
    assert marked.status_code == 302
    inquiry.refresh_from_db()
    assert inquiry.status == "contacted"
    assert client.get(reverse("admin:practice_license_add")).status_code == 200


def test_a_coordinator_cannot_make_anyone_staff() -> None:
    member = UserFactory()
    client = coordinator_client()
    # Accounts can be looked up, not changed: the page is read-only and a change is refused.
    page = client.get(reverse("admin:accounts_user_change", args=[member.pk]))
    assert page.status_code == 200 and 'name="_save"' not in page.content.decode()
    refused = client.post(
        reverse("admin:accounts_user_change", args=[member.pk]),
        {"email": member.email, "is_staff": "on", "is_superuser": "on"},
    )
    assert refused.status_code == 403
    member.refresh_from_db()
    assert not member.is_staff and not member.is_superuser
    assert client.get(reverse("admin:auth_group_changelist")).status_code == 403


def test_without_the_coordinator_box_the_admin_stays_shut() -> None:
    client = Client()
    client.force_login(UserFactory(is_staff=False))
    response = client.get(reverse("admin:inquiries_inquiry_changelist"))
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_a_licence_with_its_dates_the_wrong_way_round_is_refused_in_plain_words() -> None:
    from circlecare.practice.models import License
    from tests.factories import ClinicianFactory

    clinician = ClinicianFactory()
    response = coordinator_client().post(
        reverse("admin:practice_license_add"),
        {
            "clinician": clinician.pk,
            "state": "NY",
            "kind": "LCSW",
            "number": "12345",
            "valid_from": "2027-01-01",
            "valid_to": "2025-01-01",
        },
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert "last valid day can&#x27;t be before its first" in body
    assert "license_dates_ordered" not in body
    assert not License.objects.filter(number="12345").exists()


def test_a_coordinator_sets_up_a_programme_and_a_draft_group_in_the_admin() -> None:
    from circlecare.programs.models import Cohort, CohortStatus, Program
    from tests.factories import LicenseFactory

    client = coordinator_client()
    made = client.post(
        reverse("admin:programs_program_add"),
        {
            "kind": "skills", "title": "Steady", "slug": "steady", "focus": "anxiety",
            "summary": "Skills for steadier days.", "audience": "Adults.", "weeks": "6",
            "minutes_per_meeting": "90", "default_capacity": "10", "min_group_size": "4",
            "is_published": "on",
            "curriculum-TOTAL_FORMS": "1", "curriculum-INITIAL_FORMS": "0",
            "curriculum-MIN_NUM_FORMS": "0", "curriculum-MAX_NUM_FORMS": "1000",
            "curriculum-0-number": "1", "curriculum-0-topic": "Noticing",
        },
    )  # fmt: skip
    assert made.status_code == 302, made.content.decode()[:2000]
    program = Program.objects.get(slug="steady")
    assert program.curriculum.get().topic == "Noticing"
    lead = LicenseFactory().clinician.user
    group = client.post(
        reverse("admin:programs_cohort_add"),
        {
            "program": program.pk, "name": "Monday", "lead": lead.pk,
            "first_meeting_date": "2027-01-04", "weekday": "0", "start_time": "18:00",
            "time_zone": "America/New_York", "capacity": "8", "min_size": "3",
        },
    )  # fmt: skip
    assert group.status_code == 302, group.content.decode()[:2000]
    cohort = Cohort.objects.get(name="Monday")
    assert (
        cohort.status == CohortStatus.DRAFT
    )  # opened from its schedule page, which makes meetings

    # Once open, its capacity and times change only where members are told (roster, schedule).
    cohort.status = CohortStatus.OPEN
    cohort.save()
    page = client.get(reverse("admin:programs_cohort_change", args=[cohort.pk])).content.decode()
    assert 'name="capacity"' not in page and 'name="start_time"' not in page
    assert 'name="lead"' in page and 'name="enrollment_deadline"' in page


def test_cancelling_groups_in_the_admin_asks_first() -> None:
    from circlecare.programs.models import CohortStatus
    from tests.factories import CohortFactory

    cohort = CohortFactory()
    client = coordinator_client()
    url = reverse("admin:programs_cohort_changelist")
    chosen = {"action": "cancel_groups", "_selected_action": [cohort.pk]}
    asked = client.post(url, chosen)
    assert asked.status_code == 200 and "It can't be undone." in asked.content.decode()
    cohort.refresh_from_db()
    assert cohort.status != CohortStatus.CANCELLED
    done = client.post(url, {**chosen, "confirm": "yes"}, follow=True)
    assert "is cancelled" in done.content.decode()
    cohort.refresh_from_db()
    assert cohort.status == CohortStatus.CANCELLED


def test_a_therapy_group_is_handed_only_to_a_clinician_licensed_where_its_members_live() -> None:
    from circlecare.programs.models import Cohort, CohortStatus, ProgramKind
    from tests.factories import CohortFactory, EnrollmentFactory, LicenseFactory, ProgramFactory

    cohort = CohortFactory(
        program=ProgramFactory(kind=ProgramKind.THERAPY),
        lead=LicenseFactory(state="NJ").clinician.user,
        status=CohortStatus.OPEN,
    )
    EnrollmentFactory(cohort=cohort, member=UserFactory(home_state="NJ"))
    elsewhere = LicenseFactory(state="NY").clinician.user
    here = LicenseFactory(state="NJ").clinician.user
    client = coordinator_client()
    url = reverse("admin:programs_cohort_change", args=[cohort.pk])

    def hand_to(user: Any) -> Any:
        return client.post(
            url,
            {"name": cohort.name, "lead": user.pk, "co_facilitator": "", "min_size": "1",
             "enrollment_deadline": ""},
        )  # fmt: skip

    refused = hand_to(elsewhere)
    assert refused.status_code == 200
    assert "isn&#x27;t licensed in New Jersey" in refused.content.decode()
    assert Cohort.objects.get(pk=cohort.pk).lead_id != elsewhere.pk
    assert hand_to(here).status_code == 302
    assert Cohort.objects.get(pk=cohort.pk).lead_id == here.pk


def test_a_therapy_group_is_led_only_by_someone_recorded_as_a_clinician() -> None:
    """Eligibility goes by the lead's licences: led by anyone else, nobody could ever join."""
    from circlecare.programs.models import Cohort, CohortStatus, ProgramKind
    from tests.factories import CohortFactory, LicenseFactory, ProgramFactory

    therapy = ProgramFactory(kind=ProgramKind.THERAPY)
    peer = UserFactory(is_facilitator=True, display_name="Pat Peer")
    client = coordinator_client()
    group = {
        "program": therapy.pk, "name": "Monday", "lead": peer.pk,
        "first_meeting_date": "2027-01-04", "weekday": "0", "start_time": "18:00",
        "time_zone": "America/New_York", "capacity": "8", "min_size": "3",
    }  # fmt: skip
    refused = client.post(reverse("admin:programs_cohort_add"), group)
    assert refused.status_code == 200
    assert "Pat Peer isn&#x27;t recorded as one" in refused.content.decode()
    assert not Cohort.objects.filter(name="Monday").exists()
    # A skills group may be led by a trained peer.
    skills = ProgramFactory(kind=ProgramKind.SKILLS)
    made = client.post(reverse("admin:programs_cohort_add"), {**group, "program": skills.pk})
    assert made.status_code == 302
    assert Cohort.objects.get(name="Monday").lead == peer

    # An empty therapy group is not handed to someone who is not a clinician either.
    cohort = CohortFactory(
        program=therapy, lead=LicenseFactory(state="NJ").clinician.user, status=CohortStatus.OPEN
    )
    handed = client.post(
        reverse("admin:programs_cohort_change", args=[cohort.pk]),
        {"name": cohort.name, "lead": peer.pk, "co_facilitator": "", "min_size": "1",
         "enrollment_deadline": ""},
    )  # fmt: skip
    assert handed.status_code == 200
    assert "isn&#x27;t recorded as one" in handed.content.decode()
    assert Cohort.objects.get(pk=cohort.pk).lead_id != peer.pk


@pytest.mark.parametrize("field", ["lead", "co_facilitator", "program"])
def test_a_group_form_choosing_something_that_is_no_key_is_refused_not_a_500(
    field: str,
) -> None:
    from circlecare.programs.models import Cohort
    from tests.factories import LicenseFactory, ProgramFactory

    lead = LicenseFactory().clinician.user
    group = {
        "program": ProgramFactory().pk, "name": "Monday", "lead": lead.pk,
        "co_facilitator": "", "first_meeting_date": "2027-01-04", "weekday": "0",
        "start_time": "18:00", "time_zone": "America/New_York", "capacity": "8",
        "min_size": "3", field: "abc",
    }  # fmt: skip
    response = coordinator_client().post(reverse("admin:programs_cohort_add"), group)
    assert response.status_code == 200
    assert "Select a valid choice." in response.content.decode()
    assert not Cohort.objects.filter(name="Monday").exists()


def test_a_privilege_whose_home_licence_is_no_key_is_refused_not_a_500() -> None:
    from tests.factories import ClinicianFactory

    response = coordinator_client().post(
        reverse("admin:practice_compactprivilege_add"),
        {"clinician": ClinicianFactory().pk, "compact": "PSYPACT", "state": "NY",
         "home_license": "abc", "valid_from": "2026-01-01", "valid_to": "2027-01-01"},
    )  # fmt: skip
    assert response.status_code == 200
    assert "Select a valid choice." in response.content.decode()


def test_a_member_of_a_group_is_not_made_one_of_its_leaders() -> None:
    """Whoever leads a group sees its members' answers and notes."""
    from circlecare.programs.models import Cohort
    from tests.factories import CohortFactory, EnrollmentFactory

    cohort = CohortFactory()
    member = UserFactory(display_name="Mo Member", is_facilitator=True)
    EnrollmentFactory(cohort=cohort, member=member)
    stranger = UserFactory(display_name="Sam Stranger")
    client = coordinator_client()
    url = reverse("admin:programs_cohort_change", args=[cohort.pk])
    form = {"name": cohort.name, "lead": cohort.lead_id, "co_facilitator": "", "min_size": "1",
            "enrollment_deadline": ""}  # fmt: skip

    in_it = client.post(url, {**form, "co_facilitator": member.pk})
    assert in_it.status_code == 200
    assert "Mo Member has a place in this group as a member" in in_it.content.decode()
    no_role = client.post(url, {**form, "co_facilitator": stranger.pk})
    assert no_role.status_code == 200
    assert "Sam Stranger isn&#x27;t recorded as a facilitator or a clinician" in (
        no_role.content.decode()
    )
    assert client.post(url, {**form, "lead": stranger.pk}).status_code == 200
    assert Cohort.objects.get(pk=cohort.pk).co_facilitator is None
    assert Cohort.objects.get(pk=cohort.pk).lead_id != stranger.pk

    peer = UserFactory(is_facilitator=True)
    assert client.post(url, {**form, "co_facilitator": peer.pk}).status_code == 302
    assert Cohort.objects.get(pk=cohort.pk).co_facilitator == peer


# The real worker runs the e-mail task: it closes its database connection when done, as it
# would in production, so the test runs outside a test transaction.
@pytest.mark.django_db(transaction=True)
def test_handing_a_group_to_a_new_lead_hands_them_its_open_alerts(
    django_capture_on_commit_callbacks: Any, run_worker: Callable[[], None], settings: Any
) -> None:
    """The lead a group is handed from no longer sees its alerts: an open one still assigned to
    them would name someone who cannot act on it, and the new lead is e-mailed about it. An
    acknowledged one keeps who had it."""
    from django.core import mail
    from django.utils import timezone

    from circlecare.audit.models import AuditAction, AuditEvent
    from circlecare.measures.models import RiskAlert
    from circlecare.programs.models import CohortStatus, ProgramKind
    from tests.factories import CohortFactory, LicenseFactory, ProgramFactory
    from tests.measures.factories import AssessmentFactory

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    before = LicenseFactory(state="NJ").clinician.user
    cohort = CohortFactory(
        program=ProgramFactory(kind=ProgramKind.THERAPY), lead=before, status=CohortStatus.OPEN
    )
    after = LicenseFactory(state="NJ").clinician.user

    def alert(week: int, *, acknowledged: bool) -> RiskAlert:
        assessment = AssessmentFactory(cohort=cohort, meeting_week=week)
        return RiskAlert.objects.create(
            assessment=assessment,
            member=assessment.member,
            cohort=cohort,
            assignee=before,
            raised_at=timezone.now(),
            acknowledged_at=timezone.now() if acknowledged else None,
            acknowledged_by=before if acknowledged else None,
        )

    still_open, done = alert(2, acknowledged=False), alert(3, acknowledged=False)
    RiskAlert.objects.filter(pk=done.pk).update(
        acknowledged_at=timezone.now(), acknowledged_by=before
    )
    client = Client()
    client.force_login(UserFactory(is_staff=True))
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("admin:programs_cohort_change", args=[cohort.pk]),
            {"name": cohort.name, "lead": after.pk, "co_facilitator": "", "min_size": "1",
             "enrollment_deadline": ""},
            follow=True,
        )  # fmt: skip
    assert response.status_code == 200
    run_worker()
    [handed] = mail.outbox
    assert handed.to == [after.email]
    assert f"/measures/alerts/{still_open.pk}/" in handed.body
    assert "before the group was handed to you" in handed.body
    assert still_open.member.display_name not in handed.body + handed.subject
    assert f"1 open alert about members of this group is now assigned to {after.display_name}" in (
        response.content.decode()
    )
    assert RiskAlert.objects.get(pk=still_open.pk).assignee == after
    assert RiskAlert.objects.get(pk=done.pk).assignee == before
    page = Client()
    page.force_login(after)
    shown = page.get(reverse("measures:alert", args=[still_open.pk])).content.decode()
    assert f"<dt>Assigned to</dt><dd>{after.display_name}</dd>" in shown
    [event] = AuditEvent.objects.filter(action=AuditAction.ALERT_CHANGED)
    assert event.data == {"status": "reassigned", "assignee": after.pk, "was": before.pk}


def test_signed_in_sessions_are_searched_by_e_mail() -> None:
    """django-allauth's list of sessions searched a username this project's people do not have:
    every search was a server error."""
    from allauth.usersessions.models import UserSession

    member = UserFactory(email="river@example.org")
    UserSession.objects.create(user=member, ip="192.0.2.7", session_key="a" * 32)
    UserSession.objects.create(user=UserFactory(), ip="192.0.2.8", session_key="b" * 32)
    client = Client()
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    found = client.get(reverse("admin:usersessions_usersession_changelist"), {"q": "river"})
    assert found.status_code == 200
    assert found.context["cl"].result_count == 1

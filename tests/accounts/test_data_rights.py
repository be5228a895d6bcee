"""A member downloads all their data, changes their name, and deletes their account."""

from __future__ import annotations

import json

import pytest
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from circlecare.accounts.models import User
from circlecare.audit.models import AuditEvent
from circlecare.care.models import CarePost, Reflection
from circlecare.enrollment.models import Enrollment
from circlecare.measures.models import Assessment
from tests.factories import PASSWORD, CohortFactory, EnrollmentFactory, UserFactory

pytestmark = pytest.mark.django_db


def member_with_history() -> User:
    enrollment = EnrollmentFactory(cohort=CohortFactory(name="Tuesday evenings"))
    member = enrollment.member
    Reflection.objects.create(
        member=member, body="A private canary thought", prompt="How was today?"
    )
    Reflection.objects.create(
        member=member,
        cohort=enrollment.cohort,
        body="Shared with my facilitator",
        shared_with_facilitator=True,
    )
    Assessment.objects.create(
        member=member, cohort=enrollment.cohort, program_kind="therapy", instrument="PHQ9",
        occasion="intake", status="completed", due_at=timezone.now(), completed_at=timezone.now(),
        answers=json.dumps([0, 1, 0, 0, 2, 0, 0, 0, 0]), total=3, band="minimal",
    )  # fmt: skip
    CarePost.objects.create(
        cohort=enrollment.cohort, author=member, kind="request", support="walk", title="A walk?"
    )
    return member


def test_download_all_my_data_as_json_and_as_a_page(client: Client) -> None:
    member = member_with_history()
    client.force_login(member)
    response = client.get(reverse("my_data"), {"format": "json"})
    assert response.status_code == 200
    assert "attachment" in response["Content-Disposition"]
    assert response["Cache-Control"] == "no-store"
    data = json.loads(response.content)
    assert data["profile"]["email"] == member.email
    assert data["groups"][0]["group"] == "Tuesday evenings"
    assert {entry["text"] for entry in data["journal"]} == {
        "A private canary thought",
        "Shared with my facilitator",
    }
    assert data["care_posts"][0]["title"] == "A walk?"
    assert data["questionnaires"][0]["instrument"] == "PHQ-9"
    assert data["questionnaires"][0]["answers"] == [0, 1, 0, 0, 2, 0, 0, 0, 0]
    page = client.get(reverse("my_data")).content.decode()
    assert "A private canary thought" in page and "Tuesday evenings" in page
    assert AuditEvent.objects.filter(action="account.exported", subject=member).count() == 2


def test_my_data_never_includes_other_peoples_private_data(client: Client) -> None:
    member = member_with_history()
    other = member_with_history()
    client.force_login(member)
    blob = client.get(reverse("my_data"), {"format": "json"}).content.decode()
    assert other.email not in blob


def test_anonymous_cannot_see_data_pages(client: Client) -> None:
    for name in ("my_data", "delete_account"):
        response = client.get(reverse(name))
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_delete_needs_the_password_and_the_word(client: Client) -> None:
    member = member_with_history()
    client.force_login(member)
    for data in (
        {"password": "wrong one!!", "confirm": "DELETE"},
        {"password": PASSWORD, "confirm": "yes"},
    ):
        response = client.post(reverse("delete_account"), data)
        assert response.status_code == 400
    member.refresh_from_db()
    assert member.is_active and member.display_name != "Former member"


def test_delete_my_account_keeps_clinical_records_and_forgets_me(client: Client) -> None:
    member = member_with_history()
    email = member.email
    enrollment = Enrollment.objects.get(member=member)
    other_device = Client()
    other_device.force_login(member)
    client.force_login(member)
    response = client.post(reverse("delete_account"), {"password": PASSWORD, "confirm": "delete"})
    assert response.status_code == 200
    body = response.content.decode()
    assert "clinical records" in body and "988" in body

    member.refresh_from_db()
    assert not member.is_active and member.email != email and member.display_name == "Former member"
    assert not member.has_usable_password()
    enrollment.refresh_from_db()
    assert enrollment.status == "withdrawn"
    # Private journal entries go; one shared with the facilitator is part of the record and stays.
    assert list(Reflection.objects.filter(member=member).values_list("body", flat=True)) == [
        "Shared with my facilitator"
    ]
    assert not CarePost.objects.filter(author=member).exists()
    assert AuditEvent.objects.filter(action="account.deleted", subject=member).count() == 1
    # Signed out everywhere, and the address can sign up again as a new person.
    assert other_device.get(reverse("profile")).status_code == 302
    assert not any(
        s.get_decoded().get("_auth_user_id") == str(member.pk) for s in Session.objects.all()
    )
    UserFactory(email=email)


def test_display_name_can_be_changed(client: Client) -> None:
    member = UserFactory(display_name="Sam")
    client.force_login(member)
    response = client.post(
        reverse("profile"),
        {"display_name": "Sammy", "home_state": "NY", "time_zone": "America/New_York", "language": "en",
         "email_reminders": "on"},
    )  # fmt: skip
    assert response.status_code == 302
    member.refresh_from_db()
    assert member.display_name == "Sammy" and member.care_nudges is False

"""A coordinator (``is_staff``) works the admin without being a superuser: the inquiry inbox and the
practice's records open; making people staff or superusers does not."""

from __future__ import annotations

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

"""A licence or privilege that no longer covers the people in a clinician's therapy groups is
recorded as it is (it is a fact), and the coordinator is told which groups it leaves uncovered."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse

from circlecare.practice.models import License
from circlecare.programs.models import ProgramKind
from tests.factories import (
    CohortFactory,
    EnrollmentFactory,
    LicenseFactory,
    ProgramFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def staff_client(*, superuser: bool = False) -> Client:
    client = Client()
    client.force_login(UserFactory(is_staff=True, is_superuser=superuser))
    return client


def said(response: Any) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def therapy_group_in_new_york() -> tuple[License, Any]:
    lic = LicenseFactory(state="NY")
    cohort = CohortFactory(
        program=ProgramFactory(kind=ProgramKind.THERAPY), lead=lic.clinician.user, name="Tuesdays"
    )
    EnrollmentFactory(cohort=cohort, member=UserFactory(home_state="NY"))
    return lic, cohort


def licence_form(lic: License, **changes: str) -> dict[str, Any]:
    return {
        "clinician": lic.clinician_id, "state": lic.state, "kind": lic.kind,
        "number": lic.number, "valid_from": lic.valid_from.isoformat(),
        "valid_to": lic.valid_to.isoformat(), **changes,
    }  # fmt: skip


def test_a_licence_cut_short_of_a_group_it_covers_is_saved_with_a_warning() -> None:
    lic, cohort = therapy_group_in_new_york()
    url = reverse("admin:practice_license_change", args=[lic.pk])
    client = staff_client()
    still_covered = client.post(url, licence_form(lic, number="NEW-1"))
    assert still_covered.status_code == 302
    assert not any("not licensed in" in m for m in said(still_covered))

    ends = (cohort.first_meeting_date + timedelta(days=7)).isoformat()
    cut = client.post(url, licence_form(lic, valid_to=ends))
    assert cut.status_code == 302
    lic.refresh_from_db()
    assert lic.valid_to.isoformat() == ends  # a fact: recorded as it is
    [warning] = [m for m in said(cut) if "not licensed in" in m]
    assert str(cohort) in warning
    assert "is not licensed in New York through this group's last meeting" in warning
    assert "hand the group to a clinician licensed there" in warning


def test_deleting_the_licence_behind_a_group_warns_of_it() -> None:
    lic, cohort = therapy_group_in_new_york()
    response = staff_client(superuser=True).post(
        reverse("admin:practice_license_delete", args=[lic.pk]), {"post": "yes"}
    )
    assert response.status_code == 302
    assert not License.objects.filter(pk=lic.pk).exists()
    assert any(str(cohort) in m and "New York" in m for m in said(response))

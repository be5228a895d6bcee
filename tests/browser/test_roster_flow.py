"""A group's lead opens the roster, removes a member on the page that asks for the reason (a
missing reason gets a clear message, not an error page), and sees the seat offered onward."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from circlecare.enrollment import services
from circlecare.enrollment.models import Enrollment, EnrollmentStatus
from circlecare.programs.models import ProgramKind
from tests.browser.conftest import axe_serious, enter_totp, login
from tests.enrollment.factories import only_enrollment_steps, ready_member
from tests.factories import PASSWORD, CohortFactory, ProgramFactory
from tests.mfa import enable_totp

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.mfa_enforced]


def test_lead_removes_a_member_from_the_roster(live_server: Any, new_page: Any) -> None:
    cohort = CohortFactory(program=ProgramFactory(kind=ProgramKind.SKILLS), capacity=2)
    with only_enrollment_steps():
        robin = services.enroll(member=ready_member(display_name="Robin"), cohort=cohort)
        services.enroll(member=ready_member(display_name="Sam"), cohort=cohort)
        waiting = services.enroll(member=ready_member(display_name="Tess"), cohort=cohort)
    secret = enable_totp(cohort.lead)

    page = new_page()
    login(page, live_server.url, cohort.lead.email, PASSWORD)
    enter_totp(page, secret)

    page.goto(f"{live_server.url}/my/roster/{cohort.pk}/")
    expect(page.get_by_text("2 of 2 seats held · 1 waiting")).to_be_visible()
    assert axe_serious(page) == []
    page.get_by_role("link", name="Remove Robin").click()
    expect(
        page.get_by_role("heading", level=1, name="Remove Robin from the group?")
    ).to_be_visible()
    assert axe_serious(page) == []

    page.get_by_role("button", name="Remove").click()  # no reason given
    expect(page.get_by_text("Please give a reason for removing this member.").first).to_be_visible()
    assert Enrollment.objects.get(pk=robin.pk).status == EnrollmentStatus.CONFIRMED

    page.get_by_role("textbox", name="Reason").fill("Asked to leave the group.")
    page.get_by_role("button", name="Remove").click()
    expect(page.get_by_text("Robin has been removed.")).to_be_visible()
    expect(page.get_by_role("region", name="Left the group or its waiting list")).to_contain_text(
        "Robin"
    )
    assert Enrollment.objects.get(pk=robin.pk).status == EnrollmentStatus.REMOVED
    assert Enrollment.objects.get(pk=waiting.pk).status == EnrollmentStatus.OFFERED

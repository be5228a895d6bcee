"""A member answers PHQ-9 item 9 above 0 and sees crisis resources at once; the group's clinician
sees the alert in the queue and acknowledges it with a note."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from circlecare.measures.instruments.phq9 import ITEMS
from circlecare.measures.models import RiskAlert
from circlecare.programs.models import ProgramKind
from tests.browser.conftest import axe_serious
from tests.factories import (
    PASSWORD,
    CohortFactory,
    EnrollmentFactory,
    LicenseFactory,
    ProgramFactory,
    UserFactory,
)
from tests.measures.factories import AssessmentFactory

pytestmark = pytest.mark.django_db(transaction=True)


def login(page: Page, base_url: str, email: str) -> None:
    # conftest.login looks for an "E-mail" label; the sign-in form's fields are found by id here.
    page.goto(f"{base_url}/accounts/login/")
    page.locator("#id_login").fill(email)
    page.locator("#id_password").fill(PASSWORD)
    page.get_by_role("button", name="Log in", exact=True).click()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()


def test_member_risk_answer_then_clinician_acknowledges(live_server: Any, new_page: Any) -> None:
    clinician = LicenseFactory(state="NY").clinician.user
    program = ProgramFactory(kind=ProgramKind.THERAPY, title="Closer", weeks=8)
    cohort = CohortFactory(program=program, lead=clinician, name="Tuesday evenings")
    member = UserFactory(display_name="Robin")
    EnrollmentFactory(cohort=cohort, member=member)
    assessment = AssessmentFactory(cohort=cohort, member=member, meeting_week=3)

    page = new_page()
    login(page, live_server.url, member.email)
    page.goto(f"{live_server.url}/measures/")
    page.get_by_role("link", name="Weekly: your mood").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("PHQ-9")
    assert axe_serious(page) == []
    answers = [1, 1, 0, 2, 0, 1, 0, 0, 2]
    for item, value in zip(ITEMS, answers, strict=True):
        group = page.get_by_role("group", name=f"{item.number}. {item.text}")
        label = ["Not at all", "Several days", "More than half the days", "Nearly every day"]
        group.get_by_label(label[value], exact=True).check()
    page.get_by_role("button", name="Send my answers").click()

    # The very next page: crisis resources, announced.
    crisis = page.get_by_role("alert").filter(has_text="If you need support right now")
    expect(crisis).to_be_visible()
    expect(page.get_by_role("link", name="Call 988")).to_have_attribute("href", "tel:988")
    expect(page.get_by_role("link", name="Text 988")).to_have_attribute("href", "sms:988")
    expect(page.get_by_role("link", name="911").first).to_have_attribute("href", "tel:911")
    assert axe_serious(page) == []
    alert = RiskAlert.objects.get(assessment=assessment)

    staff = new_page()
    login(staff, live_server.url, clinician.email)
    staff.goto(f"{live_server.url}/measures/alerts/")
    staff.get_by_role("link", name="Robin needs follow-up").click()
    expect(staff.get_by_role("heading", level=1)).to_contain_text("Robin needs follow-up")
    assert axe_serious(staff) == []
    staff.get_by_label("What was done").fill("Phoned Robin within the hour; agreed a safety plan.")
    staff.get_by_role("button", name="Acknowledge").click()
    expect(staff.get_by_text("The alert is acknowledged")).to_be_visible()
    alert.refresh_from_db()
    assert alert.acknowledged_by == clinician
    assert alert.action_note.startswith("Phoned Robin")


def test_checkin_answers_are_chosen_not_assumed_and_saved(live_server: Any, new_page: Any) -> None:
    cohort = CohortFactory(program=ProgramFactory(kind=ProgramKind.CARE_CIRCLE))
    member = UserFactory()
    EnrollmentFactory(cohort=cohort, member=member)
    checkin = AssessmentFactory(
        cohort=cohort, member=member, instrument="CHECKIN", occasion="checkin", meeting_week=1
    )
    page = new_page()
    login(page, live_server.url, member.email)
    page.goto(f"{live_server.url}/measures/questionnaire/{checkin.pk}/")
    expect(
        page.get_by_text("our own short check-in, not a validated questionnaire")
    ).to_be_visible()
    # Nothing is chosen in advance: sending untouched asks for each answer and saves nothing.
    page.get_by_role("button", name="Send my answers").click()
    expect(page.get_by_text("Please choose an answer for this question.").first).to_be_visible()
    checkin.refresh_from_db()
    assert checkin.answer_list == []
    for number, value in ((1, "8"), (2, "7"), (3, "10 — completely"), (4, "0 — not at all")):
        line = page.get_by_role("group", name=re.compile(rf"^{number}\. "))
        line.get_by_role("radio", name=value, exact=True).check()
    assert axe_serious(page) == []
    page.get_by_role("button", name="Send my answers").click()
    expect(page.get_by_text("Your answers are saved")).to_be_visible()
    checkin.refresh_from_db()
    assert checkin.answer_list == [8, 7, 10, 0]

"""Joining a group: told why not and where else to go; the last seat; the waiting list; an offer."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from circlecare.enrollment.models import Enrollment
from circlecare.programs.models import ProgramKind
from tests.browser.conftest import axe_serious, login
from tests.enrollment.factories import only_enrollment_steps, publish_consents, ready_member
from tests.factories import (
    PASSWORD,
    ClinicianFactory,
    CohortFactory,
    LicenseFactory,
    ProgramFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _enrollment_steps_only() -> Iterator[None]:
    # Intake questionnaires are another step with its own journey; this one is about seats.
    with only_enrollment_steps():
        yield


def open_group(page: Page, base: str, cohort: Any) -> None:
    page.goto(base + cohort.get_absolute_url())


def test_join_flow_from_not_eligible_to_an_accepted_offer(live_server: Any, new_page: Any) -> None:
    base = live_server.url
    publish_consents()
    jordan = ClinicianFactory(user__display_name="Jordan Lee")
    LicenseFactory(clinician=jordan, state="NY")
    LicenseFactory(clinician=jordan, state="NJ")
    closer = ProgramFactory(
        kind=ProgramKind.THERAPY, title="Closer: a therapy group", focus="relationships"
    )
    therapy = CohortFactory(program=closer, lead=jordan.user, name="Tuesday evenings", capacity=2)
    dbt = CohortFactory(
        program=ProgramFactory(kind=ProgramKind.SKILLS, title="DBT skills"), name="Wednesdays"
    )
    circle = CohortFactory(
        program=ProgramFactory(kind=ProgramKind.CARE_CIRCLE, title="Circle of connection"),
        lead=UserFactory(is_facilitator=True),
        name="Mondays",
    )
    Enrollment.objects.create(
        member=ready_member(home_state="NY"),
        cohort=therapy,
        status="confirmed",
        queued_at=therapy.created_at,
        confirmed_at=therapy.created_at,
    )

    # A Texas resident opens the therapy group: told why not, shown where they can go.
    taylor = UserFactory(display_name="Taylor", home_state="TX", time_zone="America/Chicago")
    page = new_page(timezone_id="America/Chicago")
    login(page, base, taylor.email, PASSWORD)
    open_group(page, base, therapy)
    reason = page.get_by_test_id("not-eligible")
    expect(reason).to_contain_text("This group serves residents of New Jersey and New York.")
    expect(reason).to_contain_text("Texas")
    alternatives = page.get_by_test_id("alternatives")
    expect(alternatives.get_by_role("link", name="DBT skills — Wednesdays")).to_be_visible()
    expect(alternatives.get_by_role("link", name="Circle of connection — Mondays")).to_be_visible()
    assert axe_serious(page) == []

    # …and joins the skills group: the agreements first, then a seat.
    alternatives.get_by_role("link", name="DBT skills — Wednesdays").click()
    page.get_by_role("link", name="Read and sign").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Read and sign")
    assert axe_serious(page) == []
    page.get_by_role("button", name="Sign the agreements").click()
    expect(page.get_by_role("alert").first).to_be_visible()  # nothing ticked: explained, not signed
    page.get_by_label("I have read and agree to the Consent to telehealth").check()
    page.get_by_label("I have read and agree to the Group confidentiality agreement").check()
    page.get_by_label("I am 18 or older").check()
    page.get_by_label("Type your name to sign").fill("Taylor Example")
    page.get_by_role("button", name="Sign the agreements").click()
    page.get_by_role("button", name="Take a seat").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("My groups")
    expect(page.get_by_test_id("status").first).to_contain_text("You have a seat.")
    assert Enrollment.objects.get(member=taylor).cohort_id == dbt.pk
    assert circle.pk != dbt.pk

    # A New Jersey resident takes the last seat of the therapy group.
    alex = ready_member(display_name="Alex", home_state="NJ")
    alex_page = new_page()
    login(alex_page, base, alex.email, PASSWORD)
    open_group(alex_page, base, therapy)
    expect(alex_page.get_by_text("1 seat left.")).to_be_visible()
    alex_page.get_by_role("button", name="Take a seat").click()
    expect(alex_page.get_by_test_id("status").first).to_contain_text("You have a seat.")

    # The next member is put on the waiting list, and sees their place.
    morgan = ready_member(display_name="Morgan", home_state="NY", time_zone="Europe/London")
    morgan_page = new_page(timezone_id="Europe/London")
    login(morgan_page, base, morgan.email, PASSWORD)
    open_group(morgan_page, base, therapy)
    morgan_page.get_by_role("button", name="Join the waiting list").click()
    expect(morgan_page.get_by_test_id("status").first).to_contain_text(
        "Number 1 on the waiting list."
    )
    assert axe_serious(morgan_page) == []

    # The first withdraws, saying goodbye to the group.
    alex_page.get_by_role("link", name="Leave this group").click()
    alex_page.get_by_label("A goodbye to the group (optional)").fill("Thank you all. Take care.")
    alex_page.get_by_role("button", name="Leave the group").click()
    expect(alex_page.get_by_text("You've left the group.")).to_be_visible()

    # The second receives an offer with a deadline in their own zone, and accepts it.
    morgan_page.goto(base + "/my/")
    offer = morgan_page.get_by_test_id("offer")
    expect(offer).to_contain_text("Please answer by")
    expect(offer.locator("time")).to_contain_text("GMT")
    assert axe_serious(morgan_page) == []
    offer.get_by_role("button", name="Accept the seat").click()
    expect(morgan_page.get_by_text("Your seat is confirmed.")).to_be_visible()
    expect(morgan_page.get_by_test_id("status").first).to_contain_text("You have a seat.")
    statuses = dict(Enrollment.objects.filter(cohort=therapy).values_list("member_id", "status"))
    assert statuses[morgan.pk] == "confirmed"
    assert statuses[alex.pk] == "withdrawn"
    assert list(statuses.values()).count("confirmed") == 2


def test_after_signing_the_agreements_focus_goes_to_the_next_step(
    live_server: Any, new_page: Any
) -> None:
    """Signing leads back to the group page's next step: a keyboard or screen-reader user lands
    on its heading, with the thank-you read out with it, not at the top of the page."""
    base = live_server.url
    publish_consents()
    cohort = CohortFactory(
        program=ProgramFactory(kind=ProgramKind.SKILLS, title="DBT skills"), name="Wednesdays"
    )
    member = UserFactory(display_name="Sam", home_state="TX")
    page = new_page()
    login(page, base, member.email, PASSWORD)
    open_group(page, base, cohort)
    page.get_by_role("link", name="Read and sign").click()
    page.get_by_label("I have read and agree to the Consent to telehealth").check()
    page.get_by_label("I have read and agree to the Group confidentiality agreement").check()
    page.get_by_label("I am 18 or older").check()
    page.get_by_label("Type your name to sign").fill("Sam Example")
    page.get_by_role("button", name="Sign the agreements").click()

    heading = page.get_by_role("heading", name="Next step")
    expect(heading).to_be_focused()
    expect(heading).to_have_accessible_description("Thank you: your agreements are signed.")
    # From there, the next thing in reading and tab order is the step itself.
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Take a seat")).to_be_focused()
    assert axe_serious(page) == []

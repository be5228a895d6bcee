"""A clinician signs in with TOTP, opens today's meeting from the workspace, writes the group note,
individualises two members' notes, signs them, and cannot change a signed note afterwards."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page, expect

from circlecare.clinic.models import GroupNote, IndividualNote, NoteStatus
from circlecare.programs.models import ProgramKind
from tests.browser.conftest import axe_serious, enter_totp, login
from tests.clinic.factories import ago_today, started_meeting
from tests.factories import PASSWORD, ProgramFactory
from tests.mfa import enable_totp

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.mfa_enforced]


def _sign(page: Page, card: Any, button: str, reviewed: str) -> None:
    # Each box names its note, so a page of them reads apart.
    card.get_by_label(f"I have reviewed {reviewed}.").check()
    card.get_by_role("button", name=button).click()
    expect(page.get_by_text("Signed. The note is now read-only.")).to_be_visible()


def test_clinician_writes_individualises_and_signs_notes(live_server: Any, new_page: Any) -> None:
    program = ProgramFactory(kind=ProgramKind.THERAPY, title="Closer Relationships", weeks=8)
    scene = started_meeting(attendees=3, ago=ago_today(), program=program, name="Tuesday evenings")
    assert scene.lead.time_zone == "America/New_York"
    secret = enable_totp(scene.lead)
    first, second = scene.attendees[0], scene.attendees[1]

    page = new_page(timezone_id="America/New_York")
    login(page, live_server.url, scene.lead.email, PASSWORD)
    expect(page).to_have_url(f"{live_server.url}/accounts/2fa/authenticate/")
    enter_totp(page, secret)

    page.goto(f"{live_server.url}/clinic/")
    expect(page.get_by_role("heading", level=1, name="Workspace")).to_be_visible()
    assert axe_serious(page) == []
    today = page.get_by_role("region", name="Today's meetings")
    today.get_by_role("link", name="Closer Relationships — Tuesday evenings, week 1").click()
    expect(page.get_by_role("heading", level=1, name="Notes, week 1")).to_be_visible()

    page.get_by_role("textbox", name="Group note").fill(
        "We practised naming one need each. Calm, engaged group."
    )
    page.get_by_role("button", name="Save group note").click()
    expect(page.get_by_text("The group note is saved as a draft.")).to_be_visible()
    page.get_by_role("button", name="Start individual notes from the group note").click()
    expect(page.get_by_label(f"Note for {first.display_name}")).to_have_value(
        "We practised naming one need each. Calm, engaged group."
    )
    assert axe_serious(page) == []

    for member, extra in ((first, "Named needing rest."), (second, "Arrived late; settled.")):
        field = page.get_by_label(f"Note for {member.display_name}")
        field.fill(field.input_value() + " " + extra)
        page.get_by_role("button", name=f"Save note for {member.display_name}").click()
        expect(page.get_by_text(f"The note for {member.display_name} is saved")).to_be_visible()

    # A second tab keeps the editor open, as a colleague's stale page would.
    stale = page.context.new_page()
    stale.goto(page.url)

    _sign(page, page.locator("#group-heading").locator(".."), "Sign group note", "the group note")
    for member in (first, second):
        card = page.locator(f"#member-{member.pk}")
        _sign(
            page,
            card,
            f"Sign note for {member.display_name}",
            f"{member.display_name}'s note",
        )
        expect(card.get_by_role("textbox")).to_have_count(0)
        expect(card.get_by_text("Signed", exact=True)).to_be_visible()
    expect(page.get_by_role("textbox", name="Group note")).to_have_count(0)
    expect(page.locator("#member-" + str(first.pk))).to_contain_text("Named needing rest.")

    stale.get_by_label(f"Note for {first.display_name}").fill("Rewritten after signing")
    stale.get_by_role("button", name=f"Save note for {first.display_name}").click()
    expect(stale.get_by_text("This note is signed and can't be changed.")).to_be_visible()
    expect(stale.get_by_label(f"Note for {first.display_name}")).to_have_count(0)

    note = IndividualNote.objects.get(member=first)
    assert note.status == NoteStatus.SIGNED
    assert note.text.endswith("Named needing rest.")
    assert GroupNote.objects.get(meeting=scene.meeting).status == NoteStatus.SIGNED
    assert IndividualNote.objects.get(member=scene.attendees[2]).status == NoteStatus.DRAFT

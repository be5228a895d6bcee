"""Two members of a care circle: a request for a walk, an offer to help, done by both, thanks."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page, expect

from circlecare.care.models import CareMatch
from tests.browser.conftest import axe_serious
from tests.care.factories import make_circle
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)


def login(page: Page, base_url: str, email: str) -> None:
    page.goto(f"{base_url}/accounts/login/")
    page.locator("#id_login").fill(email)
    page.locator("#id_password").fill(PASSWORD)
    page.get_by_role("button", name="Log in", exact=True).click()
    # Signed in: on a phone the menu that holds "Log out" is folded away.
    expect(page.get_by_role("button", name="Log out", include_hidden=True)).to_have_count(1)


def open_post(page: Page, base_url: str, cohort_id: int, title: str) -> None:
    page.goto(f"{base_url}/care/groups/{cohort_id}/board/")
    page.get_by_role("link", name=title).click()
    expect(page.get_by_role("heading", level=1, name=title)).to_be_visible()


def test_walk_request_to_thanks_and_mutuality(live_server: Any, new_page: Any) -> None:
    circle = make_circle(2)
    asker, helper = circle.members
    asker.display_name, helper.display_name = "Robin", "Sasha"
    asker.save()
    helper.save()
    base = live_server.url
    title = "A walk in the park on Sunday"

    # Robin asks for a walk.
    robin = new_page()
    login(robin, base, asker.email)
    robin.goto(f"{base}/care/")
    expect(
        robin.get_by_role("heading", name=f"This week in {circle.cohort.program.title}")
    ).to_be_visible()
    assert axe_serious(robin) == []
    robin.get_by_role("link", name="Care board").click()
    expect(robin.get_by_text("The care board is not crisis support.")).to_be_visible()
    robin.get_by_label("I'm asking for support").check()
    robin.get_by_label("What kind of support").select_option("walk")
    robin.get_by_label("In a few words").fill(title)
    robin.get_by_label("When (optional)").fill("Sunday around 11")
    robin.get_by_label("Roughly where (optional)").fill("Prospect Park")
    robin.get_by_role("button", name="Post to the board").click()
    expect(robin.get_by_text("Your post is on the board.")).to_be_visible()
    assert axe_serious(robin) == []

    # Sasha offers to help.
    sasha = new_page()
    login(sasha, base, helper.email)
    open_post(sasha, base, circle.cohort.pk, title)
    expect(sasha.get_by_text("Prospect Park")).to_be_visible()
    sasha.get_by_role("button", name="I can help with this").click()
    expect(sasha.get_by_text("You've responded.")).to_be_visible()
    assert axe_serious(sasha) == []
    # By keyboard: the button is swapped out, so focus goes to the message that replaced it
    # (read out by a screen reader) rather than back to the top of the page.
    sasha.get_by_role("button", name="Mark as done").focus()
    sasha.keyboard.press("Enter")
    expect(sasha.get_by_text("It counts once you've both marked it.")).to_be_focused()

    # Robin marks it done too, then sends thanks (both swapped in place by htmx).
    open_post(robin, base, circle.cohort.pk, title)
    expect(robin.get_by_text("Sasha has marked it done.")).to_be_visible()
    robin.get_by_role("button", name="Mark as done").click()
    expect(robin.get_by_text("You've both marked this as done.")).to_be_visible()
    robin.get_by_label("A short thank-you for Sasha").fill("Thank you, that walk lifted my week.")
    robin.get_by_role("button", name="Send thanks").click()
    expect(robin.get_by_text("Your thanks was sent.")).to_be_focused()
    assert axe_serious(robin) == []

    match = CareMatch.objects.get()
    assert (match.status, match.giver, match.receiver) == ("done", helper, asker)

    # The thanks arrive for Sasha.
    sasha.reload()
    expect(sasha.get_by_text("Thank you, that walk lifted my week.")).to_be_visible()

    # Both see the flow, privately.
    sasha.goto(f"{base}/care/flow/")
    expect(sasha.get_by_text("You've offered care once.")).to_be_visible()
    expect(sasha.get_by_text("Thank you, that walk lifted my week.")).to_be_visible()
    assert axe_serious(sasha) == []
    robin.goto(f"{base}/care/flow/")
    expect(robin.get_by_text("You've received care once.")).to_be_visible()
    expect(robin.get_by_text("Sasha")).to_have_count(0)


def test_journal_shared_with_the_facilitator_and_a_post_hidden(
    live_server: Any, new_page: Any
) -> None:
    from circlecare.audit.models import AuditAction, AuditEvent
    from tests.care.factories import CarePostFactory

    circle = make_circle(2)
    writer, other = circle.members
    writer.display_name = "Robin"
    writer.save()
    CarePostFactory(cohort=circle.cohort, author=other, title="Selling my old bike")
    base = live_server.url

    member = new_page()
    login(member, base, writer.email)
    member.goto(f"{base}/care/")
    member.get_by_role("link", name="Write a reflection").click()
    expect(member.get_by_text("Prompt 1").first).to_be_visible()
    member.get_by_label("Your reflection").fill("I noticed I hold back when I need help.")
    member.get_by_label("Share this entry with the group's facilitator").check()
    member.get_by_role("button", name="Save to my journal").click()
    expect(member.get_by_text("Saved to your journal.")).to_be_visible()
    assert axe_serious(member) == []
    member.get_by_role("link", name="Read all entries on one page").click()
    expect(member.get_by_text("I noticed I hold back when I need help.")).to_be_visible()
    assert axe_serious(member) == []

    lead = new_page()
    login(lead, base, circle.lead.email)
    lead.goto(f"{base}/care/")
    lead.get_by_role("link", name="Care overview").click()
    expect(lead.get_by_role("heading", name="Care overview")).to_be_visible()
    assert axe_serious(lead) == []
    lead.get_by_role("link", name="Robin, week 1").click()
    expect(lead.get_by_text("I noticed I hold back when I need help.")).to_be_visible()
    assert AuditEvent.objects.filter(action=AuditAction.REFLECTION_VIEWED).count() == 1

    lead.goto(f"{base}/care/groups/{circle.cohort.pk}/board/")
    lead.get_by_role("link", name="Selling my old bike").click()
    lead.get_by_role("link", name="Hide this post").click()
    lead.get_by_label("Reason").fill("The board is for support, not selling.")
    lead.get_by_role("button", name="Hide the post").click()
    expect(lead.get_by_text("The post is hidden from members.")).to_be_visible()
    expect(lead.get_by_text("The board is for support, not selling.")).to_be_visible()

    member.goto(f"{base}/care/groups/{circle.cohort.pk}/board/")
    expect(member.get_by_role("heading", name="Care board")).to_be_visible()
    expect(member.get_by_text("Selling my old bike")).to_have_count(0)

    # The facilitator adapts this week's practice; the member sees it.
    lead.goto(f"{base}/care/groups/{circle.cohort.pk}/programme/")
    lead.get_by_role("link", name="Adapt week 1 for this group").click()
    assert axe_serious(lead) == []
    lead.get_by_label("Practice between meetings").fill("Ask one person for something small.")
    lead.get_by_role("button", name="Save for this group").click()
    expect(lead.get_by_text("Week 1 is adapted for this group.")).to_be_visible()
    member.goto(f"{base}/care/")
    expect(member.get_by_text("Ask one person for something small.")).to_be_visible()


def test_a_post_hidden_while_a_member_had_it_open(live_server: Any, new_page: Any) -> None:
    from circlecare.care import services
    from tests.care.factories import CarePostFactory

    circle = make_circle(2)
    author, helper = circle.members
    post = CarePostFactory(cohort=circle.cohort, author=author, title="A lift to the shops")
    base = live_server.url

    # On a phone, the member opens the post; meanwhile the facilitator hides it.
    member = new_page(viewport={"width": 375, "height": 740}, is_mobile=True, has_touch=True)
    login(member, base, helper.email)
    open_post(member, base, circle.cohort.pk, post.title)
    services.hide_post(post=post, reason="Not for the board", actor=circle.lead)

    # Offering help now lands on the board with the reason read out, not on a missing page.
    member.get_by_role("button", name="I can help with this").click()
    expect(member.get_by_role("heading", level=1, name="Care board")).to_be_visible()
    expect(member.locator("#messages")).to_be_focused()
    expect(member.locator("#messages")).to_contain_text("This post is no longer on the board")
    expect(member.get_by_role("link", name=post.title)).to_have_count(0)
    assert not CareMatch.objects.exists()
    assert axe_serious(member) == []


@pytest.mark.parametrize("javascript", [True, False], ids=["with-js", "without-js"])
def test_calling_off_asks_first(live_server: Any, new_page: Any, javascript: bool) -> None:
    from circlecare.care.models import PostKind
    from tests.care.factories import CarePostFactory, make_match

    circle = make_circle(2)
    asker, helper = circle.members
    title = "A ride to the clinic"
    post = CarePostFactory(cohort=circle.cohort, author=asker, kind=PostKind.REQUEST, title=title)
    match = make_match(post, helper)
    base = live_server.url

    sasha = new_page(java_script_enabled=javascript)
    login(sasha, base, helper.email)
    open_post(sasha, base, circle.cohort.pk, title)
    confirm = sasha.get_by_role("button", name="Yes, call it off")
    expect(confirm).to_be_hidden()
    # By keyboard: the disclosure opens, says what happens, and the real button comes next.
    summary = sasha.get_by_test_id(f"call-off-{match.pk}").locator("summary")
    summary.focus()
    sasha.keyboard.press("Enter")
    expect(sasha.get_by_text("If you call it off, Member A will be told it's off.")).to_be_visible()
    if javascript:
        assert axe_serious(sasha) == []
    sasha.keyboard.press("Tab")
    expect(confirm).to_be_focused()
    match.refresh_from_db()
    assert match.status == "agreed"  # nothing happened by opening it

    sasha.keyboard.press("Enter")
    message = sasha.get_by_text("Called off. That's all right.")
    expect(message).to_be_visible()
    if javascript:
        expect(message).to_be_focused()
    match.refresh_from_db()
    assert match.status == "cancelled"

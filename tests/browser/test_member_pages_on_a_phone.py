"""A member's own pages on a 375-pixel phone, and a group lead's on a 320-pixel one: nothing to
scroll sideways, no text squeezed into a sliver of a column, no second pair of side margins, and
no serious axe violations."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import axe_serious, login
from tests.care.factories import make_circle
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)

PHONE = {"width": 375, "height": 812}

LAYOUT_PROBLEMS = """() => {
  const problems = [];
  const root = document.scrollingElement;
  // Not innerWidth: on a phone the browser widens the visual viewport to whatever overflows.
  const screen = document.documentElement.clientWidth;
  if (root.scrollWidth > screen) problems.push(`scrolls sideways: ${root.scrollWidth}px`);
  for (const dd of document.querySelectorAll(".facts dd")) {
    // A value must keep at least half of its list's width, not wrap a letter per line.
    const own = dd.getBoundingClientRect().width;
    const list = dd.parentElement.getBoundingClientRect().width;
    if (own < list / 2) problems.push(`squeezed value (${Math.round(own)}px): ${dd.textContent.trim().slice(0, 30)}`);
  }
  const page = document.querySelector("main .container");
  for (const narrow of document.querySelectorAll("main .container .container-narrow")) {
    const gap = narrow.getBoundingClientRect().left - page.getBoundingClientRect().left;
    if (gap > 1) problems.push(`narrow column indented ${Math.round(gap)}px inside the page`);
  }
  return problems;
}"""


def problems_on(page: Page, base_url: str, paths: list[str]) -> dict[str, list[str]]:
    """Each page's layout problems and serious axe violations, by path (only those with any)."""
    found = {}
    for path in paths:
        response = page.goto(base_url + path)
        assert response is not None and response.status == 200, path
        problems = page.evaluate(LAYOUT_PROBLEMS) + [v["id"] for v in axe_serious(page)]
        if problems:
            found[path] = problems
    return found


def test_a_members_pages_fit_a_phone(live_server: Any, new_page: Any) -> None:
    circle = make_circle(1)
    member = circle.members[0]
    cohort_id = circle.cohort.pk
    page: Page = new_page(viewport=PHONE, is_mobile=True, has_touch=True)
    login(page, live_server.url, member.email, PASSWORD)

    paths = [
        "/my/",
        "/care/",
        f"/care/groups/{cohort_id}/programme/",
        "/accounts/profile/data/",
        "/measures/",
    ]
    assert problems_on(page, live_server.url, paths) == {}


def test_a_member_is_warned_before_an_idle_sign_out_and_can_stay(
    live_server: Any, new_page: Any, settings: Any
) -> None:
    """Typing is not a request: without a warning, a long journal entry is lost at the sign-out."""
    settings.IDLE_TIMEOUT_MEMBER = 8  # the warning comes at half the limit when that is short
    member = make_circle(1).members[0]
    page: Page = new_page(viewport=PHONE, is_mobile=True, has_touch=True)
    login(page, live_server.url, member.email, PASSWORD)
    page.goto(live_server.url + "/care/journal/")
    page.get_by_label("Your reflection", exact=False).fill("Something I want to keep")

    warning = page.get_by_role("dialog", name="Are you still there?")
    expect(warning).to_be_visible(timeout=8_000)
    expect(warning).to_contain_text("Anything you've written on this page and not yet saved")
    stay = warning.get_by_role("button", name="Stay signed in")
    expect(stay).to_be_focused()
    with page.expect_request(lambda r: r.url.endswith("/health/")):
        page.keyboard.press("Enter")
    expect(warning).to_be_hidden()
    assert axe_serious(page) == []


def test_a_tab_left_idle_asks_the_server_before_saying_the_member_is_signed_out(
    live_server: Any, new_page: Any
) -> None:
    """Another tab kept the session alive: this tab's own reckoning is not the server's."""
    member = make_circle(1).members[0]
    page: Page = new_page()
    page.clock.install()
    login(page, live_server.url, member.email, PASSWORD)
    page.goto(live_server.url + "/care/journal/")

    # Half an hour passes in this tab and none on the server, as if the member were busy elsewhere.
    with page.expect_request(lambda r: r.url.endswith("/accounts/session-status/")):
        page.clock.run_for(30 * 60 * 1000 + 1000)
    warning = page.locator("#idle-warning")
    assert page.evaluate("() => document.getElementById('idle-warning').open") is False
    expect(warning).not_to_contain_text("You've been signed out")


def test_a_group_leads_pages_fit_a_small_phone(live_server: Any, new_page: Any) -> None:
    """The lead's schedule, roster and member chart at 320 pixels: the visually hidden words in
    the tables' links and the longest badge must not push the page sideways."""
    from circlecare.meetings.services import create_meetings
    from tests.measures.factories import completed

    circle = make_circle(3)
    create_meetings(cohort=circle.cohort, actor=None)
    member = circle.members[0]
    completed(member=member, cohort=circle.cohort, code="UCLA3", total=7, week=0)
    completed(member=member, cohort=circle.cohort, code="UCLA3", total=6, week=1)
    cohort_id = circle.cohort.pk

    page: Page = new_page(viewport={"width": 320, "height": 640}, is_mobile=True, has_touch=True)
    login(page, live_server.url, circle.lead.email, PASSWORD)
    paths = [
        f"/meetings/group/{cohort_id}/",
        f"/my/roster/{cohort_id}/",
        f"/measures/groups/{cohort_id}/members/{member.pk}/",
    ]
    assert problems_on(page, live_server.url, paths) == {}
    # The long badge is there to be measured, and wraps inside the page.
    expect(page.get_by_text("Change shown only (no published threshold)")).to_be_visible()
    # The chart's table is wider than the screen: the keyboard can reach it to scroll it.
    table = page.get_by_role("region", name="UCLA-3 scores (scrolls sideways)")
    expect(table).to_have_attribute("tabindex", "0")
    page.set_viewport_size({"width": 1200, "height": 800})
    expect(page.locator(".table-wrap[tabindex]")).to_have_count(0)


def test_the_site_menu_folds_behind_one_button_on_a_phone(live_server: Any, new_page: Any) -> None:
    """Signed in, the menu has eight entries: on a phone they filled the first screen of every
    page. They wait behind "Menu", which says whether it is open; a wide screen shows them."""
    member = make_circle(1).members[0]
    page: Page = new_page(viewport={"width": 320, "height": 640}, is_mobile=True, has_touch=True)
    login(page, live_server.url, member.email, PASSWORD)
    page.goto(live_server.url + "/my/")

    header = page.locator(".site-header-inner").bounding_box()
    assert header is not None and header["height"] <= 640 / 8, header
    menu = page.get_by_role("button", name="Menu")
    nav = page.get_by_role("navigation", name="Main")
    expect(menu).to_have_attribute("aria-expanded", "false")
    expect(nav).to_be_hidden()

    menu.click()
    expect(menu).to_have_attribute("aria-expanded", "true")
    expect(nav.get_by_role("link", name="Between meetings")).to_be_visible()
    assert axe_serious(page) == []
    nav.get_by_role("link", name="Groups", exact=True).focus()
    page.keyboard.press("Escape")
    expect(nav).to_be_hidden()
    expect(menu).to_be_focused()

    menu.click()
    nav.get_by_role("link", name="Between meetings").click()
    expect(page).to_have_url(live_server.url + "/care/")

    page.set_viewport_size({"width": 1200, "height": 800})
    expect(menu).to_be_hidden()
    expect(nav.get_by_role("link", name="My account")).to_be_visible()


def test_a_long_link_someone_wrote_does_not_push_the_care_pages_sideways(
    live_server: Any, new_page: Any
) -> None:
    """A link pasted into a journal entry or a reason for hiding a post is one word wider than a
    320-pixel phone: it wraps, on the facilitator's pages and on the member's."""
    from django.utils import timezone

    from circlecare.care import services
    from tests.care.factories import CarePostFactory, ReflectionFactory

    link = "https://example.org/shared?token=" + "Xk29fLq0Zt" * 8  # no hyphen to break at
    circle = make_circle(1)
    member = circle.members[0]
    cohort_id = circle.cohort.pk
    post = CarePostFactory(cohort=circle.cohort, author=member, title="A walk")
    services.hide_post(post=post, reason=f"Please don't link to {link}", actor=circle.lead)
    entry = ReflectionFactory(
        member=member,
        cohort=circle.cohort,
        body=f"This helped me: {link}",
        shared_with_facilitator=True,
        shared_at=timezone.now(),
    )
    small = {"viewport": {"width": 320, "height": 640}, "is_mobile": True, "has_touch": True}

    page: Page = new_page(**small)
    login(page, live_server.url, circle.lead.email, PASSWORD)
    paths = [
        f"/care/groups/{cohort_id}/facilitate/",
        f"/care/posts/{post.pk}/",
        f"/care/groups/{cohort_id}/reflections/{entry.pk}/",
    ]
    assert problems_on(page, live_server.url, paths) == {}
    expect(page.get_by_text("This helped me:")).to_be_visible()

    page = new_page(**small)
    login(page, live_server.url, member.email, PASSWORD)
    paths = ["/care/journal/", f"/care/journal/{entry.pk}/", f"/care/posts/{post.pk}/"]
    assert problems_on(page, live_server.url, paths) == {}

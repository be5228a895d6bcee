"""The meeting room on a phone: nothing scrolls sideways, the controls are on screen and work by
touch, the video tiles are large enough to see someone, and the chat can be read and written
without the controls covering it. On a 320-pixel phone the site's menu and a facilitator's
controls leave the screen to the videos."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.browser.conftest import axe_serious, login
from tests.browser.test_member_pages_on_a_phone import problems_on
from tests.browser.test_room import room_with_alex
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)

PHONE = {"width": 375, "height": 812}

SIDEWAYS = "() => document.scrollingElement.scrollWidth - innerWidth"

# Whether the middle of an element is the element itself (or inside it), not something drawn over it.
UNCOVERED = """(el) => {
  const box = el.getBoundingClientRect();
  const top = document.elementFromPoint(box.left + box.width / 2, box.top + box.height / 2);
  return top !== null && (top === el || el.contains(top));
}"""


def on_screen_and_uncovered(control: Locator) -> None:
    expect(control).to_be_in_viewport(ratio=1)
    assert control.evaluate(UNCOVERED), f"{control} is covered"


def test_the_room_and_its_chat_work_on_a_phone(asgi_server: Any, new_page: Any) -> None:
    room_url, lead, alex = room_with_alex(
        asgi_server.url, "Wednesday evening care circle for new parents"
    )
    pages: dict[str, Page] = {}
    for user in (lead, alex):
        page = new_page(viewport=PHONE, is_mobile=True, has_touch=True)
        login(page, asgi_server.url, user.email, PASSWORD)
        page.goto(room_url)
        pages[user.display_name] = page
    pages["Jordan"].get_by_role("button", name="Let in Alex").tap()
    for page in pages.values():
        expect(page.locator("#room-status")).to_contain_text("You're in the meeting")
        expect(page.locator("#room-videos .room-tile")).to_have_count(2)

    for name, page in pages.items():
        page.evaluate("() => window.scrollTo(0, 0)")
        assert page.evaluate(SIDEWAYS) <= 0, name
        # As the page opens, every control is on screen, whole and not covered.
        controls = page.get_by_role("group", name="Meeting controls").get_by_role("button")
        assert controls.count() >= 4
        for control in controls.all():
            on_screen_and_uncovered(control)
        # Two people on a phone each get a tile a face can be seen in.
        for tile in page.locator("#room-videos .room-tile").all():
            box = tile.bounding_box()
            assert box is not None and box["width"] >= 150 and box["height"] >= 110, (name, box)

    member = pages["Alex"]
    controls = member.get_by_role("group", name="Meeting controls")
    controls.get_by_role("button", name="Mute", exact=True).tap()
    on_screen_and_uncovered(controls.get_by_role("button", name="Unmute"))
    controls.get_by_role("button", name="Raise hand").tap()
    expect(
        pages["Jordan"].locator("#room-people li", has_text="Alex").locator(".room-hand")
    ).to_be_visible()

    # The chat: written to, sent, and the newest message in view without scrolling the log.
    box = member.get_by_label("Message to everyone in the room")
    box.scroll_into_view_if_needed()
    for number in range(1, 13):
        box.fill(f"Message {number} from Alex")
        on_screen_and_uncovered(box)
        member.get_by_role("button", name="Send").tap()
        expect(pages["Jordan"].locator("#room-chat-log li")).to_have_count(number)
    for page in pages.values():
        log = page.locator("#room-chat-log")
        log.scroll_into_view_if_needed()
        newest = log.locator("li").last
        expect(newest).to_contain_text("Message 12 from Alex")
        expect(newest).to_be_in_viewport(ratio=1)
        on_screen_and_uncovered(newest)
        assert page.evaluate(SIDEWAYS) <= 0
        assert axe_serious(page) == []
    on_screen_and_uncovered(box)


# How the room's first screen is shared out: the site's header, the rows of controls, the part
# of the videos neither covers, and any two controls drawn over each other.
SCREEN = """() => {
  const box = (el) => el.getBoundingClientRect();
  const controls = document.querySelector(".room-controls");
  const buttons = [...controls.querySelectorAll("button")].filter((b) => b.offsetParent !== null);
  const rows = new Set(buttons.map((b) => Math.round(box(b).top)));
  const overlaps = [];
  buttons.forEach((a, i) => buttons.slice(i + 1).forEach((b) => {
    const p = box(a), q = box(b);
    if (p.left < q.right && q.left < p.right && p.top < q.bottom && q.top < p.bottom) {
      overlaps.push(`${a.textContent} / ${b.textContent}`);
    }
  }));
  const videos = box(document.getElementById("room-videos"));
  const header = box(document.querySelector(".site-header"));
  const seen = Math.min(videos.bottom, box(controls).top, innerHeight) - Math.max(videos.top, 0);
  return {header: header.height, rows: rows.size, overlaps, videos: seen, screen: innerHeight};
}"""


def share_of_the_screen(page: Page) -> dict[str, Any]:
    page.evaluate("() => window.scrollTo(0, 0)")
    screen: dict[str, Any] = page.evaluate(SCREEN)
    return screen


@pytest.mark.parametrize("size", [(320, 640), (375, 812)], ids=["320x640", "375x812"])
def test_a_facilitator_and_a_member_see_the_videos_on_a_small_phone(
    asgi_server: Any, new_page: Any, size: tuple[int, int]
) -> None:
    room_url, lead, alex = room_with_alex(asgi_server.url, "Wednesday evening care circle")
    viewport = {"width": size[0], "height": size[1]}
    pages: dict[str, Page] = {}
    for user in (lead, alex):
        page = new_page(viewport=viewport, is_mobile=True, has_touch=True)
        login(page, asgi_server.url, user.email, PASSWORD)
        path = room_url.removeprefix(asgi_server.url)
        assert problems_on(page, asgi_server.url, [path]) == {}, user.display_name
        pages[user.display_name] = page
    # The waiting room's list is below the videos: who is waiting is said where the
    # facilitator sees it as the room opens.
    waiting = pages["Jordan"].locator("#room-waiting-alert")
    expect(waiting).to_contain_text("Alex is waiting to be let in.")
    on_screen_and_uncovered(waiting.get_by_role("link", name="See who's waiting"))
    pages["Jordan"].get_by_role("button", name="Let in Alex").tap()
    expect(waiting).to_be_hidden()
    for name, page in pages.items():
        expect(page.locator("#room-status")).to_contain_text("You're in the meeting")
        expect(page.locator("#room-videos .room-tile")).to_have_count(2)
        screen = share_of_the_screen(page)
        # The site's menu waits behind one button: the header is one row, not a quarter of it.
        assert screen["header"] <= screen["screen"] / 8, (name, screen)
        assert screen["rows"] <= 2 and screen["overlaps"] == [], (name, screen)
        # At least a quarter of the first screen is video, under no header and no control.
        assert screen["videos"] >= screen["screen"] / 4, (name, screen)
        controls = page.get_by_role("group", name="Meeting controls")
        for always in ("Mute", "Leave"):
            on_screen_and_uncovered(controls.get_by_role("button", name=always, exact=True))
        # The crisis line and the rest of the site are still there.
        expect(page.locator('.site-footer a[href="tel:988"]')).to_have_count(1)
        page.locator(".site-menu summary").tap()
        my_meetings = page.get_by_role("navigation", name="Main").get_by_role(
            "link", name="My meetings"
        )
        on_screen_and_uncovered(my_meetings)
        page.locator(".site-menu summary").tap()
        expect(my_meetings).to_be_hidden()

    # The facilitator's less-used controls, by keyboard: named, in order, and put away again.
    facilitator = pages["Jordan"]
    controls = facilitator.get_by_role("group", name="Meeting controls")
    more = controls.get_by_role("button", name="More")
    expect(more).to_have_attribute("aria-expanded", "false")
    expect(controls.get_by_role("button", name="End meeting for everyone")).to_be_hidden()
    controls.get_by_role("button", name="Leave").focus()
    facilitator.keyboard.press("Tab")
    expect(more).to_be_focused()
    facilitator.keyboard.press("Enter")
    expect(more).to_have_attribute("aria-expanded", "true")
    facilitator.keyboard.press("Tab")
    expect(controls.get_by_role("button", name="Raise hand")).to_be_focused()
    facilitator.keyboard.press("Tab")
    end = controls.get_by_role("button", name="End meeting for everyone")
    expect(end).to_be_focused()
    on_screen_and_uncovered(end)
    screen = share_of_the_screen(facilitator)
    assert screen["overlaps"] == [], screen
    for always in ("Mute", "Leave"):
        on_screen_and_uncovered(controls.get_by_role("button", name=always, exact=True))
    assert axe_serious(facilitator) == []
    facilitator.keyboard.press("Escape")
    expect(more).to_have_attribute("aria-expanded", "false")
    expect(more).to_be_focused()
    expect(end).to_be_hidden()

    # By touch: a tap anywhere else puts them away too.
    more.tap()
    controls.get_by_role("button", name="Raise hand").tap()
    expect(
        pages["Alex"].locator("#room-people li", has_text="Jordan").locator(".room-hand")
    ).to_be_visible()
    expect(controls.get_by_role("button", name="Lower hand")).to_be_visible()
    facilitator.locator("#room-status").tap()
    expect(more).to_have_attribute("aria-expanded", "false")

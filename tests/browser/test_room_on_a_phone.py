"""The meeting room on a 375-pixel phone: nothing scrolls sideways, the controls are on screen and
work by touch, the video tiles are large enough to see someone, and the chat can be read and
written without the controls covering it."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.browser.conftest import axe_serious, login
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

"""A message left by a redirect is read out on the next page: focus goes to it."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import login
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_focus_goes_to_a_message_after_a_redirect_and_stays_put_without_one(
    live_server: Any, new_page: Any
) -> None:
    member = UserFactory()
    page: Page = new_page()
    login(page, live_server.url, member.email, PASSWORD)

    page.goto(live_server.url + "/accounts/profile/")
    expect(page.locator("body")).to_be_focused()
    page.get_by_role("button", name="Save").click()

    messages = page.locator("#messages")
    expect(messages).to_contain_text("Your details are saved.")
    expect(messages).to_be_focused()

    # The next page has no message: focus stays at the start of the document.
    page.goto(live_server.url + "/accounts/profile/")
    expect(page.locator("#messages")).to_have_count(0)
    expect(page.locator("body")).to_be_focused()

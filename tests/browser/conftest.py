"""Browser journeys: Debian's Chromium driven by Playwright against a live server."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, Playwright, sync_playwright

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--allow-loopback-in-peer-connection",
]


HERE = os.path.dirname(os.path.abspath(__file__))

# The room's waits on a quiet video connection, shortened from 15 and 5 seconds so that journeys
# through a dropped connection take seconds, not half a minute; the same code runs, in the same
# order (grace longer than answer).
ROOM_GRACE_SECONDS = 4
ROOM_ANSWER_SECONDS = 2


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # This hook sees the whole session's items: mark only the journeys in this folder.
    for item in items:
        if str(item.path).startswith(HERE + os.sep):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session", autouse=True)
def _allow_sync_db_from_playwright() -> Iterator[None]:
    # Playwright's sync API runs an event loop in the test thread; the ORM calls the tests make
    # between page actions are ordinary synchronous code.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    yield
    os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


@pytest.fixture(scope="session")
def playwright_instance() -> Iterator[Playwright]:
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def browser(playwright_instance: Playwright) -> Iterator[Browser]:
    browser = playwright_instance.chromium.launch(
        executable_path=CHROMIUM, headless=True, args=ARGS
    )
    yield browser
    browser.close()


@pytest.fixture
def new_page(browser: Browser) -> Iterator[Any]:
    """``new_page(timezone_id="Europe/London")`` → a page in a fresh context; all closed afterwards."""
    contexts = []

    def make(**context_options: Any) -> Page:
        context = browser.new_context(**{"locale": "en-US", **context_options})
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


def axe_serious(page: Page) -> list[dict[str, Any]]:
    """Run axe-core (vendored) in the page; return serious and critical violations."""
    # Loaded from our own origin: the Content-Security-Policy allows no inline or foreign script.
    origin = page.evaluate("location.origin")
    page.add_script_tag(url=f"{origin}/static/vendor/axe-core/axe.min.js")
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [v for v in result["violations"] if v["impact"] in {"serious", "critical"}]


def login(page: Page, base_url: str, email: str, password: str) -> None:
    page.goto(f"{base_url}/accounts/login/")
    page.locator("#id_login").fill(email)
    page.locator("#id_password").fill(password)
    page.locator("form button[type=submit]").first.click()
    # The click only starts the form's POST: wait for the page it leads to, or a goto straight
    # after would cancel the sign-in half way.
    page.wait_for_url(lambda url: "/accounts/login/" not in url)


def enter_totp(page: Page, secret: str) -> None:
    """Answer the second-factor step with the authenticator's current code, and wait for it to land."""
    from tests.mfa import code_for

    step = "/accounts/2fa/authenticate/"
    for _ in range(2):
        page.locator("#id_code").fill(code_for(secret))
        with page.expect_navigation():
            page.locator("form button[type=submit]").first.click()
        if step not in page.url:
            return
        # A code read as its 30 seconds ran out is refused, as it is for anyone; type the next.
    raise AssertionError(f"the authenticator's codes were refused: still at {page.url}")


class AsgiServer:
    """The real ASGI application (HTTP and websockets) served by uvicorn in a thread of this process.

    A thread, not a subprocess, so it shares the test database (including SQLite's in-memory one).
    """

    def __init__(self) -> None:
        import socket
        import threading

        import uvicorn
        from channels.layers import channel_layers

        from circlecare.asgi import application

        # Each server runs its own event loop, and a channel layer keeps locks and receive state
        # bound to the loop that first used it (channels_redis): a layer left from an earlier
        # test's server would fail in this one's loop ("bound to a different event loop").
        channel_layers.backends = {}
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            application,
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            lifespan="off",
            ws="websockets-sansio",
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        import time

        deadline = time.monotonic() + 15
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("The ASGI test server did not start.")
            time.sleep(0.05)
        self.url = f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture
def asgi_server(transactional_db: Any, settings: Any) -> Iterator[AsgiServer]:
    settings.ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]
    settings.ROOM_GRACE_SECONDS = ROOM_GRACE_SECONDS
    settings.ROOM_ANSWER_SECONDS = ROOM_ANSWER_SECONDS
    layer = settings.CHANNEL_LAYERS["default"]
    if "Redis" in layer["BACKEND"] or "RoomChannelLayer" in layer["BACKEND"]:
        # Room groups are named by meeting and user id, and ids come round again in each test's
        # database: on a shared Redis, each test's server gets names of its own, so a socket
        # an earlier test left open cannot hear this test's room.
        import uuid

        config = {**layer.get("CONFIG", {}), "prefix": f"asgi-{uuid.uuid4().hex[:12]}"}
        settings.CHANNEL_LAYERS = {
            **settings.CHANNEL_LAYERS,
            "default": {**layer, "CONFIG": config},
        }
    server = AsgiServer()
    yield server
    server.stop()

"""Browser tests in Debian's Chromium through Playwright (never `playwright install`: the browser comes from
the `chromium` package). Every test fails on a request to any host but 127.0.0.1 and on any console error
or page error. Without /usr/bin/chromium (or Playwright) they skip, saying why."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest

from tests.browser.live import CHROMIUM, CHROMIUM_ARGS, LiveServer, live_server

pytestmark = pytest.mark.browser


# Module scope, not session: while Playwright's sync API is open its event loop runs in this thread, and
# every later test that calls asyncio.run() (the rest of the suite) would fail.
@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    if not CHROMIUM.exists():
        pytest.skip(f"Chromium not installed at {CHROMIUM} (apt-get install -y chromium)")
    with live_server(tmp_path_factory.mktemp("live")) as live:
        yield live


@pytest.fixture(scope="module")
def browser(server: LiveServer) -> Iterator[Any]:
    sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed (pip install playwright)")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


class Watch:
    """What a page did that it must not: requests off this machine, console errors, uncaught errors."""

    def __init__(self) -> None:
        self.foreign: list[str] = []
        self.errors: list[str] = []

    def route(self, route: Any) -> None:
        if urlparse(route.request.url).hostname != "127.0.0.1":
            self.foreign.append(route.request.url)
            route.abort()
        else:
            route.continue_()


@pytest.fixture
def watch() -> Watch:
    return Watch()


@pytest.fixture
def page(browser: Any, server: LiveServer, watch: Watch, tmp_path: Path) -> Iterator[Any]:
    context = browser.new_context(base_url=server.url, accept_downloads=True, locale="zh-CN",
                                  viewport={"width": 1280, "height": 900})
    context.route("**/*", watch.route)
    page = context.new_page()
    page.on("console", lambda msg: watch.errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: watch.errors.append(str(exc)))
    page.set_default_timeout(20_000)
    yield page
    context.close()
    assert watch.foreign == [], f"requests left the machine: {watch.foreign}"
    assert watch.errors == [], f"console errors: {watch.errors}"

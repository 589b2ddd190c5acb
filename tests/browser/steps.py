"""A person's steps in the console, shared by the browser tests and the screenshots."""

from __future__ import annotations

import re
from typing import Any


def sign_in(page: Any, key: str) -> None:
    page.goto("/console/login")
    page.fill("input[name=key]", key)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/console(/.*)?$"))


def create_roadshow(page: Any, event_id: str, name: str, *, startups: int = 8, investors: int = 6) -> None:
    """Fill the new-roadshow form: the default slots, 4 tables, the first startups whose name has 湘潭 and
    the first investors and banks of the list."""
    page.goto("/console/events")
    form = page.locator("#new-event form")
    form.locator("input[name=event_id]").fill(event_id)
    form.locator("input[name=name]").fill(name)
    form.locator("input[name=tables]").fill("4")
    form.locator("input[name=max_meetings]").fill("4")
    pickers = form.locator("fieldset.pick")
    for k, (needle, count) in enumerate((("湘潭", startups), ("", investors))):
        picker = pickers.nth(k)
        picker.locator(".pick-filter").fill(needle)
        visible = picker.locator(".pick-item:not([hidden]) input")
        for j in range(count):
            visible.nth(j).check()
    form.locator("button[type=submit]").click()
    page.wait_for_url(f"**/console/events/{event_id}")


def solve(page: Any) -> None:
    """Start the solve and wait for the progress display to bring up the result."""
    page.click("#solve button[type=submit]")
    page.wait_for_selector("#summary", timeout=60_000)

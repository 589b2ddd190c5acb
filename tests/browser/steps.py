"""A person's steps in the console, shared by the browser tests and the screenshots."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import httpx

from tests.browser.live import SAMPLE


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


@dataclass(frozen=True)
class ParticipantSetup:
    """A roadshow made from the sample's next event, an investor's key, and a startup's pending request."""

    event_id: str
    investor_id: str
    investor_key: str
    startup_id: str
    startup_name: str
    refused_id: str
    refused_name: str


def call(url: str, method: str, path: str, key: str, body: Any = None) -> Any:
    response = httpx.request(method, url + path, json=body, timeout=120, headers={"Authorization": f"Bearer {key}"})
    response.raise_for_status()
    return response.json() if response.content else None


def prepare_participant(url: str, organiser_key: str, event_id: str, investor_id: str = "I0011") -> ParticipantSetup:
    """What the office does over the API before an investor signs in: the roadshow (the sample's next
    one under ``event_id``), the investor's key, and a startup's meeting request to it."""
    event = {**json.loads((SAMPLE / "next_event.json").read_text(encoding="utf-8")), "event_id": event_id,
             "requests": [], "conflicts": []}
    call(url, "POST", "/api/events", organiser_key, event)
    startup_id, refused_id = event["startups"][0]["startup_id"], event["startups"][1]["startup_id"]
    names = {sid: call(url, "GET", f"/api/startups/{sid}", organiser_key)["name"] for sid in (startup_id, refused_id)}
    investor_key = call(url, "POST", "/api/keys", organiser_key,
                         {"role": "investor", "name": "投资机构", "investor_id": investor_id})["api_key"]
    startup_key = call(url, "POST", "/api/keys", organiser_key,
                        {"role": "startup", "name": names[startup_id], "startup_id": startup_id})["api_key"]
    call(url, "PUT", f"/api/events/{event_id}/participants/{startup_id}/wishes", startup_key,
          {"wishes": [{"counterpart_id": investor_id, "kind": "must"}]})
    return ParticipantSetup(event_id, investor_id, investor_key, startup_id, names[startup_id], refused_id,
                            names[refused_id])

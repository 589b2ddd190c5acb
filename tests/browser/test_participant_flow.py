"""A participant's flow in a real Chromium (issue 14): an investor signs in with its own key, sets its
availability, says no to one startup, accepts a startup's meeting request, finds the meeting on its
agenda once the office has scheduled, and records the intent it signed there."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.browser.live import LiveServer
from tests.browser.steps import prepare_participant, sign_in

pytestmark = pytest.mark.browser

EVENT = "2026-01-lotus-participants"


def _api(server: LiveServer, method: str, path: str, key: str, body: Any = None) -> Any:
    response = httpx.request(method, server.url + path, json=body, timeout=120,
                             headers={"Authorization": f"Bearer {key}"})
    assert response.status_code < 300, response.text
    return response.json() if response.content else None


def test_an_investor_answers_a_request_and_records_the_intent_it_signed(page: Any, server: LiveServer) -> None:
    setup = prepare_participant(server.url, server.organiser_key, EVENT)
    investor, investor_key = setup.investor_id, setup.investor_key
    startup_id, startup_name, refused_id = setup.startup_id, setup.startup_name, setup.refused_id

    sign_in(page, investor_key)
    page.wait_for_url("**/console/me")
    page.click(f"a[href='/console/me/events/{EVENT}']")
    page.wait_for_url(f"**/console/me/events/{EVENT}")
    assert "尚未排程" in page.inner_text("#agenda")

    page.locator("#availability input[value=s10]").uncheck()
    page.click("#availability button[type=submit]")
    page.wait_for_url("**saved=availability")
    assert not page.locator("#availability input[value=s10]").is_checked()

    page.select_option(f"#wishes select[name='wish.{refused_id}']", "no")
    page.click("#wishes button[type=submit]")
    page.wait_for_url("**saved=wishes")

    request = page.locator(f"#requests li[data-from='{startup_id}']")
    assert startup_name in request.inner_text() and "待回复" in request.inner_text()
    request.locator("button[value=accepted]").click()
    page.wait_for_url("**saved=requests")
    assert "已接受" in page.inner_text(f"#requests li[data-from='{startup_id}']")

    solved = _api(server, "POST", f"/api/events/{EVENT}/schedule", server.organiser_key,
                  {"time_limit": 30, "background": False})
    assert solved["summary"]["meetings"] > 0
    page.reload()
    agenda = page.inner_text("#agenda")
    assert startup_name in agenda and setup.refused_name not in agenda  # the accepted request is met, the no is not
    mine = _api(server, "GET", f"/api/events/{EVENT}/agenda/{investor}", investor_key)["meetings"]
    assert mine and "s10" not in {m["slot_id"] for m in mine}  # s10 was unticked

    row = page.locator(f"#agenda tr[data-counterpart='{startup_id}']")
    row.locator("select[name=outcome]").select_option("intent_signed")
    row.locator("input[name=amount_wan]").fill("500")
    row.locator("button[type=submit]").click()
    page.wait_for_url("**saved=outcome")
    assert "签署意向 · 500.0 万元" in page.inner_text(f"#agenda tr[data-counterpart='{startup_id}'] .current-outcome")

    reports = _api(server, "GET", f"/api/events/{EVENT}/outcomes", server.organiser_key)
    assert [(r["startup_id"], r["investor_id"], r["outcome"], r["amount_wan"], r["recorded_role"]) for r in reports] \
        == [(startup_id, investor, "intent_signed", 500.0, "investor")]
    assert reports[0]["interactions"][0]["event_id"] == EVENT

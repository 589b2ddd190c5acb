"""``make screenshots``: pictures of the main console pages, taken by the browser tests' own steps in
Debian's Chromium against a live server with the sample, written to docs/screenshots/."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from tests.browser.live import CHROMIUM, CHROMIUM_ARGS, ROOT, live_server
from tests.browser.steps import call, create_roadshow, prepare_participant, sign_in, solve
from tests.factories import sheet_bytes

OUT = ROOT / "docs" / "screenshots"


def main() -> None:
    if not CHROMIUM.exists():
        sys.exit(f"Chromium not installed at {CHROMIUM}: apt-get install -y chromium")
    from playwright.sync_api import sync_playwright

    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp, live_server(Path(tmp)) as server, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(base_url=server.url, viewport={"width": 1280, "height": 860}, locale="zh-CN")

        def shot(name: str, *, full: bool = False) -> None:
            page.screenshot(path=str(OUT / f"{name}.png"), full_page=full)
            print(f"wrote {OUT / name}.png")

        sign_in(page, server.organiser_key)
        shot("console-home")
        page.goto("/console/startups?q=湘潭")
        shot("startups-search")
        page.goto("/console/startups/S00002")
        shot("startup-matches")
        create_roadshow(page, "2026-03-lotus-demo", "智造莲城 创新成果路演 示例专场")
        solve(page)
        page.locator("#replan form").first.locator("button").click()
        page.wait_for_selector("#changes", timeout=60_000)
        shot("roadshow", full=True)
        page.goto("/schema")
        page.wait_for_selector(".swagger-ui .info .title")
        shot("api-docs")
        page.goto("/console/import")
        office = Path(tmp) / "2026年第一批企业名单.xlsx"
        office.write_bytes(sheet_bytes([
            ["企业编号", "企业名称", "所属行业", "融资轮次", "成立日期", "融资需求（万元）"],
            ["S_list01", "湘潭示例智能装备有限公司", "智能制造", "A轮", "2021/3/5", "5000万"],
            ["S_list02", "湘潭示例新材料科技有限公司", "新材料", "战略投资", "2020年6月1日", "数千万"],
            ["S_list03", "湘潭示例生物科技有限公司", "生物医药", "天使轮", "5/6/2022", "800"],
        ]))
        page.set_input_files("input[name=startups]", str(office))
        page.click("#import-form button[type=submit]")
        page.wait_for_selector("#import-errors")
        shot("import-problems", full=True)

        setup = prepare_participant(server.url, server.organiser_key, "2026-01-lotus-participants")
        events = f"/api/events/{setup.event_id}"
        call(server.url, "PUT", f"{events}/participants/{setup.investor_id}/requests/{setup.startup_id}",
             setup.investor_key, {"answer": "accepted"})
        call(server.url, "POST", f"{events}/schedule", server.organiser_key, {"time_limit": 30, "background": False})
        investor = browser.new_page(base_url=server.url, viewport={"width": 1280, "height": 860}, locale="zh-CN")
        sign_in(investor, setup.investor_key)
        investor.goto(f"/console/me/events/{setup.event_id}")
        investor.screenshot(path=str(OUT / "participant-roadshow.png"), full_page=True)
        print(f"wrote {OUT / 'participant-roadshow.png'}")

        phone = browser.new_page(base_url=server.url, viewport={"width": 390, "height": 844}, locale="zh-CN",
                                 device_scale_factor=2)
        sign_in(phone, server.bank_key)
        phone.screenshot(path=str(OUT / "bank-desk-phone.png"))
        print(f"wrote {OUT / 'bank-desk-phone.png'}")
        phone.goto("/register")
        phone.screenshot(path=str(OUT / "register-phone.png"))
        print(f"wrote {OUT / 'register-phone.png'}")
        browser.close()


if __name__ == "__main__":
    main()

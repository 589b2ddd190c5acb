"""What people do in the console, in a real Chromium (issue 11): the organiser's roadshow from search to
workbook, a bank's desk, a startup's registration, and the API docs offline."""

from __future__ import annotations

import io
from typing import Any

import pytest
from openpyxl import load_workbook

from tests.browser.live import LiveServer
from tests.browser.steps import create_roadshow, sign_in, solve

pytestmark = pytest.mark.browser


def test_an_organiser_finds_a_startup_plans_a_roadshow_replans_and_downloads(page: Any, server: LiveServer) -> None:
    sign_in(page, server.organiser_key)
    page.goto("/console/startups")
    page.fill("input[name=q]", "启安储能")  # part of a Chinese company name
    page.click("form.filters button[type=submit]")
    page.click("text=湖南启安储能科技有限公司")
    page.wait_for_url("**/console/startups/S00002")
    investors = page.locator("#best-investors ol.matches > li")
    banks = page.locator("#best-banks ol.matches > li")
    assert investors.count() >= 3 and banks.count() >= 1
    assert "银行" not in investors.first.inner_text() and "银行" in banks.first.inner_text()
    assert page.locator("#best-investors ul.reasons li").count() >= 1

    create_roadshow(page, "2026-03-lotus-browser", "智造莲城 浏览器测试专场")
    assert "尚未排程" in page.inner_text("main")
    solve(page)  # the progress display reloads the page when the job is done
    assert int(page.inner_text("#meeting-count")) > 0
    grid = page.inner_text("#grid")
    assert "S000" not in grid and "有限公司" in grid  # names, not ids
    assert page.locator("#spread meter").count() == 8

    first_meeting = page.locator("#replan select[name=meeting] option").first.inner_text()
    page.locator("#replan form").first.locator("button").click()
    page.wait_for_selector("#changes", timeout=60_000)
    changes = page.inner_text("#changes")
    assert "已取消" in changes and first_meeting.split(" · ")[1].split(" × ")[0] in changes

    with page.expect_download() as download_info:
        page.click("a[href$='/download/xlsx']")
    workbook = load_workbook(io.BytesIO(download_info.value.path().read_bytes()))
    assert workbook.sheetnames[0] == "会议总表" and len(workbook.sheetnames) == 2 + 8 + 6


def test_a_bank_sees_only_the_startups_that_consented_to_it(page: Any, server: LiveServer) -> None:
    sign_in(page, server.bank_key)
    page.wait_for_url("**/console/bank")
    rows = page.locator("#consenting tbody tr")
    assert rows.count() == len(server.consenting)
    shown = page.inner_text("#consenting")
    assert all(startup_id in shown for startup_id in server.consenting)
    page.select_option("#assess select[name=startup_id]", server.consenting[0])
    page.click("#assess button[type=submit]")
    decision = page.inner_text("#decision")
    assert "违约概率" in decision and "%" in decision
    assert server.consenting[0] in page.inner_text("#history")
    menu = page.inner_text("header nav")
    assert "授信评估" in menu and "企业" not in menu.replace("企业注册", "")  # no organiser pages offered


def test_a_startup_registers_and_is_shown_its_key_once(page: Any) -> None:
    page.goto("/register")
    page.fill("input[name=name]", "湘潭浏览器科技有限公司")
    page.fill("input[name=employees]", "十二")  # not a number: refused next to the field
    page.click("form button[type=submit]")
    assert page.locator("#employees-error").is_visible()
    page.fill("input[name=employees]", "12")
    page.fill("input[name=sector]", "智能机器人")
    page.check("input[name=consents] >> nth=0")
    page.click("form button[type=submit]")
    key = page.inner_text("#api-key")
    assert key.startswith("rsk_") and "不会再次显示" in page.inner_text("#registered")
    sign_in(page, key)
    assert "湘潭浏览器科技有限公司" in page.inner_text("h1")


def test_the_api_docs_render_offline_and_english_is_one_click_away(page: Any) -> None:
    page.goto("/schema")
    page.wait_for_selector(".swagger-ui .info .title")
    assert "Roadshow Matcher" in page.inner_text(".swagger-ui .info .title")
    assert page.locator(".opblock").count() > 10
    page.goto("/console/login")
    page.click("a.lang")
    assert page.inner_text("h1") == "Sign in"
    page.goto("/console/login")
    assert page.inner_text("h1") == "Sign in"  # remembered in a cookie


def test_the_printable_agenda_is_the_grid_then_one_a4_page_per_participant(page: Any) -> None:
    import re

    from matcher.scheduling import export_files, parse_event, solve
    from matcher.scheduling.generate import generate_event

    problem = parse_event(generate_event(12, 5, 6, seed=1))
    html = export_files(problem, solve(problem, time_limit=5), "html")["agenda.html"].decode("utf-8")
    page.set_content(html)
    pdf = page.pdf(prefer_css_page_size=True)
    pages = re.findall(rb"/Type\s*/Page[^s]", pdf)
    assert len(pages) == 1 + len(problem.startups) + len(problem.investors)
    boxes = re.findall(rb"/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)", pdf)
    sizes = {tuple(round(float(v)) for v in box) for box in boxes}
    assert sizes == {(595, 842), (842, 595)}  # A4 portrait pages and the landscape grid


def test_an_organiser_imports_a_workbook_of_startups(page: Any, server: LiveServer, tmp_path: Any) -> None:
    from datetime import date

    from tests.factories import sheet_bytes

    rows = [["startup_id", "name", "sector", "stage", "founded_on", "funding_ask_wan"],
            ["S_browser_up", "上传测试甲科技有限公司", "智能制造", "A轮", date(2021, 3, 1), "3000万"]]
    workbook = tmp_path / "2026年第一批企业名单.xlsx"
    workbook.write_bytes(sheet_bytes(rows))
    broken = tmp_path / "有错的名单.xlsx"
    broken.write_bytes(sheet_bytes([*rows, ["S_browser_bad", "有错的公司", "", "战略投资", None, ""]]))
    sign_in(page, server.organiser_key)
    page.click("nav >> text=导入名单")
    page.set_input_files("input[name=startups]", str(broken))
    page.click("#import-form button[type=submit]")
    errors = page.inner_text("#import-errors")
    assert "有错的名单.xlsx (startups.xlsx)" in errors and "stage" in errors
    page.set_input_files("input[name=startups]", str(workbook))
    page.click("#import-form button[type=submit]")
    imported = page.locator("#imported li")
    assert imported.count() == 1 and imported.first.inner_text().startswith("企业")
    assert imported.first.locator("strong").inner_text() == "1"
    page.click("#imported a[href='/console/startups']")
    page.fill("input[name=q]", "上传测试")
    page.click("form.filters button[type=submit]")
    assert page.locator("text=上传测试甲科技有限公司").count() == 1
    assert page.locator("text=有错的公司").count() == 0

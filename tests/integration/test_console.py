"""The console's pages through Litestar's test client (issue 11): sign-in and its cookie, CSRF on every
form, what each role may see, and the pages calling the API's own services."""

from __future__ import annotations

import re
from typing import Any

import pytest

from api.console.session import SESSION_COOKIE, key_id_of, session_token
from tests.factories import registration, service_event, service_world, sheet_bytes
from tests.integration.conftest import Api, wait_for_queue

CSRF = re.compile(r'name="_csrf_token" value="([^"]+)"')


def _csrf(api: Api, path: str = "/console/login") -> str:
    page = api.client.get(path)
    found = CSRF.search(page.text)
    assert found, page.text[:500]
    return found.group(1)


def _key(api: Api, role: str, **bound: str) -> str:
    return api.headers(role, **bound)["Authorization"].removeprefix("Bearer ")


def _sign_in(api: Api, key: str) -> Any:
    return api.client.post(
        "/console/login", data={"key": key, "_csrf_token": _csrf(api), "next": "/console"}, follow_redirects=False
    )


@pytest.fixture
def world(api: Api) -> Api:
    api.load(service_world())
    api.train("declared")
    return api


def test_signing_in_sets_a_strict_httponly_session_that_never_holds_the_key(world: Api) -> None:
    key = _key(world, "organiser")
    response = _sign_in(world, key)
    assert response.status_code == 303 and response.headers["location"] == "/console"
    cookie = next(h for h in response.headers.get_list("set-cookie") if h.startswith(f"{SESSION_COOKIE}="))
    assert "HttpOnly" in cookie and "samesite=strict" in cookie.lower() and "Path=/" in cookie
    assert "Secure" not in cookie  # plain http here; the flag follows the request's scheme
    token = world.client.cookies[SESSION_COOKIE]
    assert key not in token and key_id_of(token, world.state.settings.secret) is not None
    home = world.client.get("/console")
    assert home.status_code == 200 and "路演办公室" in home.text

    logout = world.client.post("/console/logout", data={"_csrf_token": _csrf(world, "/console")},
                               follow_redirects=False)
    assert logout.status_code == 303
    assert any(h.startswith(f"{SESSION_COOKIE}=") and "Max-Age=0" in h for h in logout.headers.get_list("set-cookie"))
    world.client.cookies.delete(SESSION_COOKIE)
    after = world.client.get("/console", follow_redirects=False)
    assert after.status_code == 303 and after.headers["location"].startswith("/console/login")
    # Over https the session cookie is Secure too.
    form = {"key": key, "_csrf_token": _csrf(world), "next": "/console"}
    secure = world.client.post("https://testserver.local/console/login", data=form, follow_redirects=False)
    assert secure.status_code == 303
    assert "Secure" in next(h for h in secure.headers.get_list("set-cookie") if h.startswith(f"{SESSION_COOKIE}="))
    # After signing in, only a path on this site is followed.
    for target in ("https://evil.example/", "//evil.example", "/\\evil.example"):
        again = world.client.post("/console/login", data={"key": key, "_csrf_token": _csrf(world), "next": target},
                                  follow_redirects=False)
        assert again.headers["location"] == "/console", target


def test_a_wrong_key_a_forged_or_expired_session_and_a_missing_csrf_token_are_refused(world: Api) -> None:
    bad = _sign_in(world, "rsk_not-a-key")
    assert bad.status_code == 200 and "密钥无效" in bad.text and SESSION_COOKIE not in bad.headers.get("set-cookie", "")
    secret = world.state.settings.secret
    key_id = _key(world, "organiser") and world.run(_any_key_id, world)
    forged = session_token(key_id, "another-secret-of-sufficient-length-000")
    expired = session_token(key_id, secret, now=0)
    assert key_id_of(session_token(key_id, secret), secret) == key_id
    for token in (forged, expired, "garbage"):
        assert key_id_of(token, secret) is None
        world.client.cookies.set(SESSION_COOKIE, token)
        assert world.client.get("/console", follow_redirects=False).status_code == 303, token
        world.client.cookies.delete(SESSION_COOKIE)
    # Without the CSRF token (or with another one) a form post is refused before it does anything.
    no_token = world.client.post("/console/login", data={"key": _key(world, "organiser")}, follow_redirects=False)
    assert no_token.status_code == 403 and SESSION_COOKIE not in no_token.headers.get("set-cookie", "")
    _csrf(world)
    wrong = world.client.post("/console/login", data={"key": "x", "_csrf_token": "0" * 128}, follow_redirects=False)
    assert wrong.status_code == 403


async def _any_key_id(api: Api) -> str:
    from sqlalchemy import select

    from api.db.models import ApiKey

    async with api.state.sessions() as session:
        return str(await session.scalar(select(ApiKey.key_id).where(ApiKey.role == "organiser").limit(1)))


def test_a_revoked_key_ends_its_console_session(world: Api) -> None:
    from api.services.keys import revoke_key

    assert _sign_in(world, _key(world, "organiser")).status_code == 303
    key_id = key_id_of(world.client.cookies[SESSION_COOKIE], world.state.settings.secret)
    assert key_id is not None

    async def revoke() -> None:
        async with world.state.sessions() as session:
            await revoke_key(session, key_id=key_id)

    world.run(revoke)
    assert world.client.get("/console/startups", follow_redirects=False).status_code == 303


STAFF_PAGES = ["/console/startups", "/console/startups/S_robotics_0", "/console/investors",
               "/console/investors/I_robot", "/console/events"]


@pytest.mark.parametrize("role", ["organiser", "admin"])
def test_staff_see_every_page_with_names(world: Api, role: str) -> None:
    _sign_in(world, _key(world, role))
    for path in STAFF_PAGES:
        page = world.client.get(path)
        assert page.status_code == 200, (path, page.text[:300])
    found = world.client.get("/console/startups", params={"q": "机器人"})
    assert "智能机器人0" in found.text and "生物医药0" not in found.text
    # The same search over the API (one service behind both): every hit named with the fragment.
    api_hits = world.client.get("/api/startups", params={"q": "机器人", "limit": 100},
                                headers=world.headers("organiser")).json()
    assert api_hits["total"] > 0 and all("机器人" in s["name"] for s in api_hits["items"])
    assert all(s["startup_id"] in found.text for s in api_hits["items"][:20])
    assert world.client.get("/api/startups", params={"q": "100%_"}, headers=world.headers("organiser")).json()[
        "total"] == 0  # LIKE wildcards are literal
    profile = world.client.get("/console/startups/S_robotics_0").text
    best_investors = profile.split('id="best-investors"')[1].split('id="best-banks"')[0]
    best_banks = profile.split('id="best-banks"')[1].split("</section>")[0]
    assert "机器人基金" in best_investors and "湘江银行" not in best_investors
    assert "湘江银行" in best_banks or "莲城农商银行" in best_banks
    assert world.client.get("/console/bank").status_code == 403  # the credit desk is a bank's
    english = world.client.get("/console/startups?lang=en")
    assert "Startups" in english.text and "rs_lang=en" in english.headers.get("set-cookie", "")
    assert "Startups" in world.client.get("/console/startups").text  # remembered


def test_a_bank_sees_its_desk_and_only_its_consenting_startups(world: Api) -> None:
    registered = world.client.post("/api/startups", json=registration(consents=["I_bank"])).json()
    other_body = registration(name="别家企业", uscc=None, consents=["I_bank2"])
    other = world.client.post("/api/startups", json=other_body).json()
    _sign_in(world, _key(world, "bank", bank_id="I_bank"))
    assert world.client.get("/console", follow_redirects=False).headers["location"] == "/console/bank"
    desk = world.client.get("/console/bank")
    assert desk.status_code == 200
    consenting = desk.text.split('id="consenting"')[1].split("</section>")[0]
    assert registered["startup"]["name"] in consenting and other["startup"]["name"] not in consenting
    token = _csrf(world, "/console/bank")
    mine, theirs = registered["startup"]["startup_id"], other["startup"]["startup_id"]
    decision = world.client.post("/console/bank/assess", data={"startup_id": mine, "product_id": "P_kv",
                                                               "_csrf_token": token})
    assert decision.status_code == 200 and 'id="decision"' in decision.text
    shown = decision.text.split('id="decision"')[1].split("</div>")[0]
    assert "违约概率" in shown and "%" in shown and "<code>" in shown  # the full decision, with its reasons
    assert world.client.get("/console/bank").text.count(registered["startup"]["startup_id"]) >= 2  # in the history
    refused = world.client.post("/console/bank/assess", data={"startup_id": theirs, "product_id": "P_kv",
                                                              "_csrf_token": token})
    assert "not consented" in refused.text
    for path in STAFF_PAGES:
        assert world.client.get(path).status_code == 403, path


def test_a_startup_sees_only_its_own_profile(world: Api) -> None:
    registered = world.client.post("/api/startups", json=registration()).json()
    _sign_in(world, registered["api_key"])
    own = f"/console/startups/{registered['startup']['startup_id']}"
    assert world.client.get("/console", follow_redirects=False).headers["location"] == own
    assert world.client.get(own).status_code == 200
    assert world.client.get("/console/startups/S_robotics_0").status_code == 403
    for path in ("/console/startups", "/console/events", "/console/bank", "/console/investors"):
        assert world.client.get(path).status_code == 403, path


def test_pages_need_a_session_and_the_api_still_needs_a_key(world: Api) -> None:
    for path in [*STAFF_PAGES, "/console/bank", "/console"]:
        response = world.client.get(path, follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"].startswith("/console/login?next=")
    assert world.client.get("/", follow_redirects=False).headers["location"] == "/console"
    _sign_in(world, _key(world, "organiser"))
    # A console session is no API credential: the API answers only to an Authorization header.
    assert world.client.get("/api/startups").status_code == 401


def test_registration_form_validates_like_the_api_and_shows_the_key_once(world: Api) -> None:
    token = _csrf(world, "/register")
    bad = world.client.post("/register", data={"name": "湘潭测试科技有限公司", "uscc": "91430300MA4L16JQ1X",
                                               "employees": "many", "_csrf_token": token})
    assert 'id="employees-error"' in bad.text and "registered" not in bad.text
    bad = world.client.post("/register", data={"name": "湘潭测试科技有限公司", "uscc": "91430300MA4L16JQ1X",
                                               "employees": "12", "_csrf_token": token})
    assert 'id="uscc-error"' in bad.text and "统一社会信用代码" in bad.text
    good = world.client.post("/register", data={"name": "湘潭测试科技有限公司", "employees": "12",
                                                "sector": "智能机器人", "consents": ["I_bank"], "_csrf_token": token})
    assert good.status_code == 200 and good.headers["cache-control"] == "no-store"
    key = re.search(r'id="api-key">(rsk_[^<]+)<', good.text)
    assert key and "不会再次显示" in good.text
    assert _sign_in(world, key.group(1)).status_code == 303


def test_an_organiser_creates_solves_replans_and_downloads_a_roadshow(world: Api) -> None:
    _sign_in(world, _key(world, "organiser"))
    token = _csrf(world, "/console/events")
    overlapping = {
        "event_id": "c1", "name": "控制台路演", "tables": "2", "_csrf_token": token,
        "slots": "2026-12-01 14:00-14:20\n2026-12-01 14:10-14:30",
        "startups": ["S_robotics_0", "S_biomedicine_0"], "investors": ["I_robot", "I_bio"],
    }
    refused = world.client.post("/console/events", data=overlapping)
    assert 'id="slots-error"' in refused.text and "overlaps slot s01" in refused.text
    ok = {**overlapping, "slots": "2026-12-01 14:00-14:20\n2026-12-01 14:20-14:40\n2026-12-01 14:40-15:00",
          "availability": "I_bio: s02-s03", "max_meetings": "2"}
    created = world.client.post("/console/events", data=ok, follow_redirects=False)
    assert created.status_code == 303 and created.headers["location"] == "/console/events/c1"
    solved = world.client.post("/console/events/c1/solve", data={"mode": "balanced", "time_limit": "10",
                                                                "_csrf_token": token}, follow_redirects=False)
    assert solved.status_code == 303
    wait_for_queue(world)
    page = world.client.get("/console/events/c1").text
    assert "机器人基金" in page and "智能机器人0" in page and 'id="fewest"' in page
    cancel = re.search(r'<option value="(S_robotics_0\|I_[a-z]+)">', page)
    assert cancel
    world.client.post("/console/events/c1/replan", data={"action": "cancel", "meeting": cancel.group(1),
                                                        "_csrf_token": token})
    wait_for_queue(world)
    replanned = world.client.get("/console/events/c1").text
    assert 'id="changes"' in replanned and "已取消" in replanned
    workbook = world.client.get("/console/events/c1/download/xlsx")
    assert workbook.status_code == 200 and workbook.content[:2] == b"PK"
    assert "attachment" in workbook.headers["content-disposition"]
    for fmt in ("csv", "ics", "html"):
        assert world.client.get(f"/console/events/c1/download/{fmt}").status_code == 200
    api_view = world.client.get("/api/events/c1", headers=world.headers("organiser")).json()
    assert api_view["summary"]["mode"] == "balanced"
    world.client.post("/api/events", json=service_event("api-made"), headers=world.headers("organiser"))
    assert "api-made" in world.client.get("/console/events").text  # one store behind both doors


def test_an_organiser_imports_an_event_json_and_bad_files_are_named(world: Api) -> None:
    import json

    _sign_in(world, _key(world, "organiser"))
    token = _csrf(world, "/console/events")
    upload = json.dumps(service_event("uploaded"), ensure_ascii=False).encode()
    made = world.client.post("/console/events/import", data={"_csrf_token": token},
                             files={"event": ("event.json", upload, "application/json")}, follow_redirects=False)
    assert made.status_code == 303 and made.headers["location"] == "/console/events/uploaded"
    assert "机器人基金" in world.client.get("/console/events/uploaded").text  # named from the database
    broken = world.client.post("/console/events/import", data={"_csrf_token": token},
                               files={"event": ("event.json", b'{"event_id": 5}', "application/json")})
    assert 'id="event_file-error"' in broken.text and "event_id" in broken.text


def test_an_organiser_imports_the_offices_workbooks_and_problems_are_listed_by_its_files(world: Api) -> None:
    import io

    from openpyxl import load_workbook

    from tests.integration.test_api_imports import INVESTORS, STARTUPS

    _sign_in(world, _key(world, "organiser"))
    page = world.client.get("/console/import")
    assert page.status_code == 200 and "导入名单" in page.text and "<strong>startup_id</strong>" in page.text
    template = world.client.get("/console/import/startups/template.xlsx")
    assert template.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert load_workbook(io.BytesIO(template.content)).worksheets[0]["A1"].value == "startup_id"
    token = _csrf(world, "/console/import")
    bad = [*STARTUPS, ["S_up3", "湘潭上传丙科技有限公司", "", "战略投资", None, "", ""]]
    refused = world.client.post("/console/import", data={"_csrf_token": token, "encoding": "utf-8"},
                                files={"startups": ("企业名单.xlsx", sheet_bytes(bad)),
                                       "investors": ("", b"")})  # a file input left empty
    assert 'role="alert"' in refused.text and "企业名单.xlsx (startups.xlsx)" in refused.text
    assert "<td>4</td><td>stage</td><td>无法识别的取值 &#39;战略投资&#39;" in refused.text
    assert world.client.get("/api/startups/S_up1", headers=world.headers("organiser")).status_code == 404
    files = {"startups": ("企业名单.xlsx", sheet_bytes(STARTUPS)),
             "investors": ("机构.csv", sheet_bytes(INVESTORS, fmt="csv", encoding="gb18030"))}
    done = world.client.post("/console/import", data={"_csrf_token": token, "encoding": "gb18030"}, files=files)
    assert done.status_code == 200 and 'id="imported"' in done.text and "<strong>2</strong>" in done.text
    assert "湘潭上传甲科技有限公司" in world.client.get("/console/startups?q=上传").text
    again = world.client.post("/console/import", data={"_csrf_token": token, "encoding": "gb18030"}, files=files)
    assert 'id="imported"' not in again.text and "个编号已在系统中" in again.text  # the office reads Chinese
    # The new investor is ranked at once (no retraining), from the console's investor page.
    investor = world.client.get("/console/investors/I_up1").text
    assert "最匹配的企业" in investor and "湘潭上传甲科技有限公司" in investor  # its sector and stage


def test_only_staff_see_the_import_page(world: Api) -> None:
    _sign_in(world, _key(world, "startup", startup_id="S_new_robotics"))
    assert world.client.get("/console/import").status_code == 403
    assert world.client.get("/console/import/startups/template.xlsx").status_code == 403

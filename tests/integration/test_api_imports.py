"""An office's lists as files: ``POST /api/imports`` validates every file together, then stores all or none."""

from __future__ import annotations

from datetime import date

from tests.factories import service_world, sheet_bytes
from tests.integration.conftest import Api
from tests.integration.test_api_startups import _problem

STARTUPS = [
    ["startup_id", "name", "sector", "stage", "founded_on", "funding_ask_wan", "description"],
    ["S_up1", "湘潭上传甲科技有限公司", "智能制造", "A轮", date(2021, 3, 1), "5000万", "工业机器人视觉检测"],
    ["S_up2", "湘潭上传乙科技有限公司", "", "", None, "", ""],  # a row that is mostly empty
]
INVESTORS = [["investor_id", "name", "kind", "sectors", "stages"],
             ["I_up1", "莲城创投", "创投", "智能制造", "a;b"],
             ["B_up1", "湘潭某银行", "银行", "", ""]]


def _count(api: Api, what: str) -> int:
    total: int = api.client.get(f"/api/{what}?limit=1", headers=api.headers("organiser")).json()["total"]
    return total


def test_an_organiser_imports_a_workbook_and_a_chinese_windows_csv(api: Api) -> None:
    api.load(service_world())
    before = _count(api, "startups"), _count(api, "investors"), _count(api, "banks")
    files = {"startups": ("2026年企业名单.xlsx", sheet_bytes(STARTUPS)),
             "investors": ("机构.csv", sheet_bytes(INVESTORS, fmt="csv", encoding="gb18030"))}
    response = api.client.post("/api/imports?encoding=gb18030", files=files, headers=api.headers("organiser"))
    assert response.status_code == 201, response.text
    assert response.json()["imported"] == {"startups": 2, "investors": 2}
    assert (_count(api, "startups"), _count(api, "investors"), _count(api, "banks")) == (
        before[0] + 2, before[1] + 1, before[2] + 1)
    stored = api.client.get("/api/startups/S_up1", headers=api.headers("organiser")).json()
    assert (stored["name"], stored["stage"], stored["funding_ask_wan"]) == ("湘潭上传甲科技有限公司", "a", 5000.0)


def test_a_bad_file_is_refused_naming_the_users_file_row_and_column_and_nothing_is_stored(api: Api) -> None:
    api.load(service_world())
    before = _count(api, "startups")
    bad = [*STARTUPS, ["S_up3", "湘潭上传丙科技有限公司", "", "战略投资", None, "", ""]]
    files = {"startups": ("企业名单.xlsx", sheet_bytes(bad)), "investors": ("机构.xlsx", sheet_bytes(INVESTORS))}
    body = _problem(api.client.post("/api/imports", files=files, headers=api.headers("organiser")), 422)
    located = [(e["file"], e["row"], e["field"]) for e in body["errors"]]
    assert located == [("企业名单.xlsx (startups.xlsx)", 4, "stage")]
    assert _count(api, "startups") == before
    assert api.client.get("/api/investors/I_up1", headers=api.headers("organiser")).status_code == 404


def test_ids_already_stored_are_a_conflict_and_nothing_is_stored(api: Api) -> None:
    api.load(service_world())
    before = _count(api, "startups")
    taken = [*STARTUPS, ["S_new_robotics", "重复的公司", "", "", None, "", ""]]
    files = {"startups": ("企业名单.xlsx", sheet_bytes(taken))}
    _problem(api.client.post("/api/imports", files=files, headers=api.headers("organiser")), 409, "startup_id")
    assert _count(api, "startups") == before


def test_what_the_request_gets_wrong_is_named(api: Api) -> None:
    api.load(service_world())
    organiser = api.headers("organiser")
    workbook = sheet_bytes(STARTUPS)
    _problem(api.client.post("/api/imports", files={"companies": ("a.xlsx", workbook)}, headers=organiser),
             422, "companies")
    _problem(api.client.post("/api/imports", files={"startups": ("a.xls", workbook)}, headers=organiser),
             422, "startups")
    _problem(api.client.post("/api/imports", files={"startups": ("a.csv", b"")}, headers=organiser), 422, "startups")
    _problem(api.client.post("/api/imports", files={"startups": ("a.xlsx", workbook)}, headers=organiser,
                             params={"encoding": "no-such"}), 422, "encoding")
    _problem(api.client.post("/api/imports", data={"note": "x"}, headers=organiser), 422, "files")
    csv = sheet_bytes(STARTUPS, fmt="csv", encoding="gb18030")  # read as UTF-8: the error says what to try
    body = _problem(api.client.post("/api/imports", files={"startups": ("企业.csv", csv)}, headers=organiser), 422)
    assert "gbk" in body["errors"][0]["message"]


def test_only_staff_import(api: Api) -> None:
    api.load(service_world())
    files = {"startups": ("企业名单.xlsx", sheet_bytes(STARTUPS))}
    _problem(api.client.post("/api/imports", files=files, headers=api.headers("startup", startup_id="S_new_robotics")),
             403)
    _problem(api.client.post("/api/imports", files=files), 401)


def test_an_offices_list_with_chinese_headers_is_read_and_its_problems_named_by_them(api: Api) -> None:
    api.load(service_world())
    office = [["企业编号", "企业名称", "所属行业", "融资轮次", "融资需求（万元）"],
              ["S_cn1", "湘潭中文表头甲有限公司", "新材料", "天使轮", 800]]
    organiser = api.headers("organiser")
    made = api.client.post("/api/imports", files={"startups": ("名单.xlsx", sheet_bytes(office))}, headers=organiser)
    assert made.status_code == 201, made.text
    stored = api.client.get("/api/startups/S_cn1", headers=organiser).json()
    assert (stored["sector"], stored["stage"], stored["funding_ask_wan"]) == ("新材料", "angel", 800.0)
    wrong = [*office[:1], ["S_cn2", "湘潭中文表头乙有限公司", "", "战略投资", ""]]
    body = _problem(api.client.post("/api/imports", files={"startups": ("名单2.xlsx", sheet_bytes(wrong))},
                                    headers=organiser), 422)
    assert [(e["row"], e["field"]) for e in body["errors"]] == [(2, "融资轮次 (stage)")]

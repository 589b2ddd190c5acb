"""Organisers manage investors, banks and products; matches for startups and investors (issue 6 items 5–6)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, update

from api.db.models import Investor, Startup, utcnow
from matcher.domain import Stage
from tests.factories import service_world
from tests.integration.conftest import Api
from tests.integration.test_api_startups import _problem, _register


def test_investor_crud_with_optimistic_locking(api: Api) -> None:
    organiser = api.headers("organiser")
    created = api.client.post(
        "/api/investors",
        json={
            "name": "湘江创投",
            "kind": "vc",
            "sectors": ["智能机器人"],
            "stages": ["a", "b"],
            "ticket_min_wan": 500,
            "ticket_max_wan": 2000,
        },
        headers=organiser,
    )
    assert created.status_code == 201, created.text
    inv = created.json()
    assert inv["investor_id"].startswith("iv_") and inv["version"] == 1 and inv["stages"] == ["a", "b"]
    iid = inv["investor_id"]
    assert api.client.get(f"/api/investors/{iid}", headers=organiser).json() == inv
    patched = api.client.patch(f"/api/investors/{iid}", json={"version": 1, "ticket_max_wan": 3000}, headers=organiser)
    assert patched.json()["ticket_max_wan"] == 3000 and patched.json()["version"] == 2
    _problem(
        api.client.patch(f"/api/investors/{iid}", json={"version": 1, "name": "x"}, headers=organiser), 409, "version"
    )
    _problem(
        api.client.patch(f"/api/investors/{iid}", json={"version": 2, "ticket_min_wan": 5000}, headers=organiser),
        422,
        "ticket_min_wan",
    )
    _problem(api.client.post("/api/investors", json={"name": "x", "kind": "hedge"}, headers=organiser), 400, "kind")
    _problem(
        api.client.post("/api/investors", json={"name": "x", "investor_id": iid}, headers=organiser), 409, "investor_id"
    )
    _problem(
        api.client.post("/api/investors", json={"name": "x", "stages": ["a"] * 11}, headers=organiser), 400, "stages"
    )
    listing = api.client.get("/api/investors?kind=vc", headers=organiser).json()
    assert [i["investor_id"] for i in listing["items"]] == [iid]
    assert api.client.delete(f"/api/investors/{iid}", headers=organiser).status_code == 204
    _problem(api.client.get(f"/api/investors/{iid}", headers=organiser), 404)


def test_banks_and_products_crud(api: Api) -> None:
    admin = api.headers("admin")
    bank = api.client.post("/api/banks", json={"name": "湖南银行湘潭分行", "investor_id": "B_hn"}, headers=admin)
    assert bank.status_code == 201 and bank.json()["kind"] == "bank"
    assert [b["investor_id"] for b in api.client.get("/api/banks", headers=admin).json()["items"]] == ["B_hn"]
    # A bank is not listed or patched as an ordinary investor.
    assert api.client.get("/api/investors", headers=admin).json()["total"] == 0
    _problem(api.client.patch("/api/investors/B_hn", json={"version": 1, "name": "x"}, headers=admin), 404)
    product = api.client.post(
        "/api/products",
        json={
            "bank_id": "B_hn",
            "kind": "ip_pledge",
            "name": "知识产权质押贷",
            "max_amount_wan": 500,
            "min_grade": "C",
            "max_term_months": 36,
        },
        headers=admin,
    )
    assert product.status_code == 201, product.text
    pid = product.json()["product_id"]
    _problem(api.client.post("/api/products", json={"bank_id": "NOPE", "kind": "other"}, headers=admin), 422, "bank_id")
    _problem(
        api.client.post("/api/products", json={"bank_id": "B_hn", "kind": "other", "min_grade": "F"}, headers=admin),
        400,
        "min_grade",
    )
    updated = api.client.patch(f"/api/products/{pid}", json={"version": 1, "max_amount_wan": 300}, headers=admin)
    assert updated.json()["max_amount_wan"] == 300 and updated.json()["version"] == 2
    _problem(api.client.patch(f"/api/products/{pid}", json={"version": 1}, headers=admin), 409, "version")
    assert api.client.delete(f"/api/products/{pid}", headers=admin).status_code == 204
    assert api.client.delete("/api/banks/B_hn", headers=admin).status_code == 204
    assert api.client.get("/api/banks", headers=admin).json()["total"] == 0


def test_only_staff_manage_investors_banks_and_products(api: Api) -> None:
    api.load(service_world())
    startup = _register(api)
    outsiders = [{"Authorization": f"Bearer {startup['api_key']}"}, api.headers("bank", bank_id="I_bank")]
    for headers in outsiders:
        for method, url, body in (
            ("POST", "/api/investors", {"name": "x"}),
            ("GET", "/api/investors", None),
            ("GET", "/api/investors/I_robot", None),
            ("PATCH", "/api/investors/I_robot", {"version": 1}),
            ("DELETE", "/api/investors/I_robot", None),
            ("GET", "/api/investors/I_robot/matches", None),
            ("POST", "/api/banks", {"name": "x"}),
            ("GET", "/api/banks", None),
            ("DELETE", "/api/banks/I_bank", None),
            ("POST", "/api/products", {"bank_id": "I_bank", "kind": "other"}),
            ("PATCH", "/api/products/P_kv", {"version": 1}),
            ("DELETE", "/api/products/P_kv", None),
        ):
            _problem(api.client.request(method, url, json=body, headers=headers), 403)
            _problem(api.client.request(method, url, json=body), 401)


def test_a_startup_registered_over_http_gets_matches(api: Api) -> None:
    api.load(service_world())
    body = _register(api)
    sid, own = body["startup"]["startup_id"], {"Authorization": f"Bearer {body['api_key']}"}
    _problem(api.client.get(f"/api/startups/{sid}/matches", headers=own), 503)
    version = api.train("declared")
    response = api.client.get(f"/api/startups/{sid}/matches?k=3", headers=own)
    assert response.status_code == 200, response.text
    matches: dict[str, Any] = response.json()
    assert matches["model_version"] == version and matches["side"] == "investors"
    items = matches["items"]
    assert [m["rank"] for m in items] == [1, 2, 3]
    assert all(m["startup_id"] == sid and m["reasons"] and m["reasons_en"] for m in items)
    assert [m["score"] for m in items] == sorted((m["score"] for m in items), reverse=True)
    # Declared preferences: the robot fund (sector 智能机器人, stages a/b, ticket 500–2000 covering the ask).
    assert items[0]["investor_id"] == "I_robot" and items[0]["name"] == "机器人基金"
    assert api.client.get(f"/api/startups/{sid}/matches", headers=api.headers("organiser")).status_code == 200
    other = _register(api, uscc=None, name="别家")
    _problem(
        api.client.get(f"/api/startups/{sid}/matches", headers={"Authorization": f"Bearer {other['api_key']}"}), 403
    )
    _problem(api.client.get(f"/api/startups/{sid}/matches?k=0", headers=own), 400, "k")
    _problem(api.client.get("/api/startups/st_nobody/matches", headers=api.headers("admin")), 404)


def test_matches_follow_profile_edits(api: Api) -> None:
    api.load(service_world())
    body = _register(api)
    sid, own = body["startup"]["startup_id"], {"Authorization": f"Bearer {body['api_key']}"}
    api.train("declared")
    api.run(api.state.jobs.wait)  # the new version's matches are precomputed in the background
    assert api.state.matches.warmed_version is not None
    assert api.client.get("/health").json()["model"]["matches_ready"] is True
    first = api.client.get(f"/api/startups/{sid}/matches?k=1", headers=own).json()["items"][0]["investor_id"]
    assert first == "I_robot"
    edit = {"version": 1, "sector": "生物医药", "stage": "seed", "funding_ask_wan": 300, "description": "创新药"}
    assert api.client.patch(f"/api/startups/{sid}", json=edit, headers=own).status_code == 200
    after = api.client.get(f"/api/startups/{sid}/matches?k=1", headers=own).json()["items"][0]["investor_id"]
    assert after == "I_bio"

    # An edit by another server process (here: the service layer, not this app's HTTP handler) is seen
    # at the next sync of profile versions.
    from api.schemas.startups import StartupUpdate
    from api.services import startups
    from api.services.keys import Principal, Role

    async def edit_elsewhere() -> None:
        async with api.state.sessions() as session:
            back = StartupUpdate(version=2, sector="智能机器人", stage=Stage.A, funding_ask_wan=1000.0)
            await startups.update(session, principal=Principal("k", Role.ADMIN), startup_id=sid, body=back)

    api.run(edit_elsewhere)
    api.state.matches.sync_seconds = 0.0
    again = api.client.get(f"/api/startups/{sid}/matches?k=1", headers=own).json()["items"][0]["investor_id"]
    assert again == "I_robot"


def test_investor_matches_rank_startups(api: Api) -> None:
    api.load(service_world())
    api.train("declared")
    organiser = api.headers("organiser")
    response = api.client.get("/api/investors/I_robot/matches?k=5", headers=organiser)
    assert response.status_code == 200, response.text
    items = response.json()["items"]
    assert len(items) == 5 and all(m["investor_id"] == "I_robot" for m in items)
    assert all(m["name"] for m in items)
    _problem(api.client.get("/api/investors/I_nobody/matches", headers=organiser), 404)


def test_an_investor_deleted_by_another_process_gets_no_list(api: Api) -> None:
    api.load(service_world())
    api.train("declared")
    organiser = api.headers("organiser")
    late = api.client.post("/api/investors", json={"name": "将被删除的基金", "kind": "vc"}, headers=organiser).json()
    url = f"/api/investors/{late['investor_id']}/matches?k=3"
    assert api.client.get(url, headers=organiser).status_code == 200

    async def delete_elsewhere() -> None:
        async with api.state.sessions() as session, session.begin():
            await session.execute(delete(Investor).where(Investor.investor_id == late["investor_id"]))

    api.run(delete_elsewhere)
    api.state.matches.sync_seconds = 0.0  # the next request syncs the roster
    _problem(api.client.get(url, headers=organiser), 404)


def test_startups_renamed_or_deleted_by_another_process_leave_investor_lists_at_the_next_sync(api: Api) -> None:
    api.load(service_world())
    api.train("declared")
    organiser = api.headers("organiser")
    url = "/api/investors/I_robot/matches?k=50"
    before = api.client.get(url, headers=organiser).json()["items"]
    renamed, deleted = before[0]["startup_id"], before[1]["startup_id"]

    async def change_elsewhere() -> None:
        # A delete leaves no updated row behind for the sync to find: the count of startups tells.
        async with api.state.sessions() as session, session.begin():
            await session.execute(update(Startup).where(Startup.startup_id == renamed).values(
                name="改名后的公司", version=Startup.version + 1, updated_at=utcnow()))
            await session.execute(delete(Startup).where(Startup.startup_id == deleted))

    api.run(change_elsewhere)
    api.state.matches.sync_seconds = 0.0
    after = api.client.get(url, headers=organiser).json()["items"]
    names = {m["startup_id"]: m["name"] for m in after}
    assert deleted not in names and names[renamed] == "改名后的公司"
    assert [m["rank"] for m in after] == list(range(1, len(after) + 1))
    _problem(api.client.get(f"/api/startups/{deleted}/matches", headers=organiser), 404)


def test_an_archived_investor_gets_no_list(api: Api) -> None:
    api.load(service_world())
    api.train("declared")
    organiser = api.headers("organiser")
    assert api.client.get("/api/investors/I_robot/matches?k=3", headers=organiser).status_code == 200
    assert api.client.delete("/api/investors/I_robot", headers=organiser).status_code == 204  # it has history
    _problem(api.client.get("/api/investors/I_robot/matches?k=3", headers=organiser), 422, "investor_id")


def test_an_investor_or_bank_created_after_training_gets_matches_at_once(api: Api) -> None:
    api.load(service_world())
    version = api.train("learned")
    organiser = api.headers("organiser")
    late = api.client.post("/api/investors", json={
        "name": "后来的生物基金", "kind": "vc", "sectors": ["生物医药"], "stages": ["seed"],
        "ticket_min_wan": 100, "ticket_max_wan": 600, "description": "创新药 生物制剂"}, headers=organiser).json()
    response = api.client.get(f"/api/investors/{late['investor_id']}/matches?k=3", headers=organiser)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["model_version"] == version  # no retraining
    assert [m["rank"] for m in body["items"]] == [1, 2, 3]
    assert all(m["investor_id"] == late["investor_id"] and m["name"] for m in body["items"])
    # Reasons from what it declares (it has no history): its sector and its ticket.
    assert any(r.startswith(("同赛道: 生物医药", "关注领域: 生物医药", "投资额匹配: ")) for m in body["items"]
               for r in m["reasons"])
    # And a candidate in startups' lists: a new bank is among the bank list of every startup.
    bank = api.client.post("/api/banks", json={"name": "后来的银行", "investor_id": "B_late"},
                           headers=api.headers("admin")).json()
    banks = api.client.get("/api/startups/S_new_robotics/matches?kind=bank&k=10", headers=organiser).json()
    assert {m["investor_id"] for m in banks["items"]} == {"I_bank", "I_bank2", bank["investor_id"]}
    everyone = api.client.get("/api/startups/S_new_robotics/matches?k=50", headers=organiser).json()
    assert {late["investor_id"], "B_late"} <= {m["investor_id"] for m in everyone["items"]}


def test_matches_kind_keeps_investors_and_banks_apart(api: Api) -> None:
    api.load(service_world())
    api.train("learned")
    organiser = api.headers("organiser")
    kinds = dict(service_world().investors.select("investor_id", "kind").iter_rows())
    lists = {}
    for kind in ("investor", "bank", "all"):
        response = api.client.get(f"/api/startups/S_new_new_energy/matches?kind={kind}&k=10", headers=organiser)
        assert response.status_code == 200, response.text
        lists[kind] = response.json()
        assert lists[kind]["kind"] == kind
    assert {m["kind"] for m in lists["investor"]["items"]} <= {"vc", "pe", "angel"}
    assert {m["investor_id"] for m in lists["bank"]["items"]} == {"I_bank", "I_bank2"}
    assert all(m["kind"] == kinds[m["investor_id"]] for m in lists["all"]["items"])
    assert {m["investor_id"] for m in lists["all"]["items"]} == (
        {m["investor_id"] for m in lists["investor"]["items"]} | {m["investor_id"] for m in lists["bank"]["items"]})
    # Reasons suit the kind: a bank's speak of lending, an investor's never do.
    for item in lists["bank"]["items"]:
        assert item["reasons"] and all(not r.startswith(("同投网络", "投资额匹配")) for r in item["reasons"])
    _problem(api.client.get("/api/startups/S_new_new_energy/matches?kind=banks", headers=organiser), 400, "kind")


def test_a_new_model_version_is_picked_up_without_restart(api: Api) -> None:
    api.load(service_world())
    first = api.train("declared")
    second = api.train("popularity")
    assert second == first + 1
    health = api.client.get("/health").json()
    assert health["model"]["version"] == second and health["model"]["ranking"] == "popularity"


def test_a_broken_model_file_is_reported_not_served(api: Api) -> None:
    from datetime import date

    from api.db.models import ModelVersion

    api.load(service_world())
    good = api.train("declared")
    broken = api.state.settings.model_dir / "broken.skops"
    broken.write_bytes(b"not a model")

    async def register_broken() -> None:
        async with api.state.sessions() as session, session.begin():
            session.add(ModelVersion(ranking_model="declared", ranking_path=str(broken), trained_as_of=date.today()))
        await api.state.models.current(force=True)

    api.run(register_broken)
    health = api.client.get("/health").json()["model"]
    # The previous version keeps serving and health says why the new one is not.
    assert health["version"] == good and "failed to load" in health["error"]
    body = _register(api)
    matches = api.client.get(
        f"/api/startups/{body['startup']['startup_id']}/matches", headers={"Authorization": f"Bearer {body['api_key']}"}
    )
    assert matches.status_code == 200 and matches.json()["model_version"] == good


def test_a_startup_removed_here_leaves_investor_lists_at_once(api: Api) -> None:
    api.load(service_world())
    api.train("declared")
    organiser = api.headers("organiser")
    url = "/api/investors/I_robot/matches?k=50"
    listed = [m["startup_id"] for m in api.client.get(url, headers=organiser).json()["items"]]
    api.state.matches.sync_seconds = 3600.0  # no timed sync: only the removal's own notice
    gone = listed[-1]
    assert api.client.delete(f"/api/startups/{gone}", headers=organiser).status_code == 204
    after = [m["startup_id"] for m in api.client.get(url, headers=organiser).json()["items"]]
    assert gone not in after and set(after) <= set(listed)

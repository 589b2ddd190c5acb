"""Banks over HTTP (issue 6 item 7, issue 10): own products, consent-gated decisions answered per
startup, stored history."""

from __future__ import annotations

from typing import Any

from tests.factories import registration, service_world
from tests.integration.conftest import Api
from tests.integration.test_api_startups import _problem, _register


def _world_with_registered_startup(api: Api, **overrides: Any) -> tuple[str, dict[str, str]]:
    api.load(service_world())
    body = _register(api, **overrides)
    return body["startup"]["startup_id"], {"Authorization": f"Bearer {body['api_key']}"}


def test_bank_with_consent_gets_a_full_stored_decision_and_the_startup_sees_it(api: Api) -> None:
    sid, own = _world_with_registered_startup(api, consents=["I_bank"])
    bank = api.headers("bank", bank_id="I_bank")
    response = api.client.post("/api/eligibility", json={"startup_id": sid, "product_id": "P_kv"}, headers=bank)
    assert response.status_code == 200, response.text
    decision = response.json()
    assert decision["startup_id"] == sid and decision["bank_id"] == "I_bank" and decision["product_id"] == "P_kv"
    assert decision["product"] == "knowledge_value_credit"
    assert 0.0 <= decision["pd"] <= 1.0 and decision["credit_limit_wan"] >= 0.0
    assert decision["policy_version"] and decision["model_version"] and len(decision["input_hash"]) == 64
    assert decision["reasons"] and all({"code", "zh", "en"} <= set(r) for r in decision["reasons"])
    # 45 staff of whom 15 in R&D (33% → 20 points), R&D/revenue 160/1800 = 8.9% (50), an invention patent (30).
    assert decision["tech_sme_score"] == 100 and decision["tech_sme_qualified"] is True
    if not decision["eligible"]:
        assert decision["credit_limit_wan"] == 0.0
    # The same inputs give the same input hash.
    again = api.client.post("/api/eligibility", json={"startup_id": sid, "product_id": "P_kv"}, headers=bank).json()
    assert again["input_hash"] == decision["input_hash"] and again["assessment_id"] != decision["assessment_id"]

    history = api.client.get("/api/eligibility", headers=bank).json()
    assert history["total"] == 2 and history["items"][0]["assessment_id"] == again["assessment_id"]
    assert history["items"][1] == decision
    seen = api.client.get(f"/api/startups/{sid}/assessments", headers=own).json()
    assert [(a["bank_id"], a["bank_name"], a["product_id"]) for a in seen] == [("I_bank", "湘江银行", "P_kv")] * 2


def test_bank_without_consent_or_with_another_banks_product_is_forbidden(api: Api) -> None:
    sid, _ = _world_with_registered_startup(api, consents=["I_bank2"])
    bank = api.headers("bank", bank_id="I_bank")
    _problem(api.client.post("/api/eligibility", json={"startup_id": sid, "product_id": "P_kv"}, headers=bank), 403)
    other_bank = api.headers("bank", bank_id="I_bank2")
    _problem(
        api.client.post("/api/eligibility", json={"startup_id": sid, "product_id": "P_kv"}, headers=other_bank), 403
    )
    _problem(api.client.post("/api/eligibility", json={"startup_id": sid, "product_id": "P_none"}, headers=bank), 404)
    _problem(api.client.post("/api/eligibility", json={"startup_id": "st_x", "product_id": "P_kv"}, headers=bank), 404)
    for role in ("organiser", "admin"):
        _problem(
            api.client.post(
                "/api/eligibility", json={"startup_id": sid, "product_id": "P_kv"}, headers=api.headers(role)
            ),
            403,
        )
    _problem(api.client.post("/api/eligibility", json={"startup_id": sid, "product_id": "P_kv"}), 401)
    # Refusals write nothing.
    assert api.client.get("/api/eligibility", headers=bank).json()["total"] == 0
    assert api.client.get("/api/eligibility", headers=other_bank).json()["total"] == 0


def test_a_batch_answers_each_startup_on_its_own(api: Api) -> None:
    api.load(service_world())
    consenting = [
        _register(api, uscc=None, name=f"公司{i}", consents=["I_bank"])["startup"]["startup_id"] for i in range(3)
    ]
    silent = _register(api, uscc=None, name="未授权公司")["startup"]["startup_id"]
    bank = api.headers("bank", bank_id="I_bank")
    asked = [consenting[0], silent, *consenting[1:], "st_unknown"]
    response = api.client.post("/api/eligibility/batch", json={"product_id": "P_pledge", "startup_ids": asked},
                               headers=bank)
    assert response.status_code == 200, response.text
    body = response.json()
    assert [i["startup_id"] for i in body["items"]] == asked
    assert [i["status"] for i in body["items"]] == [200, 403, 200, 200, 404]
    assert (body["decided"], body["refused"]) == (3, 2)
    refusal = body["items"][1]
    assert refusal["decision"] is None and silent in refusal["problem"]["detail"]
    assert "consent" in refusal["problem"]["detail"] and refusal["problem"]["status"] == 403
    decided = [i["decision"] for i in body["items"] if i["decision"]]
    assert {d["product"] for d in decided} == {"ip_pledge"}
    assert all(d["limit"]["basis"] and d["limit"]["zh"].startswith("额度") for d in decided)
    # The decisions made were stored; the refusals wrote nothing.
    assert api.client.get("/api/eligibility", headers=bank).json()["total"] == 3
    _problem(
        api.client.post("/api/eligibility/batch", json={"product_id": "P_kv", "startup_ids": []}, headers=bank),
        400,
        "startup_ids",
    )


def test_banks_see_only_their_own_products(api: Api) -> None:
    api.load(service_world())
    bank = api.headers("bank", bank_id="I_bank")
    own = api.client.get("/api/products", headers=bank).json()
    assert sorted(p["product_id"] for p in own) == ["P_kv", "P_pledge"]
    # A bank cannot widen the filter to another bank.
    assert sorted(p["product_id"] for p in api.client.get("/api/products?bank_id=I_bank2", headers=bank).json()) == [
        "P_kv",
        "P_pledge",
    ]
    assert api.client.get("/api/products/P_kv", headers=bank).status_code == 200
    _problem(api.client.get("/api/products/P_other_bank", headers=bank), 404)
    _problem(api.client.post("/api/products", json={"bank_id": "I_bank", "kind": "other"}, headers=bank), 403)
    everything = api.client.get("/api/products", headers=api.headers("organiser")).json()
    assert len(everything) == 3
    startup = _register(api)
    _problem(api.client.get("/api/products", headers={"Authorization": f"Bearer {startup['api_key']}"}), 403)


def test_registration_body_is_reused_by_banks_tests() -> None:
    # Guards the factory the tests above rely on: a tech-SME-qualified robotics firm with an invention patent.
    body = registration()
    assert body["ip_assets"][0]["kind"] == "invention_patent"  # type: ignore[index]

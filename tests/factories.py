"""Shared test factories: small in-memory data sets with known answers. Append; do not rewrite others' parts."""

from __future__ import annotations

import functools
from datetime import date, timedelta
from typing import Any

import polars as pl

from matcher.io import DataSet, from_frames

# --- ranking (issue 3) -----------------------------------------------------------------------------
# A tiny market with a known right answer: three sector specialists plus a bank and a cold investor.
# Each specialist invests only in its own sector; the energy fund does the most deals overall, so global
# popularity prefers it while any sector-aware model must prefer the specialist of a startup's sector.

RANKING_AS_OF = date(2026, 1, 1)
_RANKING_SECTORS = (
    ("robotics", "智能机器人", "工业机器人 协作机器人 视觉引导 自动化产线", "I_robot", "a", 1000.0),
    ("biomedicine", "生物医药", "创新药 生物制剂 临床前研究 抗体药物", "I_bio", "seed", 300.0),
    ("new_energy", "新能源装备", "风电叶片 储能系统 光伏组件 逆变器", "I_energy", "b", 5000.0),
)


def ranking_world(*, with_ip: bool = True, free_text_sectors: bool = False) -> DataSet:
    """Historical startups (8 robot, 8 bio, 14 energy) with outcomes over 2023–2025, plus three new
    startups (``S_new_robotics``, ``S_new_biomedicine``, ``S_new_new_energy``) that have no history.

    ``free_text_sectors`` replaces sector labels with strings the taxonomy does not know."""
    startups: list[dict[str, object]] = []
    interactions: list[dict[str, object]] = []
    others = ("I_bank", "I_robot", "I_bio", "I_energy")
    for code, label, desc, specialist, stage, ask in _RANKING_SECTORS:
        sector = f"zz-{code}-market" if free_text_sectors else label
        n_hist = 14 if code == "new_energy" else 8
        for j in range(n_hist + 1):
            sid = f"S_{code}_{j}" if j < n_hist else f"S_new_{code}"
            startups.append({
                "startup_id": sid, "name": f"{label}{j}", "sector": sector, "stage": stage,
                "region": "湖南", "employees": 40 + j, "rd_staff": 10 + j, "revenue_wan": 2000.0,
                "rd_expense_wan": 150.0, "funding_ask_wan": ask, "founded_on": date(2018, 1, 1 + j),
                "description": f"{desc} 第{j}号",
            })
            if j == n_hist:
                continue
            day = date(2023, 1, 10) + timedelta(days=(1000 // n_hist) * j + 3 * len(startups))
            interactions.append({"startup_id": sid, "investor_id": specialist, "occurred_on": day,
                                 "outcome": "invested" if j % 2 == 0 else "interested", "amount_wan": ask})
            other = others[(j + len(code)) % len(others)]
            if other != specialist:
                interactions.append({"startup_id": sid, "investor_id": other,
                                     "occurred_on": day + timedelta(days=5), "outcome": "declined"})
    # After the as-of date: the new startups engage their specialists (the evaluation truth).
    for code, _, _, specialist, _, _ in _RANKING_SECTORS:
        interactions.append({"startup_id": f"S_new_{code}", "investor_id": specialist,
                             "occurred_on": date(2026, 2, 1), "outcome": "invested"})
    investors = [
        {"investor_id": "I_robot", "name": "机器人基金", "kind": "vc", "sectors": ["智能机器人"], "stages": ["a", "b"],
         "regions": ["湖南"], "ticket_min_wan": 500.0, "ticket_max_wan": 2000.0, "description": "专注机器人 自动化"},
        {"investor_id": "I_bio", "name": "生物医药基金", "kind": "vc", "sectors": ["生物医药"], "stages": ["seed"],
         "ticket_min_wan": 100.0, "ticket_max_wan": 500.0, "description": "创新药 生物制剂"},
        {"investor_id": "I_energy", "name": "新能源产业基金", "kind": "pe", "sectors": ["新能源"],
         "stages": ["b", "c"], "ticket_min_wan": 2000.0, "ticket_max_wan": 10000.0, "description": "风电 储能"},
        {"investor_id": "I_bank", "name": "湘江银行", "kind": "bank"},
        {"investor_id": "I_cold", "name": "新设机器人基金", "kind": "angel", "sectors": ["机器人"], "stages": ["seed"]},
    ]
    ip = [
        {"startup_id": "S_robotics_0", "kind": "invention_patent", "granted_on": date(2020, 1, 1),
         "expires_on": date(2040, 1, 1)},
        {"startup_id": "S_robotics_1", "kind": "utility_model", "granted_on": date(2021, 1, 1),
         "expires_on": date(2031, 1, 1)},
    ]
    frames: dict[str, pl.DataFrame] = {
        "startups": pl.DataFrame(startups),
        "investors": pl.DataFrame(investors),
        "interactions": pl.DataFrame(interactions),
    }
    if with_ip:
        frames["ip_assets"] = pl.DataFrame(ip)
    return from_frames(**frames)


# --- service (issue 6) -----------------------------------------------------------------------------
# The ranking world plus what banks need: a second bank, loan products and a small loan book.
# A valid 统一社会信用代码 (checksum verified by stdnum) for registrations over HTTP.
VALID_USCC = "91430300MA4L16JQ1Y"
OTHER_VALID_USCC = "91110000802100433B"


def service_world() -> DataSet:
    world = ranking_world()
    investors = pl.concat(
        [world.investors, from_frames(investors=pl.DataFrame(
            [{"investor_id": "I_bank2", "name": "莲城农商银行", "kind": "bank"}])).investors],
        how="vertical",
    )
    products = pl.DataFrame([
        {"product_id": "P_kv", "bank_id": "I_bank", "kind": "knowledge_value_credit", "name": "知识价值信用贷",
         "max_amount_wan": 500.0, "max_term_months": 12},
        {"product_id": "P_pledge", "bank_id": "I_bank", "kind": "ip_pledge", "name": "知识产权质押贷",
         "max_amount_wan": 500.0, "max_term_months": 36},
        {"product_id": "P_other_bank", "bank_id": "I_bank2", "kind": "knowledge_value_credit",
         "name": "科技贷", "max_amount_wan": 300.0},
    ])
    loans = pl.DataFrame([
        {"loan_id": f"L{i}", "startup_id": sid, "bank_id": "I_bank", "product_kind": "knowledge_value_credit",
         "amount_wan": 100.0, "term_months": 12, "issued_on": date(2024, 1 + i % 12, 1), "defaulted": i % 5 == 0}
        for i, sid in enumerate(world.startups["startup_id"].to_list()[:20])
    ])
    return from_frames(
        startups=world.startups, ip_assets=world.ip_assets, investors=investors,
        interactions=world.interactions, loan_products=products, loans=loans,
    )


def registration(**overrides: object) -> dict[str, object]:
    """A valid POST /api/startups body; ``overrides`` replace or add fields."""
    body: dict[str, object] = {
        "name": "湘潭智能机器人科技有限公司",
        "uscc": VALID_USCC,
        "sector": "智能机器人",
        "stage": "a",
        "region": "湖南",
        "city": "湘潭",
        "employees": 45,
        "rd_staff": 15,
        "revenue_wan": 1800.0,
        "rd_expense_wan": 160.0,
        "total_cost_wan": 1500.0,
        "total_assets_wan": 3000.0,
        "funding_ask_wan": 1000.0,
        "description": "工业机器人 协作机器人 视觉引导 自动化产线",
        "ip_assets": [
            {"kind": "invention_patent", "granted_on": "2021-05-01", "expires_on": "2041-05-01",
             "title": "一种协作机器人关节", "appraised_value_wan": 300.0},
            {"kind": "software_copyright", "granted_on": "2022-03-01"},
        ],
    }
    body.update(overrides)
    return body


# --- eligibility (issue 5) -------------------------------------------------------------------------
# Tiny firms whose tech-SME scores are computed by hand in tests/unit/test_eligibility*.py.

ELIGIBILITY_AS_OF = date(2026, 6, 30)


def eligibility_firm(startup_id: str = "F1", **overrides: object) -> dict[str, object]:
    """A firm that qualifies comfortably: 30% tech staff (20), 6% R&D/sales (50), one invention (30)."""
    row: dict[str, object] = {
        "startup_id": startup_id, "name": f"企业{startup_id}", "sector": "智能机器人", "stage": "a",
        "region": "湘潭", "founded_on": date(2018, 3, 1), "employees": 100, "rd_staff": 30,
        "revenue_wan": 1000.0, "rd_expense_wan": 60.0, "total_cost_wan": 900.0, "total_assets_wan": 3000.0,
        "funding_ask_wan": 200.0, "high_tech_enterprise": False, "provincial_rd_center": False,
        "national_award_5y": False, "standards_led_5y": 0, "credit_flags": 0,
    }
    row.update(overrides)
    return row


def eligibility_ip(startup_id: str = "F1", kind: str = "invention_patent", **overrides: object) -> dict[str, object]:
    row: dict[str, object] = {
        "startup_id": startup_id, "kind": kind, "status": "granted", "granted_on": date(2020, 5, 1),
        "expires_on": date(2040, 5, 1), "title": f"{kind} of {startup_id}", "appraised_value_wan": None,
    }
    row.update(overrides)
    return row


def eligibility_data(
    firms: list[dict[str, object]], ips: list[dict[str, object]] | None = None,
    loans: list[dict[str, object]] | None = None,
) -> DataSet:
    """A DataSet in canonical dtypes from firm and IP rows built with the two helpers above."""
    frames: dict[str, pl.DataFrame] = {"startups": pl.DataFrame(firms, infer_schema_length=None)}
    if ips:
        frames["ip_assets"] = pl.DataFrame(ips, infer_schema_length=None)
    if loans:
        frames["loans"] = pl.DataFrame(loans, infer_schema_length=None)
    return from_frames(**frames)


def eligibility_loan_book(n_firms: int = 400, seed: int = 5) -> DataSet:
    """A synthetic book where risk falls with valid invention patents and rises with credit flags:
    ``n_firms`` firms, two loans each, outcomes drawn from a known logistic model."""
    import numpy as np

    rng = np.random.default_rng(seed)
    firms, ips, loans = [], [], []
    for k in range(n_firms):
        sid = f"B{k:04d}"
        patents = int(rng.integers(0, 4))
        flags = int(rng.random() < 0.2)
        firms.append(eligibility_firm(sid, credit_flags=flags, revenue_wan=float(rng.integers(200, 5000)),
                                      sector=("智能机器人", "生物医药", "新材料")[k % 3]))
        ips += [eligibility_ip(sid, granted_on=date(2019, 1, 1)) for _ in range(patents)]
        for j in range(2):
            logit = -2.0 - 0.8 * patents + 1.8 * flags + rng.normal(scale=0.3)
            loans.append({"loan_id": f"{sid}-{j}", "startup_id": sid, "product_kind": "other",
                          "amount_wan": 100.0 + 50 * j, "term_months": 12,
                          "issued_on": date(2023, 1, 1) + timedelta(days=int(rng.integers(0, 700))),
                          "defaulted": bool(rng.random() < 1 / (1 + np.exp(-logit)))})
    return eligibility_data(firms, ips, loans)


@functools.lru_cache(maxsize=1)
def eligibility_model() -> Any:
    """A small PD model (a ``PDModel``) trained once per process on ``eligibility_loan_book``."""
    from matcher.eligibility import default_policy, train_pd_model

    book = eligibility_loan_book()
    return train_pd_model(book.startups, book.ip_assets, book.loans, as_of=None, policy=default_policy())


# --- synthetic worlds (issue 2, item 6) --------------------------------------------------------------


def synthetic_world(seed: int = 7, size: str = "small") -> object:
    """A generated world (``matcher.synthetic.GeneratedWorld``), built once per process per seed and
    size. Shared between tests: read it, never mutate it (its ``next_event`` is a plain dict)."""
    return _synthetic_world(seed, size)


@functools.lru_cache(maxsize=4)
def _synthetic_world(seed: int, size: str) -> object:
    from matcher.synthetic import generate

    return generate(seed, size)


def service_event(event_id: str = "2026-12-lotus-01", **overrides: object) -> dict[str, object]:
    """A small event.json over ``service_world`` participants: 3 startups × 3 investors, 3 slots, 2 tables.

    The robot fund is the best partner of the robot startup (0.9); scores are given for every pair."""
    startups = ["S_robotics_0", "S_biomedicine_0", "S_new_energy_0"]
    investors = ["I_robot", "I_bio", "I_energy"]
    best = {("S_robotics_0", "I_robot"), ("S_biomedicine_0", "I_bio"), ("S_new_energy_0", "I_energy")}
    event: dict[str, object] = {
        "event_id": event_id,
        "name": "智造莲城 路演 测试期",
        "tables": 2,
        "slots": [{"slot_id": f"s0{k}", "start": f"2026-12-01T14:{20 * (k - 1):02d}",
                   "end": f"2026-12-01T14:{20 * k - 1:02d}"} for k in (1, 2, 3)],
        "startups": [{"startup_id": s, "max_meetings": 2} for s in startups],
        "investors": [{"investor_id": i, "max_meetings": 3} for i in investors],
        "scores": [{"startup_id": s, "investor_id": i, "score": 0.9 if (s, i) in best else 0.2}
                   for s in startups for i in investors],
    }
    event.update(overrides)
    return event


# --- self-tuning ranking (issue 9) -------------------------------------------------------------------
# A market where only the history says who comes next: investors form clubs that fund the same startups
# round after round; profiles say nothing (no sector, stage or description) and every investor is about
# equally busy, so popularity, sector popularity and declared preferences cannot tell clubs apart while
# the co-investment features of the boosted model can.

CLUB_AS_OF = date(2026, 1, 1)


def club_world(*, n_clubs: int = 6, club_size: int = 5, n_startups: int = 360, seed: int = 3) -> DataSet:
    """The club market, plus one bank (``B_idle``) that never engages anyone."""
    import numpy as np

    rng = np.random.default_rng(seed)
    investors = [{"investor_id": f"I{c}_{m}", "name": f"Club {c} member {m}", "kind": "vc"}
                 for c in range(n_clubs) for m in range(club_size)]
    investors.append({"investor_id": "B_idle", "name": "Idle bank", "kind": "bank"})
    startups, interactions = [], []
    for s in range(n_startups):
        club = s % n_clubs
        startups.append({"startup_id": f"S{s:04d}", "name": f"Startup {s}"})
        first = date(2022, 1, 1) + timedelta(days=int(rng.integers(0, 4 * 365)))
        members = rng.permutation(club_size)[: int(rng.integers(2, 5))]
        for r, m in enumerate(members):
            interactions.append({"startup_id": f"S{s:04d}", "investor_id": f"I{club}_{m}",
                                 "occurred_on": first + timedelta(days=120 * r), "outcome": "invested"})
    return from_frames(startups=pl.DataFrame(startups), investors=pl.DataFrame(investors),
                       interactions=pl.DataFrame(interactions))


def sheet_bytes(rows: list[list[object]], *, fmt: str = "xlsx", encoding: str = "utf-8") -> bytes:
    """``rows`` (the header first) as an office saves them: an Excel workbook or a CSV in ``encoding``."""
    if fmt == "csv":
        return "\r\n".join(",".join("" if v is None else str(v) for v in row) for row in rows).encode(encoding)
    import io

    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()

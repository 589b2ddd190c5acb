"""The results rules (matcher.results) on small records: visits, meetings held and missed, intents and
their corrections, scheduled roadshows, and the year adding up its roadshows."""

from __future__ import annotations

import io
from datetime import date

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st
from openpyxl import load_workbook

from matcher.errors import NotFoundError
from matcher.io import from_frames
from matcher.results import chart_svg, results, roadshow_years, workbook

TODAY = date(2026, 6, 1)
OUTCOMES = ("requested", "met", "declined", "interested", "intent_signed", "invested")


def _records(rows: list[tuple[str, str, str, str, float | None]], meetings: list[tuple[str, str, str]] = ()
             ) -> dict[str, pl.DataFrame]:
    data = from_frames(
        startups=pl.DataFrame({"startup_id": ["S1", "S2", "S3"], "name": ["甲科技", "乙科技", "丙科技"],
                               "sector": ["新材料", "大数据", None]}),
        investors=pl.DataFrame({"investor_id": ["I1", "I2", "B1"], "name": ["一号基金", "二号基金", "湘江银行"],
                                "kind": ["vc", "angel", "bank"]}),
        events=pl.DataFrame({"event_id": ["e1", "e2", "e3"], "name": ["第1期", "第2期", "第3期"],
                             "held_on": [date(2025, 3, 1), date(2025, 9, 1), date(2026, 12, 1)]}),
        interactions=pl.DataFrame(
            [(s, i, o, e, a, date(2025, 3, 1)) for e, s, i, o, a in rows],
            schema={"startup_id": pl.Utf8, "investor_id": pl.Utf8, "outcome": pl.Utf8, "event_id": pl.Utf8,
                    "amount_wan": pl.Float64, "occurred_on": pl.Date}, orient="row"),
    )
    return {"interactions": data.interactions, "events": data.events, "investors": data.investors,
            "startups": data.startups,
            "meetings": pl.DataFrame(list(meetings), schema=["event_id", "startup_id", "investor_id"], orient="row")}


def test_visits_meetings_no_shows_and_intents() -> None:
    records = _records([
        ("e1", "S1", "I1", "met", None),
        ("e1", "S1", "B1", "intent_signed", 500.0),
        ("e1", "S1", "B1", "invested", 500.0),       # the same meeting, one intent
        ("e1", "S2", "I2", "requested", None),        # planned, nobody came: a no-show, still a visit
        ("e1", "S2", "I1", "intent_signed", 1000.0),
        ("e1", "S2", "I1", "intent_signed", 1200.0),  # a correction: the latest record stands
        ("e2", "S3", "I1", "declined", None),
    ])
    res = results(**records, today=TODAY, year=2025)
    assert res.totals == {"roadshows_held": 2, "investor_visits": 3, "bank_visits": 1, "startups": 3,
                          "meetings_planned": 5, "meetings_held": 4, "no_shows": 1, "not_recorded": 0,
                          "intents": 2, "intent_wan": 1700.0, "intent_yi": 0.17}
    kinds = {r["kind"]: r for r in res.by_kind.to_dicts()}
    assert kinds["bank"]["visits"] == 1 and kinds["vc"]["intent_wan"] == 1200.0 and kinds["angel"]["visits"] == 1
    sectors = {r["sector"]: r for r in res.by_sector.to_dicts()}
    assert sectors["未填写"]["meetings_held"] == 1  # a startup without a sector is counted, not dropped
    assert sorted(res.intents["amount_wan"].to_list()) == [500.0, 1200.0]
    assert set(res.intents["investor_name"].to_list()) == {"一号基金", "湘江银行"}  # names, not ids


def test_a_scheduled_roadshow_counts_its_grid_and_meetings_held_outside_it() -> None:
    records = _records(
        [("e1", "S1", "I1", "interested", None),
         ("e1", "S2", "I2", "requested", None),        # asked for, never in the grid: no meeting
         ("e1", "S3", "B1", "intent_signed", 300.0)],  # signed in the corridor: held, an intent
        meetings=[("e1", "S1", "I1"), ("e1", "S2", "I1"), ("e1", "S1", "B1")],
    )
    res = results(**records, today=TODAY, event_id="e1")
    totals = res.totals
    assert (totals["meetings_planned"], totals["meetings_held"], totals["no_shows"], totals["not_recorded"]) == (
        4, 2, 0, 2)
    assert totals["intents"] == 1 and res.title == "第1期"


def test_a_future_roadshow_is_not_held_and_unknown_scopes_are_not_found() -> None:
    records = _records([])
    assert results(**records, today=TODAY, year=2026).totals["roadshows_held"] == 0
    assert roadshow_years(records["events"], today=TODAY) == [2026, 2025]
    with pytest.raises(NotFoundError):
        results(**records, today=TODAY, year=2019)
    with pytest.raises(NotFoundError):
        results(**records, today=TODAY, event_id="nope")


def test_workbook_and_chart_carry_names_and_numbers() -> None:
    res = results(**_records([("e1", "S1", "B1", "intent_signed", 800.0)]), today=TODAY, year=2025)
    wb = load_workbook(io.BytesIO(workbook(res)))
    row = next(wb["签约意向"].iter_rows(min_row=2, values_only=True))
    assert row[2:7] == ("甲科技", "新材料", "湘江银行", "银行", 800.0)
    svg = chart_svg(res)
    assert svg.startswith("<svg") and "第1期：0.08亿元" in svg and "<script" not in svg


ROW = st.tuples(st.sampled_from(["e1", "e2"]), st.sampled_from(["S1", "S2", "S3"]),
                st.sampled_from(["I1", "I2", "B1"]), st.sampled_from(OUTCOMES),
                st.sampled_from([None, 100.0, 250.0]))


@given(st.lists(ROW, max_size=30))
def test_a_year_adds_up_its_roadshows(rows: list[tuple[str, str, str, str, float | None]]) -> None:
    records = _records(rows)
    year = results(**records, today=TODAY, year=2025).totals
    each = [results(**records, today=TODAY, event_id=e).totals for e in ("e1", "e2")]
    for key in ("investor_visits", "bank_visits", "meetings_planned", "meetings_held", "no_shows", "intents"):
        assert year[key] == sum(t[key] for t in each)
    assert year["intent_wan"] == pytest.approx(sum(t["intent_wan"] for t in each))
    assert year["meetings_held"] + year["no_shows"] + year["not_recorded"] == year["meetings_planned"]
    assert year["intents"] <= year["meetings_held"]

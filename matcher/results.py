"""Each roadshow's results, from the product's own records: who came, which meetings were held, which
intents were signed and for how much, per roadshow and per year, by sector and by kind of institution.

The records are the interchange frames (``interactions`` with their ``event_id``, ``events``,
``investors``, ``startups``) and, for roadshows scheduled by the product, the planned ``meetings``
(``event_id, startup_id, investor_id``). The rules, written once here for the API, the console, the
workbook and the chart:

- A roadshow counts in a year by its date (``held_on``, or its first slot for one the product scheduled);
  it is *held* once that date has come.
- A *visit* is a distinct (roadshow, institution) pair among the roadshow's interactions
  (DATA_FORMAT.md): investor-institution visits and bank visits (``kind = bank``) apart.
- A *meeting* is a distinct (roadshow, startup, institution) pair. At a roadshow the product scheduled,
  the meetings are the grid's (plus any held outside it, e.g. an intent signed in the corridor); at one
  imported with its history, every pair it recorded. A meeting was *held* when any of its interactions
  is an outcome of a meeting (``met`` or stronger, or ``declined``); a *no-show* when it has
  interactions and all are ``requested`` (the contract's mark of a planned meeting that did not take
  place: a request that never became a meeting carries no ``event_id``, so it is no meeting of any
  roadshow); *not recorded* when it was planned and nothing was recorded for it yet.
- An *intent* is a meeting with an ``intent_signed`` interaction; its amount is the latest such row's
  ``amount_wan`` (a correction is a new record, so the latest one stands). It counts for the roadshow
  it came out of, whenever it was signed.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from html import escape
from typing import Any

import polars as pl
from openpyxl import Workbook

from matcher.domain import InvestorKind, Outcome
from matcher.errors import NotFoundError
from matcher.spreadsheet import write_sheet

MEDIA_TYPE_XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
WAN_PER_YI = 10_000.0
KIND_LABELS: dict[str, tuple[str, str]] = {
    InvestorKind.VC.value: ("风险投资", "Venture capital"),
    InvestorKind.PE.value: ("私募股权", "Private equity"),
    InvestorKind.ANGEL.value: ("天使投资", "Angel"),
    InvestorKind.GUIDANCE_FUND.value: ("政府引导基金", "Guidance fund"),
    InvestorKind.CVC.value: ("产业资本", "Corporate VC"),
    InvestorKind.BANK.value: ("银行", "Bank"),
    InvestorKind.OTHER.value: ("其他", "Other"),
}
_NOT_A_MEETING = (Outcome.REQUESTED.value,)
MEETINGS_SCHEMA: dict[str, type[pl.DataType]] = {"event_id": pl.Utf8, "startup_id": pl.Utf8, "investor_id": pl.Utf8}
UNKNOWN_SECTOR = "未填写"

# Columns of the per-roadshow table, in the order every door shows them: (key, 中文, English).
ROADSHOW_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("investor_visits", "投资机构到场", "investor visits"),
    ("bank_visits", "银行到场", "bank visits"),
    ("startups", "路演企业", "startups met"),
    ("meetings_planned", "计划会谈", "meetings planned"),
    ("meetings_held", "已举行", "held"),
    ("no_shows", "缺席", "no-shows"),
    ("not_recorded", "未登记", "not recorded"),
    ("intents", "签约意向", "intents signed"),
    ("intent_wan", "意向金额（万元）", "intent total (万元)"),
)
_COUNTS = tuple(key for key, _, _ in ROADSHOW_COLUMNS)


@dataclass(frozen=True, slots=True)
class Results:
    """Results of one roadshow or of one year's roadshows (``scope``: ``event`` or ``year``)."""

    scope: str
    title: str
    year: int | None
    roadshows: pl.DataFrame  # one row per roadshow: event_id, name, held_on, city, held, then ROADSHOW_COLUMNS
    by_sector: pl.DataFrame  # sector, startups, meetings_held, intents, intent_wan
    by_kind: pl.DataFrame  # kind, kind_zh, kind_en, visits, meetings_held, intents, intent_wan
    intents: pl.DataFrame  # every intent with names: event, startup, institution, kind, amount, signed_on

    @property
    def totals(self) -> dict[str, Any]:
        """``roadshows_held`` and the sum of every ``ROADSHOW_COLUMNS`` count, plus the total in 亿元."""
        sums = {key: self.roadshows[key].sum() for key in _COUNTS}
        out: dict[str, Any] = {"roadshows_held": int(self.roadshows["held"].sum())}
        out |= {key: int(v) if key != "intent_wan" else float(v) for key, v in sums.items()}
        out["intent_yi"] = round(out["intent_wan"] / WAN_PER_YI, 4)
        return out

    def to_document(self) -> dict[str, Any]:
        return {
            "scope": self.scope,
            "title": self.title,
            "year": self.year,
            "totals": self.totals,
            "roadshows": _rows(self.roadshows),
            "by_sector": _rows(self.by_sector),
            "by_kind": _rows(self.by_kind),
            "intents": _rows(self.intents),
        }


def _rows(frame: pl.DataFrame) -> list[dict[str, Any]]:
    return [{k: v.isoformat() if isinstance(v, date) else v for k, v in row.items()} for row in frame.to_dicts()]


def _events(events: pl.DataFrame, today: date) -> pl.DataFrame:
    return events.select(
        pl.col("event_id").cast(pl.Utf8),
        pl.col("name").cast(pl.Utf8).fill_null(pl.col("event_id")),
        pl.col("held_on").cast(pl.Date),
        pl.col("city").cast(pl.Utf8),
    ).with_columns(
        year=pl.col("held_on").dt.year(),
        held=pl.col("held_on").is_not_null() & (pl.col("held_on") <= today),
    )


def roadshow_years(events: pl.DataFrame, *, today: date) -> list[int]:
    """The years that have a roadshow, newest first."""
    years = _events(events, today)["year"].drop_nulls().unique().sort(descending=True)
    return [int(y) for y in years.to_list()]


def _meetings(interactions: pl.DataFrame, planned: pl.DataFrame, event_ids: Sequence[str]) -> pl.DataFrame:
    """One row per (event, startup, institution) meeting: planned, held, no_show, intent and its amount."""
    keys = ["event_id", "startup_id", "investor_id"]
    wanted = pl.Series(list(event_ids), dtype=pl.Utf8).implode()
    rows = interactions.filter(pl.col("event_id").is_in(wanted)).with_row_index("_order")
    recorded = rows.group_by(keys).agg(
        recorded=pl.lit(True),
        held=(~pl.col("outcome").is_in(list(_NOT_A_MEETING))).any(),
        intent=(pl.col("outcome") == Outcome.INTENT_SIGNED.value).any(),
        intent_wan=pl.col("amount_wan").filter(pl.col("outcome") == Outcome.INTENT_SIGNED.value)
        .sort_by(pl.col("_order").filter(pl.col("outcome") == Outcome.INTENT_SIGNED.value)).last(),
        signed_on=pl.col("occurred_on").filter(pl.col("outcome") == Outcome.INTENT_SIGNED.value).max(),
    )
    scheduled = planned.select(pl.col(k).cast(pl.Utf8) for k in keys).filter(
        pl.col("event_id").is_in(wanted)).unique().with_columns(
        scheduled=pl.lit(True))
    with_schedule = scheduled.select(pl.col("event_id").unique())
    return (
        recorded.join(scheduled, on=keys, how="full", coalesce=True)
        .with_columns(
            pl.col("recorded").fill_null(False),
            pl.col("held").fill_null(False),
            pl.col("intent").fill_null(False),
            pl.col("scheduled").fill_null(False),
            pl.col("event_id").is_in(with_schedule["event_id"].implode()).alias("has_schedule"),
        )
        # At a roadshow the product scheduled, a request that never made it into the grid is no meeting.
        .filter(pl.col("scheduled") | pl.col("held") | ~pl.col("has_schedule"))
        .with_columns(no_show=pl.col("recorded") & ~pl.col("held"), not_recorded=~pl.col("recorded"))
    )


def results(
    *,
    interactions: pl.DataFrame,
    events: pl.DataFrame,
    investors: pl.DataFrame,
    startups: pl.DataFrame,
    meetings: pl.DataFrame | None = None,
    today: date,
    year: int | None = None,
    event_id: str | None = None,
) -> Results:
    """The results of one roadshow (``event_id``) or of the roadshows of ``year``.

    Raises ``NotFoundError`` for an unknown roadshow, or a year without one."""
    if (year is None) == (event_id is None):
        raise ValueError("give exactly one of year and event_id")
    ev = _events(events, today)
    chosen = ev.filter(pl.col("event_id") == event_id) if event_id is not None else ev.filter(pl.col("year") == year)
    if chosen.is_empty():
        raise NotFoundError(f"no roadshow {event_id}" if event_id is not None else f"no roadshow in {year}")
    chosen = chosen.sort("held_on", "event_id", nulls_last=True)
    planned = meetings if meetings is not None else pl.DataFrame(schema=MEETINGS_SCHEMA)
    met = _meetings(interactions, planned, chosen["event_id"].to_list())
    institutions = investors.select(
        pl.col("investor_id"), pl.col("name").alias("investor_name"),
        pl.col("kind").fill_null(InvestorKind.OTHER.value)).with_columns(bank=pl.col("kind") == InvestorKind.BANK.value)
    firms = startups.select("startup_id", pl.col("name").alias("startup_name"),
                            pl.col("sector").fill_null(UNKNOWN_SECTOR))
    met = met.join(institutions, on="investor_id", how="left").join(firms, on="startup_id", how="left").with_columns(
        pl.col("bank").fill_null(False), pl.col("kind").fill_null(InvestorKind.OTHER.value),
        pl.col("sector").fill_null(UNKNOWN_SECTOR))
    visiting = met.filter(pl.col("recorded"))
    per_event = met.group_by("event_id").agg(
        startups=pl.col("startup_id").filter(pl.col("held")).n_unique().cast(pl.Int64),
        meetings_planned=pl.len(),
        meetings_held=pl.col("held").sum(),
        no_shows=pl.col("no_show").sum(),
        not_recorded=pl.col("not_recorded").sum(),
        intents=pl.col("intent").sum(),
        intent_wan=pl.col("intent_wan").filter(pl.col("intent")).fill_null(0.0).sum(),
    ).join(
        visiting.group_by("event_id").agg(
            investor_visits=pl.col("investor_id").filter(~pl.col("bank")).n_unique().cast(pl.Int64),
            bank_visits=pl.col("investor_id").filter(pl.col("bank")).n_unique().cast(pl.Int64),
        ),
        on="event_id", how="left",
    )
    roadshows = chosen.join(per_event, on="event_id", how="left", maintain_order="left").select(
        "event_id", "name", "held_on", "city", "held",
        *[pl.col(key).fill_null(0).cast(pl.Float64 if key == "intent_wan" else pl.Int64) for key in _COUNTS],
    )
    by_sector = (
        met.group_by("sector").agg(
            startups=pl.struct("event_id", "startup_id").filter(pl.col("held")).n_unique().cast(pl.Int64),
            meetings_held=pl.col("held").sum().cast(pl.Int64),
            intents=pl.col("intent").sum().cast(pl.Int64),
            intent_wan=pl.col("intent_wan").filter(pl.col("intent")).fill_null(0.0).sum().cast(pl.Float64),
        ).sort(["intent_wan", "sector"], descending=[True, False])
    )
    by_kind = (
        met.group_by("kind").agg(
            visits=pl.struct("event_id", "investor_id").filter(pl.col("recorded")).n_unique().cast(pl.Int64),
            meetings_held=pl.col("held").sum().cast(pl.Int64),
            intents=pl.col("intent").sum().cast(pl.Int64),
            intent_wan=pl.col("intent_wan").filter(pl.col("intent")).fill_null(0.0).sum().cast(pl.Float64),
        )
        .with_columns(
            kind_zh=pl.col("kind").replace_strict({k: v[0] for k, v in KIND_LABELS.items()}, default=pl.col("kind")),
            kind_en=pl.col("kind").replace_strict({k: v[1] for k, v in KIND_LABELS.items()}, default=pl.col("kind")),
        )
        .select("kind", "kind_zh", "kind_en", "visits", "meetings_held", "intents", "intent_wan")
        .sort(["intent_wan", "kind"], descending=[True, False])
    )
    intents = (
        met.filter(pl.col("intent"))
        .join(chosen.select("event_id", pl.col("name").alias("event_name"), "held_on"), on="event_id")
        .select("event_id", "event_name", "held_on", "startup_id", "startup_name", "sector", "investor_id",
                "investor_name", "kind", pl.col("intent_wan").alias("amount_wan"), "signed_on")
        .sort("held_on", "event_id", "amount_wan", descending=[False, False, True], nulls_last=True)
    )
    if event_id is not None:
        row = chosen.row(0, named=True)
        title = str(row["name"])
        scope_year = row["year"]
    else:
        title = f"{year}年路演成果"
        scope_year = year
    return Results("event" if event_id is not None else "year", title, scope_year, roadshows, by_sector, by_kind,
                   intents)


# --- the workbook ---------------------------------------------------------------------------------

_WAN = "#,##0"
_DATE = "yyyy-mm-dd"
_OUTCOME_HEADERS = ("已举行会谈 Meetings held", "签约意向 Intents", "意向金额（万元）Intent 万元")


def workbook(res: Results) -> bytes:
    """The results as an Excel workbook: 概览, 各场路演, 按赛道, 按机构类型, 签约意向 (names, not ids;
    numbers as numbers; frozen headers; sized columns)."""
    wb = Workbook()
    summary = wb.active
    assert summary is not None  # a new workbook always has one sheet
    summary.title = "概览"
    totals = res.totals
    labels = [("roadshows_held", "已举办路演", "roadshows held"), *ROADSHOW_COLUMNS,
              ("intent_yi", "意向金额（亿元）", "intent total (亿元)")]
    write_sheet(summary, ["指标 Measure", "数值 Value"],
                ([f"{zh} {en}", totals[key]] for key, zh, en in labels), title=res.title)
    roadshows = wb.create_sheet("各场路演")
    write_sheet(
        roadshows,
        ["路演 Roadshow", "日期 Date", "城市 City", *[f"{zh} {en}" for _, zh, en in ROADSHOW_COLUMNS]],
        ([r["name"], r["held_on"], r["city"] or "", *[r[k] for k in _COUNTS]] for r in res.roadshows.to_dicts()),
        formats={2: _DATE, 3 + len(_COUNTS): _WAN},
    )
    sectors = wb.create_sheet("按赛道")
    write_sheet(
        sectors,
        ["赛道 Sector", "路演企业 Startups", *_OUTCOME_HEADERS],
        ([r["sector"], r["startups"], r["meetings_held"], r["intents"], r["intent_wan"]]
         for r in res.by_sector.to_dicts()),
        formats={5: _WAN},
    )
    kinds = wb.create_sheet("按机构类型")
    write_sheet(
        kinds,
        ["机构类型 Kind", "到场 Visits", *_OUTCOME_HEADERS],
        ([f"{r['kind_zh']} {r['kind_en']}", r["visits"], r["meetings_held"], r["intents"], r["intent_wan"]]
         for r in res.by_kind.to_dicts()),
        formats={5: _WAN},
    )
    intents = wb.create_sheet("签约意向")
    write_sheet(
        intents,
        ["路演 Roadshow", "日期 Date", "企业 Startup", "赛道 Sector", "机构 Institution", "机构类型 Kind",
         "金额（万元）Amount 万元", "签约日期 Signed on"],
        ([r["event_name"], r["held_on"], r["startup_name"] or r["startup_id"], r["sector"],
          r["investor_name"] or r["investor_id"], KIND_LABELS.get(r["kind"], (r["kind"],))[0], r["amount_wan"],
          r["signed_on"]] for r in res.intents.to_dicts()),
        formats={2: _DATE, 7: _WAN, 8: _DATE},
    )
    intents.auto_filter.ref = intents.dimensions
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


# --- the chart ------------------------------------------------------------------------------------

_W, _H = 760, 340
_LEFT, _RIGHT, _TOP, _BOTTOM = 64, 64, 44, 78
_BAR = "#3b6ea5"
_VISIT = ("#e39b3b", "#6aa84f")
# The system's Chinese fonts (no web font is shipped, as in the console).
_FONTS = "'Noto Sans CJK SC','Source Han Sans SC','PingFang SC','Microsoft YaHei',sans-serif"


def chart_svg(res: Results) -> str:
    """One picture of the roadshows: intents signed (亿元, bars, left axis) and investor and bank visits
    (points, right axis) per roadshow. Plain SVG text, no script, no external asset."""
    rows = res.roadshows.to_dicts()
    n = max(len(rows), 1)
    plot_w, plot_h = _W - _LEFT - _RIGHT, _H - _TOP - _BOTTOM
    amounts = [r["intent_wan"] / WAN_PER_YI for r in rows]
    visits = [max(r["investor_visits"], r["bank_visits"]) for r in rows]
    amount_step, amount_ticks = _axis(max(amounts, default=0.0))
    visit_step, visit_ticks = _axis(float(max(visits, default=0)))
    top_amount, top_visits = amount_step * amount_ticks, visit_step * visit_ticks
    step = plot_w / n
    bar_w = min(step * 0.5, 60.0)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {_W} {_H}" width="{_W}" height="{_H}" role="img" '
        f'aria-labelledby="chart-title" font-family="{_FONTS}" font-size="12">',
        f'<title id="chart-title">{escape(res.title)}：各场路演签约意向（亿元）与到场机构</title>',
        f'<rect x="0" y="0" width="{_W}" height="{_H}" fill="#ffffff"/>',
        f'<text x="{_LEFT}" y="20" font-size="14" font-weight="bold">{escape(res.title)}</text>',
    ]
    for k in range(amount_ticks + 1):
        y = _TOP + plot_h * (1 - k / amount_ticks)
        parts.append(f'<line x1="{_LEFT}" y1="{y:.1f}" x2="{_LEFT + plot_w}" y2="{y:.1f}" stroke="#e3e3e3"/>')
        parts.append(f'<text x="{_LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{amount_step * k:g}</text>')
    for k in range(visit_ticks + 1):
        y = _TOP + plot_h * (1 - k / visit_ticks)
        parts.append(f'<text x="{_LEFT + plot_w + 6}" y="{y + 4:.1f}" fill="#555555">{visit_step * k:g}</text>')
    parts.append(f'<text x="14" y="{_TOP + plot_h / 2:.0f}" transform="rotate(-90 14 {_TOP + plot_h / 2:.0f})" '
                 'text-anchor="middle">签约意向（亿元）</text>')
    parts.append(f'<text x="{_W - 12}" y="{_TOP + plot_h / 2:.0f}" '
                 f'transform="rotate(90 {_W - 12} {_TOP + plot_h / 2:.0f})" text-anchor="middle">到场机构</text>')
    for j, (row, amount) in enumerate(zip(rows, amounts, strict=True)):
        cx = _LEFT + step * (j + 0.5) - 12  # room on the right for the visits
        h = plot_h * amount / top_amount if top_amount else 0.0
        label = escape(str(row["name"]))
        parts.append(f'<rect x="{cx - bar_w / 2:.1f}" y="{_TOP + plot_h - h:.1f}" width="{bar_w:.1f}" '
                     f'height="{h:.1f}" fill="{_BAR}"><title>{label}：{amount:.2f}亿元，{row["intents"]}项意向'
                     '</title></rect>')
        inside = h > 20  # the figure sits inside a tall bar, above a short one
        fill = "#ffffff" if inside else "#222222"
        parts.append(f'<text x="{cx:.1f}" y="{_TOP + plot_h - h + (15 if inside else -4):.1f}" text-anchor="middle" '
                     f'fill="{fill}">{amount:.2f}</text>')
        short = escape(_short(row))
        parts.append(f'<text x="{cx:.1f}" y="{_TOP + plot_h + 16}" text-anchor="middle">{short}</text>')
        # Visits stand beside their bar, so they never cover its figure.
        for key, colour, dx in (("investor_visits", _VISIT[0], bar_w / 2 + 8), ("bank_visits", _VISIT[1],
                                                                                 bar_w / 2 + 20)):
            y = _TOP + plot_h * (1 - row[key] / top_visits) if top_visits else _TOP + plot_h
            parts.append(f'<circle cx="{cx + dx:.1f}" cy="{y:.1f}" r="5" fill="{colour}"><title>{label}：'
                         f'{"投资机构" if key == "investor_visits" else "银行"} {row[key]}</title></circle>')
    legend_y = _H - 22
    parts.append(f'<rect x="{_LEFT}" y="{legend_y - 10}" width="12" height="12" fill="{_BAR}"/>'
                 f'<text x="{_LEFT + 18}" y="{legend_y}">签约意向（亿元）</text>')
    parts.append(f'<circle cx="{_LEFT + 170}" cy="{legend_y - 4}" r="5" fill="{_VISIT[0]}"/>'
                 f'<text x="{_LEFT + 180}" y="{legend_y}">投资机构到场</text>')
    parts.append(f'<circle cx="{_LEFT + 300}" cy="{legend_y - 4}" r="5" fill="{_VISIT[1]}"/>'
                 f'<text x="{_LEFT + 310}" y="{legend_y}">银行到场</text>')
    parts.append("</svg>")
    return "".join(parts)


def _short(row: dict[str, Any]) -> str:
    held = row["held_on"]
    return f"{held:%m-%d}" if isinstance(held, date) else str(row["event_id"])[:10]


def _axis(value: float) -> tuple[float, int]:
    """A round tick step (1, 2, 2.5 or 5 × 10^k) and the number of ticks that reach ``value`` (about 4)."""
    if value <= 0:
        return 1.0, 4
    rough = value / 4
    magnitude = 10.0 ** math.floor(math.log10(rough))
    step = next(f * magnitude for f in (1, 2, 2.5, 5, 10) if f * magnitude >= rough)
    return float(step), max(1, math.ceil(value / step - 1e-9))

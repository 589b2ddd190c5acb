"""Startups (observed record + hidden latents) and their IP portfolios."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import polars as pl

from matcher.domain import STAGE_ORDER, IPKind, IPStatus
from matcher.synthetic import _text as text
from matcher.synthetic._config import HISTORY_END, LATENT_DIM
from matcher.taxonomy import SECTORS, sector_label

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
DayArray = npt.NDArray[np.datetime64]

END = np.datetime64(HISTORY_END, "D")

# Share of the zone's firms per taxonomy sector (order of SECTORS): the zone's chains dominate.
SECTOR_MIX = np.array([0.13, 0.15, 0.14, 0.15, 0.10, 0.07, 0.06, 0.12, 0.08])
# Current-stage mix, idea .. public: a roadshow pipeline is mostly early-stage.
STAGE_MIX = np.array([0.07, 0.14, 0.19, 0.17, 0.18, 0.11, 0.06, 0.035, 0.025, 0.01])
AGE_YEARS = np.array([(0.2, 2), (0.5, 3), (1, 4), (1.5, 5), (2, 7), (3, 9), (4, 12), (6, 15), (7, 20), (10, 25)])
EMPLOYEES_MEDIAN = np.array([4, 8, 15, 25, 45, 90, 180, 300, 450, 900], dtype=np.float64)
REVENUE_MEDIAN = np.array([30, 60, 200, 600, 1500, 5000, 12000, 25000, 40000, 80000], dtype=np.float64)
NO_REVENUE_SHARE = np.array([0.85, 0.55, 0.25, 0.10, 0.03, 0, 0, 0, 0, 0])
ASK_MEDIAN = np.array([80, 250, 800, 1500, 3000, 8000, 15000, 30000, 50000, 40000], dtype=np.float64)
CITIES = ("湘潭", "长沙", "株洲")
CITY_MIX = np.array([0.78, 0.14, 0.08])


def sigmoid(x: FloatArray) -> FloatArray:
    return 1.0 / (1.0 + np.exp(-x))


def nice_round(x: FloatArray) -> FloatArray:
    """Round amounts to two significant figures, as people quote them (1,500 not 1,487.3)."""
    safe = np.maximum(x, 1e-9)
    step = 10.0 ** (np.floor(np.log10(safe)) - 1)
    return np.round(np.round(safe / step) * step, 1)


@dataclass(frozen=True, slots=True)
class StartupWorld:
    """Arrays of the hidden state; row ``k`` is startup ``ids[k]``."""

    ids: list[str]
    sector: IntArray
    stage_end: IntArray
    upgrades: DayArray  # (n, 2) dates of the last two stage upgrades; NaT when none
    founded: DayArray
    city: IntArray
    quality: FloatArray
    latent: FloatArray  # (n, LATENT_DIM)
    ask: FloatArray
    frame: pl.DataFrame  # the observed startups.csv

    def stage_on(self, idx: IntArray, on: DayArray) -> IntArray:
        """Stage ordinal of startups ``idx`` on dates ``on``: the end stage minus later upgrades."""
        return stage_on(self.stage_end[idx], self.upgrades[idx], on)

    def truth_frame(self) -> pl.DataFrame:
        return pl.DataFrame({
            "startup_id": self.ids,
            "sector": [SECTORS[i].code for i in self.sector.tolist()],
            "stage": [STAGE_ORDER[i].value for i in self.stage_end.tolist()],
            "city": [CITIES[i] for i in self.city.tolist()],
            "funding_ask_wan": self.ask,
            "quality": np.round(self.quality, 6),
            **{f"z{k}": np.round(self.latent[:, k], 6) for k in range(LATENT_DIM)},
            "upgrade_1_on": self.upgrades[:, 0],
            "upgrade_2_on": self.upgrades[:, 1],
        })


def stage_on(stage_end: IntArray, upgrades: DayArray, on: DayArray) -> IntArray:
    """Stage ordinals on dates ``on``: the current stage minus the upgrades dated after each date."""
    later = (upgrades > on[:, None]).sum(axis=1)
    return np.asarray(np.maximum(stage_end - later, 0), dtype=np.int64)


def ask_at(ask_end: FloatArray, stage_end: IntArray, stage: IntArray) -> FloatArray:
    """The amount sought at an earlier ``stage``: today's ask scaled by the stages' typical asks."""
    return np.asarray(nice_round(ask_end * ASK_MEDIAN[stage] / ASK_MEDIAN[stage_end]), dtype=np.float64)


def make_startups(rng: np.random.Generator, n: int) -> StartupWorld:
    k_sectors = len(SECTORS)
    sector = rng.choice(k_sectors, size=n, p=SECTOR_MIX / SECTOR_MIX.sum())
    n_sub = np.array([len(s.sub_sectors) for s in SECTORS])
    sub = (rng.random(n) * n_sub[sector]).astype(np.int64)
    stage = rng.choice(len(STAGE_ORDER), size=n, p=STAGE_MIX / STAGE_MIX.sum())
    quality = rng.normal(size=n) + 0.08 * stage
    # Startups of one sub-sector share part of their latent vector, so content carries some of it.
    sub_embedding = rng.normal(scale=1 / np.sqrt(LATENT_DIM), size=(k_sectors, int(n_sub.max()), LATENT_DIM))
    latent = 0.7 * sub_embedding[sector, sub] + 0.7 * rng.normal(scale=1 / np.sqrt(LATENT_DIM), size=(n, LATENT_DIM))

    lo, hi = AGE_YEARS[stage, 0], AGE_YEARS[stage, 1]
    age_days = ((lo + (hi - lo) * rng.random(n)) * 365.25).astype(np.int64)
    founded = END - age_days.astype("timedelta64[D]")
    # Up to two stage upgrades, dated between founding and the end of history; better firms move faster.
    n_up = np.minimum(rng.binomial(2, np.clip(0.3 + 0.1 * quality, 0.05, 0.7)), stage)
    span = (END - founded).astype(np.int64)
    offsets = np.sort(rng.random((n, 2)), axis=1) * span[:, None]
    upgrades = founded[:, None] + offsets.astype(np.int64).astype("timedelta64[D]")
    upgrades = np.where(np.arange(2)[None, :] >= 2 - n_up[:, None], upgrades, np.datetime64("NaT"))
    city = rng.choice(len(CITIES), size=n, p=CITY_MIX)

    stage_f = stage.astype(np.float64)
    employees = np.maximum(1, np.round(EMPLOYEES_MEDIAN[stage] * np.exp(0.5 * rng.normal(size=n) + 0.15 * quality)))
    rd_share = sigmoid(-1.2 + 0.6 * quality + 0.4 * rng.normal(size=n))
    rd_staff = np.round(employees * rd_share)
    has_revenue = rng.random(n) >= NO_REVENUE_SHARE[stage]
    revenue = np.where(has_revenue, REVENUE_MEDIAN[stage] * np.exp(0.7 * rng.normal(size=n) + 0.3 * quality), 0.0)
    rd_intensity = np.clip(0.05 * np.exp(0.45 * quality + 0.5 * rng.normal(size=n)), 0.005, 0.6)
    cost_per_head = 12 + 13 * rng.random(n)
    total_cost = np.where(has_revenue, revenue * (0.75 + 0.5 * rng.random(n)), employees * cost_per_head)
    rd_expense = np.where(has_revenue, revenue * rd_intensity, total_cost * np.clip(4 * rd_intensity, 0.1, 0.8))
    total_cost = np.maximum(total_cost, 1.2 * rd_expense)
    total_assets = np.maximum(revenue, total_cost) * np.exp(0.5 * rng.normal(size=n) + 0.3)
    ask = nice_round(ASK_MEDIAN[stage] * np.exp(0.5 * rng.normal(size=n)))

    high_tech = rng.random(n) < sigmoid(-2.2 + 1.0 * quality + 0.45 * stage_f)
    rd_center = rng.random(n) < sigmoid(-4.0 + 0.9 * quality + 0.35 * stage_f)
    award = rng.random(n) < sigmoid(-6.0 + 0.9 * quality + 0.3 * stage_f)
    standards = rng.poisson(np.exp(-3.2 + 0.7 * quality + 0.3 * stage_f))
    credit_flags = rng.poisson(0.08 * np.exp(-0.6 * quality))

    city_names = [CITIES[i] for i in city.tolist()]
    area_pick = rng.integers(0, 1_000, size=n).tolist()
    area = [text.CITY_AREA_CODES[c][j % len(text.CITY_AREA_CODES[c])]
            for c, j in zip(city_names, area_pick, strict=True)]
    uscc = text.uscc_codes(rng, area)
    brands, variant = text.unique_brands(rng, n, 3)
    codes = [SECTORS[i].code for i in sector.tolist()]
    industry = [text.INDUSTRY_WORDS[c][j % len(text.INDUSTRY_WORDS[c])]
                for c, j in zip(codes, rng.integers(0, 60, size=n).tolist(), strict=True)]
    form = np.where(stage >= 5, "股份有限公司", "有限公司")
    names = [
        f"{c}{b}{w}{f}" if v == 0 else f"湖南{b}{w}{f}" if v == 1 else f"{b}（{c}）{w}{f}"
        for c, b, w, f, v in zip(city_names, brands, industry, form.tolist(), variant.tolist(), strict=True)
    ]
    sub_labels = [SECTORS[s].sub_sectors[j] for s, j in zip(sector.tolist(), sub.tolist(), strict=True)]
    description = _descriptions(rng, codes, brands=brands, subs=sub_labels, founded=founded, high_tech=high_tech,
                                rd_center=rd_center)
    ids = [f"S{k:05d}" for k in range(1, n + 1)]

    frame = pl.DataFrame({
        "startup_id": ids,
        "name": names,
        "uscc": uscc,
        "sector": [sector_label(c) for c in codes],
        "sub_sector": sub_labels,
        "stage": [STAGE_ORDER[i].value for i in stage.tolist()],
        "founded_on": founded,
        "city": city_names,
        "region": ["湖南"] * n,
        "employees": employees.astype(np.int64),
        "rd_staff": rd_staff.astype(np.int64),
        "revenue_wan": np.round(revenue, 1),
        "rd_expense_wan": np.round(rd_expense, 1),
        "total_cost_wan": np.round(total_cost, 1),
        "total_assets_wan": np.round(total_assets, 1),
        "funding_ask_wan": ask,
        "high_tech_enterprise": high_tech,
        "provincial_rd_center": rd_center,
        "national_award_5y": award,
        "standards_led_5y": standards.astype(np.int64),
        "credit_flags": credit_flags.astype(np.int64),
        "description": description,
    })
    return StartupWorld(ids, sector.astype(np.int64), stage.astype(np.int64), upgrades, founded,
                        city.astype(np.int64), quality, latent, ask, frame)


def _descriptions(rng: np.random.Generator, codes: list[str], *, brands: list[str], subs: list[str],
                  founded: DayArray, high_tech: npt.NDArray[np.bool_], rd_center: npt.NDArray[np.bool_]) -> list[str]:
    n = len(codes)
    picks = rng.integers(0, 1_000_000, size=(n, 5)).tolist()
    years = founded.astype("datetime64[Y]").astype(np.int64) + 1970
    out = []
    for code, brand, sub, year, ht, rc, p in zip(codes, brands, subs, years.tolist(), high_tech.tolist(),
                                                 rd_center.tolist(), picks, strict=True):
        prods, techs, apps = text.PRODUCTS[code], text.TECHNIQUES[code], text.APPLICATIONS[code]
        p1, p2 = prods[p[0] % len(prods)], prods[(p[0] + 1 + p[1] % (len(prods) - 1)) % len(prods)]
        a1, a2 = apps[p[3] % len(apps)], apps[(p[3] + 1 + p[4] % (len(apps) - 1)) % len(apps)]
        tail = ("公司是国家高新技术企业。" if ht else "") + ("建有省级企业技术中心。" if rc else "")
        out.append(f"{brand}成立于{year}年，专注于{sub}领域，主要产品包括{p1}、{p2}，"
                   f"核心技术为{techs[p[2] % len(techs)]}，产品应用于{a1}和{a2}。{tail}")
    return out


# Per IP kind: grant lag in years (lo, hi), protection term in years counted from filing, chance of
# still being pending when filed in the last years, and the median appraisal (万元) when appraised.
_IP_KINDS: tuple[IPKind, ...] = (
    IPKind.INVENTION_PATENT, IPKind.UTILITY_MODEL, IPKind.DESIGN_PATENT, IPKind.SOFTWARE_COPYRIGHT,
    IPKind.TRADEMARK, IPKind.IC_LAYOUT, IPKind.NEW_DRUG,
)
_GRANT_LAG = np.array([(1.5, 3.0), (0.5, 1.2), (0.4, 1.0), (0.1, 0.4), (0.7, 1.2), (0.3, 0.6), (3.0, 6.0)])
_TERM_YEARS = np.array([20, 10, 15, 50, 10, 10, 20], dtype=np.float64)
_APPRAISE = np.array([(0.35, 150.0), (0.10, 40.0), (0.03, 20.0), (0.08, 50.0), (0.05, 60.0),
                      (0.30, 120.0), (0.50, 800.0)])
_SECTOR_IP_BIAS = {  # log-rate multipliers for kinds whose use differs by sector
    "invention_patent": {"new_materials": 0.4, "biomedicine": 0.4, "carbon_sensors": 0.5, "big_data": -0.4},
    "utility_model": {"electric_drive": 0.4, "robotics": 0.4, "new_energy": 0.3, "big_data": -1.2,
                      "biomedicine": -0.6},
    "design_patent": {"robotics": 0.5, "additive_medical": 0.4, "big_data": -1.5},
    "software_copyright": {"big_data": 1.5, "electronics_it": 1.1, "robotics": 0.4, "new_materials": -1.0},
}


def make_ip_assets(rng: np.random.Generator, s: StartupWorld) -> pl.DataFrame:
    n = len(s.ids)
    codes = [SECTORS[i].code for i in s.sector.tolist()]
    age = (END - s.founded).astype(np.float64) / 365.25
    base = 0.6 * s.quality + 0.5 * np.log1p(age) + 0.12 * s.stage_end
    intercepts = {"invention_patent": -1.0, "utility_model": -0.2, "design_patent": -2.0,
                  "software_copyright": -1.4, "trademark": -1.2}
    counts = []
    for kind in _IP_KINDS:
        bias = np.array([_SECTOR_IP_BIAS.get(kind.value, {}).get(c, 0.0) for c in codes])
        if kind is IPKind.IC_LAYOUT:
            rate = np.where(np.isin(s.sector, [text.sector_vocab_index("electronics_it"),
                                               text.sector_vocab_index("carbon_sensors")]),
                            np.exp(-1.5 + 0.5 * s.quality), 0.0)
        elif kind is IPKind.NEW_DRUG:
            rate = np.where(s.sector == text.sector_vocab_index("biomedicine"),
                            np.exp(-2.2 + 0.6 * s.quality + 0.25 * s.stage_end), 0.0)
        else:
            rate = np.exp(intercepts[kind.value] + base + bias)
        counts.append(np.minimum(rng.poisson(rate), 150))
    count_matrix = np.stack(counts, axis=1)  # (n, kinds)
    owner = np.repeat(np.arange(n), count_matrix.sum(axis=1))
    kind_idx = np.repeat(np.tile(np.arange(len(_IP_KINDS)), n), count_matrix.ravel())
    m = owner.size

    span = (END - s.founded[owner]).astype(np.float64)
    filed = s.founded[owner] + (rng.random(m) * span).astype(np.int64).astype("timedelta64[D]")
    lag_lo, lag_hi = _GRANT_LAG[kind_idx, 0], _GRANT_LAG[kind_idx, 1]
    lag_days = ((lag_lo + (lag_hi - lag_lo) * rng.random(m)) * 365.25).astype(np.int64)
    granted = filed + lag_days.astype("timedelta64[D]")
    pending = granted > END
    term_days = (_TERM_YEARS[kind_idx] * 365.25).astype(np.int64).astype("timedelta64[D]")
    is_trademark = kind_idx == _IP_KINDS.index(IPKind.TRADEMARK)
    # Trademarks run ten years from registration and are usually renewed.
    expires = np.where(is_trademark, granted, filed) + term_days
    renewed = is_trademark & (expires <= END) & (rng.random(m) < 0.8)
    expires = np.where(renewed, expires + term_days, expires)
    # Patents lapse early when annual fees stop being paid.
    lapse_days = ((1 + 5 * rng.random(m)) * 365.25).astype(np.int64).astype("timedelta64[D]")
    lapses = (kind_idx <= 2) & ~pending & (rng.random(m) < 0.06) & (granted + lapse_days < expires)
    expires = np.where(lapses, granted + lapse_days, expires)
    invalid = ~pending & (rng.random(m) < 0.02)
    status = np.where(pending, IPStatus.PENDING.value,
                      np.where(invalid, IPStatus.INVALID.value,
                               np.where(expires <= END, IPStatus.EXPIRED.value, IPStatus.GRANTED.value)))
    granted_out = np.where(pending, np.datetime64("NaT"), granted)
    expires_out = np.where(pending, np.datetime64("NaT"), expires)

    prob, median = _APPRAISE[kind_idx, 0], _APPRAISE[kind_idx, 1]
    appraised = (status == IPStatus.GRANTED.value) & (rng.random(m) < prob)
    value = nice_round(median * np.exp(0.3 * s.quality[owner] + 0.6 * rng.normal(size=m)))
    appraised_value = np.where(appraised, value, np.nan)

    titles = _ip_titles(rng, [codes[i] for i in owner.tolist()], kind_idx)
    frame = pl.DataFrame({
        "startup_id": [s.ids[i] for i in owner.tolist()],
        "kind": [_IP_KINDS[i].value for i in kind_idx.tolist()],
        "status": status,
        "granted_on": granted_out,
        "expires_on": expires_out,
        "title": titles,
        "appraised_value_wan": appraised_value,
    }, schema_overrides={"status": pl.Utf8, "granted_on": pl.Date, "expires_on": pl.Date})
    return frame.with_columns(pl.col("appraised_value_wan").fill_nan(None))


def _ip_titles(rng: np.random.Generator, codes: list[str], kind_idx: IntArray) -> list[str]:
    picks = rng.integers(0, 1_000_000, size=(len(codes), 4)).tolist()
    software = _IP_KINDS.index(IPKind.SOFTWARE_COPYRIGHT)
    trademark = _IP_KINDS.index(IPKind.TRADEMARK)
    out = []
    for code, k, p in zip(codes, kind_idx.tolist(), picks, strict=True):
        prods, techs, apps = text.PRODUCTS[code], text.TECHNIQUES[code], text.APPLICATIONS[code]
        fill = {"p": prods[p[0] % len(prods)], "t": techs[p[1] % len(techs)], "a": apps[p[2] % len(apps)],
                "v": str(1 + p[3] % 5), "b": text.BRAND_CHARS[p[0] % len(text.BRAND_CHARS)]
                + text.BRAND_CHARS[p[1] % len(text.BRAND_CHARS)]}
        if k == software:
            form = text.SOFTWARE_TITLE_FORMS[p[3] % len(text.SOFTWARE_TITLE_FORMS)]
        elif k == trademark:
            form = text.TRADEMARK_TITLE_FORM
        else:
            form = text.IP_TITLE_FORMS[p[3] % len(text.IP_TITLE_FORMS)]
        out.append(form.format(**fill))
    return out

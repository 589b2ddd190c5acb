"""The eligibility policy as data: loading, merging a bank's overrides, and validating bands.

Every number a decision uses (tech-SME bands, knowledge-value weights and grades, pledge rates, product
limits) comes from a TOML file, ``policies/default.toml`` unless a bank supplies its own. A bank file
is merged over the defaults table by table (a key it gives replaces the default, an array replaces
the whole array), so it only needs the figures it changes. Both files are checked against
``policy_schema`` first: an unknown key, a wrong type or an out-of-range number is refused naming the
key and its line, and a bank's file is held to the same schema as the default. The policy version is the file's
``meta.version`` plus a short hash of the merged content: editing a band without bumping the version
still yields a new version, so decision records stay honest.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import json
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from pathlib import Path
from typing import Any, Generic, TypeVar

from matcher.domain import IPKind, ProductKind, Stage
from matcher.eligibility import policy_schema
from matcher.errors import PolicyError

DEFAULT_POLICY_PATH = Path(__file__).parent / "policies" / "default.toml"
GRADES: tuple[str, ...] = ("A", "B", "C", "D", "E")
KV_INDICATORS: tuple[str, ...] = ("ip", "rd_investment", "talent", "commercialisation", "growth", "recognition")
DIRECT_ROUTE_COLUMNS: frozenset[str] = frozenset(
    {"high_tech_enterprise", "national_award_5y", "provincial_rd_center", "standards_led_5y"}
)

V = TypeVar("V")


@dataclass(frozen=True, slots=True)
class Band(Generic[V]):
    """``lower ≤ x < upper`` (``upper`` None = open) maps to ``value``."""

    lower: Decimal
    upper: Decimal | None
    value: V


@dataclass(frozen=True, slots=True)
class BandTable(Generic[V]):
    """Contiguous ascending bands starting at 0, lower bound inclusive."""

    name: str
    bands: tuple[Band[V], ...]

    def lookup(self, x: Decimal | Fraction) -> V:
        """The value of the band holding ``x`` (values below 0 fall in the first band)."""
        chosen = self.bands[0].value
        for band in self.bands:
            if x >= band.lower:
                chosen = band.value
        return chosen

    @property
    def lowers(self) -> tuple[Fraction, ...]:
        """Lower bounds as exact fractions, for integer cross-multiplication in the vectorised path."""
        return tuple(Fraction(b.lower) for b in self.bands)

    @property
    def values(self) -> tuple[V, ...]:
        return tuple(b.value for b in self.bands)


@dataclass(frozen=True, slots=True)
class TechSmeRules:
    min_total_score: int
    max_employees: int
    max_revenue_wan: Decimal
    max_total_assets_wan: Decimal
    max_credit_flags: int
    direct_routes: tuple[str, ...]
    tech_staff_bands: BandTable[int]
    rd_sales_bands: BandTable[int]
    rd_cost_bands: BandTable[int]
    class_i_min_count: int
    class_i_points: int
    class_ii_bands: BandTable[int]


@dataclass(frozen=True, slots=True)
class KVRules:
    weights: Mapping[str, float]
    class_i_weight: float
    class_ii_weight: float
    ip_bands: BandTable[int]
    revenue_bands: BandTable[int]
    stage_points: Mapping[str, float]
    recognition_points: Mapping[str, float]
    grade_bands: BandTable[str]
    grade_lines_wan: Mapping[str, float]


@dataclass(frozen=True, slots=True)
class PledgeRules:
    per_firm_cap_wan: float
    pledge_rates: Mapping[str, float]
    min_remaining_years: Mapping[str, float]
    statutory_years: Mapping[str, float]
    reference_years: float
    size_bands: BandTable[float]
    base_value_wan: Mapping[str, float]


@dataclass(frozen=True, slots=True)
class ProductRules:
    kind: ProductKind
    requires_tech_sme: bool
    requires_grade: bool
    max_amount_wan: float
    min_amount_wan: float
    term_months: int
    pd_threshold: float
    revenue_capacity_multiple: float


@dataclass(frozen=True, slots=True)
class FactorRules:
    low_rd_intensity_below: Decimal
    high_rd_intensity_from: Decimal
    low_tech_staff_below: Decimal
    high_tech_staff_from: Decimal
    low_revenue_below_wan: float
    high_revenue_from_wan: float
    early_stages: frozenset[str]
    low_pd_share: float
    elevated_pd_share: float
    pd_factor_weight: float


@dataclass(frozen=True, slots=True)
class Policy:
    version: str
    name: str
    sources: tuple[str, ...]
    tech_sme: TechSmeRules
    kv: KVRules
    pledge: PledgeRules
    products: Mapping[ProductKind, ProductRules]
    factors: FactorRules

    def product(self, kind: ProductKind | str) -> ProductRules:
        return self.products[ProductKind(kind)]


# --- reading -------------------------------------------------------------------------------------


def _read_toml(path: Path) -> dict[str, Any]:
    """The parsed file, checked against the schema so errors name the key and its line in this file."""
    try:
        text = path.read_text(encoding="utf-8-sig")
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"{path}: not valid TOML: {exc}") from None
    except UnicodeDecodeError:
        raise PolicyError(f"{path}: not UTF-8 text") from None
    except OSError as exc:
        raise PolicyError(f"{path}: cannot read policy file: {exc.strerror}") from None
    policy_schema.check(raw, text=text, source=str(path))
    return raw


def _merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def load_policy(path: Path | str | None = None) -> Policy:
    """The default policy, or a bank's file merged over it. Raises ``PolicyError`` on any defect."""
    raw = _read_toml(DEFAULT_POLICY_PATH)
    if path is not None:
        raw = _merge(raw, _read_toml(Path(path)))
    return policy_from_dict(raw)


@functools.lru_cache(maxsize=1)
def default_policy() -> Policy:
    """The shipped policy, read once per process."""
    return load_policy(None)


def _get(raw: Mapping[str, Any], dotted: str) -> Any:
    node: Any = raw
    for part in dotted.split("."):
        if not isinstance(node, Mapping) or part not in node:
            raise PolicyError(f"policy is missing {dotted!r}")
        node = node[part]
    return node


def _number(raw: Mapping[str, Any], dotted: str) -> float:
    value = _get(raw, dotted)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PolicyError(f"{dotted} must be a number, got {value!r}")
    if value < 0:
        raise PolicyError(f"{dotted} must not be negative, got {value!r}")
    return float(value)


def _decimal(value: Any, where: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise PolicyError(f"{where} must be a number or a numeric string, got {value!r}")
    try:
        # str() of a float is its shortest repr, so 0.1 written unquoted still means exactly 0.1.
        out = Decimal(str(value))
    except InvalidOperation:
        raise PolicyError(f"{where} is not a number: {value!r}") from None
    if not out.is_finite():
        raise PolicyError(f"{where} must be finite, got {value!r}")
    return out


def _number_map(raw: Mapping[str, Any], dotted: str, keys: Sequence[str] | None = None) -> dict[str, float]:
    table = _get(raw, dotted)
    if not isinstance(table, Mapping):
        raise PolicyError(f"{dotted} must be a table")
    unknown = set(table) - set(keys) if keys is not None else set()
    if unknown:
        raise PolicyError(f"{dotted} has unknown keys {sorted(unknown)}; allowed: {sorted(keys or ())}")
    return {k: _number(table, k) for k in table}


def parse_bands(items: Any, name: str, value_key: str, value_type: type[V]) -> BandTable[V]:
    """Validate a band list: starts at 0, ascending, contiguous (no gap, no overlap), last one open."""
    if not isinstance(items, list) or not items:
        raise PolicyError(f"{name} must be a non-empty list of bands")
    bands: list[Band[V]] = []
    for i, item in enumerate(items, start=1):
        where = f"{name} band {i}"
        if not isinstance(item, Mapping):
            raise PolicyError(f"{where} must be a table like {{ from = \"0\", to = \"0.1\", {value_key} = … }}")
        if "from" not in item or value_key not in item:
            raise PolicyError(f"{where} needs 'from' and '{value_key}'")
        lower = _decimal(item["from"], f"{where} 'from'")
        upper = _decimal(item["to"], f"{where} 'to'") if "to" in item else None
        value = item[value_key]
        if value_type is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, value_type) or isinstance(value, bool):
            raise PolicyError(f"{where} '{value_key}' must be {value_type.__name__}, got {value!r}")
        if upper is not None and upper <= lower:
            raise PolicyError(f"{where}: 'to' {upper} must be above 'from' {lower}")
        bands.append(Band(lower, upper, value))
    if bands[0].lower != 0:
        raise PolicyError(f"{name} band 1 must start at 0, not {bands[0].lower} (values below would have no band)")
    # Order first: a misordered list would otherwise be reported as a confusing gap or overlap.
    for i, (prev, cur) in enumerate(itertools.pairwise(bands), start=2):
        if cur.lower < prev.lower:
            raise PolicyError(
                f"{name} band {i} (from {cur.lower}) is listed after band {i - 1} (from {prev.lower}): "
                "bands must be in ascending order"
            )
    for i, (prev, cur) in enumerate(itertools.pairwise(bands), start=2):
        if prev.upper is None:
            raise PolicyError(f"{name} band {i - 1} has no 'to' but is not the last band")
        if cur.lower > prev.upper:
            raise PolicyError(f"{name} has a gap between {prev.upper} and {cur.lower} (bands {i - 1} and {i})")
        if cur.lower < prev.upper:
            raise PolicyError(f"{name} bands {i - 1} and {i} overlap: {cur.lower} is below {prev.upper}")
    if bands[-1].upper is not None:
        raise PolicyError(f"{name}: the last band must be open (no 'to'); values above {bands[-1].upper} have no band")
    return BandTable(name, tuple(bands))


def _rising(table: BandTable[int], name: str) -> BandTable[int]:
    """The method promises more of a good thing never scores less: reject falling points."""
    for prev, cur in itertools.pairwise(table.bands):
        if cur.value < prev.value:
            raise PolicyError(f"{name}: points fall from {prev.value} to {cur.value} at {cur.lower}; they must not")
    return table


def _int_bands(raw: Mapping[str, Any], dotted: str) -> BandTable[int]:
    return _rising(parse_bands(_get(raw, dotted), dotted, "points", int), dotted)


def _tech_sme(raw: Mapping[str, Any]) -> TechSmeRules:
    routes = _get(raw, "tech_sme.direct_routes")
    if not isinstance(routes, list) or any(r not in DIRECT_ROUTE_COLUMNS for r in routes):
        raise PolicyError(f"tech_sme.direct_routes must be a list drawn from {sorted(DIRECT_ROUTE_COLUMNS)}")
    return TechSmeRules(
        min_total_score=int(_number(raw, "tech_sme.min_total_score")),
        max_employees=int(_number(raw, "tech_sme.max_employees")),
        max_revenue_wan=_decimal(_get(raw, "tech_sme.max_revenue_wan"), "tech_sme.max_revenue_wan"),
        max_total_assets_wan=_decimal(_get(raw, "tech_sme.max_total_assets_wan"), "tech_sme.max_total_assets_wan"),
        max_credit_flags=int(_number(raw, "tech_sme.max_credit_flags")),
        direct_routes=tuple(routes),
        tech_staff_bands=_int_bands(raw, "tech_sme.tech_staff_bands"),
        rd_sales_bands=_int_bands(raw, "tech_sme.rd_sales_bands"),
        rd_cost_bands=_int_bands(raw, "tech_sme.rd_cost_bands"),
        class_i_min_count=int(_number(raw, "tech_sme.class_i_min_count")),
        class_i_points=int(_number(raw, "tech_sme.class_i_points")),
        class_ii_bands=_int_bands(raw, "tech_sme.class_ii_bands"),
    )


def _kv(raw: Mapping[str, Any]) -> KVRules:
    weights = _number_map(raw, "kv_index.weights", KV_INDICATORS)
    missing = set(KV_INDICATORS) - set(weights)
    if missing:
        raise PolicyError(f"kv_index.weights is missing {sorted(missing)}")
    if abs(sum(weights.values()) - 1.0) > 1e-9:
        raise PolicyError(f"kv_index.weights must sum to 1, they sum to {sum(weights.values()):g}")
    grades = parse_bands(_get(raw, "kv_index.grades.bands"), "kv_index.grades.bands", "grade", str)
    seen = [g.value for g in grades.bands if g.value]
    if any(g not in GRADES for g in seen) or seen != sorted(seen, reverse=True) or len(set(seen)) != len(seen):
        raise PolicyError("kv_index.grades.bands: grades must be distinct letters A–E rising with the index")
    lines = _number_map(raw, "kv_index.grade_lines_wan", GRADES)
    if set(seen) - set(lines):
        raise PolicyError(f"kv_index.grade_lines_wan lacks a line for {sorted(set(seen) - set(lines))}")
    ordered = [lines[g] for g in GRADES if g in lines]
    if ordered != sorted(ordered, reverse=True):
        raise PolicyError("kv_index.grade_lines_wan: a better grade must not get a smaller line")
    return KVRules(
        weights=weights,
        class_i_weight=_number(raw, "kv_index.class_i_weight"),
        class_ii_weight=_number(raw, "kv_index.class_ii_weight"),
        ip_bands=_int_bands(raw, "kv_index.ip_bands"),
        revenue_bands=_int_bands(raw, "kv_index.revenue_bands"),
        stage_points=_number_map(raw, "kv_index.stage_points", [s.value for s in Stage]),
        recognition_points=_number_map(raw, "kv_index.recognition_points", sorted(DIRECT_ROUTE_COLUMNS)),
        grade_bands=grades,
        grade_lines_wan=lines,
    )


def _pledge(raw: Mapping[str, Any]) -> PledgeRules:
    kinds = [k.value for k in IPKind]
    rates = _number_map(raw, "ip_pledge.pledge_rates", kinds)
    if any(r > 1 for r in rates.values()):
        raise PolicyError("ip_pledge.pledge_rates must be fractions of value between 0 and 1")
    statutory = _number_map(raw, "ip_pledge.statutory_years", kinds)
    base = _number_map(raw, "ip_pledge.estimate.base_value_wan", kinds)
    for kind in rates:
        if kind not in statutory or kind not in base:
            raise PolicyError(
                f"ip_pledge: pledgeable kind {kind!r} needs statutory_years and estimate.base_value_wan"
            )
    return PledgeRules(
        per_firm_cap_wan=_number(raw, "ip_pledge.per_firm_cap_wan"),
        pledge_rates=rates,
        min_remaining_years=_number_map(raw, "ip_pledge.min_remaining_years", kinds),
        statutory_years=statutory,
        reference_years=_number(raw, "ip_pledge.estimate.reference_years") or 1.0,
        size_bands=parse_bands(
            _get(raw, "ip_pledge.estimate.size_bands"), "ip_pledge.estimate.size_bands", "factor", float
        ),
        base_value_wan=base,
    )


def _products(raw: Mapping[str, Any]) -> dict[ProductKind, ProductRules]:
    out: dict[ProductKind, ProductRules] = {}
    for kind in ProductKind:
        p = f"products.{kind.value}"
        flags = {}
        for key in ("requires_tech_sme", "requires_grade"):
            value = _get(raw, f"{p}.{key}")
            if not isinstance(value, bool):
                raise PolicyError(f"{p}.{key} must be true or false")
            flags[key] = value
        threshold = _number(raw, f"{p}.pd_threshold")
        if threshold > 1:
            raise PolicyError(f"{p}.pd_threshold is a probability, got {threshold}")
        out[kind] = ProductRules(
            kind=kind,
            requires_tech_sme=flags["requires_tech_sme"],
            requires_grade=flags["requires_grade"],
            max_amount_wan=_number(raw, f"{p}.max_amount_wan"),
            min_amount_wan=_number(raw, f"{p}.min_amount_wan"),
            term_months=int(_number(raw, f"{p}.term_months")),
            pd_threshold=threshold,
            revenue_capacity_multiple=_number(raw, f"{p}.revenue_capacity_multiple"),
        )
    return out


def _factors(raw: Mapping[str, Any]) -> FactorRules:
    return FactorRules(
        low_rd_intensity_below=_decimal(_get(raw, "factors.low_rd_intensity_below"), "factors.low_rd_intensity_below"),
        high_rd_intensity_from=_decimal(_get(raw, "factors.high_rd_intensity_from"), "factors.high_rd_intensity_from"),
        low_tech_staff_below=_decimal(_get(raw, "factors.low_tech_staff_below"), "factors.low_tech_staff_below"),
        high_tech_staff_from=_decimal(_get(raw, "factors.high_tech_staff_from"), "factors.high_tech_staff_from"),
        low_revenue_below_wan=_number(raw, "factors.low_revenue_below_wan"),
        high_revenue_from_wan=_number(raw, "factors.high_revenue_from_wan"),
        early_stages=frozenset(_stages(raw, "factors.early_stages")),
        low_pd_share=_number(raw, "factors.low_pd_share"),
        elevated_pd_share=_number(raw, "factors.elevated_pd_share"),
        pd_factor_weight=_number(raw, "factors.pd_factor_weight"),
    )


def _stages(raw: Mapping[str, Any], dotted: str) -> list[str]:
    value = _get(raw, dotted)
    known = {s.value for s in Stage}
    if not isinstance(value, list) or any(v not in known for v in value):
        raise PolicyError(f"{dotted} must be a list of stages drawn from {sorted(known)}")
    return [str(v) for v in value]


def policy_from_dict(raw: Mapping[str, Any]) -> Policy:
    """Build and validate a ``Policy`` from the parsed TOML tree (checked against the schema first)."""
    policy_schema.check(raw)
    version = _get(raw, "meta.version")
    if not isinstance(version, str) or not version:
        raise PolicyError("meta.version must be a non-empty string")
    digest = hashlib.sha256(json.dumps(raw, sort_keys=True, default=str).encode()).hexdigest()[:10]
    sources = raw.get("meta", {}).get("sources", [])
    return Policy(
        version=f"{version}+{digest}",
        name=str(raw.get("meta", {}).get("name", version)),
        sources=tuple(str(s) for s in sources),
        tech_sme=_tech_sme(raw),
        kv=_kv(raw),
        pledge=_pledge(raw),
        products=_products(raw),
        factors=_factors(raw),
    )

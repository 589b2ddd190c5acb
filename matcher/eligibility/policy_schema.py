"""The policy file's schema: every key a policy may hold, its type and its range.

A bank's override file and the shipped default are both checked against it before they are merged,
so a misspelt key (``pd_thresold``) is refused instead of silently leaving the default in force, and
a wrong type or an out-of-range number names the key and the line it is on.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from matcher.domain import IPKind, Stage
from matcher.errors import PolicyError


@dataclass(frozen=True, slots=True)
class Num:
    """A number (or, with ``decimal``, a numeric string read as an exact decimal) within a range."""

    low: float = 0.0
    high: float | None = None
    integer: bool = False
    decimal: bool = False


@dataclass(frozen=True, slots=True)
class Bands:
    """A list of inline tables ``{ from, to, <value_key> }``."""

    value_key: str
    value: Num | type


@dataclass(frozen=True, slots=True)
class ListOf:
    values: tuple[str, ...] | None = None  # allowed strings; None = any string


Spec = Mapping[str, Any] | Num | Bands | ListOf | type

MONEY = Num()
SHARE = Num(0.0, 1.0)
POINTS = Num(0.0, 100.0)
YEARS = Num(0.0, 100.0)
RATIO = Num(0.0, None, decimal=True)
_IP = tuple(k.value for k in IPKind)
_STAGES = tuple(s.value for s in Stage)
_ROUTES = ("high_tech_enterprise", "national_award_5y", "provincial_rd_center", "standards_led_5y")
_GRADES = ("A", "B", "C", "D", "E")
_INDICATORS = ("ip", "rd_investment", "talent", "commercialisation", "growth", "recognition")
_POINT_BANDS = Bands("points", Num(0.0, 100.0, integer=True))


def _each(keys: Sequence[str], spec: Spec) -> dict[str, Spec]:
    return dict.fromkeys(keys, spec)


_PRODUCT: dict[str, Spec] = {
    "requires_tech_sme": bool, "requires_grade": bool, "max_amount_wan": MONEY, "min_amount_wan": MONEY,
    "term_months": Num(1, 600, integer=True), "pd_threshold": SHARE, "revenue_capacity_multiple": Num(0.0, 100.0),
}
SCHEMA: dict[str, Spec] = {
    "meta": {"version": str, "name": str, "sources": ListOf()},
    "tech_sme": {
        "min_total_score": Num(0, 100, integer=True), "max_employees": Num(0, 10_000_000, integer=True),
        "max_revenue_wan": Num(decimal=True), "max_total_assets_wan": Num(decimal=True),
        "max_credit_flags": Num(0, 10_000, integer=True), "direct_routes": ListOf(_ROUTES),
        "tech_staff_bands": _POINT_BANDS, "rd_sales_bands": _POINT_BANDS, "rd_cost_bands": _POINT_BANDS,
        "class_i_min_count": Num(0, 1000, integer=True), "class_i_points": Num(0, 100, integer=True),
        "class_ii_bands": _POINT_BANDS,
    },
    "kv_index": {
        "weights": _each(_INDICATORS, SHARE), "class_i_weight": Num(0.0, 1000.0),
        "class_ii_weight": Num(0.0, 1000.0), "ip_bands": _POINT_BANDS, "revenue_bands": _POINT_BANDS,
        "stage_points": _each(_STAGES, POINTS), "recognition_points": _each(_ROUTES, POINTS),
        "grades": {"bands": Bands("grade", str)}, "grade_lines_wan": _each(_GRADES, MONEY),
    },
    "ip_pledge": {
        "per_firm_cap_wan": MONEY, "pledge_rates": _each(_IP, SHARE), "min_remaining_years": _each(_IP, YEARS),
        "statutory_years": _each(_IP, YEARS),
        "estimate": {"reference_years": YEARS, "size_bands": Bands("factor", Num(0.0, 100.0)),
                     "base_value_wan": _each(_IP, MONEY)},
    },
    "products": {k: _PRODUCT for k in ("knowledge_value_credit", "ip_pledge", "other")},
    "factors": {
        "low_rd_intensity_below": RATIO, "high_rd_intensity_from": RATIO, "low_tech_staff_below": RATIO,
        "high_tech_staff_from": RATIO, "low_revenue_below_wan": MONEY, "high_revenue_from_wan": MONEY,
        "early_stages": ListOf(_STAGES), "low_pd_share": SHARE, "elevated_pd_share": SHARE,
        "pd_factor_weight": POINTS,
    },
}

_HEADER = re.compile(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_KEY = re.compile(r"^\s*([A-Za-z0-9_\-\"'.]+)\s*=")


def _parts(dotted: str) -> list[str]:
    return [p.strip().strip("\"'") for p in dotted.split(".")]


def line_of(text: str, path: str) -> int | None:
    """The line holding ``path`` (``a.b.c`` or ``a.b[3].c``) in TOML ``text``, as well as a plain scan
    can tell; for a band it is the line of that band's inline table."""
    match = re.match(r"^(.*?)\[(\d+)\](?:\..*)?$", path)
    target = _parts(match.group(1) if match else path)
    table: list[str] = []
    lines = text.splitlines()
    first_inside: int | None = None  # a table or key under the target (the target itself has no line)
    for number, line in enumerate(lines, start=1):
        header = _HEADER.match(line)
        if header:
            table = _parts(header.group(1))
            if table == target:
                return number
            if first_inside is None and table[: len(target)] == target:
                first_inside = number
            continue
        key = _KEY.match(line)
        full = table + _parts(key.group(1)) if key else []
        if key and first_inside is None and len(full) > len(target) and full[: len(target)] == target:
            first_inside = number
        if key and full == target:
            if not match:
                return number
            # The index-th inline table from this key on (1-based, as the messages count bands).
            wanted, seen = int(match.group(2)), 0
            for offset, later in enumerate(lines[number - 1:]):
                seen += later.count("{")
                if seen >= wanted:
                    return number + offset
            return number
    return first_inside


def _where(path: str, text: str | None, source: str) -> str:
    line = line_of(text, path) if text is not None else None
    return f"{source}, line {line}: {path}" if line else f"{source}: {path}"


def _number_problem(value: Any, spec: Num) -> str | None:
    if isinstance(value, bool):
        return f"must be a number, got {value!r}"
    if spec.decimal and isinstance(value, str):
        try:
            number = float(Decimal(value))
        except InvalidOperation:
            return f"is not a number: {value!r}"
    elif isinstance(value, int | float):
        number = float(value)
    else:
        return f"must be a number, got {value!r}"
    if spec.integer and number != int(number):
        return f"must be a whole number, got {value!r}"
    if number < spec.low or (spec.high is not None and number > spec.high):
        upper = "" if spec.high is None else f" and at most {spec.high:g}"
        return f"must be at least {spec.low:g}{upper}, got {value!r}"
    return None


def _leaf_problem(value: Any, spec: Spec) -> str | None:
    if isinstance(spec, Num):
        return _number_problem(value, spec)
    if isinstance(spec, ListOf):
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            return f"must be a list of strings, got {value!r}"
        bad = [v for v in value if spec.values is not None and v not in spec.values]
        return f"has unknown values {bad}; allowed: {list(spec.values or ())}" if bad else None
    if isinstance(spec, type):
        ok = isinstance(value, spec) and (spec is not int or not isinstance(value, bool))
        return None if ok else f"must be {'true or false' if spec is bool else spec.__name__}, got {value!r}"
    return None


def check(raw: Mapping[str, Any], *, text: str | None = None, source: str = "policy") -> None:
    """Refuse unknown keys, wrong types and out-of-range numbers, naming the key and its line."""
    _check_table(raw, SCHEMA, "", text, source)


def _check_table(raw: Mapping[str, Any], schema: Mapping[str, Spec], prefix: str, text: str | None,
                 source: str) -> None:
    for key, value in raw.items():
        path = f"{prefix}{key}"
        if key not in schema:
            allowed = ", ".join(sorted(schema))
            raise PolicyError(f"{_where(path, text, source)} is an unknown key (allowed here: {allowed})")
        spec = schema[key]
        if isinstance(spec, Mapping):
            if not isinstance(value, Mapping):
                raise PolicyError(f"{_where(path, text, source)} must be a table")
            _check_table(value, spec, f"{path}.", text, source)
        elif isinstance(spec, Bands):
            _check_bands(value, spec, path, text, source)
        else:
            problem = _leaf_problem(value, spec)
            if problem:
                raise PolicyError(f"{_where(path, text, source)} {problem}")


def _check_bands(value: Any, spec: Bands, path: str, text: str | None, source: str) -> None:
    if not isinstance(value, list):
        raise PolicyError(f"{_where(path, text, source)} must be a list of bands")
    allowed = {"from", "to", spec.value_key}
    for i, band in enumerate(value, start=1):
        where = f"{path}[{i}]"
        if not isinstance(band, Mapping):
            raise PolicyError(f"{_where(where, text, source)} must be a table like {{ from = \"0\", ... }}")
        for key, item in band.items():
            if key not in allowed:
                raise PolicyError(f"{_where(where, text, source)}.{key} is an unknown band key "
                                  f"(allowed: {', '.join(sorted(allowed))})")
            problem = _leaf_problem(item, RATIO if key in ("from", "to") else spec.value)
            if problem:
                raise PolicyError(f"{_where(where, text, source)}.{key} {problem}")

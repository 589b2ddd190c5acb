"""The domain's plausibility rules: one set, checked by ``matcher.io`` (``validate``, ``import``) and by
the API's create and update services.

A value can parse and still be impossible: 99,999 R&D staff out of 22 employees, negative revenue,
``credit_flags = -2`` (which would then pass "no adverse records"), a firm founded next year, a patent
that expires before it was granted. Each rule is a polars expression over a table's canonical frame,
so a file of 100,000 rows and one JSON body run the same check; a violation names the row and the
column, which ``matcher.io`` turns into file/row/column and the API into the JSON field.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import polars as pl

from matcher.errors import InvalidInputError

MAX_REPORTED = 200


@dataclass(frozen=True, slots=True)
class Rule:
    column: str
    message: str
    broken: pl.Expr  # true on an implausible row (null counts as fine: the value is absent)


@dataclass(frozen=True, slots=True)
class Violation:
    row: int  # 0-based row of the frame
    column: str
    message: str


def _not_negative(column: str, what: str) -> Rule:
    return Rule(column, f"{what} must not be negative", pl.col(column) < 0)


def _not_future(column: str, what: str, today: date) -> Rule:
    return Rule(column, f"{what} must not be in the future (after {today.isoformat()})", pl.col(column) > today)


_MONEY: Mapping[str, tuple[str, ...]] = {
    "startups": ("revenue_wan", "rd_expense_wan", "total_cost_wan", "total_assets_wan", "funding_ask_wan"),
    "ip_assets": ("appraised_value_wan",),
    "investors": ("ticket_min_wan", "ticket_max_wan"),
    "interactions": ("amount_wan",),
    "loan_products": ("max_amount_wan",),
    "loans": ("amount_wan",),
}


def rules(table: str, today: date) -> list[Rule]:
    """The plausibility rules of one interchange table (the contract's column names)."""
    out = [_not_negative(c, c) for c in _MONEY.get(table, ())]
    if table == "startups":
        out += [
            _not_negative("employees", "employees (a head count)"),
            _not_negative("rd_staff", "rd_staff (a head count)"),
            Rule("rd_staff", "rd_staff (科技人员) must not exceed employees",
                 pl.col("rd_staff") > pl.col("employees")),
            _not_negative("credit_flags", "credit_flags (a count of adverse records)"),
            _not_negative("standards_led_5y", "standards_led_5y (a count)"),
            _not_future("founded_on", "founded_on", today),
        ]
    elif table == "ip_assets":
        out += [
            _not_future("granted_on", "granted_on", today),
            Rule("expires_on", "expires_on must be after granted_on", pl.col("expires_on") <= pl.col("granted_on")),
        ]
    elif table == "investors":
        out.append(Rule("ticket_min_wan", "ticket_min_wan must not exceed ticket_max_wan",
                        pl.col("ticket_min_wan") > pl.col("ticket_max_wan")))
    elif table == "loans":
        out += [
            Rule("term_months", "term_months must be positive", pl.col("term_months") <= 0),
            _not_future("issued_on", "issued_on", today),
        ]
    elif table == "loan_products":
        out.append(Rule("max_term_months", "max_term_months must be positive", pl.col("max_term_months") <= 0))
    elif table == "consents":
        out += [
            _not_future("granted_on", "granted_on", today),
            Rule("revoked_on", "revoked_on must not be before granted_on",
                 pl.col("revoked_on") < pl.col("granted_on")),
        ]
    return out


def check_frame(table: str, frame: pl.DataFrame, *, today: date | None = None) -> list[Violation]:
    """Every implausible value of ``frame`` (at most ``MAX_REPORTED`` per rule), in rule order."""
    day = today or date.today()
    present = set(frame.columns)
    out: list[Violation] = []
    for rule in rules(table, day):
        if rule.column not in present or not set(rule.broken.meta.root_names()) <= present:
            continue
        rows = frame.select(rule.broken.fill_null(False).arg_true().head(MAX_REPORTED)).to_series().to_list()
        out += [Violation(int(r), rule.column, rule.message) for r in rows]
    return out


def check_record(
    table: str,
    values: Mapping[str, Any],
    schema: Mapping[str, pl.DataType],
    *,
    field_prefix: str = "",
    today: date | None = None,
) -> None:
    """Raise ``InvalidInputError`` naming the JSON field of the first implausible value of one record."""
    check_records(table, [values], schema, field_prefix=field_prefix, indexed=False, today=today)


def check_records(
    table: str,
    records: Sequence[Mapping[str, Any]],
    schema: Mapping[str, pl.DataType],
    *,
    field_prefix: str = "",
    indexed: bool = True,
    today: date | None = None,
) -> None:
    """Raise ``InvalidInputError`` naming ``prefix[i].column`` (or ``prefix.column``) of the first
    implausible value among ``records``; ``schema`` gives the canonical dtypes of their fields."""
    if not records:
        return
    columns = {c: dtype for c, dtype in schema.items() if any(c in r for r in records)}
    frame = pl.DataFrame([{c: r.get(c) for c in columns} for r in records], schema=columns, orient="row")
    found = check_frame(table, frame, today=today)
    if found:
        v = found[0]
        where = f"{field_prefix}[{v.row}]." if indexed else (f"{field_prefix}." if field_prefix else "")
        raise InvalidInputError(f"{v.message}", field=f"{where}{v.column}")

"""Blank workbooks of the contract's tables, for an office that fills its lists in Excel: the first sheet
holds the header row the reader expects (DATA_FORMAT.md's column names, in its order), the second
describes every column (required or not, what it holds, the values an enumerated column takes and the
other spellings read as them, the Chinese headers read as it), from the same specification ``matcher.io``
reads the files with."""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any

from openpyxl import Workbook

from matcher.domain import INVESTOR_KIND_ALIASES, STAGE_ALIASES, InvestorKind, Stage
from matcher.errors import InvalidInputError
from matcher.io import HEADER_LABELS, TABLES, Column
from matcher.spreadsheet import write_sheet

# What a cell of each kind holds, in Chinese and English (the readers' rules, matcher.io).
KIND_NOTES: dict[str, tuple[str, str]] = {
    "str": ("文本", "text"),
    "uscc": ("统一社会信用代码（18 位）", "unified social credit code (18 characters)"),
    "enum": ("下列取值之一", "one of the values listed"),
    "date": ("日期：2024-03-05、2024/3/5 或 2024年3月5日", "date: 2024-03-05, 2024/3/5 or 2024年3月5日"),
    "int": ("整数", "whole number"),
    "amount": ("金额（万元）；也可写 5000万、1.2亿元、3,000,000元",
               "amount in 万元; 5000万, 1.2亿元, 3,000,000元 also read"),
    "bool": ("是 / 否（或 true / false、1 / 0）", "yes / no (or 是 / 否, true / false, 1 / 0)"),
    "list": ("多个值以分号 ; 分隔", "several values separated by ;"),
    "enum_list": ("下列取值，多个以分号 ; 分隔", "values listed, several separated by ;"),
}


# Other spellings the reader takes for an enumerated column's values, keyed by the values it takes.
_SPELLINGS: dict[tuple[str, ...], Mapping[Any, tuple[str, ...]]] = {
    tuple(s.value for s in Stage): STAGE_ALIASES,
    tuple(k.value for k in InvestorKind): INVESTOR_KIND_ALIASES,
}


def _values(column: Column) -> str:
    spellings = {str(getattr(v, "value", v)): names for v, names in _SPELLINGS.get(column.values, {}).items()}
    return "; ".join(value + (f"（{'、'.join(spellings[value][:3])}）" if spellings.get(value) else "")
                     for value in column.values)


def template_workbook(table: str) -> bytes:
    """An .xlsx for ``table``: its header row on the first sheet, what each column takes on the second."""
    spec = TABLES.get(table)
    if spec is None:
        raise InvalidInputError(f"{table!r} is no table of DATA_FORMAT.md ({', '.join(TABLES)})", field="table")
    book = Workbook()
    sheet = book.active
    assert sheet is not None  # a new workbook has one sheet
    sheet.title = table
    write_sheet(sheet, [c.name for c in spec.columns], [])
    notes = book.create_sheet("说明 notes")
    labels = HEADER_LABELS.get(table, {})
    write_sheet(notes, ["列 column", "必填 required", "内容 holds", "取值（也可写作） values (also read)",
                        "也可用的列名 other headers read as it"],
                [[c.name, "是 yes" if c.required else "", " / ".join(KIND_NOTES[c.kind]), _values(c),
                  "、".join(label + ("（万元）" if c.kind == "amount" else "") for label in labels.get(c.name, ()))]
                 for c in spec.columns], wrap=True)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()

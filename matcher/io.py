"""The interchange formats of ``shared/contracts/DATA_FORMAT.md``: read, validate and write a data directory.

Every file is read as text first and parsed column by column with polars expressions, so that each
problem can be reported with its file, row (the spreadsheet row: the header is row 1) and column, and
so that CSV and Parquet go through exactly the same checks.
"""

from __future__ import annotations

import functools
import io
import re
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import date, datetime, time
from enum import Enum
from pathlib import Path
from typing import Literal, TypeVar

import polars as pl
from stdnum.cn import uscc as uscc_validator

from matcher.domain import (
    INVESTOR_KIND_ALIASES,
    STAGE_ALIASES,
    InvestorKind,
    IPKind,
    IPStatus,
    Outcome,
    ProductKind,
    Stage,
)
from matcher.errors import DataIssue, DataValidationError, InvalidInputError

Kind = Literal["str", "date", "int", "amount", "bool", "list", "enum", "enum_list", "uscc"]

E = TypeVar("E", bound=Enum)
_TRUE = ("true", "1", "yes", "y", "t", "是")
_FALSE = ("false", "0", "no", "n", "f", "否")
MAX_ISSUES_PER_CHECK = 200


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    kind: Kind
    required: bool = False
    values: tuple[str, ...] = ()
    aliases: tuple[tuple[str, str], ...] = ()  # (another spelling, the contract's value)

    @property
    def dtype(self) -> pl.DataType:
        return _DTYPES[self.kind]


_DTYPES: dict[str, pl.DataType] = {
    "str": pl.Utf8(), "uscc": pl.Utf8(), "enum": pl.Utf8(), "date": pl.Date(), "int": pl.Int64(),
    "amount": pl.Float64(), "bool": pl.Boolean(), "list": pl.List(pl.Utf8), "enum_list": pl.List(pl.Utf8),
}


def _alias_key(text: pl.Expr) -> pl.Expr:
    """What two spellings of one value share: case, spaces, punctuation and 轮/round/series/融资 dropped."""
    return text.str.to_lowercase().str.replace_all(r"[\s\-_+/.·]|轮|round|series|融资", "")


def _aliases(enum: type[E], spellings: Mapping[E, tuple[str, ...]]) -> tuple[tuple[str, str], ...]:
    pairs = [(str(m.value), str(m.value)) for m in enum] + [
        (spelling, str(m.value)) for m, names in spellings.items() for spelling in names]
    keys = pl.select(_alias_key(pl.lit(pl.Series([a for a, _ in pairs])))).to_series().to_list()
    return tuple(dict(zip(keys, (v for _, v in pairs), strict=True)).items())


_STAGE_ALIASES = _aliases(Stage, STAGE_ALIASES)


def _enum(name: str, enum: type[Enum], *, required: bool = False,
          aliases: tuple[tuple[str, str], ...] = ()) -> Column:
    return Column(name, "enum", required, tuple(str(m.value) for m in enum), aliases)


@dataclass(frozen=True, slots=True)
class TableSpec:
    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...] = ()
    references: Mapping[str, str] = field(default_factory=dict)

    @property
    def schema(self) -> dict[str, pl.DataType]:
        return {c.name: c.dtype for c in self.columns}


TABLES: dict[str, TableSpec] = {
    spec.name: spec
    for spec in (
        TableSpec(
            "startups",
            (
                Column("startup_id", "str", required=True),
                Column("name", "str", required=True),
                Column("uscc", "uscc"),
                Column("sector", "str"),
                Column("sub_sector", "str"),
                _enum("stage", Stage, aliases=_STAGE_ALIASES),
                Column("founded_on", "date"),
                Column("city", "str"),
                Column("region", "str"),
                Column("employees", "int"),
                Column("rd_staff", "int"),
                Column("revenue_wan", "amount"),
                Column("rd_expense_wan", "amount"),
                Column("total_cost_wan", "amount"),
                Column("total_assets_wan", "amount"),
                Column("funding_ask_wan", "amount"),
                Column("high_tech_enterprise", "bool"),
                Column("provincial_rd_center", "bool"),
                Column("national_award_5y", "bool"),
                Column("standards_led_5y", "int"),
                Column("credit_flags", "int"),
                Column("description", "str"),
            ),
            key=("startup_id",),
        ),
        TableSpec(
            "ip_assets",
            (
                Column("startup_id", "str", required=True),
                _enum("kind", IPKind, required=True),
                _enum("status", IPStatus),
                Column("granted_on", "date"),
                Column("expires_on", "date"),
                Column("title", "str"),
                Column("appraised_value_wan", "amount"),
            ),
            references={"startup_id": "startups"},
        ),
        TableSpec(
            "investors",
            (
                Column("investor_id", "str", required=True),
                Column("name", "str", required=True),
                _enum("kind", InvestorKind, aliases=_aliases(InvestorKind, INVESTOR_KIND_ALIASES)),
                Column("sectors", "list"),
                Column("stages", "enum_list", values=tuple(s.value for s in Stage), aliases=_STAGE_ALIASES),
                Column("regions", "list"),
                Column("ticket_min_wan", "amount"),
                Column("ticket_max_wan", "amount"),
                Column("description", "str"),
            ),
            key=("investor_id",),
        ),
        TableSpec(
            "interactions",
            (
                Column("startup_id", "str", required=True),
                Column("investor_id", "str", required=True),
                Column("occurred_on", "date", required=True),
                _enum("outcome", Outcome, required=True),
                _enum("stage", Stage, aliases=_STAGE_ALIASES),
                Column("amount_wan", "amount"),
                Column("event_id", "str"),
            ),
            references={"startup_id": "startups", "investor_id": "investors"},
        ),
        TableSpec(
            "loan_products",
            (
                Column("product_id", "str", required=True),
                Column("bank_id", "str", required=True),
                _enum("kind", ProductKind, required=True),
                Column("name", "str"),
                Column("max_amount_wan", "amount"),
                Column("max_term_months", "int"),
                Column("min_grade", "str"),
                Column("sectors", "list"),
            ),
            key=("product_id",),
            references={"bank_id": "investors"},
        ),
        TableSpec(
            "loans",
            (
                Column("loan_id", "str", required=True),
                Column("startup_id", "str", required=True),
                Column("bank_id", "str"),
                _enum("product_kind", ProductKind),
                Column("amount_wan", "amount"),
                Column("term_months", "int"),
                Column("issued_on", "date", required=True),
                Column("defaulted", "bool"),
            ),
            key=("loan_id",),
            references={"startup_id": "startups", "bank_id": "investors"},
        ),
        TableSpec(
            "consents",
            (
                Column("startup_id", "str", required=True),
                Column("bank_id", "str", required=True),
                Column("granted_on", "date", required=True),
                Column("revoked_on", "date"),
            ),
            references={"startup_id": "startups", "bank_id": "investors"},
        ),
        # Not in the contract: the roadshows of the history, written by the sample generator.
        TableSpec(
            "events",
            (
                Column("event_id", "str", required=True),
                Column("name", "str"),
                Column("held_on", "date"),
                Column("city", "str"),
            ),
            key=("event_id",),
        ),
    )
}

# Chinese (and plain English) headers an office's spreadsheets give the columns of the tables it keeps, read
# as the contract's names; case, spaces and underscores aside, the contract's names themselves too. An amount
# is in 万元: its label is read only with that unit in the header (``_header_keys``).
HEADER_LABELS: dict[str, dict[str, tuple[str, ...]]] = {
    "startups": {
        "startup_id": ("企业编号", "企业id", "编号"),
        "name": ("企业名称", "公司名称", "名称", "企业", "company", "company name"),
        "uscc": ("统一社会信用代码", "社会信用代码", "信用代码"),
        "sector": ("行业", "所属行业", "行业领域", "赛道", "领域", "industry"),
        "sub_sector": ("细分行业", "细分领域", "子行业"),
        "stage": ("融资阶段", "融资轮次", "轮次", "阶段", "round"),
        "founded_on": ("成立日期", "成立时间", "注册日期", "founded"),
        "city": ("城市", "所在城市"),
        "region": ("地区", "所在地区", "省份", "区域"),
        "employees": ("员工人数", "职工人数", "从业人数", "员工数"),
        "rd_staff": ("科技人员", "研发人员", "科技人员数", "研发人员数"),
        "revenue_wan": ("营业收入", "营收", "销售收入"),
        "rd_expense_wan": ("研发投入", "研发费用", "研发经费"),
        "total_cost_wan": ("成本费用总额", "总成本"),
        "total_assets_wan": ("资产总额", "总资产"),
        "funding_ask_wan": ("融资需求", "拟融资金额", "融资金额"),
        "high_tech_enterprise": ("高新技术企业", "是否高新技术企业", "高企"),
        "provincial_rd_center": ("省级研发平台", "省级研发中心"),
        "national_award_5y": ("近五年国家级奖励", "国家级奖励"),
        "standards_led_5y": ("近五年主导制定标准", "主导制定标准数"),
        "credit_flags": ("不良信用记录", "失信记录"),
        "description": ("简介", "企业简介", "公司简介", "主营业务", "描述"),
    },
    "ip_assets": {
        "startup_id": ("企业编号",),
        "kind": ("知识产权类型", "类型"),
        "status": ("法律状态", "状态"),
        "granted_on": ("授权日期", "授权日"),
        "expires_on": ("到期日期", "届满日期", "有效期至"),
        "title": ("知识产权名称", "专利名称", "名称"),
        "appraised_value_wan": ("评估价值", "评估值"),
    },
    "investors": {
        "investor_id": ("机构编号", "机构id", "编号"),
        "name": ("机构名称", "名称", "投资机构", "机构", "institution"),
        "kind": ("机构类型", "类型"),
        "sectors": ("关注领域", "投资领域", "关注行业", "投资行业"),
        "stages": ("投资阶段", "关注阶段", "投资轮次"),
        "regions": ("关注地区", "投资地区", "地区"),
        "ticket_min_wan": ("单笔投资下限", "最低投资额"),
        "ticket_max_wan": ("单笔投资上限", "最高投资额"),
        "description": ("简介", "机构简介", "投资理念", "描述"),
    },
    "loan_products": {
        "product_id": ("产品编号",),
        "bank_id": ("银行编号",),
        "kind": ("产品类型", "类型"),
        "name": ("产品名称", "名称"),
        "max_amount_wan": ("最高额度", "最高贷款额度"),
        "max_term_months": ("最长期限", "最长贷款期限"),
        "min_grade": ("最低评级", "准入评级"),
        "sectors": ("支持行业", "适用行业", "行业"),
    },
}


@functools.cache
def _empty_template(table: str) -> pl.DataFrame:
    return pl.DataFrame(schema=TABLES[table].schema)


def empty_frame(table: str) -> pl.DataFrame:
    """A frame with no rows and the canonical schema of ``table`` (a new frame each call)."""
    # Building a frame from a schema costs up to 0.3 ms (a DataSet holds eight, the API builds one per
    # request); clearing a cached one costs a microsecond.
    return _empty_template(table).clear()


@dataclass(slots=True)
class DataSet:
    """The frames of one data directory, in canonical dtypes. Absent files are empty frames."""

    startups: pl.DataFrame = field(default_factory=lambda: empty_frame("startups"))
    ip_assets: pl.DataFrame = field(default_factory=lambda: empty_frame("ip_assets"))
    investors: pl.DataFrame = field(default_factory=lambda: empty_frame("investors"))
    interactions: pl.DataFrame = field(default_factory=lambda: empty_frame("interactions"))
    loan_products: pl.DataFrame = field(default_factory=lambda: empty_frame("loan_products"))
    loans: pl.DataFrame = field(default_factory=lambda: empty_frame("loans"))
    events: pl.DataFrame = field(default_factory=lambda: empty_frame("events"))
    consents: pl.DataFrame = field(default_factory=lambda: empty_frame("consents"))
    warnings: list[DataIssue] = field(default_factory=list)

    def frames(self) -> dict[str, pl.DataFrame]:
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name in TABLES}


# --- reading -------------------------------------------------------------------------------------


def _decode(path: Path, encoding: str) -> bytes:
    """Bytes of a CSV as UTF-8 without BOM, whatever the file's declared encoding."""
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig" if encoding.lower().replace("-", "") in ("utf8", "utf8sig") else encoding)
    except LookupError:
        raise InvalidInputError(f"unknown encoding {encoding!r}", field="encoding") from None
    except UnicodeDecodeError as exc:
        raise DataValidationError(
            [DataIssue(path.name, None, None, f"not valid {encoding} text ({exc.reason} at byte {exc.start}); "
                       "try --encoding gbk or --encoding cp1252")]
        ) from None
    return text.lstrip("\ufeff").encode("utf-8")


def _cell_text(value: object) -> str | None:
    """A workbook cell as the text a CSV export of it would hold (dates ISO, whole numbers without .0)."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time() else value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _read_workbook(path: Path, issues: list[DataIssue]) -> pl.DataFrame | None:
    """The first sheet of an Excel workbook as text columns, its first row the header. Rows keep their
    sheet numbers (blank rows at the end are dropped, not those between), so issues name Excel's rows."""
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        book = load_workbook(path, read_only=True, data_only=True)
        try:
            rows = [[_cell_text(v) for v in row] for row in book.worksheets[0].iter_rows(values_only=True)]
        finally:
            book.close()
    except (OSError, KeyError, ValueError, zipfile.BadZipFile, InvalidFileException) as exc:
        issues.append(DataIssue(path.name, None, None, f"unreadable Excel workbook: {exc}"))
        return None
    while rows and all(v is None or not v.strip() for v in rows[-1]):
        rows.pop()
    if not rows:
        return pl.DataFrame()
    header = [(h or "").strip() or f"column {i + 1}" for i, h in enumerate(rows[0])]
    width = len(header)
    body = [(row + [None] * width)[:width] for row in rows[1:]]
    return pl.DataFrame(body, schema=dict.fromkeys(header, pl.Utf8), orient="row")


def _read_raw(directory: Path, table: str, encoding: str, issues: list[DataIssue]) -> tuple[pl.DataFrame, str] | None:
    """The file for ``table`` as all-text columns, or None when the directory has none. CSV, Parquet, or
    an Excel workbook (not in the contract: what an office keeps its lists in); the first found is used."""
    found = [path for ext in ("csv", "parquet", "xlsx") if (path := directory / f"{table}.{ext}").exists()]
    if not found:
        return None
    path = found[0]
    for other in found[1:]:
        issues.append(DataIssue(other.name, None, None, f"ignored: {path.name} is used", "warning"))
    if path.suffix == ".csv":
        try:
            frame = pl.read_csv(io.BytesIO(_decode(path, encoding)), infer_schema=False)
        except pl.exceptions.PolarsError as exc:
            issues.append(DataIssue(path.name, None, None, f"unreadable CSV: {str(exc).splitlines()[0]}"))
            return None
        return frame, path.name
    if path.suffix == ".xlsx":
        workbook = _read_workbook(path, issues)
        return None if workbook is None else (workbook, path.name)
    try:
        frame = pl.read_parquet(path)
    except (pl.exceptions.PolarsError, OSError) as exc:
        issues.append(DataIssue(path.name, None, None, f"unreadable Parquet: {str(exc).splitlines()[0]}"))
        return None
    as_text = [
        pl.col(name).list.join(";") if isinstance(dtype, pl.List) else pl.col(name).cast(pl.Utf8)
        for name, dtype in frame.schema.items()
    ]
    return frame.select(as_text), path.name


def _bad_rows(mask: pl.Series) -> list[int]:
    """Spreadsheet row numbers (header = row 1) where ``mask`` is true."""
    return [i + 2 for i in mask.arg_true().head(MAX_ISSUES_PER_CHECK).to_list()]


# Year-first dates as Excel and Chinese forms write them (2024/3/5, 2024.3.5, 2024年3月5日) and with a
# time of day (a timestamp column written by pandas): never day- or month-first, which would be ambiguous.
_DATE_SEPARATORS = r"[/.年月]"
_DATE_TIME = r"(?:[ T].*|日)$"

# Amounts: the contract's 万元, or a figure with its unit (5000万, 1.2亿元, 3,000,000元), or an order of
# magnitude in words as Chinese funding news gives them (数千万 → 5,000: "several" read as five, as the
# benchmark's reshaped protocol writes them), or a word for undisclosed (read as empty). Other currencies stay
# errors: no rate is known.
_UNITS: dict[str, float] = {"十万": 10.0, "百万": 100.0, "千万": 1000.0, "万": 1.0, "亿": 1e4, "十亿": 1e5}
_FIGURE = r"^(?:约|近|超过|超|逾|~|≈)?(?<num>\d+(?:\.\d+)?)(?<unit>十万|百万|千万|十亿|万|亿)?(?<yuan>元)?(?:人民币)?$"
_WORDS = r"^(?<few>数|几|上|近|过|超)?(?<unit>十万|百万|千万|十亿|亿)元?(?:人民币)?(?:级|以上|及以上)?$"
_UNDISCLOSED = ("未透露", "未披露", "不详", "未知", "保密", "undisclosed", "unknown", "n/a", "na", "-", "--", "—")


def _amounts(text: pl.Series) -> tuple[pl.Series, pl.Series, pl.Series]:
    """Amounts in 万元 from the texts; which texts were orders of magnitude in words; which said undisclosed."""
    compact = pl.col("text").str.replace_all(r"[,，\s]", "")
    plain = compact.cast(pl.Float64, strict=False)
    figure = compact.str.extract_groups(_FIGURE)
    unit = figure.struct.field("unit").replace_strict(_UNITS, default=None, return_dtype=pl.Float64)
    scale = pl.when(unit.is_not_null()).then(unit).when(figure.struct.field("yuan").is_not_null()).then(1e-4)
    from_figure = figure.struct.field("num").cast(pl.Float64) * scale.otherwise(1.0)
    words = compact.str.extract_groups(_WORDS)
    magnitude = words.struct.field("unit").replace_strict(_UNITS, default=None, return_dtype=pl.Float64)
    from_words = pl.when(words.struct.field("few").is_in(("数", "几"))).then(magnitude * 5).otherwise(magnitude)
    out = pl.DataFrame({"text": text}, schema={"text": pl.Utf8}).select(
        value=pl.coalesce(plain, from_figure, from_words),
        in_words=(plain.is_null() & from_figure.is_null() & from_words.is_not_null()).fill_null(False),
        undisclosed=compact.str.to_lowercase().is_in(_UNDISCLOSED).fill_null(False),
    )
    return out["value"], out["in_words"], out["undisclosed"]


def _canonical(text: pl.Expr, col: Column) -> pl.Expr:
    """The contract's value for a spelling of it (``col.aliases``); other text lower-cased as it was."""
    low = text.str.to_lowercase()
    if not col.aliases:
        return low
    known = dict(col.aliases)
    return pl.when(low.is_in(col.values)).then(low).otherwise(
        _alias_key(text).replace_strict(known, default=low, return_dtype=pl.Utf8))


def _parse_column(raw: pl.Series, col: Column, file: str, issues: list[DataIssue]) -> pl.Series:
    text = raw.str.strip_chars()
    text = pl.Series(col.name, text).set(text == "", None) if text.len() else text
    present = text.is_not_null()
    parsed: pl.Series
    problem: str
    if col.kind in ("str",):
        parsed, bad, problem = text, _flags([False] * len(text)), ""
    elif col.kind == "uscc":
        parsed = text.str.to_uppercase()
        valid = _flags([uscc_validator.is_valid(v) if v is not None else True for v in parsed.to_list()])
        bad, problem = ~valid, "bad 统一社会信用代码 (18 characters with a valid checksum expected)"
    elif col.kind == "date":
        dashed = text.str.replace_all(_DATE_SEPARATORS, "-").str.replace(_DATE_TIME, "")
        parsed = dashed.str.strptime(pl.Date, "%Y-%m-%d", strict=False)
        bad, problem = present & parsed.is_null(), "unparsable date (YYYY-MM-DD expected)"
    elif col.kind == "int":
        number = text.str.replace_all(",", "").cast(pl.Float64, strict=False)
        parsed = number.cast(pl.Int64, strict=False)
        bad = present & (number.is_null() | (number != number.round(0)))
        problem = "not a whole number"
    elif col.kind == "amount":
        parsed, in_words, undisclosed = _amounts(text)
        number = parsed
        bad = present & ~undisclosed & (parsed.is_null() | parsed.is_nan())
        problem = "not an amount (a number in 万元, or one with its unit: 5000万, 1.2亿元)"
        if in_words.any():
            examples = ", ".join(text.filter(in_words).unique(maintain_order=True).head(3).to_list())
            read_as = "read as their order of magnitude (数百万 = 500, 数千万 = 5,000, 数亿 = 50,000 万元)"
            issues.append(DataIssue(file, None, col.name, f"{int(in_words.sum())} amount(s) in words ({examples}) "
                                    + read_as, "warning"))
    elif col.kind == "bool":
        low = text.str.to_lowercase()
        parsed = (
            pl.select(
                pl.when(low.is_in(_TRUE)).then(True).when(low.is_in(_FALSE)).then(False).otherwise(None)
            ).to_series()
        )
        bad, problem = present & parsed.is_null(), "not a boolean (true/false, 1/0, yes/no, 是/否)"
    elif col.kind == "enum":
        parsed = pl.select(_canonical(pl.lit(text), col)).to_series()
        bad = present & ~parsed.is_in(col.values)
        problem = "unknown value (expected one of " + ", ".join(col.values) + ")"
    else:  # list or enum_list
        parsed = text.str.split(";").list.eval(pl.element().str.strip_chars()).list.eval(
            pl.element().filter(pl.element() != "")
        )
        if col.kind == "enum_list":
            parsed = parsed.list.eval(_canonical(pl.element(), col))
            bad = present & ~parsed.list.eval(pl.element().is_in(col.values)).list.all().fill_null(True)
            problem = "unknown value in list (expected `;`-separated values of " + ", ".join(col.values) + ")"
        else:
            bad, problem = _flags([False] * len(text)), ""
    bad = bad.fill_null(False)
    for row in _bad_rows(bad):
        value = raw[row - 2]
        issues.append(DataIssue(file, row, col.name, f"{problem}: {value!r}"))
    if col.kind in ("int", "amount"):
        _check_magnitude(number, bad, col, file, issues)
    if col.required:
        for row in _bad_rows(~present):
            issues.append(DataIssue(file, row, col.name, "required value is empty"))
    return parsed.alias(col.name).cast(col.dtype)


def _flags(values: list[bool]) -> pl.Series:
    """A boolean mask (typed, so that an empty file's zero rows are still a boolean column)."""
    return pl.Series(values, dtype=pl.Boolean)


# Numbers past these are typing slips, not data: 1e12 万元 is ten thousand times the world's GDP, and
# integer columns are stored as 32-bit INTEGER. Refused so that no model meets an infinity or an overflow.
MAX_MAGNITUDE = 1e12
MAX_INTEGER = 2**31 - 1


def _check_magnitude(number: pl.Series, bad: pl.Series, col: Column, file: str, issues: list[DataIssue]) -> None:
    """Report numbers of absurd size (1e40), which parse but overflow every model and database column."""
    limit = MAX_INTEGER if col.kind == "int" else MAX_MAGNITUDE
    huge = (number.abs() > limit).fill_null(False) & ~bad
    for row in _bad_rows(huge):
        issues.append(DataIssue(file, row, col.name,
                                f"out of range: {number[row - 2]:g} (at most {limit:,.0f} in size)"))


def _empty_table_issues(frames: dict[str, pl.DataFrame], files: dict[str, str], issues: list[DataIssue]) -> None:
    """A file with a header and no rows: an error for startups.csv (nothing to work on), else a warning."""
    for table, frame in frames.items():
        if frame.height:
            continue
        if table == "startups":
            issues.append(DataIssue(files[table], None, None, "has a header but no rows: there is nothing to read"))
        else:
            issues.append(DataIssue(files[table], None, None, "has a header but no rows", "warning"))


def _header_key(header: str) -> str:
    """What two spellings of one header share: case, spaces, ``_``/``-`` and full-width brackets aside."""
    return re.sub(r"[\s_\-·]", "", header.lower().replace("（", "(").replace("）", ")"))


@functools.cache  # constants: built once per table, not per file read
def _header_keys(table: str) -> dict[str, str]:
    """Every header the reader takes for ``table``'s columns (normalised) -> the column: the contract's
    name and, for the tables an office keeps, the Chinese ones its spreadsheets use (``HEADER_LABELS``).
    An amount's label counts only with its unit (营业收入（万元）): a bare 营业收入 may be in 元."""
    keys: dict[str, str] = {}
    for col in TABLES[table].columns:
        keys[_header_key(col.name)] = col.name
        for label in HEADER_LABELS.get(table, {}).get(col.name, ()):
            if col.kind == "amount":
                variants = [f"{label}(万元)", f"{label}万元"]
            elif col.name.endswith("_months"):
                variants = [label, f"{label}(月)", f"{label}(个月)"]
            else:
                variants = [label]
            keys.update({_header_key(v): col.name for v in variants})
    return keys


def _match_headers(raw: pl.DataFrame, spec: TableSpec, file: str, issues: list[DataIssue]) -> dict[str, str]:
    """The file's header for each column it has: the contract's names, and other spellings
    (``_header_keys``) when the file lacks a required one of those names."""
    keys = _header_keys(spec.name)
    found: dict[str, str] = {}
    ignored: list[str] = []
    contract = {c.name for c in spec.columns}
    cleaned = [(c, c.strip().lstrip("\ufeff")) for c in raw.columns]
    # A file with every required header of the contract is read as the contract says (other columns ignored),
    # so a file the contract accepts reads the same; other spellings only rescue a file it would refuse.
    spelled = not {c.name for c in spec.columns if c.required} <= {name for _, name in cleaned}
    # The contract's own headers first: another spelling of a column they name is ignored.
    for header, name in sorted(cleaned, key=lambda pair: pair[1] not in contract):
        column = name if name in contract else keys.get(_header_key(name)) if spelled else None
        if column is None or column in found:
            ignored.append(name)
        else:
            found[column] = header
    if ignored:
        hint = ""
        if not spelled and (known := [(n, keys[_header_key(n)]) for n in ignored if _header_key(n) in keys]):
            hint = (" (the file names its columns as DATA_FORMAT.md does, so other spellings are not read: "
                    + ", ".join(f"{column} for {name}" for name, column in known[:3]) + ")")
        elif bare := [n for n in ignored if _header_key(n) in _bare_amount_labels(spec.name)]:
            hint = f" (an amount's header needs its unit, e.g. {bare[0]}（万元）)"
        issues.append(DataIssue(file, None, None, f"unknown columns ignored: {', '.join(sorted(ignored))}{hint}",
                                "warning"))
    return found


@functools.cache
def _bare_amount_labels(table: str) -> frozenset[str]:
    return frozenset(_header_key(label) for col in TABLES[table].columns if col.kind == "amount"
                     for label in HEADER_LABELS.get(table, {}).get(col.name, ()))


def _parse_table(raw: pl.DataFrame, spec: TableSpec, file: str, issues: list[DataIssue]) -> pl.DataFrame:
    headers = _match_headers(raw, spec, file, issues)
    missing = [c.name for c in spec.columns if c.required and c.name not in headers]
    for name in missing:
        issues.append(DataIssue(file, None, name, "required column is missing"))
    columns: list[pl.Series] = []
    for col in spec.columns:
        if col.name in headers:
            header = headers[col.name].strip().lstrip("\ufeff")
            start = len(issues)
            columns.append(_parse_column(raw[headers[col.name]].cast(pl.Utf8), col, file, issues).alias(col.name))
            if header != col.name:  # name the column as the file does, and as the contract does
                issues[start:] = [replace(i, column=f"{header} ({col.name})") if i.column == col.name else i
                                  for i in issues[start:]]
        else:
            columns.append(pl.Series(col.name, [None] * raw.height, dtype=col.dtype))
    frame = pl.DataFrame(columns) if columns else pl.DataFrame(schema=spec.schema)
    if spec.name == "ip_assets":
        frame = frame.with_columns(pl.col("status").fill_null(IPStatus.GRANTED.value))
    if spec.key and not missing:
        dup = frame.select(pl.struct(list(spec.key)).is_duplicated() & pl.col(spec.key[0]).is_not_null()).to_series()
        first_seen = frame.select(pl.struct(list(spec.key)).is_first_distinct()).to_series()
        for row in _bad_rows(dup & ~first_seen):
            key = ", ".join(str(frame[k][row - 2]) for k in spec.key)
            issues.append(DataIssue(file, row, spec.key[0], f"duplicate id {key!r}"))
    return frame


def _check_references(
    frames: dict[str, pl.DataFrame], files: dict[str, str], issues: list[DataIssue]
) -> None:
    for table, frame in frames.items():
        for column, target in TABLES[table].references.items():
            values = frame[column]
            if values.is_null().all():
                continue
            if target not in frames:
                issues.append(DataIssue(files[table], None, column, f"refers to {target} but {target}.csv is absent"))
                continue
            known = frames[target][TABLES[target].key[0]].drop_nulls().unique()
            dangling = values.is_not_null() & ~values.is_in(known.implode())
            for row in _bad_rows(dangling):
                issues.append(
                    DataIssue(files[table], row, column, f"dangling reference {values[row - 2]!r}: not in {target}")
                )


def _check_plausibility(frames: dict[str, pl.DataFrame], files: dict[str, str], issues: list[DataIssue]) -> None:
    """The domain's plausibility rules (``matcher.plausibility``), the same the API applies."""
    from matcher.plausibility import check_frame

    for table, frame in frames.items():
        for v in check_frame(table, frame):
            value = frame[v.column][v.row]
            # A date as the file writes it, not as Python's repr (datetime.date(2027, 1, 7)).
            shown = value.isoformat() if isinstance(value, date) else repr(value)
            issues.append(DataIssue(files[table], v.row + 2, v.column, f"{v.message}: {shown}"))


def _check_consenting_banks(frames: dict[str, pl.DataFrame], files: dict[str, str], issues: list[DataIssue]) -> None:
    """A consent is given to a bank: its ``bank_id`` must be an investors.csv row of kind ``bank``."""
    if "consents" not in frames or "investors" not in frames:
        return
    investors = frames["investors"]
    banks = investors.filter(pl.col("kind") == InvestorKind.BANK.value)["investor_id"]
    known = investors["investor_id"]
    bank_ids = frames["consents"]["bank_id"]
    not_bank = bank_ids.is_not_null() & bank_ids.is_in(known.implode()) & ~bank_ids.is_in(banks.implode())
    for row in _bad_rows(not_bank):
        issues.append(DataIssue(files["consents"], row, "bank_id",
                                f"{bank_ids[row - 2]!r} is an investor, not a bank (kind must be bank)"))


def _load(directory: Path, encoding: str) -> tuple[dict[str, pl.DataFrame], list[DataIssue]]:
    if not directory.is_dir():
        raise InvalidInputError(f"{directory} is not a directory", field="data")
    issues: list[DataIssue] = []
    frames: dict[str, pl.DataFrame] = {}
    files: dict[str, str] = {}
    for name, spec in TABLES.items():
        loaded = _read_raw(directory, name, encoding, issues)
        if loaded is None:
            continue
        raw, file = loaded
        frames[name] = _parse_table(raw, spec, file, issues)
        files[name] = file
    _empty_table_issues(frames, files, issues)
    _check_references(frames, files, issues)
    _check_plausibility(frames, files, issues)
    _check_consenting_banks(frames, files, issues)
    return frames, issues


def validate_data_dir(path: Path, *, encoding: str = "utf-8") -> list[DataIssue]:
    """Every problem and warning of a data directory; an empty list means it is clean."""
    try:
        return _load(Path(path), encoding)[1]
    except DataValidationError as exc:
        return list(exc.issues)


def read_data_dir(path: Path, *, encoding: str = "utf-8") -> DataSet:
    """Read a data directory into canonical frames, raising ``DataValidationError`` listing every error."""
    frames, issues = _load(Path(path), encoding)
    errors = [i for i in issues if i.severity == "error"]
    if errors:
        raise DataValidationError(issues)
    return DataSet(**frames, warnings=[i for i in issues if i.severity != "error"])


def from_frames(**frames: pl.DataFrame) -> DataSet:
    """A DataSet from in-memory frames: missing canonical columns are added empty, then cast."""
    out: dict[str, pl.DataFrame] = {}
    for name, frame in frames.items():
        if name not in TABLES:
            raise InvalidInputError(f"unknown table {name!r}", field=name)
        schema = TABLES[name].schema
        if frame.columns == list(schema) and frame.dtypes == list(schema.values()):
            out[name] = frame  # already canonical (the database's frames): nothing to add or cast
            continue
        out[name] = frame.select(
            [
                (pl.col(c) if c in frame.columns else pl.lit(None)).cast(dtype).alias(c)
                for c, dtype in schema.items()
            ]
        )
    return DataSet(**out)  # type: ignore[arg-type]  # keys are checked against TABLES above


# --- writing -------------------------------------------------------------------------------------


def _to_csv_frame(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.with_columns(
        [pl.col(n).list.join(";") for n, t in frame.schema.items() if isinstance(t, pl.List)]
    )


def write_data_dir(
    data: DataSet, path: Path, *, fmt: Literal["csv", "parquet"] = "csv", tables: Iterable[str] | None = None
) -> list[Path]:
    """Write the non-empty frames of ``data`` (or the named ``tables``) as CSV or Parquet files."""
    if fmt not in ("csv", "parquet"):
        raise InvalidInputError(f"unknown format {fmt!r} (csv or parquet)", field="format")
    out = Path(path)
    out.mkdir(parents=True, exist_ok=True)
    wanted = set(tables) if tables is not None else None
    written: list[Path] = []
    for name, frame in data.frames().items():
        if (wanted is None and frame.is_empty()) or (wanted is not None and name not in wanted):
            continue
        target = out / f"{name}.{fmt}"
        if fmt == "csv":
            _to_csv_frame(frame).write_csv(target)
        else:
            frame.write_parquet(target)
        written.append(target)
    return written

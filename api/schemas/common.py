"""Constrained field types shared by every schema: the limits that keep bad input a 400, not a 500.

Every string fits the column it reaches (on PostgreSQL a longer one is an error, not a truncation),
one-line texts refuse every control character, long texts keep only tab and line breaks, and every
integer stays inside a 32-bit column. NUL and other control characters anywhere in a JSON body are
also refused before parsing (``api.guards.limits``), naming the field.
"""

from __future__ import annotations

from typing import Annotated

from msgspec import Meta

# The largest value every backend's INTEGER column (and an OFFSET) takes.
DB_INT_MAX = 2**31 - 1
# One-line text: no control characters at all (they break CSV rows, calendar lines and PostgreSQL text).
ONE_LINE = r"^[^\x00-\x1f\x7f]*$"
# Multi-line text: tab, line feed and carriage return only.
MULTI_LINE = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:\-]*$"

Id = Annotated[str, Meta(min_length=1, max_length=64, pattern=ID_PATTERN)]
Name = Annotated[str, Meta(min_length=1, max_length=200, pattern=ONE_LINE)]
Label = Annotated[str, Meta(min_length=1, max_length=100, pattern=ONE_LINE)]
Title = Annotated[str, Meta(max_length=300, pattern=ONE_LINE)]
LongText = Annotated[str, Meta(max_length=5000, pattern=MULTI_LINE)]
# 统一社会信用代码: 18 characters; the checksum is verified by the service (stdnum.cn.uscc).
Uscc = Annotated[str, Meta(min_length=18, max_length=18, pattern=r"^[0-9A-HJ-NPQRTUWXY]{18}$")]
Wan = Annotated[float, Meta(ge=0, le=100_000_000)]
HeadCount = Annotated[int, Meta(ge=0, le=10_000_000)]
SmallCount = Annotated[int, Meta(ge=0, le=10_000)]
Months = Annotated[int, Meta(ge=1, le=600)]
Grade = Annotated[str, Meta(pattern=r"^[A-E]$")]
Version = Annotated[int, Meta(ge=1, le=DB_INT_MAX)]

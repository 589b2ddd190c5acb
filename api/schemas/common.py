"""Constrained field types shared by every schema: the limits that keep bad input a 400, not a 500."""

from __future__ import annotations

from typing import Annotated

from msgspec import Meta

Id = Annotated[str, Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:\-]*$")]
Name = Annotated[str, Meta(min_length=1, max_length=200)]
Label = Annotated[str, Meta(min_length=1, max_length=100)]
Title = Annotated[str, Meta(max_length=300)]
LongText = Annotated[str, Meta(max_length=5000)]
# 统一社会信用代码: 18 characters; the checksum is verified by the service (stdnum.cn.uscc).
Uscc = Annotated[str, Meta(min_length=18, max_length=18, pattern=r"^[0-9A-HJ-NPQRTUWXY]{18}$")]
Wan = Annotated[float, Meta(ge=0, le=100_000_000)]
HeadCount = Annotated[int, Meta(ge=0, le=10_000_000)]
SmallCount = Annotated[int, Meta(ge=0, le=10_000)]
Months = Annotated[int, Meta(ge=1, le=600)]
Grade = Annotated[str, Meta(pattern=r"^[A-E]$")]
Version = Annotated[int, Meta(ge=1)]

"""Parameter types shared by the controllers (explicit sources and limits, so bad input is a 400)."""

from __future__ import annotations

from typing import Annotated

from litestar.params import PathParameter, QueryParameter

from api.schemas.common import DB_INT_MAX, ONE_LINE

# Ids in paths: imported ids may be any one-line text, so only length and control characters are checked.
EntityId = Annotated[str, PathParameter(min_length=1, max_length=64, pattern=ONE_LINE)]
QueryId = Annotated[str | None, QueryParameter(min_length=1, max_length=64, pattern=ONE_LINE)]
QueryLabel = Annotated[str | None, QueryParameter(max_length=100, pattern=ONE_LINE)]
PageLimit = Annotated[int, QueryParameter(ge=1, le=500)]
PageOffset = Annotated[int, QueryParameter(ge=0, le=DB_INT_MAX)]
TopK = Annotated[int, QueryParameter(ge=1, le=50)]

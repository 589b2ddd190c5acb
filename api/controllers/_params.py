"""Parameter types shared by the controllers (explicit sources and limits, so bad input is a 400)."""

from __future__ import annotations

from typing import Annotated

from litestar.params import PathParameter, QueryParameter

EntityId = Annotated[str, PathParameter(max_length=64)]
PageLimit = Annotated[int, QueryParameter(ge=1, le=500)]
PageOffset = Annotated[int, QueryParameter(ge=0)]
TopK = Annotated[int, QueryParameter(ge=1, le=50)]

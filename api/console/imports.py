"""Import lists (organisers): the office's files of startups, IP assets, investors and banks' products,
as Excel workbooks or CSV, through the service behind ``POST /api/imports``: every file is validated
together, then every row is stored or none, and each problem is listed by the file's own name, row and column."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from litestar import Request, Response, get, post
from litestar.params import PathParameter
from litestar.response import Template

from api.console.pages import STAFF, language, need, render
from api.console.problems import in_chinese
from api.console.session import Viewer
from api.controllers.imports import IMPORT_MAX_BODY_BYTES, uploads_of
from api.services import imports
from api.state import Db, Service
from matcher.errors import ConflictError, DataValidationError, InvalidInputError
from matcher.io import TABLES
from matcher.templates import template_workbook

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

ENCODINGS = ("utf-8", "gb18030")  # a CSV saved by Excel on Chinese Windows is GB18030 (GBK)
SHOWN_ISSUES = 50


def _columns() -> dict[str, list[tuple[str, bool]]]:
    return {t: [(c.name, c.required) for c in TABLES[t].columns] for t in imports.PARTICIPANT_TABLES}


def _said(request: Request[Any, Any, Any]) -> Callable[[str], str]:
    """The reader's problems as the page's language says them."""
    return in_chinese if language(request) == "zh" else str


def _page(request: Request[Any, Any, Any], viewer: Any, **context: Any) -> Template:
    # Problems are shown in the page, as every console form shows them (the page itself loaded fine).
    values = {"report": None, "issues": [], "hidden": 0, "errors": {}, "encoding": "utf-8", **context}
    return render(request, viewer, "import.html", tables=imports.PARTICIPANT_TABLES, said=_said(request),
                  columns=_columns(), encodings=ENCODINGS, **values)


@get("/console/import", include_in_schema=False)
async def import_page(request: Request[Any, Any, Any], viewer: Viewer) -> Template:
    need(viewer, *STAFF)
    return _page(request, viewer)


@post("/console/import", include_in_schema=False, request_max_body_size=IMPORT_MAX_BODY_BYTES)
async def import_files(request: Request[Any, Any, Any], db: Db, service: Service, viewer: Viewer) -> Template:
    need(viewer, *STAFF)
    form = await request.form()
    encoding = str(form.get("encoding") or "utf-8")
    try:
        report = await imports.import_uploads(db, await uploads_of(form), encoding=encoding)
    except DataValidationError as exc:
        errors = [i for i in exc.issues if i.severity == "error"]
        return _page(request, viewer, issues=errors[:SHOWN_ISSUES],
                     hidden=max(0, len(errors) - SHOWN_ISSUES), encoding=encoding)
    except (InvalidInputError, ConflictError) as exc:
        field = exc.field if exc.field in imports.PARTICIPANT_TABLES or exc.field == "encoding" else "_form"
        return _page(request, viewer, errors={field: _said(request)(str(exc))}, encoding=encoding)
    service.matches.roster_changed()
    return _page(request, viewer, report=report, encoding=encoding)


@get("/console/import/{table:str}/template.xlsx", include_in_schema=False)
async def template(table: Annotated[str, PathParameter(max_length=32)], viewer: Viewer) -> Response[bytes]:
    """A blank workbook of ``table``: the header row the reader expects, and what each column takes."""
    need(viewer, *STAFF)
    return Response(template_workbook(table), media_type=XLSX,
                    headers={"Content-Disposition": f'attachment; filename="{table}.xlsx"'})


HANDLERS = [import_page, import_files, template]

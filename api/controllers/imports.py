from __future__ import annotations

from typing import Any

from litestar import Controller, Request, post
from litestar.datastructures import FormMultiDict, UploadFile
from litestar.params import FromQuery
from litestar.status_codes import HTTP_201_CREATED

from api.guards.auth import staff_only
from api.schemas.imports import ImportIssue, ImportRead
from api.services import imports
from api.state import Db, Service

# An office's list of a few thousand startups as a workbook is a few MB; a data directory of 20,000, ~30 MB.
IMPORT_MAX_BODY_BYTES = 64_000_000


async def uploads_of(form: FormMultiDict) -> list[imports.Upload]:
    """The multipart parts that carry a file, each under its table's name (``startups``, ``investors`` ...);
    text parts (a form's other fields) and a form's file inputs left empty are not files."""
    return [imports.Upload(table=name, filename=part.filename or name, content=await part.read())
            for name, part in form.multi_items() if isinstance(part, UploadFile) and part.filename]


def import_read(report: imports.ImportReport) -> ImportRead:
    return ImportRead(imported=report.counts, warnings=[
        ImportIssue(file=i.file, row=i.row, column=i.column, message=i.message) for i in report.warnings])


class ImportController(Controller):
    """Lists of participants as files (organisers and admins): what ``roadshow import`` does with a directory."""

    path = "/api/imports"
    tags = ("imports",)

    @post("", status_code=HTTP_201_CREATED, guards=[staff_only], request_max_body_size=IMPORT_MAX_BODY_BYTES,
          summary="Import startups, IP assets, investors, banks' products ... from CSV, Excel or Parquet files "
                  "(one multipart part per table, named as in DATA_FORMAT.md): all rows or none",
          description="A `multipart/form-data` body: one file part per table, the part named by the table "
                      "(`startups`, `ip_assets`, `investors`, `loan_products`, `interactions`, `loans`, `consents`), "
                      "the file a `.csv`, `.xlsx` (first sheet, first row the header) or `.parquet` under any name, "
                      "e.g. `curl -F startups=@企业名单.xlsx`. Text parts are ignored. `encoding` is the CSVs' text "
                      "encoding (`gb18030` for a CSV saved by Excel on Chinese Windows). 422 lists every problem by "
                      "the uploaded file's name, row and column; 409 names ids already stored; nothing is written "
                      "unless every row of every file passes.")
    async def create(
        self,
        request: Request[Any, Any, Any],
        db: Db,
        service: Service,
        encoding: FromQuery[str] = "utf-8",
    ) -> ImportRead:
        # Read as a form, not a typed body: its parts are named by table, and a text part is no error.
        report = await imports.import_uploads(db, await uploads_of(await request.form()), encoding=encoding)
        service.matches.roster_changed()  # new investors and banks: candidates from the next request on
        return import_read(report)

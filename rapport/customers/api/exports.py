"""Streamed exports of the contact and account lists, as filtered (CSV or XLSX)."""

from __future__ import annotations

import tempfile
from typing import Literal

from django.http import FileResponse, HttpRequest, StreamingHttpResponse
from django.http.response import HttpResponseBase
from ninja import Query, Router

from rapport.api.auth import actor_of
from rapport.api.common import problems
from rapport.customers import export
from rapport.customers.api.records import ContactListQuery, _filters

router = Router(tags=["exports"])


@router.get(
    "/exports/{kind}",
    response={200: None, **problems(403, 404)},
    url_name="export",
    openapi_extra={
        "responses": {
            200: {
                "description": "The file: CSV (streamed) or XLSX",
                "content": {"text/csv": {}, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {}},
            }
        }
    },
)
def export_list(
    request: HttpRequest,
    kind: Literal["contacts", "accounts"],
    query: Query[ContactListQuery],
    format: Literal["csv", "xlsx"] = "csv",  # noqa: A002 - the public parameter name
) -> HttpResponseBase:
    """Every record the list would show under these filters, all pages, with the columns your
    role may see. Cells a spreadsheet would run as formulas are made inert. Needs the role's
    export right; each export is recorded in the audit trail."""
    filters = _filters(query)
    filters.cursor = None
    headers, rows = export.export_rows(actor=actor_of(request), kind=kind[:-1], filters=filters)
    if format == "csv":
        response = StreamingHttpResponse(export.csv_chunks(headers, rows), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="rapport-{kind}.csv"'
        return response
    spool = tempfile.TemporaryFile()  # noqa: SIM115 - FileResponse closes it
    export.write_xlsx(headers, rows, spool)
    spool.seek(0)
    return FileResponse(spool, as_attachment=True, filename=f"rapport-{kind}.xlsx")

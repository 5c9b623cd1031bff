"""JSON by default, CSV for BI tools (``Accept: text/csv`` or ``?format=csv``), with an ETag."""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Iterable, Mapping
from typing import Annotated, Any, Literal

from fastapi import Query, Request, Response
from pydantic import BaseModel

FormatParam = Annotated[
    Literal["json", "csv"] | None,
    Query(alias="format", description="csv for a flat table (or send Accept: text/csv)."),
]


def wants_csv(request: Request, requested: str | None) -> bool:
    if requested is not None:
        return requested == "csv"
    return "text/csv" in request.headers.get("accept", "")


def csv_text(rows: Iterable[Mapping[str, Any]], columns: list[str]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: "" if v is None else v for k, v in row.items()})
    return buffer.getvalue()


def respond(
    request: Request,
    requested: str | None,
    payload: BaseModel,
    csv_rows: list[dict[str, Any]],
    csv_columns: list[str],
    name: str,
) -> Response:
    """The payload as JSON, or its flat rows as CSV; a matching If-None-Match answers 304."""
    if wants_csv(request, requested):
        body = csv_text(csv_rows, csv_columns).encode()
        media_type = "text/csv; charset=utf-8"
        headers = {"Content-Disposition": f'attachment; filename="{name}.csv"'}
    else:
        body = payload.model_dump_json(by_alias=True).encode()
        media_type = "application/json"
        headers = {}
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    headers["ETag"] = etag
    headers["Cache-Control"] = "private, must-revalidate"
    if etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    return Response(content=body, media_type=media_type, headers=headers)


def header_columns(payload: BaseModel) -> dict[str, Any]:
    """The report's own fields (run, model, currency, period) repeated on every CSV row."""
    dumped = payload.model_dump(by_alias=True, mode="json")
    return {k: dumped[k] for k in ("run_id", "model", "currency", "from", "to")}

"""Unpaginated CSV exports for BI refreshes, written batch by batch as the rows arrive.

Conventions are those of the report CSVs (app/reports/rendering.py): a header of the stable column
names, ``\\n`` line ends, an empty cell for null, ``True``/``False``, ISO dates; and, as the exports
carry raw instants and exact conversions, timestamps as ISO 8601 UTC with ``Z`` and decimals written
out exactly, without exponent or trailing zeros.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from datetime import datetime
from decimal import Context, Decimal
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from app.exports import repository
from app.exports.repository import AnyRow
from app.exports.schemas import (
    CREDIT_COLUMNS,
    OPPORTUNITY_COLUMNS,
    TOUCHPOINT_COLUMNS,
    ExportColumn,
    names,
)
from app.models import AttributionRun
from app.reports.service import choose_run

BATCH_ROWS = 2_000
# Explicit, never thread-local: the stream resumes on whichever worker thread Starlette picks.
# 80 digits hold any BIGINT amount times a NUMERIC(24, 12) rate exactly.
_EXACT = Context(prec=80)

Cells = Callable[[AnyRow], list[Any]]

_CREDIT_HEADER = names(CREDIT_COLUMNS)
_OPPORTUNITY_HEADER = names(OPPORTUNITY_COLUMNS)


def export_run(
    session: Session, *, workspace_id: int, run_id: int | None, model: str | None
) -> AttributionRun:
    """The run asked for; else, for the model (default linear), its latest default run, else its
    latest successful run."""
    return choose_run(session, workspace_id=workspace_id, run_id=run_id, model=model)


def exact_text(value: Decimal) -> str:
    """``Decimal('1344.833200000000')`` is ``1344.8332``; ``Decimal('0E-12')`` is ``0``."""
    return format(_EXACT.normalize(value), "f")


def times(amount: int | None, rate: Decimal | None) -> Decimal | None:
    if amount is None or rate is None:
        return None
    return _EXACT.multiply(Decimal(amount), rate)


def _formatter(columns: tuple[ExportColumn, ...]) -> Callable[[list[Any]], list[Any]]:
    """Writes timestamps and decimals the export's way; the csv module does the rest."""
    timestamps = [i for i, c in enumerate(columns) if c.type == "timestamp"]
    decimals = [i for i, c in enumerate(columns) if c.type == "decimal"]

    def format_cells(cells: list[Any]) -> list[Any]:
        for i in timestamps:
            value: datetime | None = cells[i]
            if value is not None:
                cells[i] = value.isoformat().replace("+00:00", "Z")
        for i in decimals:
            if cells[i] is not None:
                cells[i] = exact_text(cells[i])
        return cells

    return format_cells


def _stream(
    factory: sessionmaker[Session],
    query: repository.Rows,
    columns: tuple[ExportColumn, ...],
    cells: Cells,
    batch_size: int,
) -> Iterator[str]:
    header = names(columns)
    format_cells = _formatter(columns)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    yield buffer.getvalue()
    # A session of its own, open exactly as long as the stream: the request's session may be gone.
    with factory() as session:
        for batch in repository.batches(session, query, batch_size):
            buffer.seek(0)
            buffer.truncate()
            writer.writerows(format_cells(cells(row)) for row in batch)
            yield buffer.getvalue()


def _direct(columns: tuple[ExportColumn, ...]) -> Cells:
    header = names(columns)

    def cells(row: AnyRow) -> list[Any]:
        values = row._mapping
        return [values[name] for name in header]

    return cells


def _credit_cells(row: AnyRow) -> list[Any]:
    values = dict(row._mapping)
    values["credit_reporting_minor"] = times(values["credit_minor"], values["stage_rate"])
    return [values[name] for name in _CREDIT_HEADER]


def _opportunity_cells(row: AnyRow) -> list[Any]:
    values = dict(row._mapping)
    amount, pipeline_rate, revenue_rate = (
        values["amount_minor"],
        values["pipeline_rate"],
        values["revenue_rate"],
    )
    values["pipeline_amount_reporting_minor"] = times(amount, pipeline_rate)
    values["revenue_amount_reporting_minor"] = (
        times(amount, revenue_rate) if values["is_won"] else None
    )
    values["pipeline_attributed_reporting_minor"] = times(
        values["pipeline_attributed_minor"], pipeline_rate
    )
    values["revenue_attributed_reporting_minor"] = times(
        values["revenue_attributed_minor"], revenue_rate
    )
    return [values[name] for name in _OPPORTUNITY_HEADER]


def credits_csv(
    factory: sessionmaker[Session],
    *,
    workspace_id: int,
    run_id: int,
    batch_size: int = BATCH_ROWS,
) -> Iterator[str]:
    """Every credit of the run: one row per stage, opportunity and touch."""
    query = repository.credits_query(workspace_id, run_id)
    return _stream(factory, query, CREDIT_COLUMNS, _credit_cells, batch_size)


def opportunities_csv(
    factory: sessionmaker[Session],
    *,
    workspace_id: int,
    run_id: int,
    batch_size: int = BATCH_ROWS,
) -> Iterator[str]:
    """The run's snapshot of every opportunity, with its flags, credit and rates."""
    query = repository.opportunities_query(workspace_id, run_id)
    return _stream(factory, query, OPPORTUNITY_COLUMNS, _opportunity_cells, batch_size)


def touchpoints_csv(
    factory: sessionmaker[Session], *, workspace_id: int, batch_size: int = BATCH_ROWS
) -> Iterator[str]:
    """Every stored touch of the workspace, staff and duplicates included."""
    query = repository.touchpoints_query(workspace_id)
    return _stream(factory, query, TOUCHPOINT_COLUMNS, _direct(TOUCHPOINT_COLUMNS), batch_size)

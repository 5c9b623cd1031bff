"""The views bi_credits, bi_opportunities and bi_touchpoints hold the rows of the CSV exports, with the
same columns, on both backends; on PostgreSQL they are read the way a BI tool reads them: as the
workspace's read-only role."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from app.exports.schemas import VIEWS, ExportColumn, names
from tests.conftest import Api
from tests.exports.conftest import BiLogin, Workspaces, connect_as, csv_rows, export


def cell(value: Any, column: ExportColumn) -> Any:
    """A view's value as the export writes it; decimals stay numbers (compared apart)."""
    if value is None:
        return ""
    if column.type == "decimal":
        return value
    if column.type == "boolean":
        return str(bool(value))
    if column.type == "timestamp":
        if isinstance(value, str):  # SQLite keeps naive UTC text
            value = datetime.fromisoformat(value).replace(tzinfo=UTC)
        return value.isoformat().replace("+00:00", "Z")
    if column.type == "date":
        return value.isoformat() if isinstance(value, date) else value
    if column.type == "float":
        return repr(float(value))
    return str(value)


def read_view(
    backend: str,
    database_url: str,
    logins: dict[int, BiLogin],
    view: str,
    api: Api,
    run_id: int | None,
) -> tuple[list[str], list[tuple[Any, ...]]]:
    query = f"SELECT * FROM {view}" + ("" if run_id is None else f" WHERE run_id = {run_id}")
    if backend == "postgresql":
        login = logins[api.workspace_id]
        with connect_as(database_url, login.role, login.password) as connection:
            cursor = connection.execute(query)
            return [d.name for d in cursor.description or ()], list(cursor.fetchall())
    engine = create_engine(database_url)
    try:
        where = " AND " if run_id is not None else " WHERE "
        with engine.connect() as connection:
            result = connection.execute(
                text(query + where + "workspace_id = :workspace"), {"workspace": api.workspace_id}
            )
            return list(result.keys()), [tuple(row) for row in result]
    finally:
        engine.dispose()


def same_decimal(backend: str, view_value: Any, exported: str) -> bool:
    if view_value == "" or exported == "":
        return bool(view_value == exported)
    if backend == "postgresql":
        return bool(Decimal(view_value) == Decimal(exported))
    # SQLite has no decimal type: the view multiplies floats, the export exact decimals
    return math.isclose(float(view_value), float(exported), rel_tol=1e-12)


def split(
    row: Sequence[Any], columns: Sequence[ExportColumn]
) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
    exact = tuple(v for v, c in zip(row, columns, strict=True) if c.type != "decimal")
    decimals = tuple(v for v, c in zip(row, columns, strict=True) if c.type == "decimal")
    return exact, decimals


@pytest.mark.parametrize("view", sorted(VIEWS))
def test_a_view_holds_the_rows_of_its_export(
    view: str,
    workspaces: Workspaces,
    bi_logins: dict[int, BiLogin],
    backend: str,
    database_url: str,
) -> None:
    columns = VIEWS[view]
    export_name = view.removeprefix("bi_")
    for api, run_id in (
        (workspaces.golden, workspaces.golden_run),
        (workspaces.small, workspaces.small_run),
    ):
        by_run = export_name != "touchpoints"
        keys, rows = read_view(
            backend, database_url, bi_logins, view, api, run_id if by_run else None
        )
        assert keys == ["workspace_id", *names(columns)]
        assert rows
        assert {row[0] for row in rows} == {api.workspace_id}
        in_view = sorted(
            split([cell(v, c) for v, c in zip(row[1:], columns, strict=True)], columns)
            for row in rows
        )
        exported = sorted(
            split([r[name] for name in names(columns)], columns)
            for r in csv_rows(export(api, export_name, **({"run": run_id} if by_run else {})))
        )
        assert [exact for exact, _ in in_view] == [exact for exact, _ in exported]
        for (_, view_decimals), (_, export_decimals) in zip(in_view, exported, strict=True):
            assert all(
                same_decimal(backend, v, e)
                for v, e in zip(view_decimals, export_decimals, strict=True)
            ), (view_decimals, export_decimals)

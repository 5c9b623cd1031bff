"""Shared by the import tests: upload a file as the body, read what the database holds."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from app.db import build_engine, build_sessionmaker, transaction
from app.models import Member, MemberIdentity, Touchpoint
from tests.conftest import Api

CSV = "text/csv"
NDJSON = "application/x-ndjson"


def upload(
    api: Api,
    body: bytes | str,
    *,
    content_type: str = CSV,
    path: str = "/v1/touchpoints:import",
    headers: dict[str, str] | None = None,
    **params: Any,
) -> Any:
    data = body.encode() if isinstance(body, str) else body
    query = {"source": "zoom", **params}
    if isinstance(query.get("mapping"), dict):
        query["mapping"] = json.dumps(query["mapping"])
    return api.client.post(
        path,
        params=query,
        content=data,
        headers={**api.headers, "Content-Type": content_type, **(headers or {})},
    )


@contextmanager
def factory(api: Api) -> Iterator[sessionmaker[Session]]:
    engine = build_engine(api.client.app.state.settings)  # type: ignore[attr-defined]
    try:
        yield build_sessionmaker(engine)
    finally:
        engine.dispose()


@contextmanager
def reading(api: Api) -> Iterator[Session]:
    with factory(api) as make, transaction(make) as session:
        yield session


def stored_touches(api: Api) -> list[tuple[str, str, str]]:
    with reading(api) as session:
        rows = session.execute(
            select(Touchpoint.source, Touchpoint.external_id, Touchpoint.occurred_at)
            .where(Touchpoint.workspace_id == api.workspace_id)
            .order_by(Touchpoint.external_id)
        )
        return [(s, e, o.isoformat()) for s, e, o in rows]


def member_count(api: Api) -> int:
    with reading(api) as session:
        return int(
            session.scalar(
                select(func.count())
                .select_from(Member)
                .where(Member.workspace_id == api.workspace_id)
            )
            or 0
        )


def member_emails(api: Api) -> dict[str, list[str]]:
    with reading(api) as session:
        rows = session.execute(
            select(Member.external_id, MemberIdentity.value)
            .outerjoin(MemberIdentity, MemberIdentity.member_id == Member.id)
            .where(Member.workspace_id == api.workspace_id)
            .order_by(Member.external_id, MemberIdentity.value)
        )
        found: dict[str, list[str]] = {}
        for external_id, email in rows:
            found.setdefault(external_id, [])
            if email is not None:
                found[external_id].append(email)
        return found

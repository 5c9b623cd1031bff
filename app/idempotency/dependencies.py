"""The Idempotency-Key dependencies of batch and import routes."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Header, Request
from fastapi.concurrency import run_in_threadpool

from app.deps import ClockDep, SessionDep, WriteKey
from app.idempotency.service import Idempotency, fingerprint

KeyHeader = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        description="Any unique string (a UUID): a repeat with the same key and body answers the "
        "first answer again; with another body 422; while the first still runs 409. Kept 24 h.",
    ),
]


def _claim(
    request: Request,
    session: SessionDep,
    principal: WriteKey,
    clock: ClockDep,
    key: KeyHeader = None,
) -> Iterator[Idempotency]:
    guard = Idempotency(
        request.app.state.sessionmaker, workspace_id=principal.workspace_id, key=key, now=clock()
    )
    try:
        yield guard
    except BaseException:
        # the request's work is undone first: on SQLite its transaction holds the write lock
        # the release needs
        session.rollback()
        guard.abandon()
        raise


IdempotencyClaim = Annotated[Idempotency, Depends(_claim, scope="function")]
"""For routes that read their own body (imports): call ``begin`` once the body's digest is known."""


async def _begun(request: Request, guard: IdempotencyClaim) -> Idempotency:
    if guard.key is not None:
        digest = hashlib.sha256(await request.body()).hexdigest()
        await run_in_threadpool(guard.begin, fingerprint(request, digest))
    return guard


IdempotencyDep = Annotated[Idempotency, Depends(_begun)]
"""For JSON routes: the key is claimed (or the first answer replayed) before the handler runs."""

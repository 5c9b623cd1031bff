"""Reading a request body into a spooled temporary file, never whole into memory."""

from __future__ import annotations

import hashlib
import tempfile
from dataclasses import dataclass
from typing import IO

from fastapi import Request

from app.exceptions import AppError

IN_MEMORY_BYTES = 1024 * 1024


@dataclass
class Upload:
    file: IO[bytes]
    size: int
    sha256: str


async def spool_body(request: Request, *, limit: int, too_large: AppError) -> Upload:
    """The body in a temporary file (in memory up to 1 MiB, on disk beyond), with its size and
    digest; ``too_large`` is raised as soon as it passes ``limit`` bytes."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_large
    spool = tempfile.SpooledTemporaryFile(max_size=IN_MEMORY_BYTES)  # noqa: SIM115 (handed over)
    size = 0
    digest = hashlib.sha256()
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise too_large
            digest.update(chunk)
            spool.write(chunk)
    except BaseException:
        spool.close()
        raise
    spool.seek(0)
    return Upload(file=spool, size=size, sha256=digest.hexdigest())

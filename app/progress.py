"""Progress of long command-line work: a bar on a terminal, plain periodic lines otherwise.

Work reports ``(phase, done, total)``; a terminal shows one rich progress bar per phase, anything else
(a log collector, CI, a pipe) gets a line when a phase starts, at most every few seconds while it
runs, and when it ends.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TextIO

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

# (phase, done, total): done of total units of the phase are finished
Report = Callable[[str, int, int], None]

PLAIN_EVERY_SECONDS = 5.0


class _Plain:
    def __init__(self, stream: TextIO, every: float) -> None:
        self._stream = stream
        self._every = every
        self._phase: str | None = None
        self._last = 0.0

    def __call__(self, phase: str, done: int, total: int) -> None:
        now = time.monotonic()
        new_phase = phase != self._phase
        if new_phase or done >= total or now - self._last >= self._every:
            self._stream.write(f"{phase}: {done}/{total}\n")
            self._stream.flush()
            self._phase, self._last = phase, now


class _Bars:
    def __init__(self, progress: Progress) -> None:
        self._progress = progress
        self._tasks: dict[str, TaskID] = {}

    def __call__(self, phase: str, done: int, total: int) -> None:
        task = self._tasks.get(phase)
        if task is None:
            task = self._tasks[phase] = self._progress.add_task(phase, total=total)
        self._progress.update(task, completed=done, total=total)


@contextmanager
def progress(
    stream: TextIO | None = None, *, every: float = PLAIN_EVERY_SECONDS
) -> Iterator[Report]:
    """A reporter for the duration of the block, drawn on ``stream`` (default: standard error)."""
    stream = stream or sys.stderr
    if not stream.isatty():
        yield _Plain(stream, every)
        return
    columns = (
        TextColumn("{task.description:<24}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=Console(file=stream)) as bars:
        yield _Bars(bars)

"""Page-size advice for the engine's arrays.

On Linux NumPy advises the kernel to back every array of 4 MB or more with transparent huge
pages (NumPy's documented ``NUMPY_MADVISE_HUGEPAGE`` global state). The engine allocates
dozens of short-lived arrays of that size per run, and each first touch of a fresh huge page
is a 2 MB fault: on the project's virtual machines that fault cost more than the work done
with the page (at 10,000,000 touches, system time was half of ``prepare``'s CPU time, with
the same user time). So the engine's entry points turn the advice off while they run and
restore it after, whatever the process set.
"""

from __future__ import annotations

import functools
import importlib
import threading
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")

_lock = threading.Lock()
_depth = 0
_saved: bool | None = None


def _toggle() -> Callable[[bool], bool] | None:
    """NumPy's setter (returns the previous setting), or None where this NumPy has none."""
    module: Any = importlib.import_module("numpy._core.multiarray")
    setter = getattr(module, "_set_madvise_hugepage", None)
    return setter if callable(setter) else None


def _enter() -> None:
    global _depth, _saved
    with _lock:
        if _depth == 0:
            setter = _toggle()
            _saved = bool(setter(False)) if setter is not None else None
        _depth += 1


def _exit() -> None:
    global _depth, _saved
    with _lock:
        _depth -= 1
        if _depth == 0 and _saved is not None:
            setter = _toggle()
            if setter is not None:
                setter(_saved)
            _saved = None


def small_pages(function: Callable[P, R]) -> Callable[P, R]:
    """Run ``function`` without huge-page advice for new arrays (nested and threaded calls
    share one setting, restored when the last of them returns)."""

    @functools.wraps(function)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        _enter()
        try:
            return function(*args, **kwargs)
        finally:
            _exit()

    return wrapper

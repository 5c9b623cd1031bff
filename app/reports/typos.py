"""Unknown filter values are errors, not empty reports: a 422 naming the parameter and the
closest valid values (difflib), so that ``stage=Closed Wonn`` is never read as zero."""

from __future__ import annotations

import difflib
from collections.abc import Collection

from app.exceptions import InvalidInput

_SHOWN = 10


def suggestions(value: str, valid: Collection[str]) -> str:
    """``did you mean 'a', 'b'?`` from the close matches (case-insensitive), else up to ten
    valid values, else that there are none."""
    if not valid:
        return "there are none"
    by_lower: dict[str, str] = {}
    for candidate in sorted(valid):
        by_lower.setdefault(candidate.lower(), candidate)
    close = difflib.get_close_matches(value.lower(), list(by_lower), n=5, cutoff=0.6)
    if close:
        return "did you mean " + ", ".join(repr(by_lower[c]) for c in close) + "?"
    shown = sorted(valid)[:_SHOWN]
    more = f" (and {len(valid) - _SHOWN} more)" if len(valid) > _SHOWN else ""
    return "valid values: " + ", ".join(repr(v) for v in shown) + more


def unknown(parameter: str, value: str, valid: Collection[str], what: str) -> InvalidInput:
    return InvalidInput.at(
        ("query", parameter), f"unknown {what} {value!r}; {suggestions(value, valid)}"
    )


def check_known(parameter: str, values: Collection[str], valid: Collection[str], what: str) -> None:
    """Raise the 422 for the first of ``values`` not in ``valid``."""
    known = set(valid)
    for value in values:
        if value not in known:
            raise unknown(parameter, value, known, what)

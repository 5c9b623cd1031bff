"""Touches merged as duplicates, by the engine's rule (DESIGN.md section 3, Fine print): per person
and activity type, the earliest touch is kept and every touch within the window (inclusive) of the
kept touch is dropped; the first touch beyond it is kept and starts a new group."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt


def duplicate_mask(
    group: npt.NDArray[np.int64], time_us: npt.NDArray[np.int64], window_us: int
) -> npt.NDArray[np.bool_]:
    """Which touches are dropped, given touches sorted by (group, touch order).

    Only runs of neighbours that are within the window of each other need the greedy walk;
    everything else is kept without looking at it twice.
    """
    n = group.size
    dropped = np.zeros(n, dtype=np.bool_)
    if n < 2:
        return dropped
    close = np.zeros(n, dtype=np.bool_)
    close[1:] = (group[1:] == group[:-1]) & (time_us[1:] - time_us[:-1] <= window_us)
    for position in np.flatnonzero(close[1:] & ~close[:-1]):
        head = int(position)  # the run's first touch: always kept
        kept = int(time_us[head])
        index = head + 1
        while index < n and close[index]:
            here = int(time_us[index])
            if here - kept <= window_us:
                dropped[index] = True
            else:
                kept = here
            index += 1
    return dropped

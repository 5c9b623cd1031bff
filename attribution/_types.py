"""Array aliases shared by the engine's modules."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
CodeArray = npt.NDArray[np.int32]
"""Channel codes: indices into a short tuple of labels, kept small (pairs can be many)."""
IndexArray = npt.NDArray[np.int32]
"""Per-element journey numbers and positions: 32-bit, as a run keeps one per element of each
stage; widen to int64 before packing them into larger integers."""

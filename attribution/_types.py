"""Array aliases shared by the engine's modules."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
CodeArray = npt.NDArray[np.int32]
"""Channel codes: indices into a short tuple of labels, kept small (pairs can be many)."""

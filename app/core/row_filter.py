"""Which result rows a user leaves out: low-quality faces and readings the model is unsure of.

One rule for every place that drops rows: `analyze --good-quality-only --max-std SD` (before the CSV
is written) and the Viewer's edits (figures, summary, report and cleaned CSV; the recording itself is
never changed). A row is dropped when its `quality` verdict is "low" (with `good_quality_only`) or when
its predicted valence or arousal standard deviation is above `max_std`. A row without a verdict (not
measured) or without an SD (a model with no uncertainty head) is never dropped by that rule.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from app.core.recorder import UNCERTAINTY_COLUMNS
from app.core.settings import LOW_QUALITY


@dataclass(frozen=True)
class RowFilter:
    """Leave out low-quality rows and/or rows whose predicted V/A SD is above `max_std` (None: keep)."""

    good_quality_only: bool = False
    max_std: float | None = None

    def __post_init__(self) -> None:
        if self.max_std is not None and not (math.isfinite(self.max_std) and self.max_std > 0):
            raise ValueError(f"the largest standard deviation kept must be > 0, got {self.max_std}")

    @property
    def active(self) -> bool:
        """True when the filter can drop anything."""
        return self.good_quality_only or self.max_std is not None

    def dropped(self, quality: np.ndarray, valence_std: np.ndarray, arousal_std: np.ndarray) -> np.ndarray:
        """(n,) bool: the rows left out. quality: (n,) str verdicts; valence_std, arousal_std: (n,)
        float, NaN where there is none."""
        out = np.zeros(len(quality), dtype=bool)
        if self.good_quality_only:
            out |= np.asarray(quality, dtype=object) == LOW_QUALITY
        if self.max_std is not None:
            with np.errstate(invalid="ignore"):  # NaN (no SD) compares False: kept
                out |= (np.asarray(valence_std, np.float64) > self.max_std) | (
                    np.asarray(arousal_std, np.float64) > self.max_std
                )
        return out

    def drops_row(self, cells: Mapping[str, str]) -> bool:
        """True when the CSV row `cells` (column -> cell text) is left out."""
        stds = [_number(cells.get(name, "")) for name in UNCERTAINTY_COLUMNS]
        return bool(self.dropped(np.array([cells.get("quality", "")], dtype=object),
                                 np.array(stds[:1]), np.array(stds[1:]))[0])


def _number(cell: str) -> float:
    """A CSV cell as float; NaN when empty or not a number."""
    try:
        return float(cell)
    except ValueError:
        return math.nan

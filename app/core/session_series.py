"""Time series of one face of a recording, ready to plot (the Viewer's figures and `report`'s).

    series = face_series(table, annotations, face_id, "smoothed")   # FaceSeries: t, valence, arousal, ...
    t, y = thin(series.t, series.valence, 4000)                      # at most ~4000 points, gaps kept

Rows in an excluded range are left out, merged ids count as the id they were merged into, and a gap in
time longer than `GAP_FRAMES` frame intervals (the face left the view) is a NaN, so a line is broken
there instead of bridging it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from app.core.segment_summary import SIGNALS
from app.core.session_annotations import SessionAnnotations
from app.core.session_table import SessionTable
from model.config import CLASS_NAMES

GAP_FRAMES = 3.0  # a face unseen for more than this many frame intervals is drawn with a break


@dataclass(frozen=True)
class FaceSeries:
    """One face's rows in time order (n rows, NaN rows mark breaks)."""

    face_id: int
    t: np.ndarray  # (n,) seconds
    valence: np.ndarray  # (n,)
    arousal: np.ndarray  # (n,)
    probabilities: np.ndarray  # (n, 8) in CLASS_NAMES order


def _with_breaks(t: np.ndarray, columns: list[np.ndarray], max_gap: float) -> tuple[np.ndarray, list]:
    """Insert a NaN row after each gap in `t` longer than `max_gap`."""
    if len(t) < 2 or max_gap <= 0:
        return t, columns
    gaps = np.flatnonzero(np.diff(t) > max_gap) + 1  # positions where a break goes
    if len(gaps) == 0:
        return t, columns
    t = np.insert(t, gaps, np.nan)
    return t, [np.insert(c, gaps, np.nan, axis=0) for c in columns]


def face_series(
    table: SessionTable, annotations: SessionAnnotations, face_id: int, signal: str = "raw"
) -> FaceSeries:
    """The rows of `face_id` (after merges; excluded ranges and, when asked, low-quality rows left out),
    with breaks at gaps."""
    v_col, a_col = SIGNALS[signal]
    t_all = table.timestamps
    rows = (annotations.resolved_ids(table.face_ids) == face_id) & ~annotations.dropped_rows(table)
    probabilities = np.stack([table.number(f"p_{name}")[rows] for name in CLASS_NAMES], axis=1)  # (n,8)
    max_gap = GAP_FRAMES * table.frame_interval_s()
    t, (v, a, p) = _with_breaks(
        t_all[rows], [table.number(v_col)[rows], table.number(a_col)[rows], probabilities], max_gap
    )
    return FaceSeries(face_id, t, v, a, p)


def thin(t: np.ndarray, values: np.ndarray, max_points: int) -> tuple[np.ndarray, np.ndarray]:
    """At most about `max_points` points of (t, values): the means of consecutive equal-count bins
    (values (n,) or (n, k); NaN breaks survive as NaN bins). Short series are returned as they are."""
    n = len(t)
    if n <= max_points:
        return t, values
    size = int(np.ceil(n / max_points))
    cut = n - n % size
    shape = (cut // size, size) + values.shape[1:]
    t_bins = t[:cut].reshape(cut // size, size)
    v_bins = values[:cut].reshape(shape)
    with np.errstate(invalid="ignore"):
        tb, vb = t_bins.mean(axis=1), v_bins.mean(axis=1)  # a bin holding a break becomes NaN
    if cut < n:
        tb = np.append(tb, t[cut:].mean())
        vb = np.concatenate([vb, values[cut:].mean(axis=0, keepdims=True)])
    return tb, vb

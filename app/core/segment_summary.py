"""Per face and per segment figures of a recording, for the Viewer's summary table and `report`.

A segment is a time span of the recording: the whole recording, the span from one marker to the next
(`marker_segments`), or a named stimulus interval of the annotation file. For every face and segment
(`summarize_segments`) a row holds: the segment's span and duration, the face's frames in it (rows not
in an excluded range), the time they stand for (frames x the median frame interval), the mean and SD of
valence and arousal, the time and share in each circumplex zone (app.core.summary.QUADRANTS, with the
neutral radius of SummarySettings), the dominant expression and the share of frames each expression was
the dominant one.

Conventions (the same as the end-of-session summary): SD is the sample SD (ddof=1), empty below two
values; a zone boundary value of exactly 0 counts as positive valence / high arousal. Marker segments
are half-open [start, next start); the last one ends one frame interval after the last frame. Named
intervals include both ends. Merged ids count as the id they were merged into; labels are the user's.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from app.core.session_annotations import SessionAnnotations
from app.core.session_table import SessionTable
from app.core.settings import SummarySettings
from app.core.summary import QUADRANT_NAMES, quadrant_index
from model.config import CLASS_NAMES, VA_DIMENSIONS
from model.io import write_text_atomic

# Which V/A columns a figure or a summary reads: the model's output, the smoothed value, or the smoothed
# value minus the face's neutral baseline (empty until a baseline was recorded).
SIGNALS: dict[str, tuple[str, str]] = {
    "raw": VA_DIMENSIONS,
    "smoothed": ("valence_smoothed", "arousal_smoothed"),
    "corrected": ("valence_corrected", "arousal_corrected"),
}
DEFAULT_SIGNAL = "raw"
WHOLE = "whole recording"
BEFORE_FIRST_MARKER = "(before the first marker)"

SUMMARY_COLUMNS: tuple[str, ...] = (
    "face_id",
    "face_label",
    "segment",
    "start_s",
    "end_s",
    "duration_s",
    "frames",
    "face_time_s",
    "valence_mean",
    "valence_sd",
    "arousal_mean",
    "arousal_sd",
    *(f"time_{name}_s" for name in QUADRANT_NAMES),
    *(f"share_{name}" for name in QUADRANT_NAMES),
    "dominant_expression",
    *(f"share_dominant_{name}" for name in CLASS_NAMES),
)


@dataclass(frozen=True)
class Segment:
    """A named span of the recording; `closed` includes `end_s` (named intervals), else [start, end)."""

    name: str
    start_s: float
    end_s: float
    closed: bool = False

    def holds(self, t: np.ndarray) -> np.ndarray:
        """(n,) bool: which timestamps fall in the segment."""
        return (t >= self.start_s) & ((t <= self.end_s) if self.closed else (t < self.end_s))


def recording_span(table: SessionTable) -> tuple[float, float]:
    """(first timestamp, last timestamp + one frame interval): the time the recording covers."""
    t = table.timestamps
    if len(t) == 0:
        return 0.0, 0.0
    return float(t.min()), float(t.max()) + table.frame_interval_s()


def marker_segments(table: SessionTable) -> list[Segment]:
    """The whole recording, then one segment from each marker to the next (and the part before the
    first marker, when there is one); segments of zero length are left out."""
    start, end = recording_span(table)
    segments = [Segment(WHOLE, start, end)]
    bounds = [(start, BEFORE_FIRST_MARKER)] + [(t, text) for t, text in table.markers()]
    for (t0, name), (t1, _) in zip(bounds, [*bounds[1:], (end, "")], strict=True):
        if t1 > t0:
            segments.append(Segment(name, t0, t1))
    return segments


def interval_segments(table: SessionTable, annotations: SessionAnnotations) -> list[Segment]:
    """The whole recording, then each named interval of the annotation file (ends included)."""
    start, end = recording_span(table)
    return [Segment(WHOLE, start, end)] + [
        Segment(r.text or f"interval {i + 1}", r.start_s, r.end_s, True)
        for i, r in enumerate(annotations.intervals)
    ]


def _stat(values: np.ndarray) -> tuple[float | None, float | None]:
    """(mean, sample SD) of the finite values; None where undefined."""
    values = values[np.isfinite(values)]
    if len(values) == 0:
        return None, None
    return float(values.mean()), (float(values.std(ddof=1)) if len(values) > 1 else None)


def summarize_segments(
    table: SessionTable,
    annotations: SessionAnnotations,
    segments: Sequence[Segment],
    signal: str = DEFAULT_SIGNAL,
    neutral_radius: float = SummarySettings().neutral_radius,
) -> list[dict[str, object]]:
    """One row (SUMMARY_COLUMNS -> value; None where undefined) per face and segment, faces ascending,
    segments in the given order; a face absent from a segment gets a row with 0 frames."""
    v_col, a_col = SIGNALS[signal]
    t = table.timestamps
    ids = annotations.resolved_ids(table.face_ids)
    kept = (ids >= 0) & ~annotations.dropped_rows(table)
    v, a = table.number(v_col), table.number(a_col)
    expressions, recorded_labels = table.text("expression"), table.text("face_label")
    dt = table.frame_interval_s()
    rows = []
    for face in sorted(int(i) for i in np.unique(ids[kept])):
        of_face = kept & (ids == face)
        label_rows = recorded_labels[of_face & (recorded_labels != "")]
        label = annotations.label(face, str(label_rows[-1]) if len(label_rows) else "")
        for segment in segments:
            rows_in = of_face & segment.holds(t)
            n = int(rows_in.sum())
            row: dict[str, object] = dict.fromkeys(SUMMARY_COLUMNS)
            row.update(
                face_id=face,
                face_label=label,
                segment=segment.name,
                start_s=segment.start_s,
                end_s=segment.end_s,
                duration_s=segment.end_s - segment.start_s,
                frames=n,
                face_time_s=n * dt,
            )
            if n:
                fv, fa = v[rows_in], a[rows_in]
                row["valence_mean"], row["valence_sd"] = _stat(fv)
                row["arousal_mean"], row["arousal_sd"] = _stat(fa)
                both = np.isfinite(fv) & np.isfinite(fa)
                zones = np.bincount(
                    quadrant_index(fv[both], fa[both], neutral_radius), minlength=len(QUADRANT_NAMES)
                )
                for k, name in enumerate(QUADRANT_NAMES):
                    row[f"time_{name}_s"] = int(zones[k]) * dt
                    row[f"share_{name}"] = int(zones[k]) / max(1, int(both.sum()))
                names, counts = np.unique(expressions[rows_in].astype(str), return_counts=True)
                row["dominant_expression"] = str(names[np.argmax(counts)])
                share = dict(zip(names.tolist(), (counts / n).tolist(), strict=True))
                for name in CLASS_NAMES:
                    row[f"share_dominant_{name}"] = share.get(name, 0.0)
            rows.append(row)
    return rows


def summary_cell(value: object) -> str:
    """A summary value as CSV text: empty for None, 6 decimals for a float."""
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6f}"
    return str(value)


def summary_text(rows: Sequence[dict[str, object]], delimiter: str = ",") -> str:
    """The rows as CSV text with a header (`delimiter` "\\t" for the clipboard: it pastes into sheets)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\n")
    writer.writerow(SUMMARY_COLUMNS)
    for row in rows:
        writer.writerow([summary_cell(row[c]) for c in SUMMARY_COLUMNS])
    return buffer.getvalue()


def write_summary_csv(rows: Sequence[dict[str, object]], path: str | Path) -> Path:
    """Save the rows as a CSV file (atomically)."""
    return write_text_atomic(path, summary_text(rows))

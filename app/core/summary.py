"""End-of-session summary of a session CSV: per face mean/SD of V/A, circumplex quadrant shares, dominant
expression, plus the session's markers. Written as NAME.summary.json and NAME.summary.md.

The summary is computed from the CSV itself (not from memory), so it describes exactly the rows that were
kept, and it can be recomputed for a recording whose process was killed (`summarize_csv`).

Conventions:
- mean/SD use the raw model outputs (`valence`, `arousal`); SD is the sample SD (ddof=1, as R's `sd`),
  null for a face seen in a single frame. `*_corrected` statistics are given when a baseline existed.
- Quadrant shares are shares of the face's processed frames (equal to time shares at a steady frame rate),
  from the raw V/A. Frames within `neutral_radius` of the origin (SummarySettings, default 0.1) are
  the `neutral` share, not a quadrant's; the radius used is written into the summary. Outside it, a
  value of exactly 0 counts as positive valence / high arousal.
- The dominant expression is the most frequent argmax expression over the face's frames.
"""

from __future__ import annotations

import csv
import json
import math
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from app.core.settings import SummarySettings
from model.io import write_text_atomic

QUADRANTS = (
    ("neutral", "neutral zone (sqrt(V^2 + A^2) < the neutral radius)"),
    ("positive_high_arousal", "pleasant, activated (V >= 0, A >= 0)"),
    ("negative_high_arousal", "unpleasant, activated (V < 0, A >= 0)"),
    ("negative_low_arousal", "unpleasant, deactivated (V < 0, A < 0)"),
    ("positive_low_arousal", "pleasant, deactivated (V >= 0, A < 0)"),
)


QUADRANT_NAMES = tuple(name for name, _ in QUADRANTS)


def quadrant_index(valence: np.ndarray, arousal: np.ndarray, neutral_radius: float) -> np.ndarray:
    """(n,) int index into QUADRANTS of each (valence, arousal) pair: 0 neutral, then the four quadrants."""
    v, a = np.asarray(valence, dtype=np.float64), np.asarray(arousal, dtype=np.float64)  # (n,), (n,)
    index = np.where(a >= 0.0, np.where(v >= 0.0, 1, 2), np.where(v >= 0.0, 4, 3))
    return np.where(np.hypot(v, a) < neutral_radius, 0, index)


def _mean_sd(values: list[float]) -> dict[str, float | None]:
    """{"mean", "sd"} of `values` (sample SD, None below two values; both None when empty)."""
    n = len(values)
    if n == 0:
        return {"mean": None, "sd": None}
    mean = math.fsum(values) / n
    sd = math.sqrt(math.fsum((v - mean) ** 2 for v in values) / (n - 1)) if n > 1 else None
    return {"mean": mean, "sd": sd}


def _float(text: str) -> float | None:
    """CSV cell -> float, None when empty."""
    return float(text) if text not in ("", None) else None


def summarize_rows(rows: Iterable[dict[str, str]],
                   neutral_radius: float = SummarySettings().neutral_radius) -> dict[str, Any]:
    """Summarise session CSV rows (dicts of column -> text, as csv.DictReader yields them)."""
    frames: set[int] = set()
    no_face_frames: set[int] = set()
    timestamps: list[float] = []
    markers: list[dict[str, Any]] = []
    marked_frames: set[tuple[int, str]] = set()
    faces: dict[int, dict[str, Any]] = {}
    session_id = participant = ""
    for row in rows:
        session_id, participant = row.get("session_id", ""), row.get("participant", "")
        frame = int(row["frame"])
        ts = float(row["timestamp_s"])
        frames.add(frame)
        timestamps.append(ts)
        marker = row.get("marker", "")
        if marker and (frame, marker) not in marked_frames:
            marked_frames.add((frame, marker))
            markers.append({"frame": frame, "timestamp_s": ts, "text": marker})
        if row["status"] == "no_face" or row["face_id"] == "":
            no_face_frames.add(frame)
            continue
        face = faces.setdefault(
            int(row["face_id"]),
            {"timestamps": [], "v": [], "a": [], "vc": [], "ac": [],
             "expr": Counter()},
        )
        v, a = float(row["valence"]), float(row["arousal"])
        face["timestamps"].append(ts)
        face["v"].append(v)
        face["a"].append(a)
        vc, ac = _float(row.get("valence_corrected", "")), _float(row.get("arousal_corrected", ""))
        if vc is not None and ac is not None:
            face["vc"].append(vc)
            face["ac"].append(ac)
        face["expr"][row["expression"]] += 1

    face_summaries = []
    for face_id in sorted(faces):
        face = faces[face_id]
        n = len(face["v"])
        expr_share = {name: count / n for name, count in face["expr"].most_common()}
        zones = np.bincount(quadrant_index(face["v"], face["a"], neutral_radius), minlength=len(QUADRANTS))
        face_summaries.append({
            "face_id": face_id,
            "n_frames": n,
            "first_timestamp_s": min(face["timestamps"]),
            "last_timestamp_s": max(face["timestamps"]),
            "valence": _mean_sd(face["v"]),
            "arousal": _mean_sd(face["a"]),
            "n_corrected_frames": len(face["vc"]),
            "valence_corrected": _mean_sd(face["vc"]) if face["vc"] else None,
            "arousal_corrected": _mean_sd(face["ac"]) if face["ac"] else None,
            "quadrant_share": {name: int(zones[k]) / n for k, name in enumerate(QUADRANT_NAMES)},
            "dominant_expression": face["expr"].most_common(1)[0][0],
            "expression_share": expr_share,
        })
    return {
        "session_id": session_id,
        "participant": participant,
        "n_frames": len(frames),
        "n_no_face_frames": len(no_face_frames),
        "duration_s": (max(timestamps) - min(timestamps)) if timestamps else 0.0,
        "neutral_radius": neutral_radius,
        "markers": markers,
        "faces": face_summaries,
    }


def summarize_csv(csv_path: str | Path,
                  neutral_radius: float = SummarySettings().neutral_radius) -> dict[str, Any]:
    """Summarise a session CSV file; a torn last line (a killed process) is skipped."""
    csv_path = Path(csv_path)
    with csv_path.open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        rows = [row for row in reader if _is_complete(row, reader.fieldnames)]
    summary = summarize_rows(rows, neutral_radius)
    summary["csv"] = csv_path.name
    return summary


def _is_complete(row: dict[str, str | None], fieldnames: list[str] | None) -> bool:
    """True when a CSV row holds every column (a row cut short by a crash does not)."""
    if None in row or not fieldnames:
        return False
    last = fieldnames[-1]
    return row.get(last) is not None and all(row.get(k) is not None for k in ("frame", "timestamp_s"))


def _fmt(value: float | None, digits: int = 3) -> str:
    """Number for the Markdown table; an em dash when missing."""
    return "—" if value is None else f"{value:.{digits}f}"


def summary_markdown(summary: dict[str, Any]) -> str:
    """A human-readable Markdown rendering of `summarize_rows`' output."""
    lines = [
        f"# Session summary: {summary.get('session_id', '')}",
        "",
        f"- Participant: {summary.get('participant') or '—'}",
        f"- Processed frames: {summary['n_frames']} ({summary['n_no_face_frames']} without a face)",
        f"- Duration: {summary['duration_s']:.1f} s",
    ]
    model = summary.get("model")
    if model:
        lines.append(f"- Model: {model.get('name', '')} (V/A {model.get('va_source', '')}, "
                     f"sha256 {str(model.get('sha256', ''))[:12]})")
    lines += ["", "## Faces", ""]
    if not summary["faces"]:
        lines.append("No face was detected in this session.")
    else:
        header = ["face", "frames", "valence mean", "valence SD", "arousal mean", "arousal SD",
                  *(name for name, _ in QUADRANTS), "dominant expression"]
        lines.append("| " + " | ".join(header) + " |")
        lines.append("|" + "---|" * len(header))
        for face in summary["faces"]:
            cells = [str(face["face_id"]), str(face["n_frames"]),
                     _fmt(face["valence"]["mean"]), _fmt(face["valence"]["sd"]),
                     _fmt(face["arousal"]["mean"]), _fmt(face["arousal"]["sd"]),
                     *(f"{100 * face['quadrant_share'][name]:.1f}%" for name, _ in QUADRANTS),
                     face["dominant_expression"]]
            lines.append("| " + " | ".join(cells) + " |")
        corrected = [f for f in summary["faces"] if f["valence_corrected"] is not None]
        if corrected:
            lines += ["", "Baseline-corrected (smoothed minus the neutral baseline):", "",
                      "| face | frames | valence mean | valence SD | arousal mean | arousal SD |",
                      "|---|---|---|---|---|---|"]
            for face in corrected:
                vc, ac = face["valence_corrected"], face["arousal_corrected"]
                lines.append(f"| {face['face_id']} | {face['n_corrected_frames']} | {_fmt(vc['mean'])} | "
                             f"{_fmt(vc['sd'])} | {_fmt(ac['mean'])} | {_fmt(ac['sd'])} |")
        radius = summary.get("neutral_radius")
        lines += ["", "Zones: " + "; ".join(f"{name} = {text}" for name, text in QUADRANTS)
                  + (f"; neutral radius {radius:g}." if radius is not None else ".")]
    if summary["markers"]:
        lines += ["", "## Markers", "", "| frame | time (s) | text |", "|---|---|---|"]
        for m in summary["markers"]:
            text = m["text"].replace("|", "\\|")
            lines.append(f"| {m['frame']} | {m['timestamp_s']:.2f} | {text} |")
    return "\n".join(lines) + "\n"


def write_summary(
    summary: dict[str, Any], json_path: str | Path, md_path: str | Path, permissions: int | None = None
) -> None:
    """Write the summary as JSON and as Markdown (atomically, with file mode `permissions`)."""
    write_text_atomic(json_path, json.dumps(summary, indent=2) + "\n", permissions)
    write_text_atomic(md_path, summary_markdown(summary), permissions)

"""The Viewer's edits of one recording, kept in NAME.annotations.json beside NAME.csv.

The recording itself is never modified. What the user decides while reviewing it lives here:
- excluded time ranges, each with a reason ("blink", "looked away", "experimenter in view");
- participant labels for face ids ({3: "P07"});
- merges: a face id that is the same person as another one ({5: 3}: id 5 counts as 3 from now on);
- named stimulus intervals (a name, a start and an end), summarised like marker segments.

`export_cleaned_csv` writes a new CSV with the edits applied: excluded rows dropped, merged ids
replaced, labels written into `face_label`; every other cell is copied as it was in the recording.

An annotation file that cannot be read is never overwritten: `save` first moves it aside to
NAME.annotations.unreadable.json (and says so).
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from app.core.row_filter import RowFilter
from app.core.session_table import SessionTable
from model.io import atomic_write, write_text_atomic

FORMAT = "affectscope-annotations"
VERSION = 1


@dataclass(frozen=True)
class TimeRange:
    """[start_s, end_s] seconds of the recording with a text (an exclusion reason or an interval name)."""

    start_s: float
    end_s: float
    text: str = ""

    def __post_init__(self) -> None:
        if not (math.isfinite(self.start_s) and math.isfinite(self.end_s)) or self.end_s <= self.start_s:
            raise ValueError(f"a time range needs start < end, got {self.start_s} .. {self.end_s} s")

    def holds(self, t: np.ndarray) -> np.ndarray:
        """(n,) bool: which timestamps fall in the range (both ends included)."""
        return (t >= self.start_s) & (t <= self.end_s)


@dataclass
class SessionAnnotations:
    """Excluded ranges, id labels, id merges and named intervals of one recording."""

    excluded: list[TimeRange] = field(default_factory=list)
    labels: dict[int, str] = field(default_factory=dict)
    merges: dict[int, int] = field(default_factory=dict)  # id -> the id it is the same person as
    intervals: list[TimeRange] = field(default_factory=list)
    good_quality_only: bool = False  # leave out the rows whose `quality` verdict is "low"
    max_std: float | None = None  # leave out the rows whose predicted V/A SD is above this (None: keep)

    @property
    def row_filter(self) -> RowFilter:
        """The quality/uncertainty rule these edits apply (app.core.row_filter)."""
        return RowFilter(self.good_quality_only, self.max_std)

    def resolve(self, face_id: int) -> int:
        """The id `face_id` counts as after the merges (a chain 7 -> 5 -> 3 gives 3)."""
        seen = set()
        while face_id in self.merges and face_id not in seen:
            seen.add(face_id)
            face_id = self.merges[face_id]
        return face_id

    def resolved_ids(self, ids: np.ndarray) -> np.ndarray:
        """(n,) int64 ids after the merges (-1, "no face", stays -1)."""
        out = np.asarray(ids, dtype=np.int64).copy()
        for source in self.merges:
            out[out == source] = self.resolve(source)
        return out

    def label(self, face_id: int, recorded: str = "") -> str:
        """The label shown for a (resolved) id: the user's, else the one recorded with it."""
        return self.labels.get(face_id, recorded)

    def excluded_mask(self, timestamps: np.ndarray) -> np.ndarray:
        """(n,) bool: rows inside any excluded range."""
        mask = np.zeros(len(timestamps), dtype=bool)
        for time_range in self.excluded:
            mask |= time_range.holds(timestamps)
        return mask

    def dropped_rows(self, table: SessionTable) -> np.ndarray:
        """(n,) bool: the rows the edits leave out (excluded ranges; low-quality and uncertain rows when
        asked)."""
        dropped = self.excluded_mask(table.timestamps)
        return dropped | self.row_filter.dropped(
            table.text("quality"), table.number("valence_std"), table.number("arousal_std")
        )

    def merge(self, table: SessionTable, source: int, target: int) -> None:
        """Count face `source` as `target` from now on. ValueError when they are one id, unknown, or seen
        in the same frame (two faces in view at once cannot be one person)."""
        source, target = self.resolve(source), self.resolve(target)
        if source == target:
            raise ValueError(f"faces #{source} and #{target} are already one person")
        ids = self.resolved_ids(table.face_ids)
        known = set(np.unique(ids[ids >= 0]).tolist())
        for face in (source, target):
            if face not in known:
                raise ValueError(f"there is no face #{face} in {table.path.name}")
        frames = table.number("frame")
        both = np.intersect1d(frames[ids == source], frames[ids == target])
        if len(both):
            raise ValueError(
                f"faces #{source} and #{target} are both in view in {len(both)} frame(s) (e.g. frame "
                f"{int(both[0])}): they are two people, not one"
            )
        self.merges[source] = target
        if source in self.labels and target not in self.labels:
            self.labels[target] = self.labels[source]
        self.labels.pop(source, None)

    def to_json(self, csv_name: str) -> str:
        """The annotation file's text."""
        data = {
            "format": FORMAT,
            "version": VERSION,
            "csv": csv_name,
            "excluded": [{"start_s": r.start_s, "end_s": r.end_s, "reason": r.text} for r in self.excluded],
            "labels": {str(k): v for k, v in sorted(self.labels.items())},
            "merges": {str(k): v for k, v in sorted(self.merges.items())},
            "intervals": [{"name": r.text, "start_s": r.start_s, "end_s": r.end_s} for r in self.intervals],
            "good_quality_only": self.good_quality_only,
            "max_std": self.max_std,
        }
        return json.dumps(data, indent=2) + "\n"


def annotations_path(csv_path: str | Path) -> Path:
    """NAME.annotations.json beside NAME.csv."""
    csv_path = Path(csv_path)
    return csv_path.with_name(f"{csv_path.stem}.annotations.json")


def unreadable_path(csv_path: str | Path) -> Path:
    """Where an unreadable annotation file is moved before a new one is written."""
    csv_path = Path(csv_path)
    return csv_path.with_name(f"{csv_path.stem}.annotations.unreadable.json")


def _parse(data: object, path: Path) -> SessionAnnotations:
    """The annotations held by the JSON `data` of `path`; ValueError saying what is wrong."""
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ValueError(f'{path.name} is not an AffectScope annotation file (no "format": "{FORMAT}")')
    if data.get("version") != VERSION:
        raise ValueError(
            f"{path.name} has version {data.get('version')}; this AffectScope reads version {VERSION}"
        )
    try:
        return SessionAnnotations(
            excluded=[
                TimeRange(float(r["start_s"]), float(r["end_s"]), str(r.get("reason", "")))
                for r in data.get("excluded", [])
            ],
            labels={int(k): str(v) for k, v in data.get("labels", {}).items()},
            merges={int(k): int(v) for k, v in data.get("merges", {}).items()},
            intervals=[
                TimeRange(float(r["start_s"]), float(r["end_s"]), str(r.get("name", "")))
                for r in data.get("intervals", [])
            ],
            good_quality_only=bool(data.get("good_quality_only", False)),
            max_std=None if data.get("max_std") is None else float(data["max_std"]),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"{path.name} holds an entry that cannot be read ({exc})") from exc


def load_annotations(csv_path: str | Path) -> tuple[SessionAnnotations, str]:
    """The recording's annotations (empty when there is no file) and a note ("" when all is well); an
    unreadable file gives empty annotations and a note saying it is kept aside on the next save."""
    path = annotations_path(csv_path)
    if not path.is_file():
        return SessionAnnotations(), ""
    try:
        return _parse(json.loads(path.read_text(encoding="utf-8")), path), ""
    except (OSError, UnicodeDecodeError, ValueError) as exc:  # JSONDecodeError is a ValueError
        return SessionAnnotations(), (
            f"The annotation file {path.name} cannot be read ({exc}); it is not "
            f"used, and the next edit moves it to {unreadable_path(csv_path).name}."
        )


def save_annotations(csv_path: str | Path, annotations: SessionAnnotations) -> Path:
    """Write NAME.annotations.json atomically (an unreadable earlier file is moved aside first)."""
    path = annotations_path(csv_path)
    if path.is_file():
        try:
            _parse(json.loads(path.read_text(encoding="utf-8")), path)
        except (OSError, UnicodeDecodeError, ValueError):
            path.replace(unreadable_path(csv_path))
    return write_text_atomic(path, annotations.to_json(Path(csv_path).name))


def export_cleaned_csv(table: SessionTable, annotations: SessionAnnotations, out: str | Path) -> int:
    """Write the recording's rows with the edits applied to `out` (atomically); returns the rows written.

    Rows in an excluded range are dropped, merged ids replaced, user labels written to `face_label`;
    every other cell is copied from the recording as it is. `out` must not be the recording itself.
    """
    out = Path(out)
    if out.resolve() == table.path.resolve():
        raise ValueError(
            f"{out.name} is the recording itself; choose another file name (the recording is never modified)"
        )
    written = 0
    rule = annotations.row_filter
    with (
        table.path.open(newline="", encoding="utf-8") as source,
        atomic_write(out, "w", newline="") as target,
    ):
        reader = csv.reader(source)
        header = next(reader)
        writer = csv.writer(target, lineterminator="\n")
        writer.writerow(header)
        col = {name: i for i, name in enumerate(header)}
        for row in reader:
            if len(row) != len(header):
                continue  # the torn last line of a killed recording
            try:
                t = float(row[col["timestamp_s"]])
            except ValueError:
                continue
            if any(r.start_s <= t <= r.end_s for r in annotations.excluded):
                continue
            if rule.active and rule.drops_row({name: row[i] for name, i in col.items()}):
                continue
            cell = row[col["face_id"]]
            if cell:
                face = annotations.resolve(int(float(cell)))
                row[col["face_id"]] = str(face)
                if "face_label" in col:
                    row[col["face_label"]] = annotations.label(face, row[col["face_label"]])
            writer.writerow(row)
            written += 1
    return written

"""A session CSV (recorded live) or an `analyze` CSV of a video, read into columns for the Viewer and
`report`.

    for event in read_session(path, cancel):     # LoadProgress(...) events, then one LoadDone
        ...
    table = load_session(path)                   # the same, without progress

Numbers become float64 columns (NaN where a cell is empty); text columns are object arrays. What cannot
be read is said, never silently dropped: `table.notes` lists a torn last line (a killed recording), rows
with a wrong number of cells or a bad number (their line numbers), rows without a time (still images of
an analysis CSV), and a missing or foreign sidecar (NAME.json). Everything readable is kept.

A file that is not an AffectScope CSV (an empty file, another tool's columns) raises `SessionFileError`
with a message naming the file, what is wrong and what to do.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from app.core.recorder import ANALYSIS_COLUMNS, PROBABILITY_COLUMNS

REQUIRED_COLUMNS = ("frame", "timestamp_s", "face_id", "status", "valence", "arousal")
NUMBER_COLUMNS = (
    "frame",
    "timestamp_s",
    "wall_time",
    "face_id",
    "face_x",
    "face_y",
    "face_w",
    "face_h",
    "face_score",
    "sharpness",
    "brightness",
    "clipped",
    "roll_deg",
    "yaw_deg",
    "pitch_deg",
    "valence",
    "arousal",
    "valence_std",
    "arousal_std",
    "valence_smoothed",
    "arousal_smoothed",
    "valence_corrected",
    "arousal_corrected",
    *PROBABILITY_COLUMNS,
    "latency_ms",
)
TEXT_COLUMNS = (
    "face_label", "status", "detection", "quality", "quality_reasons", "expression", "marker", "source_path"
)
BATCH_ROWS = 20_000  # rows converted at a time (one progress event each)
SHOWN_BAD_LINES = 5  # line numbers quoted in a note
FAST_BLOCK_BYTES = 4 << 20  # bytes Arrow parses at a time (one progress event each)


class SessionFileError(ValueError):
    """The file cannot be read as a session: the message names it, says what is wrong and what to do."""


class CancelFlag(Protocol):
    """Anything with `is_set()` (threading.Event): reading stops at the next batch when set."""

    def is_set(self) -> bool: ...


@dataclass
class SessionTable:
    """The readable rows of one session CSV, column by column (n rows)."""

    path: Path
    columns: tuple[str, ...]  # the CSV's header
    numbers: dict[str, np.ndarray]  # NUMBER_COLUMNS present -> (n,) float64, NaN when empty
    texts: dict[str, np.ndarray]  # TEXT_COLUMNS present -> (n,) object (str)
    line_numbers: np.ndarray  # (n,) int64: each row's line in the file (the header is line 1)
    sidecar: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.line_numbers)

    @property
    def kind(self) -> str:
        """ "analysis" (an `analyze` CSV: it has `source_path`) or "session" (recorded live)."""
        return "analysis" if "source_path" in self.columns else "session"

    def number(self, name: str) -> np.ndarray:
        """Column `name` as (n,) float64; all NaN when the file has no such column."""
        values = self.numbers.get(name)
        return values if values is not None else np.full(len(self), np.nan)

    def text(self, name: str) -> np.ndarray:
        """Column `name` as (n,) object array of str; all "" when the file has no such column."""
        values = self.texts.get(name)
        return values if values is not None else np.full(len(self), "", dtype=object)

    @property
    def timestamps(self) -> np.ndarray:
        """(n,) seconds from the start of the recording or video."""
        return self.numbers["timestamp_s"]

    @cached_property
    def face_ids(self) -> np.ndarray:
        """(n,) int64 face id, -1 on rows without a face (no_face and error rows)."""
        ids = self.numbers["face_id"]
        has_face = np.isfinite(ids) & (self.texts["status"] == "ok")
        return np.where(has_face, np.nan_to_num(ids, nan=-1.0), -1.0).astype(np.int64)

    def face_list(self) -> list[int]:
        """The face ids present, ascending."""
        ids = self.face_ids
        return sorted(int(i) for i in np.unique(ids[ids >= 0]))

    @cached_property
    def distinct_frames(self) -> np.ndarray:
        """The processed frames' `frame` values, ascending and distinct."""
        return np.unique(self.numbers["frame"])

    @property
    def duration_s(self) -> float:
        """Last minus first timestamp (0 for an empty table)."""
        t = self.timestamps
        return float(t.max() - t.min()) if len(t) else 0.0

    def markers(self) -> list[tuple[float, str]]:
        """(timestamp_s, text) of each marker, once per frame, in time order."""
        text = self.text("marker")
        rows = np.flatnonzero(text != "")
        seen: set[tuple[float, str]] = set()
        out = []
        for i in rows:
            key = (float(self.timestamps[i]), str(text[i]))
            if key not in seen:
                seen.add(key)
                out.append(key)
        return sorted(out, key=lambda m: m[0])

    def frame_interval_s(self) -> float:
        """The median time between processed frames (seconds; 0 when fewer than two frames)."""
        frames = np.unique(self.timestamps)
        return float(np.median(np.diff(frames))) if len(frames) > 1 else 0.0


@dataclass(frozen=True)
class LoadProgress:
    """`bytes_read` of `bytes_total` read so far, `rows` rows kept."""

    bytes_read: int
    bytes_total: int
    rows: int


@dataclass(frozen=True)
class LoadDone:
    """The whole file was read (or as much as could be)."""

    table: SessionTable


def sidecar_path(csv_path: Path) -> Path:
    """NAME.json beside NAME.csv."""
    return csv_path.with_suffix(".json")


def _read_sidecar(csv_path: Path, notes: list[str]) -> dict[str, Any] | None:
    """The sidecar's contents, None (with a note) when it is missing, unreadable or another session's."""
    path = sidecar_path(csv_path)
    if not path.is_file():
        notes.append(
            f"No sidecar {path.name} beside the CSV: the model and settings of this session are "
            "unknown (the rows are shown all the same)."
        )
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        notes.append(f"The sidecar {path.name} cannot be read ({exc}); it is ignored.")
        return None
    if not isinstance(data, dict) or data.get("app") != "AffectScope":
        notes.append(f'{path.name} is not an AffectScope sidecar (no "app": "AffectScope"); it is ignored.')
        return None
    files = data.get("files") or {}
    if files.get("csv") not in (None, csv_path.name):
        notes.append(
            f"The sidecar {path.name} belongs to {files.get('csv')}, not to {csv_path.name}; it is ignored."
        )
        return None
    return data


class _CountingLines:
    """Iterates the lines of a text file and counts the characters read (progress for a csv.reader)."""

    def __init__(self, handle) -> None:
        self.handle = handle
        self.read = 0

    def __iter__(self) -> Iterator[str]:
        for line in self.handle:
            self.read += len(line)
            yield line


def _as_numbers(cells: list[str]) -> np.ndarray:
    """Cell texts -> (n,) float64 with NaN for empty cells; ValueError names nothing (the caller does)."""
    text = np.asarray(cells, dtype=str)
    text = np.where(text == "", "nan", text)
    return text.astype(np.float64)


def _convert(
    batch: list[list[str]],
    index: dict[str, int],
    numbers: dict[str, list[np.ndarray]],
    texts: dict[str, list[np.ndarray]],
) -> list[int]:
    """Append the batch's columns; returns the positions (in the batch) of rows with a bad number."""
    columns = list(zip(*batch, strict=True))
    converted: dict[str, np.ndarray] = {}
    bad: set[int] = set()
    for name in numbers:
        cells = list(columns[index[name]])
        try:
            converted[name] = _as_numbers(cells)
        except ValueError:  # find the rows at fault, keep the others
            values = np.full(len(cells), np.nan)
            for i, cell in enumerate(cells):
                try:
                    values[i] = float(cell) if cell else np.nan
                except ValueError:
                    bad.add(i)
            converted[name] = values
    keep = np.ones(len(batch), dtype=bool)
    keep[list(bad)] = False
    for name, values in converted.items():
        numbers[name].append(values[keep])
    for name in texts:
        texts[name].append(np.asarray(columns[index[name]], dtype=object)[keep])
    return sorted(bad)


@dataclass
class _Rows:
    """What a reader pass collected: the columns, each row's line, the lines it could not use."""

    numbers: dict[str, np.ndarray]
    texts: dict[str, np.ndarray]
    line_numbers: np.ndarray  # (n,) int64
    short_lines: list[int]  # lines with a wrong number of cells
    bad_lines: list[int]  # lines with a bad number
    last_line: int  # the number of the file's last line


def _header(path: Path) -> list[str]:
    """The CSV's header; SessionFileError when the file is missing, empty or not an AffectScope CSV."""
    if not path.is_file():
        raise SessionFileError(
            f"{path} does not exist; choose a session CSV recorded by the Live tab or written by `analyze`."
        )
    if path.stat().st_size == 0:
        raise SessionFileError(f"{path} is empty (0 bytes): nothing was recorded in it.")
    with path.open(newline="", encoding="utf-8", errors="replace") as handle:
        header = next(csv.reader(handle), None)
    if not header:
        raise SessionFileError(f"{path} has no header line; it is not an AffectScope session CSV.")
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise SessionFileError(
            f"{path.name} is not an AffectScope session or analysis CSV: the column(s) "
            f"{', '.join(missing)} are missing (its columns start {', '.join(header[:4])}). Open a CSV "
            "recorded by the Live tab or written by `python main.py analyze`."
        )
    return header


def _count_lines(path: Path) -> int:
    """The number of lines of the file (a last line without a newline counts)."""
    count, last = 0, b"\n"
    with path.open("rb") as handle:
        while block := handle.read(1 << 22):
            count += block.count(b"\n")
            last = block[-1:]
    return count + (last != b"\n")


def _read_fast(path: Path, header: list[str], cancel: CancelFlag | None) -> Iterator[LoadProgress]:
    """Read with Arrow's CSV reader (about 8x faster than csv.reader on an hour of recording); returns
    _Rows, or None when cancelled. pyarrow.ArrowInvalid when a cell is not a number or not UTF-8 text:
    the caller then reads with `_read_exact`, which names the lines at fault."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    wanted = {c: pa.float64() for c in NUMBER_COLUMNS if c in header}
    wanted.update({c: pa.string() for c in TEXT_COLUMNS if c in header})
    short_lines: list[int] = []

    def wrong_width(row) -> str:  # pyarrow.csv.InvalidRow: a line with too few or too many cells
        short_lines.append(int(row.number) if row.number is not None else -1)
        return "skip"

    total = path.stat().st_size
    batches = []
    rows = 0
    # Arrow's own file (not a Python one): its read-ahead thread never needs Python's lock
    with pa.OSFile(str(path), "r") as source, pacsv.open_csv(
        source,
        read_options=pacsv.ReadOptions(block_size=FAST_BLOCK_BYTES, use_threads=False),
        parse_options=pacsv.ParseOptions(invalid_row_handler=wrong_width),
        convert_options=pacsv.ConvertOptions(
            column_types=wanted, include_columns=list(wanted), strings_can_be_null=False
        ),
    ) as reader:
        schema = reader.schema
        for batch in reader:
            batches.append(batch)
            rows += batch.num_rows
            if cancel is not None and cancel.is_set():
                return None
            # each batch is one block of the file (the source's position runs ahead: it reads ahead)
            yield LoadProgress(min(len(batches) * FAST_BLOCK_BYTES, total), total, rows)
    table = pa.Table.from_batches(batches, schema=schema)
    last_line = _count_lines(path)
    skipped = np.asarray(sorted(short_lines), dtype=np.int64)
    # a kept row's line: 2 + its index + the skipped lines before it (blank lines aside: none are written)
    index = np.arange(rows, dtype=np.int64) + 2
    lines = index + np.searchsorted(skipped - np.arange(len(skipped)), index, side="right")
    return _Rows(
        numbers={c: table.column(c).to_numpy() for c in NUMBER_COLUMNS if c in wanted},
        texts={c: table.column(c).to_numpy(zero_copy_only=False).astype(object) for c in TEXT_COLUMNS
               if c in wanted},
        line_numbers=lines,
        short_lines=sorted(short_lines),
        bad_lines=[],
        last_line=last_line,
    )


def _read_exact(path: Path, header: list[str], cancel: CancelFlag | None) -> Iterator[LoadProgress]:
    """Read line by line with csv.reader, keeping every row that converts and naming the others;
    returns _Rows, or None when cancelled."""
    total = path.stat().st_size
    index = {name: i for i, name in enumerate(header)}
    numbers: dict[str, list[np.ndarray]] = {c: [] for c in NUMBER_COLUMNS if c in index}
    texts: dict[str, list[np.ndarray]] = {c: [] for c in TEXT_COLUMNS if c in index}
    line_numbers: list[np.ndarray] = []
    short_lines: list[int] = []
    bad_lines: list[int] = []
    batch: list[list[str]] = []
    batch_lines: list[int] = []
    rows = 0

    def flush() -> None:
        nonlocal rows
        bad = _convert(batch, index, numbers, texts)
        positions = np.asarray(batch_lines, dtype=np.int64)
        keep = np.ones(len(batch), dtype=bool)
        keep[bad] = False
        bad_lines.extend(int(positions[i]) for i in bad)
        line_numbers.append(positions[keep])
        rows += int(keep.sum())
        batch.clear()
        batch_lines.clear()

    with path.open(newline="", encoding="utf-8", errors="replace") as handle:
        lines = _CountingLines(handle)
        reader = csv.reader(lines)
        next(reader)  # the header
        width = len(header)
        for row in reader:
            line = reader.line_num
            if len(row) != width:
                if row:  # a blank line is no loss
                    short_lines.append(line)
                continue
            batch.append(row)
            batch_lines.append(line)
            if len(batch) >= BATCH_ROWS:
                flush()
                if cancel is not None and cancel.is_set():
                    return None
                yield LoadProgress(lines.read, total, rows)
        if batch:
            flush()
        last_line = reader.line_num
    return _Rows(
        numbers={k: np.concatenate(v) if v else np.zeros(0) for k, v in numbers.items()},
        texts={k: np.concatenate(v) if v else np.zeros(0, dtype=object) for k, v in texts.items()},
        line_numbers=np.concatenate(line_numbers) if line_numbers else np.zeros(0, dtype=np.int64),
        short_lines=short_lines,
        bad_lines=bad_lines,
        last_line=last_line,
    )


def _line_notes(path: Path, read: _Rows) -> list[str]:
    """What the notes say about a torn last line and the lines left out."""
    notes = []
    if read.short_lines:
        torn_last = read.short_lines[-1] == read.last_line
        others = read.short_lines[:-1] if torn_last else read.short_lines
        if torn_last:
            notes.append(
                f"The last line ({read.last_line}) of {path.name} is incomplete (the recording was "
                "stopped mid-write); the complete rows before it are shown."
            )
        if others:
            notes.append(
                f"{len(others)} line(s) of {path.name} have a wrong number of cells and are left "
                f"out (line {', '.join(map(str, others[:SHOWN_BAD_LINES]))}"
                f"{', ...' if len(others) > SHOWN_BAD_LINES else ''})."
            )
    if read.bad_lines:
        notes.append(
            f"{len(read.bad_lines)} line(s) of {path.name} hold a cell that is not a number where one is "
            f"expected and are left out (line {', '.join(map(str, read.bad_lines[:SHOWN_BAD_LINES]))}"
            f"{', ...' if len(read.bad_lines) > SHOWN_BAD_LINES else ''})."
        )
    return notes


def read_session(path: str | Path, cancel: CancelFlag | None = None) -> Iterator[LoadProgress | LoadDone]:
    """Read a session or analysis CSV: LoadProgress events per batch, then LoadDone with the table.

    Raises SessionFileError for a file that is missing, empty or not an AffectScope CSV. When `cancel` is
    set the generator ends without LoadDone.
    """
    import pyarrow as pa

    path = Path(path)
    header = _header(path)
    try:
        read = yield from _read_fast(path, header, cancel)
    except pa.ArrowInvalid:  # a bad number or bad text somewhere: read line by line, naming the lines
        read = yield from _read_exact(path, header, cancel)
    if read is None:
        return
    notes = _line_notes(path, read)
    numbers_arr, texts_arr, lines_arr = read.numbers, read.texts, read.line_numbers
    untimed = ~np.isfinite(numbers_arr["timestamp_s"])
    if untimed.any():  # still images of an analysis CSV have no time
        notes.append(
            f"{int(untimed.sum())} row(s) have no time stamp (still images or error rows) and are "
            "not on the timeline."
        )
        numbers_arr = {k: v[~untimed] for k, v in numbers_arr.items()}
        texts_arr = {k: v[~untimed] for k, v in texts_arr.items()}
        lines_arr = lines_arr[~untimed]
    if len(lines_arr) == 0:
        notes.append(f"{path.name} holds no row with a time stamp: there is nothing to plot.")
    unknown = [c for c in header if c not in ANALYSIS_COLUMNS]
    if unknown:
        notes.append(f"Column(s) not written by AffectScope are ignored: {', '.join(unknown[:8])}.")
    order = np.argsort(numbers_arr["timestamp_s"], kind="stable")  # rows in time order (they usually are)
    table = SessionTable(
        path=path,
        columns=tuple(header),
        numbers={k: v[order] for k, v in numbers_arr.items()},
        texts={k: v[order] for k, v in texts_arr.items()},
        line_numbers=lines_arr[order],
        notes=notes,
    )
    table.sidecar = _read_sidecar(path, notes) if table.kind == "session" else None
    total = path.stat().st_size
    yield LoadProgress(total, total, len(table))
    yield LoadDone(table)


def load_session(path: str | Path) -> SessionTable:
    """Read the whole file (see `read_session`) and return the table."""
    for event in read_session(path):
        if isinstance(event, LoadDone):
            return event.table
    raise AssertionError("read_session ended without a table")  # only a cancel ends it early

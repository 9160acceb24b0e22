"""Parsed dataset rows before they become a dataset: labels, image path, optional face box, skip reasons.

Every format reader (AffectNet CSV, generic CSV, class folders) turns its rows into `FaceRecord`s and
counts the rows it rejects by reason; `check_images` then drops the records whose image is missing, not
an image, or whose box lies outside it. The reasons are the keys of every dataset's `skip_counts`.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from model.data.cropping import box_inside_image
from model.data.image_io import decode_rgb, probe_size

BOX_COLUMNS = ("face_x", "face_y", "face_width", "face_height")  # a face box in AffectNet and generic CSVs

# Why a row was skipped; every dataset reports a count for each reason (zero included).
UNPARSABLE = "unparsable_fields"
MISSING_IMAGE = "missing_image"
UNREADABLE_IMAGE = "unreadable_image"
BOX_OUTSIDE = "box_outside_image"
NO_LABEL = "no_label"
SKIP_REASONS = (UNPARSABLE, MISSING_IMAGE, UNREADABLE_IMAGE, BOX_OUTSIDE, NO_LABEL)

# How much of each image is read when a dataset is indexed: "header" (size from the file header, fast
# enough for all of AffectNet) or "decode" (the whole image, so a broken body is found up front too).
VERIFY_MODES = ("header", "decode")
_CHECK_THREADS = 8
SKIP_EXAMPLES = 3  # skipped rows quoted per reason

NAN2 = (math.nan, math.nan)


class DatasetError(ValueError):
    """A dataset cannot be opened as asked (missing file or columns, unknown class folder, nothing usable)."""


@dataclass(frozen=True)
class FaceRecord:
    """One labelled face: image path, face box (x, y, w, h) or None for the whole image, and its labels."""

    path: Path
    box: tuple[float, float, float, float] | None
    expression: int = -1  # 0..7 (AffectNet order), -1 when not labelled for the 8-class task
    valence_arousal: tuple[float, float] = NAN2  # NaN when absent
    soft_target: tuple[float, ...] | None = None  # 8 probabilities, None when absent

    @property
    def has_label(self) -> bool:
        """True when the record carries at least one usable target."""
        return (
            self.expression >= 0
            or not math.isnan(self.valence_arousal[0])
            or self.soft_target is not None
        )


@dataclass
class ParsedRows:
    """A reader's output: the records it accepted, its skip counts, and label notes for `describe()`."""

    source: str
    records: list[FaceRecord] = field(default_factory=list)
    skip_counts: Counter = field(default_factory=Counter)
    notes: list[str] = field(default_factory=list)
    # the first few skipped rows of each reason, each saying which row and what is wrong with it
    skip_examples: dict[str, list[str]] = field(default_factory=dict)

    def add(self, record: FaceRecord) -> None:
        """Keep `record` when it has a label, else count it as skipped for having none."""
        if record.has_label:
            self.records.append(record)
        else:
            self.skip_counts[NO_LABEL] += 1

    def skip(self, reason: str, detail: str | None = None) -> None:
        """Count one row skipped for `reason` (one of SKIP_REASONS); keep `detail` among its examples."""
        self.skip_counts[reason] += 1
        if detail is not None and len(self.skip_examples.setdefault(reason, [])) < SKIP_EXAMPLES:
            self.skip_examples[reason].append(detail)

    def example_notes(self) -> list[str]:
        """One line per skip reason with examples: how many rows, and the first ones with what is wrong."""
        return [
            f"{reason}: {self.skip_counts[reason]} rows skipped, e.g. " + "; ".join(examples)
            for reason, examples in self.skip_examples.items()
        ]


def check_images(parsed: ParsedRows, verify: str = "header") -> ParsedRows:
    """Drop records whose image is missing or unreadable or whose box lies outside it; count each reason."""
    if verify not in VERIFY_MODES:
        raise ValueError(f"verify must be one of {VERIFY_MODES}, not {verify!r}")
    with ThreadPoolExecutor(max_workers=_CHECK_THREADS) as pool:
        reasons = list(pool.map(lambda record: _image_problem(record, verify), parsed.records))
    kept = []
    for record, reason in zip(parsed.records, reasons, strict=True):
        if reason is None:
            kept.append(record)
        else:
            parsed.skip(reason)
    parsed.records = kept
    return parsed


def _image_problem(record: FaceRecord, verify: str) -> str | None:
    """The skip reason for `record`'s image, None when it is fine."""
    if not record.path.is_file():
        return MISSING_IMAGE
    if verify == "decode":
        image = decode_rgb(record.path)
        size = None if image is None else (image.shape[1], image.shape[0])
    else:
        size = probe_size(record.path)
    if size is None:
        return UNREADABLE_IMAGE
    if record.box is not None and not box_inside_image(record.box, *size):
        return BOX_OUTSIDE
    return None


def parse_finite(text: str) -> float:
    """float(text) for a finite number; ValueError otherwise (empty, 'nan', 'inf', words)."""
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text!r} is not a finite number")
    return value


def parse_box(fields: Sequence[str]) -> tuple[float, float, float, float]:
    """Four box fields (x, y, w, h) -> floats; ValueError when one does not parse or w/h are not positive."""
    x, y, w, h = (parse_finite(text) for text in fields)
    if w <= 0 or h <= 0:
        raise ValueError(f"box size {w} x {h} is not positive")
    return x, y, w, h


def resolve_image_path(text: str, root: Path) -> Path:
    """An image path from a CSV: absolute as written, else relative to `root`."""
    path = Path(text.strip())
    return path if path.is_absolute() else root / path

"""Users' own data: a generic CSV (path + labels, optional box and soft targets) or one folder per class.

Generic CSV columns:
    path                     image path, absolute or relative to the CSV's folder (or the image root)
    valence, arousal         in [-1, 1]; both empty -> no V/A label
    expression               code 0-7, a class name (case-insensitive), or empty / -1 -> unlabelled
    face_x, face_y, face_width, face_height   optional, all four or none; empty -> the whole image
    p_neutral .. p_contempt  optional soft targets (distillation), all eight or none; empty -> none
At least one label column (expression, valence+arousal or the p_ columns) must be present.

Folder layout: root/<class name>/*.jpg (png, bmp, ...), class names from model.config.CLASS_NAMES in any
case; the whole image is the face. Files with other suffixes and hidden folders are ignored.
"""

from __future__ import annotations

import math
from pathlib import Path

from model.config import CLASS_NAMES, NUM_CLASSES, VA_DIMENSIONS
from model.data.csv_table import field, read_csv_rows
from model.data.image_io import IMAGE_SUFFIXES
from model.data.records import (
    BOX_COLUMNS,
    NAN2,
    UNPARSABLE,
    DatasetError,
    FaceRecord,
    ParsedRows,
    parse_box,
    parse_finite,
    resolve_image_path,
)

SOFT_TARGET_COLUMNS = tuple(f"p_{name}" for name in CLASS_NAMES)
VA_COLUMNS = VA_DIMENSIONS  # a generic CSV names its V/A columns after the axes
_SOFT_SUM_TOLERANCE = 0.02


def read_generic_csv(csv_path: Path, image_root: Path | None = None) -> ParsedRows:
    """Parse a generic labelled CSV into records (images not yet checked); refuses inconsistent columns."""
    header, rows = read_csv_rows(csv_path, ("path",), "a labelled-faces CSV")
    layout = _column_layout(csv_path, header)
    root = image_root if image_root is not None else csv_path.parent.resolve()
    parsed = ParsedRows(source=f"CSV {csv_path} (images under {root})")
    for number, row in enumerate(rows, start=1):  # counted without the header and blank lines
        try:
            record = _parse_row(row, root, layout)
        except ValueError as exc:
            parsed.skip(UNPARSABLE, f"data row {number}: {exc}")
            continue
        parsed.add(record)
    return parsed


def _column_layout(csv_path: Path, header: list[str]) -> dict[str, bool]:
    """Which optional column groups the file has; DatasetError for a partial group or no label at all."""
    groups = {"va": VA_COLUMNS, "box": BOX_COLUMNS, "soft": SOFT_TARGET_COLUMNS}
    layout = {}
    for key, columns in groups.items():
        present = [name for name in columns if name in header]
        if present and len(present) != len(columns):
            missing = [name for name in columns if name not in header]
            raise DatasetError(
                f"{csv_path}: has {', '.join(present)} but is missing column(s) {', '.join(missing)}; "
                f"give all of {', '.join(columns)} or none"
            )
        layout[key] = bool(present)
    layout["expression"] = "expression" in header
    if not (layout["expression"] or layout["va"] or layout["soft"]):
        raise DatasetError(
            f"{csv_path}: no label column; add expression, valence + arousal, "
            f"or {', '.join(SOFT_TARGET_COLUMNS)}"
        )
    return layout


def _parse_row(row: dict, root: Path, layout: dict[str, bool]) -> FaceRecord:
    """One generic CSV row -> record; ValueError when a field does not parse."""
    path = field(row, "path")
    if not path:
        raise ValueError("empty path")
    box = None
    if layout["box"]:
        fields = [field(row, name) for name in BOX_COLUMNS]
        if any(fields):
            box = parse_box(fields)
    expression = parse_expression(field(row, "expression")) if layout["expression"] else -1
    va = _parse_valence_arousal([field(row, name) for name in VA_COLUMNS]) if layout["va"] else NAN2
    soft = _parse_soft_target([field(row, name) for name in SOFT_TARGET_COLUMNS]) if layout["soft"] else None
    return FaceRecord(resolve_image_path(path, root), box, expression, va, soft)


def parse_expression(text: str) -> int:
    """'' or '-1' -> -1; a code 0-7 or a class name (any case) -> its code; ValueError otherwise."""
    text = text.strip()
    if not text or text == "-1":
        return -1
    lowered = text.lower()
    if lowered in CLASS_NAMES:
        return CLASS_NAMES.index(lowered)
    code = int(text)
    if not 0 <= code < NUM_CLASSES:
        raise ValueError(f"expression {text!r} is neither a code 0-{NUM_CLASSES - 1} nor a class name")
    return code


def _parse_valence_arousal(fields: list[str]) -> tuple[float, float]:
    """Both empty -> NaN; both numbers in [-1, 1] -> the pair; ValueError otherwise (one empty included)."""
    if not any(fields):
        return NAN2
    valence, arousal = (parse_finite(text) for text in fields)
    if not (-1.0 <= valence <= 1.0 and -1.0 <= arousal <= 1.0):
        raise ValueError(f"valence/arousal {valence}, {arousal} outside [-1, 1]")
    return valence, arousal


def _parse_soft_target(fields: list[str]) -> tuple[float, ...] | None:
    """All empty -> None; eight non-negative numbers summing to ~1 -> renormalised; ValueError otherwise."""
    if not any(fields):
        return None
    values = [parse_finite(text) for text in fields]
    total = math.fsum(values)
    if min(values) < 0 or abs(total - 1.0) > _SOFT_SUM_TOLERANCE:
        raise ValueError(f"soft targets {values} are not probabilities summing to 1")
    return tuple(v / total for v in values)


def read_class_folders(root: Path) -> ParsedRows:
    """root/<class name>/<images> -> expression-only records; DatasetError naming unknown folders."""
    if not root.is_dir():
        raise DatasetError(f"{root} is not a folder; the folder format needs root/<class name>/<images>")
    folders = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    unknown = [p.name for p in folders if p.name.lower() not in CLASS_NAMES]
    if unknown:
        raise DatasetError(
            f"{root}: folder(s) {', '.join(unknown)} are not class names; valid names (any case): "
            f"{', '.join(CLASS_NAMES)}"
        )
    if not folders:
        raise DatasetError(f"{root} has no class folders; expected some of {', '.join(CLASS_NAMES)}")
    parsed = ParsedRows(source=f"folders {root}")
    for folder in folders:
        code = CLASS_NAMES.index(folder.name.lower())
        for path in sorted(folder.iterdir()):
            if path.suffix.lower() in IMAGE_SUFFIXES and not path.name.startswith("."):
                parsed.add(FaceRecord(path, None, code))
    return parsed

"""AffectNet in its published layout: `training.csv` / `validation.csv` beside the image folder.

Columns: subDirectory_filePath, face_x, face_y, face_width, face_height, facial_landmarks, expression,
valence, arousal. Expression codes 0-7 are the 8 classes; 8 (None), 9 (Uncertain) and 10 (No-Face) are
unlabelled for the 8-class task (expression -1). Codes 9 and 10 and rows whose valence or arousal is -2
carry no valence/arousal (NaN). A row left with no label at all is skipped as `no_label`.
"""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path

from model.config import NUM_CLASSES
from model.data.csv_table import field, read_csv_rows
from model.data.records import (
    BOX_COLUMNS,
    NAN2,
    UNPARSABLE,
    FaceRecord,
    ParsedRows,
    parse_box,
    parse_finite,
    resolve_image_path,
)

AFFECTNET_COLUMNS = (
    "subDirectory_filePath",
    "face_x",
    "face_y",
    "face_width",
    "face_height",
    "facial_landmarks",
    "expression",
    "valence",
    "arousal",
)
CODE_NONE, CODE_UNCERTAIN, CODE_NO_FACE = 8, 9, 10
NO_VALENCE_AROUSAL = -2.0
# Where the images may sit relative to the CSV's folder when no image root is given.
IMAGE_ROOT_CANDIDATES = (
    ".",
    "Manually_Annotated_Images",
    "Manually_Annotated/Manually_Annotated_Images",
    "../Manually_Annotated_Images",
    "../Manually_Annotated/Manually_Annotated_Images",
)
_ROOT_PROBE_ROWS = 50


def read_affectnet_csv(csv_path: Path, image_root: Path | None = None) -> ParsedRows:
    """Parse one AffectNet CSV into records (images not yet checked); refuses a file missing columns."""
    _, rows = read_csv_rows(csv_path, AFFECTNET_COLUMNS, "an AffectNet CSV")
    root = image_root if image_root is not None else guess_image_root(csv_path, rows)
    parsed = ParsedRows(source=f"AffectNet {csv_path} (images under {root})")
    codes: Counter = Counter()
    no_va = 0
    for number, row in enumerate(rows, start=1):  # counted without the header and blank lines
        try:
            record, code = _parse_row(row, root)
        except ValueError as exc:
            parsed.skip(UNPARSABLE, f"data row {number}: {exc}")
            continue
        codes[code] += 1
        no_va += code < CODE_UNCERTAIN and math.isnan(record.valence_arousal[0])
        parsed.add(record)
    parsed.notes.append(
        "expression codes 8 None / 9 Uncertain / 10 No-Face (unlabelled for the 8 classes): "
        f"{codes[CODE_NONE]} / {codes[CODE_UNCERTAIN]} / {codes[CODE_NO_FACE]}; "
        f"rows with valence/arousal -2: {no_va}"
    )
    return parsed


def _parse_row(row: dict, root: Path) -> tuple[FaceRecord, int]:
    """One CSV row -> (record, expression code); ValueError when a field does not parse."""
    rel = field(row, "subDirectory_filePath")
    if not rel:
        raise ValueError("empty image path")
    box = parse_box([field(row, name) for name in BOX_COLUMNS])
    code = int(field(row, "expression"))
    if not 0 <= code <= CODE_NO_FACE:
        raise ValueError(f"expression code {code} is not 0-10")
    valence, arousal = parse_finite(field(row, "valence")), parse_finite(field(row, "arousal"))
    va = NAN2
    if NO_VALENCE_AROUSAL not in (valence, arousal) and code < CODE_UNCERTAIN:
        if not (-1.0 <= valence <= 1.0 and -1.0 <= arousal <= 1.0):
            raise ValueError(f"valence/arousal {valence}, {arousal} outside [-1, 1]")
        va = (valence, arousal)
    expression = code if code < NUM_CLASSES else -1
    return FaceRecord(resolve_image_path(rel, root), box, expression, va), code


def guess_image_root(csv_path: Path, rows: list[dict]) -> Path:
    """The candidate folder (IMAGE_ROOT_CANDIDATES, relative to the CSV) holding most of the first images."""
    base = csv_path.parent.resolve()
    probe = [(row.get("subDirectory_filePath") or "").strip() for row in rows[:_ROOT_PROBE_ROWS]]
    probe = [rel for rel in probe if rel]
    best, best_hits = base, 0
    for candidate in IMAGE_ROOT_CANDIDATES:
        root = (base / candidate).resolve()
        hits = sum(resolve_image_path(rel, root).is_file() for rel in probe)
        if hits > best_hits:
            best, best_hits = root, hits
    return best

"""Reading dataset CSV files: a header check with a clear refusal, and badly shaped rows marked as such."""

from __future__ import annotations

import csv
from pathlib import Path

from model.data.records import DatasetError


def read_csv_rows(csv_path: Path, required: tuple[str, ...], what: str) -> tuple[list[str], list[dict]]:
    """(header, rows as dicts) of a CSV; DatasetError naming the file and the missing columns.

    Blank lines are dropped. A row with more fields than the header has them under the key None, one with
    fewer has None values; `field` turns both into a ValueError so the row is skipped as unparsable.
    """
    try:
        with open(csv_path, newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            header = [name.strip() for name in (reader.fieldnames or [])]
            missing = [name for name in required if name not in header]
            if missing:
                raise DatasetError(
                    f"{csv_path} is not {what}: missing column(s) {', '.join(missing)} "
                    f"(found: {', '.join(header) or 'no header'}; needed: {', '.join(required)})"
                )
            reader.fieldnames = header
            rows = [row for row in reader if any((row.get(name) or "").strip() for name in header)]
    except UnicodeDecodeError as exc:
        raise DatasetError(f"{csv_path} is not a UTF-8 text CSV ({exc.reason} at byte {exc.start})") from exc
    except OSError as exc:
        raise DatasetError(f"cannot read {csv_path}: {exc.strerror or exc}") from exc
    return header, rows


def field(row: dict, name: str) -> str:
    """The stripped text of column `name`; ValueError when the row has too few or too many fields."""
    if None in row:
        raise ValueError(f"row has {len(row[None])} field(s) more than the header")
    value = row.get(name)
    if value is None:
        raise ValueError(f"row has no field for column {name!r}")
    return value.strip()

"""Where a dataset folder keeps its splits (light: no torch, no image decoding)."""

from __future__ import annotations

from pathlib import Path


def has_validation_split(path: Path, fmt: str) -> bool:
    """True when `path` holds a separate validation split (validation.csv or a validation/ folder)."""
    if fmt == "folder":
        return (path / "validation").is_dir()
    return path.is_dir() and (path / "validation.csv").is_file()

"""`open_dataset`: one call from a path and a format name to a ready `FaceDataset`."""

from __future__ import annotations

from pathlib import Path

from model.config import DATASET_FORMATS, SPLITS, ModelConfig
from model.data.affectnet import read_affectnet_csv
from model.data.dataset import FaceDataset
from model.data.generic import read_class_folders, read_generic_csv
from model.data.records import DatasetError, check_images
from model.data.transforms import build_transform


def open_dataset(
    path: str | Path,
    fmt: str,
    split: str = "training",
    config: ModelConfig | None = None,
    train: bool = False,
    image_root: str | Path | None = None,
    verify: str = "header",
) -> FaceDataset:
    """Open a dataset of format `fmt` ("affectnet" | "csv" | "folder") with the transform for `train`.

    `path` is a CSV file (used as is) or a folder holding `<split>.csv` (affectnet, csv); for "folder" it
    is the class-folder root, or its parent when that holds `<split>/`. `image_root` overrides where
    relative image paths start (default: the CSV's folder; for AffectNet also the usual image folders).
    `verify` is "header" (read image headers while indexing) or "decode" (decode every image up front).
    """
    if fmt not in DATASET_FORMATS:
        raise DatasetError(f"unknown dataset format {fmt!r}; choose one of {', '.join(DATASET_FORMATS)}")
    if split not in SPLITS:
        raise DatasetError(f"unknown split {split!r}; choose one of {', '.join(SPLITS)}")
    config = config or ModelConfig()
    path = Path(path).expanduser()
    root = Path(image_root).expanduser().resolve() if image_root is not None else None
    if root is not None and not root.is_dir():
        raise DatasetError(f"image root {root} is not a folder")
    if fmt == "folder":
        split_dir = path / split
        parsed = read_class_folders(split_dir if split_dir.is_dir() else path)
    else:
        csv_path = _split_csv(path, split)
        reader = read_affectnet_csv if fmt == "affectnet" else read_generic_csv
        parsed = reader(csv_path, root)
    check_images(parsed, verify)
    parsed.notes += parsed.example_notes()
    return FaceDataset(
        parsed.records,
        build_transform(config, train),
        config.crop_margin,
        parsed.source,
        parsed.skip_counts,
        parsed.notes,
    )


def _split_csv(path: Path, split: str) -> Path:
    """The CSV to read: `path` itself when it is a file, else `path/<split>.csv`."""
    if path.is_file():
        return path
    if path.is_dir():
        csv_path = path / f"{split}.csv"
        if csv_path.is_file():
            return csv_path
        found = sorted(p.name for p in path.glob("*.csv"))
        raise DatasetError(f"{path} has no {split}.csv (CSV files there: {', '.join(found) or 'none'})")
    raise DatasetError(f"{path} does not exist; give a CSV file or the folder holding {split}.csv")

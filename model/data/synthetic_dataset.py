"""Writing synthetic faces in the AffectNet layout: DIR/<split>.csv and DIR/images/<split>/NNN/NNNNNN.jpg.

With `LabelNoise`, a known share of the faces are degraded (blurred, washed out) and their valence and
arousal labels carry Gaussian noise of a known standard deviation, as annotators disagree more about
poor images; DIR/<split>_label_noise.csv lists each image's noise SD. It is the fixture on which an
uncertainty estimate is measured (docs/BENCHMARKS.md, "Uncertainty").

Every image is drawn from its own random stream, seeded by (seed, split, index), so a dataset is the same
for the same seed and count whatever the number of worker processes, and the training and validation
splits of one seed never share a stream (the split is part of the seed).
"""

from __future__ import annotations

import csv
import multiprocessing
import shutil
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from model.config import CLASS_NAMES, ModelConfig
from model.data.affectnet import AFFECTNET_COLUMNS
from model.data.label_noise import LabelNoise
from model.data.synthetic import render_face
from model.io import atomic_write

SPLIT_STREAMS = {"training": 0, "validation": 1}  # seed space of each split
_IMAGE_STREAM, _CLASS_ORDER_STREAM, _NOISE_STREAM = 0, 1, 2
NOISE_COLUMNS = ("subDirectory_filePath", "label_noise_sd")
_JPEG_QUALITY = 95
DEFAULT_SIZE = ModelConfig().input_size  # image side of a generated split: the default model's input


def label_noise_path(out_dir: str | Path, split: str) -> Path:
    """DIR/<split>_label_noise.csv: each image's label noise SD (0 for a clean face)."""
    return Path(out_dir) / f"{split}_label_noise.csv"


def read_label_noise(path: str | Path) -> dict[str, float]:
    """{image path as in the CSV: noise SD} from a `label_noise_path` file."""
    with open(path, newline="") as handle:
        return {row[NOISE_COLUMNS[0]]: float(row[NOISE_COLUMNS[1]]) for row in csv.DictReader(handle)}


def _degrade(image: np.ndarray, noise: LabelNoise) -> np.ndarray:
    """(H,W,3) uint8 -> blurred and washed out (the face of a noisy label)."""
    sigma = noise.blur_sigma * image.shape[0]
    blurred = cv2.GaussianBlur(image, (0, 0), sigma).astype(np.float32)
    mean = blurred.mean(axis=(0, 1), keepdims=True)
    return np.clip(mean + noise.contrast * (blurred - mean), 0, 255).round().astype(np.uint8)


@dataclass(frozen=True)
class SynthSummary:
    """What `generate_dataset` wrote."""

    csv_path: Path
    count: int
    split: str
    seed: int
    size: int
    seconds: float
    class_counts: dict[str, int]


def class_order(n: int, seed: int, split: str) -> np.ndarray:
    """(n,) class codes, each class n/8 times (+-1), in a seeded random order."""
    rng = np.random.default_rng([seed, SPLIT_STREAMS[split], _CLASS_ORDER_STREAM])
    return rng.permutation(np.arange(n) % len(CLASS_NAMES))


def image_rng(seed: int, split: str, index: int) -> np.random.Generator:
    """The random stream that draws image `index` of `split`."""
    return np.random.default_rng([seed, SPLIT_STREAMS[split], _IMAGE_STREAM, index])


def generate_dataset(
    out_dir: str | Path,
    n: int,
    seed: int = 0,
    split: str = "training",
    size: int = DEFAULT_SIZE,
    overwrite: bool = False,
    workers: int = 1,
    label_noise: LabelNoise | None = None,
) -> SynthSummary:
    """Draw `n` faces of `size` px and write them with DIR/<split>.csv in the AffectNet layout.

    `label_noise`: degrade a share of the faces and add noise to their V/A labels (see `LabelNoise`);
    which faces, and the noise, come from a stream of their own, so the faces are those of a run
    without it. DIR/<split>_label_noise.csv is then written too.

    Refuses to replace an existing <split>.csv unless `overwrite`. DIR/images/<split>/ is emptied first
    (old images, or those of an interrupted run). The CSV is written last, through a temporary file, so
    a stopped run leaves no half CSV.
    """
    if split not in SPLIT_STREAMS:
        raise ValueError(f"split must be one of {tuple(SPLIT_STREAMS)}, not {split!r}")
    if n < 1 or seed < 0 or size < 32:
        raise ValueError(f"need n >= 1, seed >= 0 and size >= 32 (got n={n}, seed={seed}, size={size})")
    out_dir = Path(out_dir)
    csv_path = out_dir / f"{split}.csv"
    image_dir = out_dir / "images" / split
    if csv_path.exists() and not overwrite:
        raise FileExistsError(f"{csv_path} exists; choose another --out or pass --overwrite to replace it")
    if image_dir.exists():
        shutil.rmtree(image_dir)
    start = time.perf_counter()
    classes = class_order(n, seed, split)
    jobs = [(out_dir, seed, split, size, i, int(classes[i]), label_noise) for i in range(n)]
    if workers > 1:
        with multiprocessing.get_context().Pool(workers) as pool:
            rows = pool.map(_write_one, jobs, chunksize=64)
    else:
        rows = [_write_one(job) for job in jobs]
    if label_noise is not None:
        with atomic_write(label_noise_path(out_dir, split), "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(NOISE_COLUMNS)
            writer.writerows([row[0], f"{sd:g}"] for row, sd in rows)
    with atomic_write(csv_path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(AFFECTNET_COLUMNS)
        writer.writerows(row for row, _ in rows)
    counts = Counter(int(c) for c in classes)
    return SynthSummary(
        csv_path=csv_path,
        count=n,
        split=split,
        seed=seed,
        size=size,
        seconds=time.perf_counter() - start,
        class_counts={name: counts[code] for code, name in enumerate(CLASS_NAMES)},
    )


def _write_one(job: tuple) -> tuple[list, float]:
    """Render face `index` of class `expression`, write its JPEG; return its AffectNet CSV row and the
    SD of the noise on its V/A label (0.0 for a clean face)."""
    out_dir, seed, split, size, index, expression, noise = job
    face = render_face(image_rng(seed, split, index), expression, size)
    image, va, sd = face.image, np.array([face.valence, face.arousal]), 0.0
    if noise is not None:
        rng = np.random.default_rng([seed, SPLIT_STREAMS[split], _NOISE_STREAM, index])
        if rng.random() < noise.share:
            sd = noise.sd
            image = _degrade(image, noise)
            va = np.clip(va + rng.normal(0.0, sd, 2), -1.0, 1.0)
    rel = Path("images") / split / f"{index // 1000:03d}" / f"{index:06d}.jpg"
    path = out_dir / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    ok, data = cv2.imencode(".jpg", image[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, _JPEG_QUALITY])
    if not ok:
        raise OSError(f"OpenCV could not encode {path}")
    data.tofile(str(path))
    x, y, w, h = face.box
    return [rel.as_posix(), x, y, w, h, "", face.expression, f"{va[0]:.6f}", f"{va[1]:.6f}"], sd

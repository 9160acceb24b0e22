"""`FaceDataset`: the one dataset class every format opens into.

Items are dicts (docs/ARCHITECTURE.md):
    image            (3,S,S) float32, normalised by model.preprocessing.normalize
    expression       int64 scalar, 0..7, -1 when unlabelled for the 8-class task
    soft_target      (8,) float32 probabilities, all NaN when absent
    valence_arousal  (2,) float32, NaN when absent
    path             str

Labels live in numpy arrays, so class counts, class weights and balanced samplers need no image decoding.
An image whose header was fine when the dataset was indexed but which fails to decode later is counted
under `unreadable_image` (in memory shared with DataLoader workers) and replaced by the next decodable
item, so a bad file never stops a run.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping

import numpy as np
import torch
from torch.utils.data import Dataset

from model.config import CLASS_NAMES, NUM_CLASSES
from model.data.cropping import crop_square
from model.data.image_io import decode_rgb
from model.data.records import SKIP_REASONS, UNREADABLE_IMAGE, DatasetError, FaceRecord

Transform = Callable[[np.ndarray], torch.Tensor]  # uint8 RGB crop (H,W,3) -> (3,S,S) float32


class FaceDataset(Dataset):
    """Face images with expression, valence/arousal and soft-target labels; cropped + transformed on load."""

    def __init__(
        self,
        records: list[FaceRecord],
        transform: Transform,
        crop_margin: float,
        source: str,
        skip_counts: Mapping[str, int],
        notes: list[str] | None = None,
    ) -> None:
        if not records:
            skipped = ", ".join(f"{k} {v}" for k, v in skip_counts.items() if v) or "no rows"
            details = "".join(f"; {note}" for note in notes or [] if "rows skipped, e.g." in note)
            raise DatasetError(f"{source}: no usable rows (skipped: {skipped}){details}")
        self.source = source
        self.transform = transform
        self.crop_margin = crop_margin
        self.notes = list(notes or [])
        self._index_skips = {reason: int(skip_counts.get(reason, 0)) for reason in SKIP_REASONS}
        n = len(records)
        # numpy arrays rather than Python lists: DataLoader workers then share them without copying.
        self._paths = np.array([str(r.path) for r in records])  # (N,) str
        self._boxes = np.array(
            [r.box if r.box is not None else (math.nan,) * 4 for r in records], dtype=np.float64
        )  # (N,4), NaN: whole image
        self._expression = np.array([r.expression for r in records], dtype=np.int64)  # (N,)
        self._valence_arousal = np.array([r.valence_arousal for r in records], dtype=np.float32)  # (N,2)
        self._soft = np.full((n, NUM_CLASSES), np.nan, dtype=np.float32)  # (N,8)
        for i, record in enumerate(records):
            if record.soft_target is not None:
                self._soft[i] = record.soft_target
        self._decode_failed = torch.zeros(n, dtype=torch.bool).share_memory_()  # (N,) seen by all workers

    def __len__(self) -> int:
        return len(self._paths)

    def __getitem__(self, index: int) -> dict:
        n = len(self)
        for step in range(n):
            i = (int(index) + step) % n
            if self._decode_failed[i]:
                continue
            crop = self.load_crop(i)
            if crop is None:
                self._decode_failed[i] = True
                continue
            return {
                "image": self.transform(crop),  # (3,S,S)
                "expression": torch.tensor(self._expression[i], dtype=torch.int64),
                "soft_target": torch.from_numpy(self._soft[i].copy()),  # (8,)
                "valence_arousal": torch.from_numpy(self._valence_arousal[i].copy()),  # (2,)
                "path": str(self._paths[i]),
            }
        raise DatasetError(f"{self.source}: none of the {n} images could be decoded")

    def load_crop(self, index: int) -> np.ndarray | None:
        """Square uint8 RGB crop (side,side,3) of item `index` before the transform; None if undecodable."""
        image = decode_rgb(self._paths[index])
        if image is None:
            return None
        box = self._boxes[index]
        return crop_square(image, None if np.isnan(box[0]) else tuple(box), self.crop_margin)

    @property
    def skip_counts(self) -> dict[str, int]:
        """Rows skipped by reason; `unreadable_image` includes files found undecodable while loading."""
        counts = dict(self._index_skips)
        counts[UNREADABLE_IMAGE] += int(self._decode_failed.sum())
        return counts

    def expression_labels(self) -> np.ndarray:
        """(N,) int64 expression codes 0..7, -1 where unlabelled (no image is decoded)."""
        return self._expression.copy()

    def valence_arousal_labels(self) -> np.ndarray:
        """(N,2) float32 valence and arousal, NaN where absent."""
        return self._valence_arousal.copy()

    def soft_target_labels(self) -> np.ndarray:
        """(N,8) float32 soft targets, NaN rows where absent."""
        return self._soft.copy()

    def paths(self) -> list[str]:
        """Image path of every item, in item order."""
        return [str(p) for p in self._paths]

    def describe(self) -> str:
        """A few lines for the log: rows, skips by reason, and label counts per task."""
        skips = self.skip_counts
        rows = len(self) + sum(skips.values())
        skipped = ", ".join(f"{reason} {count}" for reason, count in skips.items() if count) or "none"
        labels = self._expression
        per_class = ", ".join(
            f"{name} {int((labels == code).sum())}" for code, name in enumerate(CLASS_NAMES)
        )
        with_va = int((~np.isnan(self._valence_arousal[:, 0])).sum())
        with_soft = int((~np.isnan(self._soft[:, 0])).sum())
        lines = [
            f"{self.source}: {rows} rows, {len(self)} usable; skipped: {skipped}",
            f"  expression: {int((labels >= 0).sum())} labelled ({per_class}), "
            f"{int((labels < 0).sum())} unlabelled",
            f"  valence/arousal: {with_va} labelled, {len(self) - with_va} without",
        ]
        if with_soft:
            lines.append(f"  soft targets: {with_soft}")
        lines.extend(f"  {note}" for note in self.notes)
        return "\n".join(lines)

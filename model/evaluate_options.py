"""The defaults of an evaluation run (`model.evaluate.evaluate`, the `evaluate` command), written once.

Light to import (no torch): the command line reads its defaults and choices from here at start-up.
"""

from __future__ import annotations

from dataclasses import dataclass

from model.config import DATASET_FORMATS, SPLITS
from model.runtimes import DEFAULT_DEVICE, DEVICES


@dataclass(frozen=True)
class EvaluateOptions:
    """What `evaluate` reads and how it batches (the data path and the model come with each call)."""

    format: str = DATASET_FORMATS[0]  # "affectnet"
    split: str = "validation"  # AffectNet's validation split is its test set (MODEL_SPEC.md)
    batch_size: int = 64
    device: str = DEFAULT_DEVICE
    workers: int = 0  # data-loading processes

    def __post_init__(self) -> None:
        if self.format not in DATASET_FORMATS or self.split not in SPLITS or self.device not in DEVICES:
            raise ValueError(f"format, split and device must be among {DATASET_FORMATS}, {SPLITS} and "
                             f"{DEVICES}, got {self.format!r}, {self.split!r}, {self.device!r}")
        if self.batch_size < 1 or self.workers < 0:
            raise ValueError(
                f"batch size must be >= 1 and workers >= 0, got {self.batch_size}, {self.workers}"
            )

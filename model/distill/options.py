"""The options of a distillation run (`DistillOptions`), each default written once.

Light to import (no torch): the `distill` command reads its defaults from here at start-up.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from model.assets import asset_path
from model.config import ModelConfig

DEFAULT_OUT = asset_path("models")
DEFAULT_WORK = Path("runs") / "distill"
STARTER_FILE = "starter.pt"
SHA_FILE = "starter.sha256"
CARD_FILE = "MODEL_CARD.md"
STARTER_NAME = "starter-distilled-v1"

@dataclass
class DistillOptions:
    """Everything one distillation needs; `quick()` gives the seconds-long variant used by tests."""

    out_dir: str | Path = DEFAULT_OUT  # where starter.pt, starter.sha256 and MODEL_CARD.md go
    work_dir: str | Path = DEFAULT_WORK  # each run writes a fresh run-<time> folder inside
    seed: int = 0
    name: str = STARTER_NAME
    quick: bool = False  # recorded in the metadata: a quick run is a smoke test, not a starter

    # pools
    views: int = 5000  # training views of the real faces (mixups included)
    val_views: int = 300  # model-selection views (fresh views of the same training faces)
    mixup_fraction: float = 0.1
    splice_fraction: float = 0.2
    synthetic_faces: int = 0
    balance_power: float = 0.5
    crop_margin: float = 0.2  # the teachers' crop; stored as the model's crop_margin
    # True: the teachers label each view before its blur, low resolution, noise and JPEG and the student
    # learns from the degraded view. Measured (docs/BENCHMARKS.md "Starter model"): it cost held-out
    # agreement (84.5% against 92.2%) without a measurable drop in expression flips under JPEG or noise,
    # so the default labels what the student sees.
    label_clean_views: bool = False

    # student: face-api's face-trained blocks beat the ImageNet Lite0 backbone (docs/BENCHMARKS.md)
    backbone: str = "faceapi_features"
    backbone_weights: str | None = "faceapi"
    input_size: int = 112
    va_uncertainty: bool = True  # the heteroscedastic V/A head (a V/A standard deviation per face)

    # training (model.train.TrainOptions)
    epochs: tuple[int, int] = (12, 2)
    batch_size: int = 32
    lr: float = 1e-3
    backbone_lr: float = 1e-4
    lambda_c: float = 1.0
    max_steps: int | None = None
    time_budget_s: float | None = None
    workers: int = 0  # the views are in memory: no loader processes needed

    # measurement
    heldout_limit: int | None = None  # first N held-out faces only (quick runs)
    latency_repeats: int = 50

    extra: dict[str, Any] = field(default_factory=dict)  # free notes written into options.json

    @classmethod
    def quick_options(cls, **overrides: Any) -> DistillOptions:
        """A smoke-test run: a few small views, input 64, two steps per stage, six held-out faces."""
        values: dict[str, Any] = {
            "quick": True,
            "views": 16,
            "val_views": 4,
            "input_size": 64,
            "epochs": (1, 1),
            "batch_size": 4,
            "max_steps": 2,
            "heldout_limit": 6,
            "latency_repeats": 2,
        }
        values.update(overrides)
        return cls(**values)

    def validate(self) -> None:
        """Raise ValueError naming the first option that cannot work."""
        if self.views < 2 or self.val_views < 1:
            raise ValueError(f"need views >= 2 and val_views >= 1, got {self.views} and {self.val_views}")
        if self.batch_size < 1 or self.batch_size > self.views:
            raise ValueError(f"batch_size must lie in 1..views ({self.views}), got {self.batch_size}")
        if self.heldout_limit is not None and self.heldout_limit < 1:
            raise ValueError(f"heldout_limit must be >= 1, got {self.heldout_limit}")
        if not (self.lr > 0 and self.backbone_lr >= 0):
            raise ValueError(f"need lr > 0 and backbone_lr >= 0, got {self.lr} and {self.backbone_lr}")
        if self.latency_repeats < 1:
            raise ValueError(f"latency_repeats must be >= 1, got {self.latency_repeats}")
        ModelConfig(backbone=self.backbone, input_size=self.input_size, crop_margin=self.crop_margin)
        from model.distill.pool import PoolPlan  # torch is imported when a run starts, not by the CLI

        PoolPlan(
            views=self.views,
            mixup_fraction=self.mixup_fraction,
            splice_fraction=self.splice_fraction,
            synthetic_faces=self.synthetic_faces,
            balance_power=self.balance_power,
        )

    def to_json(self) -> dict[str, Any]:
        """Plain JSON form (paths as strings)."""
        out = dataclasses.asdict(self)
        out["out_dir"], out["work_dir"] = str(self.out_dir), str(self.work_dir)
        out["epochs"] = list(self.epochs)
        return out

"""Training options: the one source of every training default (`TrainOptions`) and its choice lists.

Light to import (no torch): the command line reads its defaults and choices from here at start-up.
"""


from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from model.config import DATASET_FORMATS, ModelConfig
from model.runtimes import DEFAULT_DEVICE, DEVICES

if TYPE_CHECKING:
    from torch.utils.data import Dataset

STAGE_CHOICES = ("1", "2", "1+2")
CLASS_BALANCE_CHOICES = ("weights", "sampler", "none")
VAL_SOURCE_CHOICES = ("holdout", "validation")
STAGE_CRITERION = {1: "accuracy", 2: "ccc_mean"}  # the validation number each stage's best/early stop uses
RESUME_FILE = "resume.pt"
# The first stage (1-based) whose map teaches the next coarser one in the consistency loss. The stride-4
# map is left out: its cells see 19 px, edges rather than parts, and its maps often follow the background
# clutter; as a teacher it pulled every map onto the clutter (docs/BENCHMARKS.md, "First-level attention").
CONSISTENCY_FROM_STAGE = 2
LOG_FILE = "train_log.jsonl"
RESUME_FORMAT = 1


@dataclass
class TrainOptions:
    """Everything one training run needs; the `train` command and the GUI training tab fill it."""

    # --- data -----------------------------------------------------------------------------------
    data: str | Path | None = None  # AffectNet folder/CSV, generic CSV, or class-folder root
    format: str = "affectnet"  # one of model.data.DATASET_FORMATS
    image_root: str | Path | None = None  # where relative image paths start (default: beside the CSV)
    val_source: str = "holdout"  # "holdout": carve val_fraction from training (MODEL_SPEC's AffectNet
    #                              protocol, its validation split being the test set); "validation": the
    #                              data's own validation split
    val_fraction: float = 0.1
    # Pre-built datasets (the distillation command, tests) instead of `data`; they must offer
    # FaceDataset's expression_labels() / valence_arousal_labels() / soft_target_labels().
    train_dataset: Dataset | None = field(default=None, repr=False)
    val_dataset: Dataset | None = field(default=None, repr=False)

    # --- model ----------------------------------------------------------------------------------
    start_checkpoint: str | Path | None = None  # fine-tune from this checkpoint (any AffectScope .pt)
    model_config: ModelConfig | None = None  # architecture of a new model when no start checkpoint
    model_name: str | None = None  # metadata name of the written checkpoints (default derived)

    # --- recipe (MODEL_SPEC.md) -----------------------------------------------------------------
    stages: str = "1+2"  # "1", "2" or "1+2"
    epochs: tuple[int, int] = (2, 4)  # epochs of stage 1 and of stage 2 (sized for the CPU benchmark)
    # Learning rates. None picks by starting point: fine-tuning a trained checkpoint uses MODEL_SPEC's
    # lr 1e-4 with backbone 1e-5; a new model (ImageNet or random backbone) uses 1e-3 for every weight,
    # tuned on the synthetic benchmark (docs/BENCHMARKS.md: 1e-4/1e-5 reached 34 % accuracy after the
    # first epoch where 1e-3 reached 95 %).
    lr: float | None = None
    backbone_lr: float | None = None
    weight_decay: float = 1e-5
    batch_size: int = 64  # per process
    lambda_ccc: float = 0.0
    lambda_c: float = 0.5
    soft_weight: float = 1.0  # weight of the soft-target cross-entropy (distillation)
    # Weight of the stage probes' expression loss in both stages (model/train/stage_probes.py), 0 = off. It
    # gives each stage's first-level attention a gradient of its own; with it the stride-8 maps move onto the
    # eyes, brows and mouth (docs/BENCHMARKS.md, "First-level attention"). lambda_stage = 0 together with
    # lambda_consistency = 0 is the plain paper recipe.
    lambda_stage: float = 0.3
    # Weight of the cross-scale attention consistency loss in both stages (model/losses.py): each map from
    # stride 16 on is asked to put its mass where the next finer map does. It moves the stride-16 maps
    # from the row between eyes and mouth onto the parts (docs/BENCHMARKS.md, "First-level attention").
    # 0 turns it off.
    lambda_consistency: float = 1.0
    # The heteroscedastic V/A head (ModelConfig.va_uncertainty): True gives a model without one a fresh
    # head (a new model or a fine-tuned checkpoint); off in the paper recipe. lambda_nll weighs its
    # Gaussian negative log-likelihood in stage 2 (the V/A mean is held fixed in that term).
    va_uncertainty: bool = False
    lambda_nll: float = 1.0
    class_balance: str = "weights"  # "weights" (inverse frequency), "sampler" (balanced draws), "none"
    plateau_patience: int = 2  # epochs without improvement before the learning rate drops x0.1
    early_stop_patience: int = 5  # epochs without improvement before a stage stops

    # --- running --------------------------------------------------------------------------------
    seed: int = 0
    device: str = DEFAULT_DEVICE  # one of model.runtimes.DEVICES
    amp: bool = True  # float16 autocast + gradient scaling, on CUDA only
    workers: int = 2  # DataLoader worker processes
    out_dir: str | Path = "runs/train"
    resume: bool = False  # continue the run in out_dir
    max_steps: int | None = None  # per stage, for quick runs
    # Whole run, its closing validations included; each stage gets a share proportional to its epochs
    # (time a stage leaves unused passes on). A stage stopped before its first step still validates
    # and writes its (unchanged) weights, so every stage leaves a best checkpoint.
    time_budget_s: float | None = None

    def stage_list(self) -> tuple[int, ...]:
        """The stages to run, in order: (1,), (2,) or (1, 2)."""
        return tuple(int(s) for s in self.stages.split("+"))

    def validate(self) -> None:
        """Raise ValueError naming the first option that cannot work and what to use instead."""
        if self.train_dataset is None:
            if self.data is None:
                raise ValueError("no training data: pass a data path (--data) or a dataset")
            if not Path(self.data).expanduser().exists():
                raise ValueError(
                    f"data path {self.data} does not exist; give an AffectNet folder, a CSV or a folder"
                )
        if self.format not in DATASET_FORMATS:
            raise ValueError(
                f"unknown data format {self.format!r}; choose one of {', '.join(DATASET_FORMATS)}"
            )
        if self.stages not in STAGE_CHOICES:
            raise ValueError(f"stages must be one of {', '.join(STAGE_CHOICES)}, got {self.stages!r}")
        if self.val_source not in VAL_SOURCE_CHOICES:
            raise ValueError(f"val_source must be one of {VAL_SOURCE_CHOICES}, got {self.val_source!r}")
        if self.class_balance not in CLASS_BALANCE_CHOICES:
            raise ValueError(
                f"class_balance must be one of {CLASS_BALANCE_CHOICES}, got {self.class_balance!r}"
            )
        if len(self.epochs) != 2 or any(int(e) < 1 for e in self.epochs):
            raise ValueError(f"epochs must be two numbers >= 1 (stage 1, stage 2), got {self.epochs}")
        positive = {"batch_size": self.batch_size}
        for name in ("lr", "backbone_lr"):
            if getattr(self, name) is not None:
                positive[name] = getattr(self, name)
        if self.max_steps is not None:
            positive["max_steps"] = self.max_steps
        if self.time_budget_s is not None:
            positive["time_budget_s"] = self.time_budget_s
        for name, value in positive.items():
            if not value > 0:
                raise ValueError(f"{name} must be > 0, got {value}")
        nonnegative = (
            "weight_decay",
            "lambda_ccc",
            "lambda_c",
            "lambda_stage",
            "lambda_consistency",
            "lambda_nll",
            "soft_weight",
            "workers",
        )
        for name in nonnegative:
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        if self.plateau_patience < 0 or self.early_stop_patience < 1:
            raise ValueError("plateau_patience must be >= 0 and early_stop_patience >= 1")
        if not 0.0 < self.val_fraction < 1.0:
            raise ValueError(f"val_fraction must lie strictly between 0 and 1, got {self.val_fraction}")
        if self.device not in DEVICES:
            raise ValueError(f"device must be one of {DEVICES}, got {self.device!r}")
        if self.device == "cuda" and not _cuda_available():
            raise ValueError(
                "device 'cuda' requested but this torch has no usable CUDA; use --device cpu "
                "or install the CUDA build of torch (see README)"
            )
        if self.start_checkpoint is not None and not Path(self.start_checkpoint).is_file():
            raise ValueError(f"start checkpoint {self.start_checkpoint} does not exist")
        if self.start_checkpoint is not None and self.model_config is not None:
            raise ValueError("give either a start checkpoint or a new model's config, not both")

    def to_json(self) -> dict[str, Any]:
        """The options as plain JSON (datasets replaced by their class names)."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, ModelConfig):
                value = value.to_dict()
            elif f.name in ("train_dataset", "val_dataset") and value is not None:
                value = type(value).__name__
            elif isinstance(value, Path):
                value = str(value)
            elif isinstance(value, tuple):
                value = list(value)
            out[f.name] = value
        return out


def _cuda_available() -> bool:
    """True when this torch build sees a CUDA device (torch is imported here, not when the CLI starts)."""
    import torch

    return torch.cuda.is_available()

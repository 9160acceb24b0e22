"""The progress events `model.train.train` yields (frozen dataclasses; the CLI and the GUI show them)."""


from __future__ import annotations

from dataclasses import dataclass
from typing import Any


# --- progress events ----------------------------------------------------------------------------
@dataclass(frozen=True)
class TrainEvent:
    """Base class of everything `train` yields."""


@dataclass(frozen=True)
class RunStarted(TrainEvent):
    """The run is set up: data opened (with its skip counts), model built, out_dir ready."""

    out_dir: str
    device: str
    world_size: int
    stages: tuple[int, ...]
    n_train: int
    n_val: int
    val_source: str
    skip_counts: dict[str, dict[str, int]]  # {"training": {...}, "validation": {...}}
    model_name: str
    config: dict[str, Any]
    start_checkpoint: str | None
    resumed: bool


@dataclass(frozen=True)
class StageStarted(TrainEvent):
    """A stage begins (or resumes at `start_epoch`)."""

    stage: int
    epochs: int
    start_epoch: int
    steps_per_epoch: int
    lr: float
    backbone_lr: float
    criterion: str


@dataclass(frozen=True)
class StepDone(TrainEvent):
    """One optimiser step; `losses` are this step's loss parts, `images_per_s` the epoch's rate so far."""

    stage: int
    epoch: int
    step: int  # within the epoch, from 1
    steps_per_epoch: int
    stage_step: int  # within the stage, from 1
    losses: dict[str, float]
    lr: float
    images_per_s: float


@dataclass(frozen=True)
class EpochDone(TrainEvent):
    """An epoch ended and was validated; `metrics` is the flat summary, `criterion` the stage's number."""

    stage: int
    epoch: int
    train_losses: dict[str, float]
    metrics: dict[str, float]
    criterion: float
    is_best: bool
    lr: float
    seconds: float


@dataclass(frozen=True)
class CheckpointWritten(TrainEvent):
    """A model checkpoint was written (atomically)."""

    path: str
    stage: int
    epoch: int
    is_best: bool


@dataclass(frozen=True)
class StageDone(TrainEvent):
    """A stage ended: `reason` is "completed", "early_stop", "max_steps" or "time_budget"."""

    stage: int
    best_path: str
    best_criterion: float
    best_epoch: int
    epochs_run: int
    steps: int  # optimiser steps the stage took
    reason: str


@dataclass(frozen=True)
class RunFinished(TrainEvent):
    """Every stage ended; `model_path` is the best checkpoint of the last stage."""

    model_path: str
    best_paths: dict[int, str]
    final_metrics: dict[str, float]
    seconds: float


@dataclass(frozen=True)
class Cancelled(TrainEvent):
    """The run stopped on request; `checkpoint_path` holds the weights, resume with `resume=True`."""

    stage: int
    epoch: int
    step: int
    checkpoint_path: str


"""Two-stage training of 2Att-2Mt (MODEL_SPEC.md "Training") as a generator of progress events.

`train(options, cancel)` yields frozen event dataclasses (RunStarted, StageStarted, StepDone, EpochDone,
CheckpointWritten, StageDone, RunFinished or Cancelled); the CLI shows them with tqdm and the GUI
training tab plots them. The same code runs on one CPU, one GPU, or many GPUs/nodes under torchrun
(model/distributed.py).

Stages: 1 = expression (cross-entropy, class weights or a balanced sampler; soft cross-entropy on rows
with soft targets), selected by validation accuracy; 2 = valence/arousal
(MSE_v + MSE_a + lambda_ccc (1-CCC terms) + lambda_c CE), selected by mean(CCC_v, CCC_a), started from
the best stage-1 weights. "2" alone from a fresh model is the paper's one-stage ablation. Both stages add
lambda_stage times the stage probes' expression loss (model/stage_probes.py: deep supervision of each
stage's attention-pooled vector; the probes live in the trainer and resume.pt, never in a checkpoint)
and lambda_consistency times the cross-scale attention consistency loss (model/losses.py).

Files in `out_dir` (rank 0 writes them, each atomically: temp file + rename):
    stage{k}_last.pt   model checkpoint after the latest epoch (or at cancellation)
    stage{k}_best.pt   best checkpoint of stage k by its criterion
    resume.pt          optimiser, scheduler, early-stopping and RNG state for `resume=True`
    options.json       the options of the run;  train_log.jsonl  one JSON line per epoch/stage/run event
Every file loads with torch.load(weights_only=True).
"""

from __future__ import annotations

import dataclasses
import json
import math
import random
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import Dataset

from model import distributed as ddp
from model.checkpoint import load_checkpoint, save_checkpoint
from model.config import FINE_TUNE_BACKBONE_LR, FINE_TUNE_LR, NEW_MODEL_LR, ModelConfig
from model.data import DATASET_FORMATS, make_loader, open_dataset
from model.evaluate import IndexedDataset, collect_predictions, compute_metrics, headline
from model.io import atomic_write, remove_stale_temp_files
from model.losses import (
    attention_consistency_loss,
    class_weights_from_counts,
    stage1_loss,
    stage2_loss,
    stage_probe_loss,
)
from model.network import TwoAttTwoMt, build_model
from model.stage_probes import ProbedNetwork, build_probes

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
    # Weight of the stage probes' expression loss in both stages (model/stage_probes.py), 0 = off. It gives
    # each stage's first-level attention a gradient of its own; with it the stride-8 maps move onto the
    # eyes, brows and mouth (docs/BENCHMARKS.md, "First-level attention"). lambda_stage = 0 together with
    # lambda_consistency = 0 is the plain paper recipe.
    lambda_stage: float = 0.3
    # Weight of the cross-scale attention consistency loss in both stages (model/losses.py): each map from
    # stride 16 on is asked to put its mass where the next finer map does. It moves the stride-16 maps
    # from the row between eyes and mouth onto the parts (docs/BENCHMARKS.md, "First-level attention").
    # 0 turns it off.
    lambda_consistency: float = 1.0
    class_balance: str = "weights"  # "weights" (inverse frequency), "sampler" (balanced draws), "none"
    plateau_patience: int = 2  # epochs without improvement before the learning rate drops x0.1
    early_stop_patience: int = 5  # epochs without improvement before a stage stops

    # --- running --------------------------------------------------------------------------------
    seed: int = 0
    device: str = "cpu"  # "cpu" or "cuda"
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
        if self.device not in ("cpu", "cuda"):
            raise ValueError(f"device must be 'cpu' or 'cuda', got {self.device!r}")
        if self.device == "cuda" and not torch.cuda.is_available():
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
            elif isinstance(value, Dataset):
                value = type(value).__name__
            elif isinstance(value, Path):
                value = str(value)
            elif isinstance(value, tuple):
                value = list(value)
            out[f.name] = value
        return out


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


# --- data ----------------------------------------------------------------------------------------
class LabelledView(Dataset):
    """A subset of a labelled dataset that keeps the label arrays (for class counts and checks)."""

    def __init__(self, base: Dataset, indices: np.ndarray | None = None) -> None:
        self.base = base
        self.indices = np.arange(len(base)) if indices is None else np.asarray(indices, dtype=np.int64)

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, index: int) -> dict:
        return self.base[int(self.indices[index])]

    def _labels(self, method: str) -> np.ndarray:
        getter = getattr(self.base, method, None)
        if getter is None:
            raise TypeError(
                f"dataset {type(self.base).__name__} has no {method}(); use model.data.FaceDataset"
            )
        return np.asarray(getter())[self.indices]

    def expression_labels(self) -> np.ndarray:
        """(N,) int64 expression codes, -1 where unlabelled."""
        return self._labels("expression_labels")

    def valence_arousal_labels(self) -> np.ndarray:
        """(N,2) float32, NaN where absent."""
        return self._labels("valence_arousal_labels")

    def soft_target_labels(self) -> np.ndarray:
        """(N,8) float32, NaN rows where absent."""
        return self._labels("soft_target_labels")

    @property
    def skip_counts(self) -> dict[str, int]:
        """The underlying dataset's skip counts (empty when it keeps none)."""
        return dict(getattr(self.base, "skip_counts", {}) or {})


def has_validation_split(path: Path, fmt: str) -> bool:
    """True when `path` holds a separate validation split (validation.csv or a validation/ folder)."""
    if fmt == "folder":
        return (path / "validation").is_dir()
    return path.is_dir() and (path / "validation.csv").is_file()


def open_train_val(options: TrainOptions, config: ModelConfig) -> tuple[LabelledView, LabelledView]:
    """The training set (augmented) and the model-selection set (evaluation transform), per `val_source`.

    The hold-out is a seeded random `val_fraction` of the training rows, the same for every resume.
    """
    if options.train_dataset is not None:
        train_base = options.train_dataset
        eval_base = options.train_dataset
        val_base = options.val_dataset
    else:
        path = Path(options.data).expanduser()
        kwargs = {"config": config, "image_root": options.image_root}
        train_base = open_dataset(path, options.format, "training", train=True, **kwargs)
        eval_base = open_dataset(path, options.format, "training", train=False, **kwargs)
        val_base = None
        if options.val_source == "validation":
            if not has_validation_split(path, options.format):
                raise ValueError(
                    f"{path} has no separate validation split (validation.csv or validation/); "
                    "use the hold-out (val_source 'holdout')"
                )
            val_base = open_dataset(path, options.format, "validation", train=False, **kwargs)
    if val_base is not None:  # an injected validation set, or the data's own validation split
        return LabelledView(train_base), LabelledView(val_base)
    n = len(train_base)
    n_val = int(round(n * options.val_fraction))
    if n_val < 1 or n - n_val < 1:
        raise ValueError(
            f"{n} training images are too few to hold out {options.val_fraction:.0%} for validation"
        )
    order = np.random.default_rng([options.seed, 7919]).permutation(n)
    return LabelledView(train_base, np.sort(order[n_val:])), LabelledView(eval_base, np.sort(order[:n_val]))


def _check_labels(stage: int, view: LabelledView, what: str) -> None:
    """Refuse a stage whose set carries none of the labels it learns from."""
    if stage == 1:
        has = (view.expression_labels() >= 0) | np.isfinite(view.soft_target_labels()).all(axis=1)
        need = "expression labels (or soft targets)"
    else:
        has = np.isfinite(view.valence_arousal_labels()).all(axis=1)
        need = "valence/arousal labels"
    if not has.any():
        raise ValueError(f"stage {stage} needs {need}, but the {what} set has none; choose other --stages")


def _class_counts(view: LabelledView, num_classes: int) -> np.ndarray:
    """(C,) number of hard-labelled rows per class."""
    labels = view.expression_labels()
    return np.bincount(labels[labels >= 0], minlength=num_classes)[:num_classes]


def _balanced_weights(view: LabelledView, num_classes: int) -> np.ndarray:
    """(N,) sampling weight per item, 1/count of its class (rows without a class get the mean weight)."""
    labels = view.expression_labels()
    counts = _class_counts(view, num_classes).astype(np.float64)
    inv = np.divide(1.0, counts, out=np.zeros_like(counts), where=counts > 0)
    weights = np.where(labels >= 0, inv[np.clip(labels, 0, None)], 0.0)
    if (labels < 0).any():
        weights[labels < 0] = weights[labels >= 0].mean() if (labels >= 0).any() else 1.0
    return weights


# --- files ---------------------------------------------------------------------------------------
def atomic_torch_save(obj: Any, path: Path) -> None:
    """torch.save through model.io.atomic_write: a kill mid-write leaves the old file as it was."""
    with atomic_write(path, "wb") as fh:
        torch.save(obj, fh)


def _json_safe(value: Any) -> Any:
    """Events and metrics as plain JSON (non-finite floats become None)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    return value


def _rng_state() -> dict[str, Any]:
    """Python, numpy and torch RNG states as weights_only-loadable values."""
    np_state = np.random.get_state()
    return {
        "python": list(random.getstate()[1]),
        "numpy_keys": torch.from_numpy(np_state[1].astype(np.int64)),
        "numpy_pos": int(np_state[2]),
        "torch": torch.get_rng_state(),
    }


def _set_rng_state(state: Mapping[str, Any]) -> None:
    """Inverse of `_rng_state`."""
    random.setstate((3, tuple(state["python"]), None))
    np.random.set_state(
        ("MT19937", state["numpy_keys"].numpy().astype(np.uint32), state["numpy_pos"], 0, 0.0)
    )
    torch.set_rng_state(state["torch"])


def _config_and_state(model: TwoAttTwoMt) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """A model as plain data (config dict, state dict) that can be broadcast to other ranks."""
    return model.config.to_dict(), model.state_dict()


def seed_everything(seed: int) -> None:
    """Seed Python, numpy and torch (CPU and CUDA)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


# --- the run -------------------------------------------------------------------------------------
@dataclass
class _StageState:
    """Progress of one stage, saved in resume.pt."""

    stage: int
    epoch: int = 0  # the epoch in progress (or next to run)
    steps_done: int = 0  # optimiser steps already taken in `epoch` (non-zero after a cancel)
    stage_step: int = 0
    best_criterion: float = -math.inf
    best_epoch: int = -1
    bad_epochs: int = 0
    optimizer: dict | None = None
    scheduler: dict | None = None
    scaler: dict | None = None


class _Run:
    """One training run: holds the model, data and state that the event generator advances."""

    def __init__(self, options: TrainOptions, cancel: threading.Event | None, ctx: ddp.DistContext) -> None:
        self.options = options
        self.cancel = cancel
        self.ctx = ctx
        self.device = ddp.process_device(options.device, ctx)
        self.amp = options.amp and self.device.type == "cuda"
        self.out_dir = Path(options.out_dir).expanduser()
        self.started = time.monotonic()
        self.stages = options.stage_list()
        self.resume_state = self._read_resume() if options.resume else None
        self.resumed = self.resume_state is not None
        if not self.resumed:
            self._agree(self._refuse_existing_run)
        if ctx.is_main:  # only rank 0 writes here; a kill mid-write left its temporary file behind
            remove_stale_temp_files(self.out_dir)
        seed_everything(options.seed)  # identical initial weights on every rank
        self.model, self.start_meta, self.fine_tuning = self._build_model()
        self.probes = None if options.lambda_stage == 0 else build_probes(self.model)
        self._restore_probes()
        # What the optimiser and DDP hold: the network, with the probes when they are on.
        self.net: nn.Module = self.model if self.probes is None else ProbedNetwork(self.model, self.probes)
        self.net.to(self.device)
        seed_everything(options.seed + 1 + ctx.rank)  # different dropout and augmentation per rank
        if ctx.is_distributed:
            ddp.synchronize_batchnorm(self.model, self.device)
        self.ddp_model: nn.Module = self.net  # DDP-wrapped per stage (the trainable set changes)
        self.train_view, self.val_view = open_train_val(options, self.model.config)
        for stage in self.stages:
            _check_labels(stage, self.train_view, "training")
            _check_labels(stage, self.val_view, "validation")
        self.elapsed_before = float(self.resume_state["elapsed_s"]) if self.resume_state else 0.0
        self.best_paths: dict[int, str] = {}
        self.completed: list[int] = []
        self.final_metrics: dict[str, float] = {}  # validation summary of the latest best checkpoint
        if self.resume_state is not None:
            self.best_paths = {int(k): v for k, v in self.resume_state["best_paths"].items()}
            self.completed = list(self.resume_state["completed"])
            self.final_metrics = dict(self.resume_state["final_metrics"])
            if ctx.is_main:
                _set_rng_state(self.resume_state["rng"])
        self._best_states: dict[int, dict[str, torch.Tensor]] = {}  # best weights per stage, in memory
        self._val_loader: torch.utils.data.DataLoader | None = None
        # A time budget stops while there is still time for one more step, the closing validation with
        # its checkpoints (longest seen), and the two resume-state writes that end a stage and the run.
        self.step_seconds = 0.0
        self.close_seconds = 0.0
        self.resume_save_seconds = 0.0

    # ---- set-up -------------------------------------------------------------------------------
    def _agree(self, check) -> Any:
        """Run `check()` on rank 0 only and give its result, or its ValueError, to every rank."""
        result, error = None, None
        if self.ctx.is_main:
            try:
                result = check()
            except ValueError as exc:
                error = str(exc)
        result, error = self._broadcast((result, error))
        if error is not None:
            raise ValueError(error)
        return result

    def _refuse_existing_run(self) -> None:
        if (self.out_dir / RESUME_FILE).exists():
            raise ValueError(
                f"{self.out_dir} already holds a training run ({RESUME_FILE}); pass --resume to "
                "continue it, or choose another --out"
            )

    def _read_resume_file(self) -> dict[str, Any]:
        path = self.out_dir / RESUME_FILE
        if not path.is_file():
            raise ValueError(f"nothing to resume: {path} does not exist (start without --resume)")
        return torch.load(path, map_location="cpu", weights_only=True)

    def _read_resume(self) -> dict[str, Any]:
        path = self.out_dir / RESUME_FILE
        state = self._agree(self._read_resume_file)
        if state.get("format") != RESUME_FORMAT:
            raise ValueError(f"{path} was written by another version of AffectScope; start a new run")
        if state["finished"]:
            raise ValueError(
                f"the run in {self.out_dir} already finished; its model is {state['model_path']}"
            )
        if state["stages"] != self.options.stages:
            raise ValueError(
                f"the run in {self.out_dir} trains stages {state['stages']}, not "
                f"{self.options.stages}; resume with the same --stages"
            )
        return state

    def _broadcast(self, obj: Any) -> Any:
        """Rank 0's `obj` on every rank (files are read once, so out_dir need not be shared)."""
        if not self.ctx.is_distributed:
            return obj
        box = [obj]
        torch.distributed.broadcast_object_list(box, src=0)
        return box[0]

    def _build_model(self) -> tuple[TwoAttTwoMt, dict[str, Any], bool]:
        """The model to train, the metadata it started with, and whether it fine-tunes a checkpoint."""
        opts = self.options
        if self.resume_state is not None:
            weights_file = self.out_dir / self.resume_state["weights"]
            config_dict, state = self._agree(lambda: _config_and_state(load_checkpoint(weights_file).model))
            model = build_model(ModelConfig.from_dict(config_dict))
            model.load_state_dict(state)
            return model, dict(self.resume_state["start_meta"]), bool(self.resume_state["fine_tuning"])
        if opts.start_checkpoint is not None:
            loaded = load_checkpoint(opts.start_checkpoint)
            meta = dict(loaded.metadata)
            meta["path"] = str(opts.start_checkpoint)
            meta["sha256"] = loaded.sha256
            return loaded.model, meta, True
        return build_model(opts.model_config or ModelConfig()), {}, False

    def _restore_probes(self) -> None:
        """On resume, the probes' weights from resume.pt; refuse a run whose probe setting differs."""
        if self.resume_state is None:
            return
        saved = self.resume_state.get("probes")
        if (saved is None) != (self.probes is None):
            was = "with" if saved is not None else "without"
            raise ValueError(
                f"the run in {self.out_dir} was trained {was} stage probes; resume it with "
                f"--lambda-stage {'> 0' if saved is not None else '0'} as it started"
            )
        if saved is not None:
            self.probes.load_state_dict(saved)

    def _set_trainable(self, stage: int) -> None:
        """Stage 1 leaves the V/A head out (its loss never reaches it); stage 2 trains every weight."""
        va_head = {id(p) for m in (self.model.va_hidden, self.model.va_out) for p in m.parameters()}
        for p in self.model.parameters():
            p.requires_grad_(stage == 2 or id(p) not in va_head)

    def learning_rates(self) -> tuple[float, float]:
        """(backbone lr, lr of the rest): the options' values, else the defaults for the starting point."""
        auto = FINE_TUNE_LR if self.fine_tuning else NEW_MODEL_LR
        lr = self.options.lr if self.options.lr is not None else auto
        if self.options.backbone_lr is not None:
            return self.options.backbone_lr, lr
        return (FINE_TUNE_BACKBONE_LR if self.fine_tuning else lr), lr

    def _optimizer(self) -> torch.optim.Optimizer:
        backbone = [p for p in self.model.backbone.parameters() if p.requires_grad]
        ids = {id(p) for p in backbone}
        rest = [p for p in self.net.parameters() if p.requires_grad and id(p) not in ids]  # probes too
        backbone_lr, lr = self.learning_rates()
        groups = [{"params": backbone, "lr": backbone_lr}, {"params": rest, "lr": lr}]
        return torch.optim.Adam(groups, lr=lr, weight_decay=self.options.weight_decay)

    def _train_loader(self, stage: int) -> tuple[torch.utils.data.DataLoader, ddp.ShardedSampler]:
        weights = None
        if self.options.class_balance == "sampler" and (self.train_view.expression_labels() >= 0).any():
            weights = _balanced_weights(self.train_view, self.model.config.num_classes)
        sampler = ddp.ShardedSampler(
            len(self.train_view),
            self.ctx.rank,
            self.ctx.world_size,
            shuffle=True,
            seed=self.options.seed * 1000 + stage,
            weights=weights,
        )
        loader = make_loader(self.train_view, self.options.batch_size, True, self.options.workers, sampler)
        return loader, sampler

    def _class_weights(self) -> torch.Tensor | None:
        if self.options.class_balance != "weights":
            return None
        counts = _class_counts(self.train_view, self.model.config.num_classes)
        if counts.sum() == 0:
            return None
        return class_weights_from_counts(counts).to(self.device)

    # ---- output files (rank 0) ---------------------------------------------------------------
    def _metadata(self, stage: int, epoch: int, metrics: Mapping[str, float]) -> dict[str, Any]:
        cfg = self.model.config
        base_name = self.options.model_name or (
            f"{self.start_meta['name']} fine-tuned"
            if self.start_meta.get("name")
            else f"2Att-2Mt {cfg.backbone} {cfg.input_size}px"
        )
        va_trained = stage >= 2 or self.start_meta.get("va_source") == "measured"
        description = f"trained by `affectscope train`: stage {stage}, epoch {epoch + 1}"
        if not va_trained:
            description += "; the V/A head has not been trained on valence/arousal labels"
        return {
            "name": base_name,
            "va_source": "measured" if va_trained else "derived",
            "untrained": False,
            "description": description,
            "training": _json_safe(
                {
                    "stage": stage,
                    "epoch": epoch + 1,
                    "stages": self.options.stages,
                    "metrics": dict(metrics),
                    "va_trained": va_trained,
                    "world_size": self.ctx.world_size,
                    "seed": self.options.seed,
                    "data": str(self.options.data) if self.options.data is not None else "in-memory dataset",
                    "format": self.options.format,
                    "val_source": self.options.val_source,
                    "start_checkpoint": self.start_meta.get("path"),
                }
            ),
        }

    def _save_model(self, name: str, stage: int, epoch: int, metrics: Mapping[str, float]) -> str:
        path = self.out_dir / name
        if self.ctx.is_main:
            save_checkpoint(path, self.model, self._metadata(stage, epoch, metrics))
        return str(path)

    def _save_resume(self, st: _StageState | None, weights: str, finished: bool = False) -> None:
        if not self.ctx.is_main:
            return
        state = {
            "format": RESUME_FORMAT,
            "stages": self.options.stages,
            "finished": finished,
            "model_path": self.best_paths.get(self.stages[-1], ""),
            "weights": weights,
            "completed": list(self.completed),
            "best_paths": {str(k): v for k, v in self.best_paths.items()},
            "final_metrics": _json_safe(self.final_metrics),
            "stage_state": None if st is None else dataclasses.asdict(st),
            "start_meta": _json_safe(self.start_meta),
            "fine_tuning": self.fine_tuning,
            "elapsed_s": self.elapsed(),
            "rng": _rng_state(),
            "probes": None if self.probes is None else self.probes.state_dict(),
        }
        started = time.monotonic()
        atomic_torch_save(state, self.out_dir / RESUME_FILE)
        self.resume_save_seconds = time.monotonic() - started

    def _log(self, event: TrainEvent) -> None:
        if self.ctx.is_main:
            line = {"event": type(event).__name__, "time": time.time(), **dataclasses.asdict(event)}
            with open(self.out_dir / LOG_FILE, "a", encoding="utf-8") as fh:
                fh.write(json.dumps(_json_safe(line)) + "\n")

    # ---- the loop ---------------------------------------------------------------------------
    def elapsed(self) -> float:
        """Training seconds of this run, including the time before a resume."""
        return self.elapsed_before + time.monotonic() - self.started

    def _stage_deadline(self, stage: int) -> float | None:
        """Elapsed-seconds mark at which `stage` stops: its epoch share of the remaining time budget."""
        if self.options.time_budget_s is None:
            return None
        remaining = [s for s in self.stages if s >= stage]
        share = self.options.epochs[stage - 1] / sum(self.options.epochs[s - 1] for s in remaining)
        return self.elapsed() + max(self.options.time_budget_s - self.elapsed(), 0.0) * share

    def _closing_reserve(self) -> float:
        """Seconds to keep free before a deadline (see the timing attributes set in __init__)."""
        return self.step_seconds + self.close_seconds + 2.0 * self.resume_save_seconds

    def _stop_request(self, deadline: float | None) -> str | None:
        """Why to stop before the next step ("cancelled", "time_budget" or None), agreed on by every rank."""
        code = 0
        if self.cancel is not None and self.cancel.is_set():
            code = 2
        elif deadline is not None and self.elapsed() + self._closing_reserve() >= deadline:
            code = 1
        if self.ctx.is_distributed:
            t = torch.tensor([code], device=self.device)
            torch.distributed.all_reduce(t, op=torch.distributed.ReduceOp.MAX)
            code = int(t.item())
        return {0: None, 1: "time_budget", 2: "cancelled"}[code]

    def validate(self) -> dict[str, Any]:
        """Metrics of the current weights on the whole model-selection set (gathered across ranks)."""
        if self._val_loader is None:
            sampler = ddp.ShardedSampler(
                len(self.val_view), self.ctx.rank, self.ctx.world_size, shuffle=False, pad=False
            )
            self._val_loader = make_loader(
                IndexedDataset(self.val_view), self.options.batch_size, False, self.options.workers, sampler
            )
        preds = collect_predictions(self.model, self._val_loader, self.device, amp=self.amp)
        index, arrays = ddp.gather_arrays(preds.index, preds.as_arrays(), self.ctx)
        return compute_metrics(type(preds).from_arrays(index, arrays), self.model.config.class_names)

    def events(self) -> Iterator[TrainEvent]:
        """Run every stage not yet completed, yielding progress events."""
        if self.ctx.is_main:
            self.out_dir.mkdir(parents=True, exist_ok=True)
            (self.out_dir / "options.json").write_text(
                json.dumps(_json_safe(self.options.to_json()), indent=2)
            )
        started = RunStarted(
            out_dir=str(self.out_dir),
            device=str(self.device),
            world_size=self.ctx.world_size,
            stages=self.stages,
            n_train=len(self.train_view),
            n_val=len(self.val_view),
            val_source="injected" if self.options.val_dataset is not None else self.options.val_source,
            skip_counts={"training": self.train_view.skip_counts, "validation": self.val_view.skip_counts},
            model_name=self._metadata(self.stages[0], 0, {})["name"],
            config=self.model.config.to_dict(),
            start_checkpoint=None
            if self.options.start_checkpoint is None
            else str(self.options.start_checkpoint),
            resumed=self.resumed,
        )
        self._log(started)
        yield started
        for stage in self.stages:
            if stage in self.completed:
                continue
            cancelled = yield from self._run_stage(stage)
            if cancelled:
                return
        model_path = self.best_paths[self.stages[-1]]
        self._save_resume(None, Path(model_path).name, finished=True)
        finished = RunFinished(model_path, dict(self.best_paths), dict(self.final_metrics), self.elapsed())
        self._log(finished)
        yield finished

    def _initial_stage_state(self, stage: int) -> _StageState:
        saved = self.resume_state["stage_state"] if self.resume_state is not None else None
        if saved is not None and saved["stage"] == stage:
            self.resume_state = None  # consumed: later stages start fresh
            return _StageState(**saved)
        self.resume_state = None
        previous = [s for s in self.completed if s < stage]
        if previous:  # stage 2 starts from the best weights of stage 1 (kept in memory on every rank)
            self.model.load_state_dict(self._best_state_of(previous[-1]))
        return _StageState(stage)

    def _best_state_of(self, stage: int) -> Mapping[str, torch.Tensor]:
        """Best weights of a completed stage: from memory, or (after a resume) from its best checkpoint."""
        if stage in self._best_states:
            return self._best_states[stage]
        return self._agree(lambda: load_checkpoint(self.best_paths[stage]).model.state_dict())

    def _run_stage(self, stage: int) -> Iterator[TrainEvent]:
        """Train one stage; its return value (the generator's) is True when the run was cancelled."""
        opts = self.options
        st = self._initial_stage_state(stage)
        self._set_trainable(stage)
        self.ddp_model = ddp.wrap_ddp(self.net, self.ctx, self.device)
        loader, sampler = self._train_loader(stage)
        if len(loader) == 0:
            raise ValueError(
                f"{len(self.train_view)} training images give no full batch of {opts.batch_size} "
                "per process; lower --batch-size"
            )
        optimizer = self._optimizer()
        scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
            optimizer, mode="max", factor=0.1, patience=opts.plateau_patience
        )
        scaler = torch.amp.GradScaler(self.device.type, enabled=self.amp)
        if st.optimizer is not None:
            optimizer.load_state_dict(st.optimizer)
            scheduler.load_state_dict(st.scheduler)
            scaler.load_state_dict(st.scaler)
        trainer = _EpochTrainer(self, stage, st, loader, sampler, optimizer, scaler, self._class_weights())
        epochs = opts.epochs[stage - 1]
        yield StageStarted(
            stage,
            epochs,
            st.epoch,
            len(loader),
            optimizer.param_groups[1]["lr"],
            optimizer.param_groups[0]["lr"],
            STAGE_CRITERION[stage],
        )
        deadline = self._stage_deadline(stage)
        reason = "completed"
        while st.epoch < epochs:
            stop = yield from trainer.run_epoch(deadline)
            if stop == "cancelled":
                yield from self._cancel(st, optimizer, scheduler, scaler)
                return True
            if trainer.steps_this_epoch == 0 and st.best_epoch >= 0:  # nothing new to validate
                reason = stop
                break
            yield from self._end_epoch(st, trainer, optimizer, scheduler, scaler)
            if stop is None:  # an epoch that ran to its end may still have used up the budget
                stop = self._stop_request(deadline)
            if stop == "cancelled":
                yield Cancelled(stage, st.epoch, 0, self.best_paths.get(stage, ""))
                return True
            if stop is not None:
                reason = stop
                break
            if st.bad_epochs >= opts.early_stop_patience:
                reason = "early_stop"
                break
        self.completed.append(stage)
        best_path = self.best_paths[stage]
        self._save_resume(None, Path(best_path).name)
        done = StageDone(stage, best_path, st.best_criterion, st.best_epoch, st.epoch, st.stage_step, reason)
        self._log(done)
        yield done
        return False

    def _keep_optimizer_state(self, st: _StageState, optimizer, scheduler, scaler) -> None:
        st.optimizer, st.scheduler, st.scaler = (
            optimizer.state_dict(),
            scheduler.state_dict(),
            scaler.state_dict(),
        )

    def _cancel(self, st: _StageState, optimizer, scheduler, scaler) -> Iterator[TrainEvent]:
        """Write the current weights and the resume state mid-epoch, then announce the cancellation."""
        path = self._save_model(f"stage{st.stage}_last.pt", st.stage, st.epoch, {})
        self._keep_optimizer_state(st, optimizer, scheduler, scaler)
        self._save_resume(st, Path(path).name)
        yield CheckpointWritten(path, st.stage, st.epoch, False)
        cancelled = Cancelled(st.stage, st.epoch, st.steps_done, path)
        self._log(cancelled)
        yield cancelled

    def _end_epoch(
        self, st: _StageState, trainer: _EpochTrainer, optimizer, scheduler, scaler
    ) -> Iterator[TrainEvent]:
        """Validate, step the plateau scheduler, track the best, write checkpoints and resume state."""
        closing_started = time.monotonic()
        stage = st.stage
        train_losses = ddp.mean_over_ranks(trainer.mean_losses(), self.ctx, self.device)
        summary = headline(self.validate())
        criterion = summary.get(STAGE_CRITERION[stage], math.nan)
        scheduler.step(criterion)
        is_best = criterion > st.best_criterion
        if is_best:
            st.best_criterion, st.best_epoch, st.bad_epochs = criterion, st.epoch, 0
            self._best_states[stage] = {
                k: v.detach().cpu().clone() for k, v in self.model.state_dict().items()
            }
        else:
            st.bad_epochs += 1
        ddp.check_replicas_in_sync(self.ddp_model, self.ctx, self.device)
        done_epoch = st.epoch
        last = self._save_model(f"stage{stage}_last.pt", stage, done_epoch, summary)
        best = self._save_model(f"stage{stage}_best.pt", stage, done_epoch, summary) if is_best else None
        if best is not None:
            self.best_paths[stage] = best
            self.final_metrics = summary
        st.epoch, st.steps_done = done_epoch + 1, 0
        self._keep_optimizer_state(st, optimizer, scheduler, scaler)
        self._save_resume(st, Path(last).name)
        self.close_seconds = max(self.close_seconds, time.monotonic() - closing_started)
        event = EpochDone(
            stage,
            done_epoch,
            train_losses,
            summary,
            criterion,
            is_best,
            optimizer.param_groups[1]["lr"],
            trainer.epoch_seconds(),
        )
        self._log(event)
        yield event
        yield CheckpointWritten(last, stage, done_epoch, False)
        if best is not None:
            yield CheckpointWritten(best, stage, done_epoch, True)


class _EpochTrainer:
    """The optimisation steps of one stage, epoch by epoch (a helper of `_Run`)."""

    def __init__(
        self,
        run: _Run,
        stage: int,
        st: _StageState,
        loader,
        sampler: ddp.ShardedSampler,
        optimizer: torch.optim.Optimizer,
        scaler: torch.amp.GradScaler,
        class_weights: torch.Tensor | None,
    ) -> None:
        self.run, self.stage, self.st = run, stage, st
        self.loader, self.sampler = loader, sampler
        self.optimizer, self.scaler, self.class_weights = optimizer, scaler, class_weights
        self.steps_this_epoch = 0
        self.loss_sums: dict[str, float] = {}
        self.started = time.monotonic()

    def mean_losses(self) -> dict[str, float]:
        """Mean of each loss part over this epoch's steps (this process)."""
        return {k: v / max(self.steps_this_epoch, 1) for k, v in self.loss_sums.items()}

    def epoch_seconds(self) -> float:
        """Seconds since the epoch started (training and validation)."""
        return time.monotonic() - self.started

    def step(self, batch: Mapping[str, Any]) -> dict[str, float]:
        """One optimiser step on `batch`; returns the loss parts."""
        run = self.run
        images = batch["image"].to(run.device, non_blocking=True)  # (B,3,S,S)
        with torch.autocast(run.device.type, dtype=torch.float16, enabled=run.amp):
            outputs = run.ddp_model(images)
        opts = run.options
        if self.stage == 1:
            loss = stage1_loss(outputs, batch, self.class_weights, opts.soft_weight)
        else:
            loss = stage2_loss(
                outputs, batch, opts.lambda_ccc, opts.lambda_c, self.class_weights, opts.soft_weight
            )
        total, parts = loss.total, loss.parts
        if "stage_logits" in outputs:
            probe = stage_probe_loss(outputs["stage_logits"], batch, self.class_weights, opts.soft_weight)
            total = total + opts.lambda_stage * probe.total
            parts = {**parts, **probe.parts, "total": float(total.detach())}
        if opts.lambda_consistency > 0:
            maps = outputs["spatial_attention"]  # 4 x (B,H_l,W_l)
            agree = attention_consistency_loss(maps, CONSISTENCY_FROM_STAGE)
            total = total + opts.lambda_consistency * agree.total
            parts = {**parts, **agree.parts, "total": float(total.detach())}
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(total).backward()
        self.scaler.step(self.optimizer)
        self.scaler.update()
        return parts

    def run_epoch(self, deadline: float | None) -> Iterator[TrainEvent]:
        """Steps until the epoch ends or a stop; the generator returns None or the stop reason."""
        run, st = self.run, self.st
        self.steps_this_epoch, self.loss_sums, self.started = 0, {}, time.monotonic()
        self.sampler.set_epoch(st.epoch, skip=st.steps_done * run.options.batch_size)
        run.ddp_model.train()
        steps_per_epoch = st.steps_done + len(self.loader)
        seen, last = 0, time.monotonic()
        for batch in self.loader:
            stop = run._stop_request(deadline)
            if stop is not None:
                return stop
            parts = self.step(batch)
            run.step_seconds, last = time.monotonic() - last, time.monotonic()
            st.steps_done += 1
            st.stage_step += 1
            self.steps_this_epoch += 1
            seen += len(batch["image"]) * run.ctx.world_size
            for k, v in parts.items():
                self.loss_sums[k] = self.loss_sums.get(k, 0.0) + v
            rate = seen / max(time.monotonic() - self.started, 1e-9)
            yield StepDone(
                self.stage,
                st.epoch,
                st.steps_done,
                steps_per_epoch,
                st.stage_step,
                parts,
                self.optimizer.param_groups[1]["lr"],
                rate,
            )
            if run.options.max_steps is not None and st.stage_step >= run.options.max_steps:
                return "max_steps"
        return None


def train(options: TrainOptions, cancel: threading.Event | None = None) -> Iterator[TrainEvent]:
    """Run the training `options` describe, yielding progress events; see the module docstring.

    `cancel` is checked between steps: when set, the current weights and the resume state are written
    and a `Cancelled` event ends the run. Under torchrun every rank runs this generator; only rank 0
    writes files. Raises ValueError (bad options or data) before the first event.
    """
    options.validate()
    ctx = ddp.init_distributed(options.device)
    try:
        yield from _Run(options, cancel, ctx).events()
    finally:
        ddp.shutdown_distributed(ctx)

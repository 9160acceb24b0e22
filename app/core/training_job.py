"""Worker side of the Training tab (no Qt): a training run framed by an evaluation before and after it,
plus saving and exporting the resulting checkpoint.

`training_events(options, evaluate, cancel)` yields, in order: `EvaluationDone("before")` (the start
weights on the model-selection set), every event of `model.train.train(options, cancel)`, then
`EvaluationDone("after")` (the run's best checkpoint, read back from its file, on the same set). Both
evaluations use `model.evaluate`'s `collect_predictions` / `compute_metrics` on the set `train` selects
models on (`open_train_val`: the seeded hold-out or the data's validation split), so the two columns of
the metric table compare like with like. They stop between batches when `cancel` is set.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from model.checkpoint import load_checkpoint
from model.data import make_loader
from model.evaluate import IndexedDataset, collect_predictions, compute_metrics, headline
from model.export import ExportReport, export_onnx
from model.io import copy_file_atomic, describe_os_error
from model.network import TwoAttTwoMt, build_model
from model.train import RunFinished, TrainOptions, open_train_val, train

log = logging.getLogger(__name__)

# (row title, path into model.evaluate.compute_metrics' result) of the before/after metric table
METRIC_ROWS: tuple[tuple[str, tuple[str, ...]], ...] = (  # the headline figures first (seen unscrolled)
    ("accuracy", ("expression", "accuracy")),
    ("macro-F1", ("expression", "macro_f1")),
    ("CCC valence", ("valence_arousal", "valence", "ccc")),
    ("CCC arousal", ("valence_arousal", "arousal", "ccc")),
    ("RMSE valence", ("valence_arousal", "valence", "rmse")),
    ("RMSE arousal", ("valence_arousal", "arousal", "rmse")),
    ("PCC valence", ("valence_arousal", "valence", "pcc")),
    ("PCC arousal", ("valence_arousal", "arousal", "pcc")),
    ("SAGR valence", ("valence_arousal", "valence", "sagr")),
    ("SAGR arousal", ("valence_arousal", "arousal", "sagr")),
    ("images", ("n_images",)),
)


@dataclass(frozen=True)
class EvaluationStarted:
    """An evaluation ("before" or "after") of `n_images` images begins."""

    which: str
    n_images: int


@dataclass(frozen=True)
class EvaluationDone:
    """The metrics (`compute_metrics`' dict) of the start weights ("before") or the result ("after")."""

    which: str
    metrics: dict[str, Any]
    model_name: str


class _Stopped(Exception):
    """The cancel event was set during an evaluation."""


def metric_value(metrics: Mapping[str, Any] | None, path: tuple[str, ...]) -> float | None:
    """The number at `path` in a metrics dict, None when that part is missing (e.g. no V/A labels)."""
    value: Any = metrics
    for key in path:
        if not isinstance(value, Mapping) or value.get(key) is None:
            return None
        value = value[key]
    return float(value)


def start_model(options: TrainOptions) -> tuple[TwoAttTwoMt, str]:
    """The weights `train` starts from (same seed for a new model) and a name for the table."""
    if options.start_checkpoint is not None:
        loaded = load_checkpoint(options.start_checkpoint)
        return loaded.model, loaded.metadata["name"]
    config = options.model_config
    if config is None:
        raise ValueError("a new model needs its architecture (backbone and input size)")
    with torch.random.fork_rng(devices=[]):  # train seeds torch the same way before building it
        torch.manual_seed(options.seed)
        model = build_model(config)
    return model, f"new {config.backbone} model ({config.input_size} px)"


def _until_cancelled(batches: Iterable[Any], cancel: threading.Event) -> Iterator[Any]:
    for batch in batches:
        if cancel.is_set():
            raise _Stopped
        yield batch


def evaluate_model(model: TwoAttTwoMt, dataset, options: TrainOptions,
                   cancel: threading.Event) -> dict[str, Any] | None:
    """`compute_metrics` of `model` on `dataset` in batches; None when cancelled midway."""
    device = torch.device(options.device)
    loader = make_loader(IndexedDataset(dataset), options.batch_size, train=False, workers=options.workers)
    try:
        predictions = collect_predictions(model.to(device), _until_cancelled(loader, cancel), device,
                                          amp=options.amp and device.type == "cuda")
    except _Stopped:
        return None
    return compute_metrics(predictions, model.config.class_names)


def training_events(options: TrainOptions, evaluate: bool, cancel: threading.Event) -> Iterator[Any]:
    """Evaluate the start weights, train, evaluate the result (see the module docstring)."""
    options.validate()
    val_view = None
    if evaluate:
        model, name = start_model(options)
        _, val_view = open_train_val(options, model.config)
        yield EvaluationStarted("before", len(val_view))
        metrics = evaluate_model(model, val_view, options, cancel)
        del model
        if metrics is not None:
            log.info("before training, %s on %d validation images: %s", name, len(val_view),
                     headline(metrics))
            yield EvaluationDone("before", metrics, name)
    if cancel.is_set():
        return
    result: str | None = None
    for event in train(options, cancel):
        yield event
        if isinstance(event, RunFinished):
            result = event.model_path
    if val_view is None or result is None or cancel.is_set():
        return
    loaded = load_checkpoint(result)
    yield EvaluationStarted("after", len(val_view))
    metrics = evaluate_model(loaded.model, val_view, options, cancel)
    if metrics is not None:
        log.info("after training, %s: %s", result, headline(metrics))
        yield EvaluationDone("after", metrics, loaded.metadata["name"])


def copy_checkpoint(source: Path, target: Path, cancel: threading.Event) -> Iterator[Path]:
    """Copy a checkpoint file to `target` (through a temporary file, so no half file is left)."""
    target = Path(target)
    if target.resolve() == Path(source).resolve():
        raise ValueError(f"{target} is the checkpoint itself; choose another file")
    try:
        copy_file_atomic(source, target)
    except OSError as exc:
        raise OSError(describe_os_error(target, exc)) from exc
    yield target


def export_checkpoint(source: Path, target: Path, cancel: threading.Event) -> Iterator[ExportReport]:
    """Export a checkpoint file to one ONNX file at `target`, checked against torch."""
    loaded = load_checkpoint(source)
    report = export_onnx(loaded.model, target, loaded.metadata)
    log.info("exported %s to %s", source, target)
    yield report


class RunProgress:
    """How far a whole training run is (all stages and epochs), and about how long it still takes.

    Fed with the run's StageStarted / StepDone / StageDone events; a stage not started yet is assumed to
    take as many steps per epoch as the last one seen. Time left = remaining steps x the wall time per
    step measured so far (validations included), so it settles after the first epoch.
    """

    def __init__(self, options: TrainOptions) -> None:
        self.stages = options.stage_list()
        self.epochs = {s: options.epochs[s - 1] for s in self.stages}
        self.max_steps = options.max_steps
        self._steps_per_epoch: int | None = None
        self._planned: dict[int, int] = {}  # stage -> steps it will take (its actual steps once done)
        self._done: dict[int, int] = dict.fromkeys(self.stages, 0)
        self._first: tuple[float, int] | None = None  # (time, steps done) at the first step seen
        self._last: tuple[float, int] | None = None

    def _plan(self, stage: int) -> int:
        if stage in self._planned:
            return self._planned[stage]
        steps = self.epochs[stage] * (self._steps_per_epoch or 0)
        return min(steps, self.max_steps) if self.max_steps is not None else steps

    def stage_started(self, stage: int, steps_per_epoch: int) -> None:
        """A stage begins (or resumes) with `steps_per_epoch` steps per epoch."""
        self._steps_per_epoch = steps_per_epoch
        self._planned.pop(stage, None)

    def step_done(self, stage: int, stage_step: int, now: float) -> None:
        """The stage's `stage_step`-th step (counted over the stage, resumed ones included) ended at `now`."""
        self._done[stage] = stage_step
        done = self.steps_done
        if self._first is None:
            self._first = (now, done)
        self._last = (now, done)

    def stage_done(self, stage: int, steps: int) -> None:
        """A stage ended after `steps` steps (early stopping and time budgets end stages early)."""
        self._planned[stage] = self._done[stage] = steps

    @property
    def steps_done(self) -> int:
        """Steps taken so far, all stages together."""
        return sum(self._done.values())

    @property
    def steps_total(self) -> int:
        """Steps the whole run takes, as far as known now (0 before the first stage starts)."""
        return sum(max(self._plan(s), self._done[s]) for s in self.stages)

    def fraction(self) -> float:
        """Share of the run done, in [0, 1]."""
        total = self.steps_total
        return min(1.0, self.steps_done / total) if total else 0.0

    def seconds_left(self) -> float | None:
        """About how many seconds the run still needs; None until two steps were timed."""
        if self._first is None or self._last is None or self._last[1] <= self._first[1]:
            return None
        per_step = (self._last[0] - self._first[0]) / (self._last[1] - self._first[1])
        return max(0.0, (self.steps_total - self.steps_done) * per_step)


def describe_time_left(seconds: float | None) -> str:
    """'about 3 min left', 'about 40 s left', or '' when not known yet."""
    if seconds is None:
        return ""
    if seconds >= 90:
        return f"about {round(seconds / 60)} min left"
    return f"about {max(1, round(seconds / 5) * 5)} s left"

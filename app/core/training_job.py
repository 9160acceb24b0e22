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
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import torch

from app.core.training_report import EvaluationDone, EvaluationStarted
from model.checkpoint import load_checkpoint
from model.data import make_loader
from model.evaluate import IndexedDataset, collect_predictions, compute_metrics, headline
from model.export import ExportReport, export_onnx
from model.io import copy_file_atomic, describe_os_error
from model.network import TwoAttTwoMt, build_model
from model.train import RunFinished, TrainOptions, open_train_val, train

log = logging.getLogger(__name__)

class _Stopped(Exception):
    """The cancel event was set during an evaluation."""


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

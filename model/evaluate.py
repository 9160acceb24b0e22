"""Evaluation of a 2Att-2Mt model on a labelled face dataset: the paper's table and a predictions file.

`collect_predictions` runs the network over a DataLoader in batches and keeps, per image, the labels and
the outputs; `compute_metrics` turns them into CCC / PCC / RMSE / MSE / SAGR per V/A dimension and
accuracy / macro-F1 / confusion matrix for the expressions (model.metrics, population statistics over the
whole set). Training validates with the same two functions. `evaluate` wraps them for a whole dataset,
`write_report` writes REPORT.json plus REPORT.md (laid out like the paper's table, with the reference
rows of MODEL_SPEC.md), and `write_predictions` writes one CSV row per image so anyone can recompute
every number.
"""

from __future__ import annotations

import csv
import datetime
import json
import logging
import math
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import Dataset

from model.calibration import calibration_report
from model.config import CLASS_NAMES, VA_DIMENSIONS
from model.data.loader import make_loader
from model.evaluate_options import EvaluateOptions
from model.io import atomic_write, write_text_atomic
from model.metrics import classification_report, regression_report
from model.uncertainty import uncertainty_report

log = logging.getLogger(__name__)

# MODEL_SPEC.md "Reference numbers on AffectNet valence/arousal", with the paper's own row left open.
PAPER_ROW = {
    "system": "2Att-2Mt paper (arXiv 1811.12139)",
    "eval_set": "AffectNet val",
    "ccc_v": None,
    "ccc_a": None,
    "rmse_v": None,
    "rmse_a": None,
    "note": "the paper's table was not available; fill in from the PDF",
}
REFERENCE_ROWS = (
    {
        "system": "HSEmotion enet_b0_8_va_mtl",
        "eval_set": "val, 8 classes",
        "ccc_v": 0.594,
        "ccc_a": 0.549,
        "rmse_v": 0.434,
        "rmse_a": 0.387,
        "note": "",
    },
    {
        "system": "CAGE MaxViT (2024)",
        "eval_set": "val, 8 classes",
        "ccc_v": 0.716,
        "ccc_a": 0.642,
        "rmse_v": 0.331,
        "rmse_a": 0.305,
        "note": "",
    },
    {
        "system": "EmoNet-8 (2021)",
        "eval_set": "cleaned test",
        "ccc_v": 0.82,
        "ccc_a": 0.75,
        "rmse_v": 0.29,
        "rmse_a": 0.27,
        "note": "authors' cleaned split, not comparable",
    },
)
# The predictions CSV's columns, then one p_<class name> column per class.
PREDICTION_COLUMNS = (
    "path",
    "valence_true",
    "valence_pred",
    "arousal_true",
    "arousal_pred",
    "expression_true",
    "expression_pred",
)


@dataclass(frozen=True)
class Predictions:
    """Per-image labels and outputs of one pass over a dataset (numpy, dataset order)."""

    index: np.ndarray  # (N,) int64 position in the dataset
    paths: np.ndarray  # (N,) str
    valence_arousal_true: np.ndarray  # (N,2) float32, NaN where unlabelled
    valence_arousal_pred: np.ndarray  # (N,2) float32
    expression_true: np.ndarray  # (N,) int64, -1 where unlabelled
    soft_target: np.ndarray  # (N,8) float32, NaN rows where absent
    probabilities: np.ndarray  # (N,8) float32 softmax
    valence_arousal_std: np.ndarray | None = None  # (N,2) float32; None: the model has no uncertainty head

    def as_arrays(self) -> dict[str, np.ndarray]:
        """The fields other than `index` as a dict (for gathering across ranks)."""
        out = {
            "paths": self.paths,
            "valence_arousal_true": self.valence_arousal_true,
            "valence_arousal_pred": self.valence_arousal_pred,
            "expression_true": self.expression_true,
            "soft_target": self.soft_target,
            "probabilities": self.probabilities,
        }
        if self.valence_arousal_std is not None:
            out["valence_arousal_std"] = self.valence_arousal_std
        return out

    @classmethod
    def from_arrays(cls, index: np.ndarray, arrays: Mapping[str, np.ndarray]) -> Predictions:
        """Inverse of `as_arrays`."""
        return cls(index=index, **arrays)


class IndexedDataset(Dataset):
    """Wraps a dataset so every item also carries its position (`index`), to reorder gathered outputs."""

    def __init__(self, dataset: Dataset) -> None:
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int) -> dict:
        item = dict(self.dataset[index])
        item["index"] = index
        return item


@torch.no_grad()
def collect_predictions(
    model: nn.Module,
    batches: Iterable[Mapping[str, Any]],
    device: torch.device | str = "cpu",
    amp: bool = False,
    temperature: float = 1.0,
) -> Predictions:
    """Run `model` (eval mode) on every batch of an IndexedDataset loader and keep labels and outputs.

    Batches are the dataset's collated dicts plus `index`; the model sees whole batches, never single
    images. `amp` runs the forward pass in float16 autocast (CUDA only). `temperature` divides the
    expression logits, as the app's Predictor does for a calibrated checkpoint.
    """
    device = torch.device(device)
    was_training = model.training
    model.eval()
    keep: dict[str, list] = {
        k: [] for k in ("index", "paths", "va_true", "va_pred", "expr", "soft", "probs", "va_std")
    }
    for batch in batches:
        images = batch["image"].to(device, non_blocking=True)  # (B,3,S,S)
        with torch.autocast(device.type, dtype=torch.float16, enabled=amp and device.type == "cuda"):
            out = model(images)
        keep["va_pred"].append(out["valence_arousal"].float().cpu().numpy())  # (B,2)
        if "valence_arousal_std" in out:
            keep["va_std"].append(out["valence_arousal_std"].float().cpu().numpy())  # (B,2)
        logits = out["expression_logits"].float() / temperature  # (B,8)
        keep["probs"].append(torch.softmax(logits, dim=1).cpu().numpy())  # (B,8)
        keep["index"].append(np.asarray(batch["index"], dtype=np.int64))  # (B,)
        keep["paths"].append(np.asarray(batch["path"], dtype=object))  # (B,)
        keep["va_true"].append(batch["valence_arousal"].numpy().astype(np.float32))  # (B,2)
        keep["expr"].append(batch["expression"].numpy().astype(np.int64))  # (B,)
        keep["soft"].append(batch["soft_target"].numpy().astype(np.float32))  # (B,8)
    model.train(was_training)
    if not keep["index"]:
        raise ValueError("no batches to evaluate: the evaluation set is empty")
    cat = {k: np.concatenate(v) for k, v in keep.items() if v}
    return Predictions(
        index=cat["index"],
        paths=cat["paths"],
        valence_arousal_true=cat["va_true"],
        valence_arousal_pred=cat["va_pred"],
        expression_true=cat["expr"],
        soft_target=cat["soft"],
        probabilities=cat["probs"],
        valence_arousal_std=cat.get("va_std"),
    )


def expression_targets(predictions: Predictions) -> np.ndarray:
    """(N,) class ids to score: the hard label, else the soft target's most probable class, else -1."""
    labels = predictions.expression_true.copy()  # (N,)
    soft = predictions.soft_target  # (N,8)
    use_soft = (labels < 0) & np.isfinite(soft).all(axis=1)  # (N,)
    labels[use_soft] = np.nan_to_num(soft[use_soft]).argmax(axis=1)
    return labels


def compute_metrics(predictions: Predictions, class_names: Sequence[str] = CLASS_NAMES) -> dict[str, Any]:
    """V/A and expression metrics over the images that carry each label (None for a task without labels).

    Valence and arousal are scored on the rows where both are labelled; expressions on the rows with a
    hard label or, failing that, a soft target (scored against its most probable class).
    """
    va_true, va_pred = predictions.valence_arousal_true, predictions.valence_arousal_pred  # (N,2)
    has_va = np.isfinite(va_true).all(axis=1)  # (N,)
    targets = expression_targets(predictions)  # (N,)
    has_expr = targets >= 0  # (N,)
    va_report = regression_report(va_true[has_va], va_pred[has_va]) if has_va.any() else None
    std = predictions.valence_arousal_std  # (N,2) or None
    uncertainty = None
    if std is not None and has_va.any():
        uncertainty = uncertainty_report(va_true[has_va], va_pred[has_va], std[has_va])
    expr_report = None
    if has_expr.any():
        predicted = predictions.probabilities[has_expr].argmax(axis=1)  # (M,)
        expr_report = classification_report(targets[has_expr], predicted, list(class_names))
        probabilities = predictions.probabilities[has_expr]  # (M,8)
        expr_report["calibration"] = calibration_report(probabilities, targets[has_expr])
    return {
        "n_images": int(len(predictions.index)),
        "n_valence_arousal": int(has_va.sum()),
        "n_expression": int(has_expr.sum()),
        "valence_arousal": va_report,
        "uncertainty": uncertainty,
        "expression": expr_report,
    }


def headline(metrics: Mapping[str, Any]) -> dict[str, float]:
    """Flat summary for logs and events: ccc_v, ccc_a, rmse_v, rmse_a, ccc_mean, accuracy, macro_f1."""
    out: dict[str, float] = {}
    va = metrics.get("valence_arousal")
    if va:
        out.update(ccc_v=va["valence"]["ccc"], ccc_a=va["arousal"]["ccc"])
        out.update(rmse_v=va["valence"]["rmse"], rmse_a=va["arousal"]["rmse"])
        out["ccc_mean"] = 0.5 * (out["ccc_v"] + out["ccc_a"])
    expr = metrics.get("expression")
    if expr:
        out.update(accuracy=expr["accuracy"], macro_f1=expr["macro_f1"])
    return out


@dataclass(frozen=True)
class EvaluationResult:
    """The report dict (what REPORT.json holds) and the per-image predictions behind it."""

    report: dict[str, Any]
    predictions: Predictions


def evaluate(
    model: nn.Module,
    dataset: Dataset,
    *,
    batch_size: int = EvaluateOptions.batch_size,
    device: str = EvaluateOptions.device,
    workers: int = EvaluateOptions.workers,
    model_info: Mapping[str, Any] | None = None,
    data_info: Mapping[str, Any] | None = None,
    temperature: float = 1.0,
) -> EvaluationResult:
    """Evaluate `model` (a TwoAttTwoMt, or any module with its named outputs) on `dataset` in batches.

    `dataset` must yield the items of docs/ARCHITECTURE.md built with the model's own preprocessing.
    `model_info` (name, path, sha256, va_source ...) and `data_info` (path, format, split) are copied
    into the report; the dataset's `skip_counts` are added when it has them. `temperature`: the
    checkpoint's fitted expression temperature (1.0: none), applied as the app applies it.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    torch_device = torch.device(device)
    model = model.to(torch_device)
    loader = make_loader(IndexedDataset(dataset), batch_size, train=False, workers=workers)
    start = time.perf_counter()
    predictions = collect_predictions(
        model, loader, torch_device, amp=torch_device.type == "cuda", temperature=temperature
    )
    elapsed = time.perf_counter() - start
    class_names = tuple(getattr(getattr(model, "config", None), "class_names", CLASS_NAMES))
    metrics = compute_metrics(predictions, class_names)
    data = dict(data_info or {})
    skip_counts = getattr(dataset, "skip_counts", None)
    if skip_counts is not None:
        data["skip_counts"] = dict(skip_counts)
    report = {
        "created": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "model": dict(model_info or {}),
        "data": data,
        "class_names": list(class_names),
        **metrics,
        "summary": headline(metrics),
        "reference": {"paper": PAPER_ROW, "others": list(REFERENCE_ROWS)},
        "timing": {"seconds": elapsed, "images_per_s": len(predictions.index) / max(elapsed, 1e-9)},
    }
    log.info("evaluated %d images in %.1f s: %s", len(predictions.index), elapsed, report["summary"])
    return EvaluationResult(report, predictions)


def _fmt(value: float | None, digits: int = 3) -> str:
    """A number for a Markdown cell, "n/a" when missing."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{value:.{digits}f}"


def report_markdown(report: Mapping[str, Any]) -> str:
    """The report as Markdown: the paper-style V/A table beside the reference rows, then expressions."""
    model = report.get("model", {})
    data = report.get("data", {})
    summary = report.get("summary", {})
    measured_name = f"**{model.get('name', 'this model')}** (measured)"
    eval_set = " ".join(str(data[k]) for k in ("format", "split") if data.get(k)) or "this data"
    lines = [
        "# Evaluation report",
        "",
        f"- model: {model.get('name', 'n/a')} ({model.get('path', 'in memory')}), "
        f"sha256 {model.get('sha256') or 'n/a'}, V/A {model.get('va_source', 'n/a')}",
        f"- data: {data.get('path', 'n/a')} ({eval_set}), {report['n_images']} images, "
        f"{report['n_valence_arousal']} with valence/arousal, {report['n_expression']} with an expression",
        f"- skipped rows: {_skips(data.get('skip_counts'))}",
        f"- created {report.get('created', 'n/a')}",
        "",
        "## Valence and arousal",
        "",
        "| system | eval set | CCC-V | CCC-A | RMSE-V | RMSE-A | PCC-V | PCC-A | SAGR-V | SAGR-A "
        "| MSE-V | MSE-A |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    va = report.get("valence_arousal")
    if va:
        v, a = va["valence"], va["arousal"]
        cells = [_fmt(d[m]) for m in ("ccc", "rmse", "pcc", "sagr", "mse") for d in (v, a)]
        lines.append(f"| {measured_name} | {eval_set} | " + " | ".join(cells) + " |")
    else:
        lines.append(f"| {measured_name} | {eval_set} | no valence/arousal labels | | | | | | | | | |")
    refs = report.get("reference", {})
    for row in [refs.get("paper", PAPER_ROW), *refs.get("others", REFERENCE_ROWS)]:
        note = f" ({row['note']})" if row.get("note") else ""
        cells = [_fmt(row.get(k)) for k in ("ccc_v", "ccc_a", "rmse_v", "rmse_a")]
        lines.append(f"| {row['system']}{note} | {row['eval_set']} | " + " | ".join(cells) + " | | | | | | |")
    lines += [
        "",
        "Reference rows are AffectNet results quoted in MODEL_SPEC.md; they compare with this model only",
        "when it is evaluated on AffectNet's validation set.",
        "",
    ]
    lines += _uncertainty_lines(report.get("uncertainty"), report.get("model", {}))
    expr = report.get("expression")
    lines += ["## Expressions", ""]
    if not expr:
        lines.append("No expression labels in this data.")
    else:
        names = report.get("class_names", list(CLASS_NAMES))
        lines += [
            f"accuracy {_fmt(expr['accuracy'])}, macro-F1 {_fmt(expr['macro_f1'])} over {expr['n']} images",
            "",
            "| class | precision | recall | F1 | support |",
            "|---|---|---|---|---|",
        ]
        for name in names:
            s = expr["per_class"][name]
            scores = " | ".join(_fmt(s[k]) for k in ("precision", "recall", "f1"))
            lines.append(f"| {name} | {scores} | {s['support']} |")
        lines += ["", "Confusion matrix (rows: true class, columns: predicted class)", ""]
        lines.append("| true \\ pred | " + " | ".join(names) + " |")
        lines.append("|---" * (len(names) + 1) + "|")
        for name, row in zip(names, expr["confusion_matrix"], strict=True):
            lines.append(f"| {name} | " + " | ".join(str(c) for c in row) + " |")
        calibration = expr.get("calibration")
        if calibration:
            after = calibration["ece_after"]
            lines += [
                "",
                f"Calibration: expected calibration error {_fmt(calibration['ece'])} ({calibration['bins']} "
                f"bins of the top probability); temperature {_fmt(calibration['temperature'], 2)} fitted "
                "by NLL; after temperature scaling (each half scaled with the temperature fitted on the "
                f"other) {_fmt(after)}.",
            ]
    if summary:
        lines += ["", "Summary: " + ", ".join(f"{k} {_fmt(v)}" for k, v in summary.items())]
    return "\n".join(lines) + "\n"


def _uncertainty_lines(uncertainty: Mapping[str, Any] | None, model: Mapping[str, Any]) -> list[str]:
    """The uncertainty section of the Markdown report (a line saying there is none without the head)."""
    lines = ["## Uncertainty of valence and arousal", ""]
    if not uncertainty:
        has_head = model.get("va_uncertainty")
        why = "no valence/arousal labels" if has_head else "this model has no uncertainty head"
        return [*lines, f"No uncertainty figures: {why}.", ""]
    keep = uncertainty["keep"]
    lines += [
        f"| dimension | Spearman(SD, abs error) | RMSE | RMSE of the {keep:.0%} most certain | drop "
        "| median SD |",
        "|---|---|---|---|---|---|",
    ]
    for name in VA_DIMENSIONS:
        d = uncertainty.get(name)
        if d:
            lines.append(
                f"| {name} | {_fmt(d['spearman'])} | {_fmt(d['rmse'])} | {_fmt(d['rmse_kept'])} "
                f"| {d['rmse_drop']:.1%} | {_fmt(d['std_median'])} |"
            )
    return [*lines, ""]


def _skips(counts: Mapping[str, int] | None) -> str:
    """'reason n, ...' for the non-zero skip counts, 'none' when nothing was skipped."""
    if not counts:
        return "none"
    return ", ".join(f"{k} {v}" for k, v in counts.items() if v) or "none"


def write_report(report: Mapping[str, Any], json_path: str | Path) -> tuple[Path, Path]:
    """Write REPORT.json and the Markdown REPORT.md beside it; returns both paths."""
    json_path = Path(json_path)
    json_path.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(json_path, json.dumps(report, indent=2) + "\n")
    md_path = json_path.with_suffix(".md")
    write_text_atomic(md_path, report_markdown(report))
    return json_path, md_path


def _cell(value: float) -> str:
    """A CSV cell for a float32 label or output: 9 significant digits (exact round trip), empty for NaN."""
    return "" if not np.isfinite(value) else f"{float(value):.9g}"


def write_predictions(
    predictions: Predictions, csv_path: str | Path, class_names: Sequence[str] = CLASS_NAMES
) -> Path:
    """One row per image: path, true/predicted valence and arousal, true/predicted class, probabilities.

    Missing labels are empty cells; classes are written by name. `expression_true` is the class the
    metrics score against (`expression_targets`: the hard label, else the soft target's top class), so
    the report can be recomputed from this file alone. Probability columns are `p_<name>` per class,
    then `valence_std`, `arousal_std` for a model with the uncertainty head.
    """
    csv_path = Path(csv_path)
    csv_path.parent.mkdir(parents=True, exist_ok=True)
    targets = expression_targets(predictions)  # (N,)
    predicted = predictions.probabilities.argmax(axis=1)  # (N,)
    std = predictions.valence_arousal_std  # (N,2) or None
    std_columns = [] if std is None else [f"{d}_std" for d in VA_DIMENSIONS]
    with atomic_write(csv_path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow([*PREDICTION_COLUMNS, *(f"p_{name}" for name in class_names), *std_columns])
        for i in range(len(predictions.index)):
            yt, yp = predictions.valence_arousal_true[i], predictions.valence_arousal_pred[i]
            writer.writerow(
                [
                    predictions.paths[i],
                    _cell(yt[0]),
                    _cell(yp[0]),
                    _cell(yt[1]),
                    _cell(yp[1]),
                    class_names[int(targets[i])] if targets[i] >= 0 else "",
                    class_names[int(predicted[i])],
                    *(_cell(p) for p in predictions.probabilities[i]),
                    *([] if std is None else (_cell(v) for v in std[i])),
                ]
            )
    return csv_path

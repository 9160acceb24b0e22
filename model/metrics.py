"""Evaluation metrics for valence/arousal regression and 8-class expression recognition (numpy).

Every statistic is a population statistic over the whole evaluation set (MODEL_SPEC.md "Metrics"):
    RMSE = sqrt(mean((y - p)^2))          MSE = mean((y - p)^2)
    PCC  = cov(y, p) / (sd_y sd_p)        CCC = 2 cov(y, p) / (var_y + var_p + (mean_y - mean_p)^2)
    SAGR = mean(sign(y) == sign(p))
with var/cov divided by N (not N - 1).

Degenerate inputs never yield a silent NaN:
- empty input, NaN or +-inf values, mismatched lengths or shapes -> `MetricError` naming the argument;
- constant values (one sample included) have zero variance and get the defined results documented on
  `ccc` and `pcc`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from model.config import VA_DIMENSIONS


class MetricError(ValueError):
    """A metric cannot be computed from the given input (empty, non-finite, mismatched or out of range)."""


def _as_vector(name: str, x: Any) -> np.ndarray:
    """Return `x` as a finite float64 1-D array, or raise MetricError naming `name`."""
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim != 1:
        raise MetricError(f"{name} must be one-dimensional, got shape {arr.shape}")
    if arr.size == 0:
        raise MetricError(f"{name} is empty: metrics need at least one sample")
    bad = int(np.count_nonzero(~np.isfinite(arr)))
    if bad:
        raise MetricError(
            f"{name} holds {bad} NaN/inf value(s) out of {arr.size}; "
            "drop unlabelled rows before computing metrics"
        )
    return arr


def _pair(y: Any, p: Any, y_name: str = "y", p_name: str = "p") -> tuple[np.ndarray, np.ndarray]:
    """Validate a (target, prediction) pair of equal-length finite vectors."""
    y_arr, p_arr = _as_vector(y_name, y), _as_vector(p_name, p)
    if y_arr.shape != p_arr.shape:
        raise MetricError(f"{y_name} has {y_arr.size} values but {p_name} has {p_arr.size}; they must match")
    return y_arr, p_arr


def _centered(x: np.ndarray) -> np.ndarray:
    """x - mean(x), exactly zero for constant input (the float mean of a constant can be off by one ulp)."""
    if np.ptp(x) == 0.0:
        return np.zeros_like(x)
    return x - x.mean()


def mse(y: Any, p: Any) -> float:
    """Mean squared error mean((y - p)^2) of two equal-length 1-D arrays."""
    y_arr, p_arr = _pair(y, p)
    return float(np.mean((y_arr - p_arr) ** 2))


def rmse(y: Any, p: Any) -> float:
    """Root mean squared error sqrt(mean((y - p)^2)) of two equal-length 1-D arrays."""
    return float(np.sqrt(mse(y, p)))


def pcc(y: Any, p: Any) -> float:
    """Pearson correlation cov(y,p) / (sd_y sd_p), population statistics.

    Zero variance in either array (constant predictions, one sample) leaves the correlation undefined; it
    is reported as 0.0 (no measurable linear association), also when both arrays are the same constant.
    """
    y_arr, p_arr = _pair(y, p)
    yc, pc = _centered(y_arr), _centered(p_arr)
    var_y, var_p = float(np.mean(yc**2)), float(np.mean(pc**2))
    if var_y == 0.0 or var_p == 0.0:
        return 0.0
    r = float(np.mean(yc * pc)) / np.sqrt(var_y * var_p)
    return float(np.clip(r, -1.0, 1.0))


def ccc(y: Any, p: Any) -> float:
    """Lin's concordance correlation 2 cov(y,p) / (var_y + var_p + (mean_y - mean_p)^2), population stats.

    Defined whenever the denominator is positive: constant predictions against varying targets (or one
    sample with y != p) give exactly 0.0. The denominator is zero only when y and p are the same constant,
    i.e. identical, which gives 1.0.
    """
    y_arr, p_arr = _pair(y, p)
    yc, pc = _centered(y_arr), _centered(p_arr)
    cov = float(np.mean(yc * pc))
    denom = float(np.mean(yc**2) + np.mean(pc**2) + (y_arr.mean() - p_arr.mean()) ** 2)
    if denom == 0.0:
        return 1.0
    return 2.0 * cov / denom


def sagr(y: Any, p: Any) -> float:
    """Sign agreement mean(sign(y) == sign(p)).

    Uses numpy's sign, so 0 is a sign of its own: a 0 target agrees only with a 0 prediction.
    """
    y_arr, p_arr = _pair(y, p)
    return float(np.mean(np.sign(y_arr) == np.sign(p_arr)))


def _as_labels(name: str, x: Any, num_classes: int | None = None) -> np.ndarray:
    """Return class ids as an int64 1-D array; refuse non-integer values and ids outside [0, num_classes)."""
    arr = _as_vector(name, x)
    if not np.all(arr == np.round(arr)):
        raise MetricError(f"{name} must hold integer class ids, got non-integer values")
    labels = arr.astype(np.int64)
    upper = num_classes if num_classes is not None else np.iinfo(np.int64).max
    out_of_range = labels[(labels < 0) | (labels >= upper)]
    if out_of_range.size:
        allowed = f"0..{num_classes - 1}" if num_classes is not None else ">= 0"
        raise MetricError(
            f"{name} holds class id {int(out_of_range[0])} outside {allowed} "
            f"({out_of_range.size} such value(s)); drop unlabelled (-1) rows before computing metrics"
        )
    return labels


def _label_pair(
    y: Any, p: Any, num_classes: int | None, y_name: str = "y", p_name: str = "p"
) -> tuple[np.ndarray, np.ndarray]:
    """Validate a (true, predicted) pair of equal-length class-id vectors."""
    y_arr, p_arr = _as_labels(y_name, y, num_classes), _as_labels(p_name, p, num_classes)
    if y_arr.shape != p_arr.shape:
        raise MetricError(f"{y_name} has {y_arr.size} labels but {p_name} has {p_arr.size}; they must match")
    return y_arr, p_arr


def _counts(y_arr: np.ndarray, p_arr: np.ndarray, num_classes: int) -> np.ndarray:
    """Confusion counts of validated class ids, (num_classes, num_classes), rows true."""
    flat = np.bincount(y_arr * num_classes + p_arr, minlength=num_classes * num_classes)
    return flat.reshape(num_classes, num_classes)


def accuracy(y: Any, p: Any) -> float:
    """Fraction of samples whose predicted class id equals the true one."""
    y_arr, p_arr = _label_pair(y, p, None)
    return float(np.mean(y_arr == p_arr))


def confusion_matrix(y: Any, p: Any, num_classes: int = 8) -> np.ndarray:
    """(num_classes, num_classes) int64 counts; rows are true classes, columns predicted classes."""
    return _counts(*_label_pair(y, p, num_classes), num_classes)


def _per_class_scores(cm: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Precision, recall and F1 per class from a confusion matrix; 0.0 where a ratio has no denominator."""
    tp = np.diag(cm).astype(np.float64)
    predicted, support = cm.sum(axis=0), cm.sum(axis=1)
    precision = np.divide(tp, predicted, out=np.zeros_like(tp), where=predicted > 0)
    recall = np.divide(tp, support, out=np.zeros_like(tp), where=support > 0)
    f1_denom = predicted + support  # 2TP + FP + FN
    f1 = np.divide(2.0 * tp, f1_denom, out=np.zeros_like(tp), where=f1_denom > 0)
    return precision, recall, f1


def macro_f1(y: Any, p: Any, num_classes: int = 8) -> float:
    """Unweighted mean of per-class F1 = 2TP / (2TP + FP + FN).

    The mean runs over the classes present in y or in p; a class with no support and no predictions has
    no defined F1 and is left out (so a subset of classes is scored on its own terms).
    """
    return _macro_f1(confusion_matrix(y, p, num_classes))


def _macro_f1(cm: np.ndarray) -> float:
    """Mean F1 over the classes with support or predictions in confusion matrix `cm`."""
    _, _, f1 = _per_class_scores(cm)
    present = (cm.sum(axis=0) + cm.sum(axis=1)) > 0
    return float(f1[present].mean())


def regression_report(y: Any, p: Any) -> dict[str, dict[str, float | int]]:
    """CCC, PCC, RMSE, MSE, SAGR and n for valence and arousal from (N,2) targets and predictions."""
    y_arr, p_arr = np.asarray(y, dtype=np.float64), np.asarray(p, dtype=np.float64)
    for name, arr in (("y", y_arr), ("p", p_arr)):
        if arr.ndim != 2 or arr.shape[1] != 2:
            raise MetricError(f"{name} must have shape (N, 2) with columns valence, arousal; got {arr.shape}")
    report: dict[str, dict[str, float | int]] = {}
    for col, dim in enumerate(VA_DIMENSIONS):
        y_d, p_d = _pair(y_arr[:, col], p_arr[:, col], f"y[:, {col}] ({dim})", f"p[:, {col}] ({dim})")
        report[dim] = {
            "ccc": ccc(y_d, p_d),
            "pcc": pcc(y_d, p_d),
            "rmse": rmse(y_d, p_d),
            "mse": mse(y_d, p_d),
            "sagr": sagr(y_d, p_d),
            "n": int(y_d.size),
        }
    return report


def classification_report(y_true: Any, y_pred: Any, class_names: Sequence[str]) -> dict[str, Any]:
    """Accuracy, macro-F1, confusion matrix (list of lists, rows true) and per-class scores, JSON-ready.

    `per_class` lists every class name; precision is 0.0 for a class never predicted and recall 0.0 for
    a class with no support. Macro-F1 follows `macro_f1` (classes absent from both are left out).
    """
    num_classes = len(class_names)
    y_arr, p_arr = _label_pair(y_true, y_pred, num_classes, "y_true", "y_pred")
    cm = _counts(y_arr, p_arr, num_classes)
    precision, recall, f1 = _per_class_scores(cm)
    support = cm.sum(axis=1)
    return {
        "accuracy": float(np.mean(y_arr == p_arr)),
        "macro_f1": _macro_f1(cm),
        "confusion_matrix": cm.tolist(),
        "per_class": {
            name: {
                "precision": float(precision[i]),
                "recall": float(recall[i]),
                "f1": float(f1[i]),
                "support": int(support[i]),
            }
            for i, name in enumerate(class_names)
        },
        "n": int(cm.sum()),
    }

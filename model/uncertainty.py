"""How well a predicted valence/arousal standard deviation ranks the errors (issue 19's figures).

`uncertainty_report(truth, prediction, std)` gives, per dimension: the Spearman correlation of the
predicted SD with the absolute error, the RMSE of all rows and of the KEEP share the model is most sure
about (the risk at 80% coverage) with the relative drop, and the risk-coverage curve. A model whose SD
says nothing scores a Spearman near 0 and a drop near 0; leaving out rows at random has an expected
drop of 0 as well.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from model.config import VA_DIMENSIONS

KEEP = 0.8  # the coverage of the headline risk: the 80% of rows with the smallest predicted SD
COVERAGES = tuple(round(0.1 * k, 1) for k in range(1, 11))  # the risk-coverage curve's points


def spearman(x: np.ndarray, y: np.ndarray) -> float:
    """Spearman's rank correlation of two (n,) arrays (average ranks for ties); NaN for n < 3 or a
    constant array."""
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    if len(x) < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return float("nan")
    return float(np.corrcoef(_ranks(x), _ranks(y))[0, 1])


def _ranks(x: np.ndarray) -> np.ndarray:
    """(n,) ranks 0..n-1 of `x`, tied values sharing their mean rank."""
    order = np.argsort(x, kind="stable")
    ranks = np.empty(len(x), np.float64)
    ranks[order] = np.arange(len(x), dtype=np.float64)
    values, inverse = np.unique(x, return_inverse=True)
    sums = np.bincount(inverse, weights=ranks, minlength=len(values))
    counts = np.bincount(inverse, minlength=len(values))
    return (sums / counts)[inverse]


def risk_at_coverage(abs_error: np.ndarray, std: np.ndarray, coverage: float) -> float:
    """RMSE over the `coverage` share of rows with the smallest `std` (at least one row)."""
    keep = max(1, int(round(coverage * len(std))))
    order = np.argsort(std, kind="stable")[:keep]
    return float(np.sqrt(np.mean(abs_error[order] ** 2)))


def uncertainty_report(truth: np.ndarray, prediction: np.ndarray, std: np.ndarray) -> dict[str, Any]:
    """Per dimension of VA_DIMENSIONS: spearman, rmse, rmse_kept (at KEEP), rmse_drop, std_median and
    the risk-coverage curve ({coverage: rmse}). truth, prediction, std: (N,2); rows whose truth is not
    finite in a dimension are left out of it."""
    truth, prediction, std = (np.asarray(a, np.float64) for a in (truth, prediction, std))
    report: dict[str, Any] = {"keep": KEEP}
    for d, name in enumerate(VA_DIMENSIONS):
        rows = np.isfinite(truth[:, d])
        err, sd = np.abs(prediction[rows, d] - truth[rows, d]), std[rows, d]
        if len(err) == 0:
            report[name] = None
            continue
        rmse = float(np.sqrt(np.mean(err**2)))
        kept = risk_at_coverage(err, sd, KEEP)
        report[name] = {
            "n": int(len(err)),
            "spearman": spearman(sd, err),
            "rmse": rmse,
            "rmse_kept": kept,
            "rmse_drop": 1.0 - kept / rmse if rmse > 0 else 0.0,
            "std_median": float(np.median(sd)),
            "risk_coverage": {str(c): risk_at_coverage(err, sd, c) for c in COVERAGES},
        }
    return report

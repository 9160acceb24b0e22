"""How far the expression probabilities can be trusted as probabilities, and temperature scaling.

    ece = expected_calibration_error(probabilities, labels)          # 0 = calibrated
    temperature = fit_temperature(np.log(probabilities), labels)     # NLL-optimal T on held data
    calibrated = apply_temperature(np.log(probabilities), temperature)

Temperature scaling (Guo et al., 2017) divides the logits by one number T before the softmax: T > 1
softens an over-confident model, T < 1 sharpens an under-confident one; the predicted class never
changes. Log-probabilities serve as logits (they differ by a per-row constant, which the softmax
ignores). The expected calibration error uses ECE_BINS equal-width bins of the top probability: the
mean over bins of |accuracy - mean confidence|, weighted by the bin's share of the rows.
"""

from __future__ import annotations

import math

import numpy as np

TEMPERATURE_KEY = "expression_temperature"  # checkpoint metadata: the fitted T (absent: not calibrated)
ECE_BINS = 15
T_RANGE = (0.05, 20.0)  # the temperatures searched
GOLDEN_STEPS = 80  # golden-section steps on log T: the bracket shrinks by 0.618**80, far below 1e-12


def _checked(probabilities: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    p = np.asarray(probabilities, dtype=np.float64)
    y = np.asarray(labels, dtype=np.int64)
    if p.ndim != 2 or y.shape != (p.shape[0],):
        raise ValueError(f"probabilities must be (n, k) and labels (n,), got {p.shape} and {y.shape}")
    if len(y) and (y.min() < 0 or y.max() >= p.shape[1]):
        raise ValueError(f"labels must be class indices in [0, {p.shape[1]}), got {y.min()}..{y.max()}")
    return p, y


def reliability(
    probabilities: np.ndarray, labels: np.ndarray, bins: int = ECE_BINS
) -> list[tuple[float, float, int, float, float]]:
    """Per confidence bin: (low, high, rows, mean top probability, accuracy); empty bins are left out."""
    p, y = _checked(probabilities, labels)
    confidence = p.max(axis=1)  # (n,)
    correct = p.argmax(axis=1) == y  # (n,)
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.searchsorted(edges, confidence, side="right") - 1, 0, bins - 1)  # (n,) bin per row
    out = []
    for b in range(bins):
        rows = which == b
        if rows.any():
            out.append(
                (
                    float(edges[b]),
                    float(edges[b + 1]),
                    int(rows.sum()),
                    float(confidence[rows].mean()),
                    float(correct[rows].mean()),
                )
            )
    return out


def expected_calibration_error(probabilities: np.ndarray, labels: np.ndarray, bins: int = ECE_BINS) -> float:
    """The weighted mean gap between accuracy and confidence over the bins (0 to 1; 0 is calibrated)."""
    table = reliability(probabilities, labels, bins)
    total = sum(rows for _, _, rows, _, _ in table)
    if total == 0:
        return float("nan")
    return float(sum(rows * abs(accuracy - confidence) for _, _, rows, confidence, accuracy in table) / total)


def stored_temperature(metadata: dict[str, object]) -> float:
    """The temperature a checkpoint's metadata holds (1.0 when it was never calibrated); ValueError for a
    value that is not a positive number."""
    value = metadata.get(TEMPERATURE_KEY)
    if value is None:
        return 1.0
    temperature = float(value)
    if not math.isfinite(temperature) or temperature <= 0:
        raise ValueError(f"the checkpoint's {TEMPERATURE_KEY} must be a positive number, got {value!r}")
    return temperature


def apply_temperature(logits: np.ndarray, temperature: float) -> np.ndarray:
    """softmax(logits / T) in float64, (n, k)."""
    z = np.asarray(logits, dtype=np.float64) / float(temperature)
    z -= z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def _nll(logits: np.ndarray, labels: np.ndarray, temperature: float) -> float:
    z = logits / temperature
    z = z - z.max(axis=1, keepdims=True)
    log_norm = np.log(np.exp(z).sum(axis=1))
    return float((log_norm - z[np.arange(len(labels)), labels]).mean())


def fit_temperature(logits: np.ndarray, labels: np.ndarray) -> float:
    """The temperature in T_RANGE that minimises the mean negative log-likelihood of `labels` (golden-
    section search on log T; the NLL is convex in 1/T)."""
    z, y = _checked(logits, labels)
    if len(y) == 0:
        raise ValueError("fitting a temperature needs at least one labelled row")
    z = np.where(np.isfinite(z), z, np.log(np.finfo(np.float64).tiny))  # log 0 from a softmax underflow
    low, high = math.log(T_RANGE[0]), math.log(T_RANGE[1])
    ratio = (math.sqrt(5.0) - 1.0) / 2.0
    a, b = high - ratio * (high - low), low + ratio * (high - low)
    fa, fb = _nll(z, y, math.exp(a)), _nll(z, y, math.exp(b))
    for _ in range(GOLDEN_STEPS):
        if fa <= fb:
            high, b, fb = b, a, fa
            a = high - ratio * (high - low)
            fa = _nll(z, y, math.exp(a))
        else:
            low, a, fa = a, b, fb
            b = low + ratio * (high - low)
            fb = _nll(z, y, math.exp(b))
    return math.exp((low + high) / 2.0)


def calibration_report(probabilities: np.ndarray, labels: np.ndarray) -> dict[str, object]:
    """ECE as predicted; the temperature fitted on all rows; and the ECE after temperature scaling,
    cross-fitted (each half of the rows scaled with the temperature fitted on the other half), so the
    figure is not measured on the rows it was fitted on."""
    p, y = _checked(probabilities, labels)
    logits = np.log(np.clip(p, np.finfo(np.float64).tiny, 1.0))  # (n,k)
    out: dict[str, object] = {"n": int(len(y)), "bins": ECE_BINS, "ece": expected_calibration_error(p, y)}
    if len(y) < 2:
        return {**out, "temperature": None, "ece_after": None, "reliability": reliability(p, y)}
    halves = (np.arange(len(y)) % 2 == 0, np.arange(len(y)) % 2 == 1)
    scaled = np.empty_like(p)
    for fit, apply in (halves, halves[::-1]):
        scaled[apply] = apply_temperature(logits[apply], fit_temperature(logits[fit], y[fit]))
    return {
        **out,
        "temperature": fit_temperature(logits, y),
        "ece_after": expected_calibration_error(scaled, y),
        "reliability": reliability(p, y),
    }

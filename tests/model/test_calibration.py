"""Temperature scaling and the expected calibration error, on outputs whose calibration is known."""

from __future__ import annotations

import numpy as np
import pytest

from model.calibration import (
    apply_temperature,
    calibration_report,
    expected_calibration_error,
    fit_temperature,
    reliability,
)


def _overconfident(n: int, true_temperature: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Logits (n,8) and labels drawn from softmax(logits / true_temperature): a model reporting
    softmax(logits) is over-confident by that temperature."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(0.0, 3.0, (n, 8))
    truth = apply_temperature(logits, true_temperature)
    labels = np.array([rng.choice(8, p=row) for row in truth])
    return logits, labels


def test_the_fitted_temperature_recovers_the_over_confidence() -> None:
    logits, labels = _overconfident(20000, 2.0)
    # the NLL's curvature at the optimum gives the estimate a standard error of 1/sqrt(n * d2NLL/dT2),
    # 0.016 for these 20000 rows; 0.1 is six of them
    assert fit_temperature(logits, labels) == pytest.approx(2.0, abs=0.1)


def test_temperature_scaling_lowers_the_calibration_error() -> None:
    logits, labels = _overconfident(4000, 2.5, seed=1)
    report = calibration_report(apply_temperature(logits, 1.0), labels)
    assert report["temperature"] > 1.0  # softened: the model was over-confident
    assert report["ece"] > 0.1 and report["ece_after"] < report["ece"] / 3
    assert report["ece_after"] < 0.05  # the goal, met on data that temperature can fix


def test_a_calibrated_model_has_no_gap_and_scaling_never_changes_the_class() -> None:
    # every row: probability 0.75 on the true class, the rest spread: 75% right at 75% confidence
    probabilities = np.full((400, 8), 0.25 / 7)
    labels = np.arange(400) % 8
    probabilities[np.arange(400), labels] = 0.75
    wrong = np.arange(400) % 4 == 0  # a quarter of the rows name another class with 0.75
    probabilities[wrong] = np.roll(probabilities[wrong], 1, axis=1)
    assert expected_calibration_error(probabilities, labels) == pytest.approx(0.0, abs=1e-12)
    (low, high, rows, confidence, accuracy), = reliability(probabilities, labels)
    assert rows == 400 and confidence == pytest.approx(0.75) and accuracy == pytest.approx(0.75)
    scaled = apply_temperature(np.log(probabilities), 3.0)
    assert (scaled.argmax(axis=1) == probabilities.argmax(axis=1)).all()


def test_bad_shapes_are_refused() -> None:
    with pytest.raises(ValueError, match="labels must be class indices"):
        expected_calibration_error(np.full((2, 8), 0.125), np.array([0, 8]))
    with pytest.raises(ValueError, match=r"\(n, k\)"):
        fit_temperature(np.zeros(8), np.zeros(1, dtype=int))

"""Neutral baseline: recording progress, mean of the raw resting values, corrected = smoothed - baseline."""

from __future__ import annotations

import pytest

from app.core.baseline import BaselineState, NeutralBaselines


def test_idle_face_has_no_corrected_values():
    b = NeutralBaselines(duration_s=1.0)
    assert b.update(1, 0.5, 0.5, 0.5, 0.5, 0.0) == (None, None)
    assert b.status(1).state is BaselineState.IDLE


def test_baseline_is_the_mean_of_the_raw_samples_and_corrects_the_smoothed_values():
    b = NeutralBaselines(duration_s=1.0, min_samples=3)
    b.start(7)
    # raw valence 0.1, 0.2, 0.3 at t = 0, 0.5, 1.0 -> baseline 0.2; arousal -0.4, -0.2, 0.0 -> -0.2
    assert b.update(7, 0.1, -0.4, 0.9, 0.9, 10.0) == (None, None)
    status = b.status(7)
    assert status.state is BaselineState.RECORDING and status.progress == 0.0
    assert b.update(7, 0.2, -0.2, 0.9, 0.9, 10.5) == (None, None)
    assert b.status(7).progress == pytest.approx(0.5)
    corrected = b.update(7, 0.3, 0.0, 0.25, -0.1, 11.0)  # the frame that completes the recording
    assert corrected == pytest.approx((0.25 - 0.2, -0.1 + 0.2))
    status = b.status(7)
    assert status.state is BaselineState.READY and status.progress == 1.0
    assert (status.valence, status.arousal, status.n_samples) == pytest.approx((0.2, -0.2, 3))
    # afterwards: smoothed - baseline, not clipped to [-1, 1]
    assert b.update(7, -1.0, 1.0, -0.9, 0.95, 11.5) == pytest.approx((-1.1, 1.15))
    assert b.update(8, 0.0, 0.0, 0.0, 0.0, 11.5) == (None, None)  # other faces are unaffected


def test_recording_waits_for_the_minimum_sample_count():
    b = NeutralBaselines(duration_s=0.1, min_samples=3)
    b.start(1)
    b.update(1, 0.0, 0.0, 0.0, 0.0, 0.0)
    assert b.update(1, 0.0, 0.0, 0.0, 0.0, 5.0) == (None, None)
    assert b.status(1).progress == pytest.approx(2 / 3)
    assert b.update(1, 0.3, 0.0, 0.0, 0.0, 5.1) == pytest.approx((-0.1, 0.0))


def test_restart_and_clear():
    b = NeutralBaselines(duration_s=0.5, min_samples=1)
    b.start(1)
    b.update(1, 0.4, 0.4, 0.0, 0.0, 0.0)
    b.update(1, 0.4, 0.4, 0.0, 0.0, 0.5)
    assert b.status(1).state is BaselineState.READY
    b.start(1)
    assert b.status(1).state is BaselineState.RECORDING
    b.clear()
    assert b.status(1).state is BaselineState.IDLE
    with pytest.raises(ValueError, match="duration"):
        NeutralBaselines(duration_s=0.0)

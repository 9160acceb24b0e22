"""Smoothing maths: EMA and One-Euro against values worked out by hand, and the per-face bank."""

from __future__ import annotations

import math

import pytest

from app.core.smoothing import EmaSmoother, FaceSmoothers, NoSmoother, OneEuroSmoother, make_smoother

# One-Euro, dt = 0.1 s: alpha(fc) = 1 / (1 + tau / dt), tau = 1 / (2 pi fc)
ALPHA_1HZ = 1.0 / (1.0 + (1.0 / (2.0 * math.pi)) / 0.1)  # 0.385870


def test_none_passes_values_through():
    s = make_smoother("none")
    assert isinstance(s, NoSmoother)
    assert [s.update(v, t) for t, v in enumerate([0.3, -0.8, 1.0])] == [0.3, -0.8, 1.0]


def test_ema_matches_hand_values():
    s = EmaSmoother(alpha=0.5)
    out = [s.update(v, t) for t, v in enumerate([0.0, 1.0, 1.0, -1.0])]
    assert out == pytest.approx([0.0, 0.5, 0.75, -0.125])
    s.reset()
    assert s.update(0.4, 10.0) == pytest.approx(0.4)  # first sample after reset passes through


def test_one_euro_without_beta_is_a_fixed_low_pass():
    assert ALPHA_1HZ == pytest.approx(0.385870, abs=1e-6)
    s = OneEuroSmoother(min_cutoff=1.0, beta=0.0, d_cutoff=1.0)
    assert s.update(0.0, 0.0) == 0.0
    assert s.update(1.0, 0.1) == pytest.approx(0.385870, abs=1e-6)
    assert s.update(1.0, 0.2) == pytest.approx(0.385870 + 0.385870 * (1 - 0.385870), abs=1e-6)


def test_one_euro_speed_raises_the_cutoff():
    s = OneEuroSmoother(min_cutoff=1.0, beta=1.0, d_cutoff=1.0)
    s.update(0.0, 0.0)
    # step 1: dx = 10/s, dx_hat = 0.385870 * 10 = 3.858695, cutoff = 4.858695 Hz, alpha = 0.753258
    assert s.update(1.0, 0.1) == pytest.approx(0.753258, abs=1e-6)
    # step 2: dx = (1 - 0.753258) / 0.1 = 2.467425, dx_hat = 3.321846, cutoff 4.321846 Hz, alpha = 0.730857
    assert s.update(1.0, 0.2) == pytest.approx(0.933591, abs=1e-6)


def test_one_euro_ignores_a_sample_whose_time_does_not_advance():
    s = OneEuroSmoother()
    s.update(0.2, 1.0)
    assert s.update(0.9, 1.0) == pytest.approx(0.2)
    assert s.update(0.9, 0.5) == pytest.approx(0.2)


@pytest.mark.parametrize(
    ("kind", "params"),
    [("ema", {"alpha": 0.0}), ("ema", {"alpha": 1.5}), ("one_euro", {"min_cutoff": 0.0}),
     ("one_euro", {"beta": -1.0}), ("kalman", {}), ("none", {"alpha": 0.5})],
)
def test_bad_settings_are_refused_with_a_clear_message(kind, params):
    with pytest.raises(ValueError, match=r"alpha|cutoff|beta|unknown smoothing|no parameters"):
        make_smoother(kind, **params)


def test_face_smoothers_keep_faces_apart_and_drop_retired_ids():
    bank = FaceSmoothers("ema", alpha=0.5)
    assert bank.update(1, 1.0, -1.0, 0.0) == (1.0, -1.0)
    assert bank.update(2, 0.0, 0.0, 0.0) == (0.0, 0.0)
    assert bank.update(1, 0.0, 0.0, 0.1) == pytest.approx((0.5, -0.5))
    bank.retain([2])
    assert bank.face_ids() == [2]
    assert bank.update(1, 0.0, 0.0, 0.2) == (0.0, 0.0)  # a returning id starts afresh
    bank.configure("none")
    assert bank.face_ids() == [] and bank.kind == "none"
    assert bank.update(2, 0.7, 0.1, 0.3) == (0.7, 0.1)

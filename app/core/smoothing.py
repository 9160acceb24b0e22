"""Per-face, per-dimension smoothing of valence and arousal: none, EMA or the One-Euro filter.

Every smoother consumes one scalar per processed frame together with the frame's timestamp (seconds)
and returns the smoothed value. `FaceSmoothers` keeps one smoother per face id and per dimension and
drops the state of face ids the tracker retired, so a new person never inherits an old trail.

One-Euro filter: Casiez, Roussel and Vogel, "1 Euro Filter: A Simple Speed-based Low-pass Filter for
Noisy Input in Interactive Systems", CHI 2012. The cutoff frequency adapts to the signal's speed:
`cutoff = min_cutoff + beta * |dx/dt|`, so slow changes are smoothed hard (little jitter) and fast
changes pass with little lag.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterable
from typing import Protocol

from app.core.settings import SMOOTHER_KINDS, SmoothingSettings

_DEFAULTS = SmoothingSettings()


class Smoother(Protocol):
    """A scalar filter updated once per sample."""

    def update(self, value: float, timestamp_s: float) -> float:
        """Feed one sample taken at `timestamp_s` seconds; return the filtered value."""
        ...

    def reset(self) -> None:
        """Forget all state; the next sample is passed through unchanged."""
        ...


class NoSmoother:
    """Pass-through: the output equals the input."""

    def update(self, value: float, timestamp_s: float) -> float:
        """Return `value` unchanged."""
        return float(value)

    def reset(self) -> None:
        """Nothing to forget."""


class EmaSmoother:
    """Exponential moving average `y = alpha * x + (1 - alpha) * y_prev`; the first sample passes through.

    `alpha` in (0, 1]: 1 means no smoothing, small values smooth more. It is applied per processed frame,
    so the effective time constant depends on the frame rate (use One-Euro for a time-based filter).
    """

    def __init__(self, alpha: float = _DEFAULTS.alpha) -> None:
        if not 0.0 < alpha <= 1.0:
            raise ValueError(f"EMA alpha must be in (0, 1], got {alpha}")
        self.alpha = float(alpha)
        self._value: float | None = None

    def update(self, value: float, timestamp_s: float) -> float:
        """Blend `value` into the running average and return it."""
        value = float(value)
        if self._value is None:
            self._value = value
        else:
            self._value = self.alpha * value + (1.0 - self.alpha) * self._value
        return self._value

    def reset(self) -> None:
        """Forget the running average."""
        self._value = None


def _smoothing_factor(cutoff_hz: float, dt_s: float) -> float:
    """Smoothing factor of a first-order low-pass filter: 1 / (1 + tau / dt), tau = 1 / (2 pi fc)."""
    tau = 1.0 / (2.0 * math.pi * cutoff_hz)
    return 1.0 / (1.0 + tau / dt_s)


class OneEuroSmoother:
    """The One-Euro filter (Casiez et al. 2012), time-based: uses the samples' timestamps.

    min_cutoff (Hz) sets the smoothing of a still signal (lower: less jitter, more lag); beta sets how
    fast the cutoff rises with the signal's speed (higher: less lag on fast changes); d_cutoff (Hz) is
    the cutoff of the low-pass on the derivative. A sample whose timestamp does not advance past the
    previous one changes nothing and returns the previous estimate.
    """

    def __init__(
        self,
        min_cutoff: float = _DEFAULTS.min_cutoff,
        beta: float = _DEFAULTS.beta,
        d_cutoff: float = _DEFAULTS.d_cutoff,
    ) -> None:
        if min_cutoff <= 0.0:
            raise ValueError(f"One-Euro min_cutoff must be > 0 Hz, got {min_cutoff}")
        if beta < 0.0:
            raise ValueError(f"One-Euro beta must be >= 0, got {beta}")
        if d_cutoff <= 0.0:
            raise ValueError(f"One-Euro d_cutoff must be > 0 Hz, got {d_cutoff}")
        self.min_cutoff = float(min_cutoff)
        self.beta = float(beta)
        self.d_cutoff = float(d_cutoff)
        self._value: float | None = None
        self._derivative = 0.0
        self._timestamp = 0.0

    def update(self, value: float, timestamp_s: float) -> float:
        """Filter `value` sampled at `timestamp_s` and return the estimate."""
        value = float(value)
        if self._value is None:
            self._value, self._derivative, self._timestamp = value, 0.0, float(timestamp_s)
            return value
        dt = float(timestamp_s) - self._timestamp
        if dt <= 0.0:
            return self._value
        raw_derivative = (value - self._value) / dt
        a_d = _smoothing_factor(self.d_cutoff, dt)
        self._derivative = a_d * raw_derivative + (1.0 - a_d) * self._derivative
        cutoff = self.min_cutoff + self.beta * abs(self._derivative)
        a = _smoothing_factor(cutoff, dt)
        self._value = a * value + (1.0 - a) * self._value
        self._timestamp = float(timestamp_s)
        return self._value

    def reset(self) -> None:
        """Forget the estimate, its derivative and the last timestamp."""
        self._value = None
        self._derivative = 0.0
        self._timestamp = 0.0


def make_smoother(kind: str, **params: float) -> Smoother:
    """Build a smoother: `kind` "none", "ema" (alpha) or "one_euro" (min_cutoff, beta, d_cutoff)."""
    if kind == "none":
        if params:
            raise ValueError(f"smoothing 'none' takes no parameters, got {sorted(params)}")
        return NoSmoother()
    if kind == "ema":
        return EmaSmoother(**params)
    if kind == "one_euro":
        return OneEuroSmoother(**params)
    raise ValueError(f"unknown smoothing {kind!r}; choose one of {', '.join(SMOOTHER_KINDS)}")


class FaceSmoothers:
    """One valence and one arousal smoother per face id, all of the same kind and parameters.

    `update` is called from the inference worker; `configure` may be called from another thread (a
    settings change) and restarts every face's filter with the new kind and parameters.
    """

    def __init__(self, kind: str = _DEFAULTS.kind, **params: float) -> None:
        make_smoother(kind, **params)  # validate before storing
        self._kind = kind
        self._params = dict(params)
        self._faces: dict[int, tuple[Smoother, Smoother]] = {}
        self._lock = threading.Lock()

    @property
    def kind(self) -> str:
        """The smoother kind in use ("none", "ema" or "one_euro")."""
        return self._kind

    @property
    def params(self) -> dict[str, float]:
        """A copy of the smoother parameters in use."""
        return dict(self._params)

    def configure(self, kind: str, **params: float) -> None:
        """Switch every face to a new smoother kind/parameters; all filter state starts afresh."""
        make_smoother(kind, **params)
        with self._lock:
            self._kind, self._params = kind, dict(params)
            self._faces.clear()

    def update(self, face_id: int, valence: float, arousal: float, timestamp_s: float) -> tuple[float, float]:
        """Smooth one face's (valence, arousal) sampled at `timestamp_s`; returns the smoothed pair."""
        with self._lock:
            pair = self._faces.get(face_id)
            if pair is None:
                pair = (make_smoother(self._kind, **self._params), make_smoother(self._kind, **self._params))
                self._faces[face_id] = pair
            return pair[0].update(valence, timestamp_s), pair[1].update(arousal, timestamp_s)

    def retain(self, active_ids: Iterable[int]) -> None:
        """Drop the state of every face id not in `active_ids` (ids the tracker retired)."""
        keep = set(active_ids)
        with self._lock:
            for face_id in [f for f in self._faces if f not in keep]:
                del self._faces[face_id]

    def face_ids(self) -> list[int]:
        """Face ids that currently hold filter state, sorted."""
        with self._lock:
            return sorted(self._faces)

    def clear(self) -> None:
        """Drop every face's state."""
        with self._lock:
            self._faces.clear()

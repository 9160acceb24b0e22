"""Neutral baseline per face: record a few seconds of the resting state, then report V/A relative to it.

Life cycle of one face's baseline: idle -> recording (progress 0..1) -> ready. While recording, the raw
valence/arousal of every processed frame of that face are collected (raw, not smoothed, so the smoother's
start-up lag does not bias the mean); recording ends once `duration_s` seconds of frame timestamps have
passed since the first collected sample (and at least `min_samples` were collected). The baseline is the
mean of the collected samples.

Afterwards `corrected = smoothed - baseline`. The difference is NOT clipped to [-1, 1]: it is a change
score whose range is [-2, 2], and clipping would bias means and SDs computed from the CSV. Displays that
need [-1, 1] clip at draw time.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from enum import Enum

from app.core.settings import BaselineSettings


class BaselineState(Enum):
    """Where one face's neutral baseline stands."""

    IDLE = "idle"
    RECORDING = "recording"
    READY = "ready"


@dataclass(frozen=True)
class BaselineStatus:
    """A snapshot of one face's baseline for the GUI."""

    state: BaselineState
    progress: float = 0.0  # 0..1 while recording, 1 when ready
    valence: float | None = None  # the baseline once ready
    arousal: float | None = None
    n_samples: int = 0


@dataclass
class _FaceBaseline:
    state: BaselineState = BaselineState.IDLE
    start_s: float | None = None  # timestamp of the first collected sample
    last_s: float | None = None  # timestamp of the latest collected sample
    valences: list[float] = field(default_factory=list)
    arousals: list[float] = field(default_factory=list)
    valence: float | None = None
    arousal: float | None = None


class NeutralBaselines:
    """Neutral baselines of all faces, fed from the inference worker, started/cleared from the GUI."""

    def __init__(
        self, duration_s: float = BaselineSettings.seconds, min_samples: int = BaselineSettings.min_samples
    ) -> None:
        if duration_s <= 0.0:
            raise ValueError(f"baseline duration must be > 0 seconds, got {duration_s}")
        if min_samples < 1:
            raise ValueError(f"baseline min_samples must be >= 1, got {min_samples}")
        self.duration_s = float(duration_s)
        self.min_samples = int(min_samples)
        self._faces: dict[int, _FaceBaseline] = {}
        self._lock = threading.Lock()

    def start(self, face_id: int) -> None:
        """Begin (or restart) recording face `face_id`'s resting state; any earlier baseline is discarded."""
        with self._lock:
            self._faces[face_id] = _FaceBaseline(state=BaselineState.RECORDING)

    def update(
        self, face_id: int, valence: float, arousal: float, valence_smoothed: float, arousal_smoothed: float,
        timestamp_s: float,
    ) -> tuple[float | None, float | None]:
        """Feed one frame of a face; returns (valence_corrected, arousal_corrected), (None, None) until ready.

        `valence`/`arousal` are the raw model outputs (collected while recording); the corrected values
        are the smoothed ones minus the baseline.
        """
        with self._lock:
            face = self._faces.get(face_id)
            if face is None or face.state is BaselineState.IDLE:
                return None, None
            if face.state is BaselineState.RECORDING:
                if face.start_s is None:
                    face.start_s = float(timestamp_s)
                face.last_s = float(timestamp_s)
                face.valences.append(float(valence))
                face.arousals.append(float(arousal))
                elapsed = face.last_s - face.start_s
                if elapsed < self.duration_s or len(face.valences) < self.min_samples:
                    return None, None
                face.valence = sum(face.valences) / len(face.valences)
                face.arousal = sum(face.arousals) / len(face.arousals)
                face.state = BaselineState.READY
            return float(valence_smoothed) - face.valence, float(arousal_smoothed) - face.arousal

    def status(self, face_id: int) -> BaselineStatus:
        """The state, progress and (once ready) the baseline values of face `face_id`."""
        with self._lock:
            face = self._faces.get(face_id)
            if face is None or face.state is BaselineState.IDLE:
                return BaselineStatus(BaselineState.IDLE)
            n = len(face.valences)
            if face.state is BaselineState.READY:
                return BaselineStatus(BaselineState.READY, 1.0, face.valence, face.arousal, n)
            if n == 0:
                return BaselineStatus(BaselineState.RECORDING, 0.0, n_samples=0)
            # limited by both the elapsed time and the minimum sample count
            progress = min((face.last_s - face.start_s) / self.duration_s, n / self.min_samples, 1.0)
            return BaselineStatus(BaselineState.RECORDING, progress, n_samples=n)

    def face_ids(self) -> list[int]:
        """Faces whose baseline is being recorded or ready."""
        with self._lock:
            return sorted(f for f, face in self._faces.items() if face.state is not BaselineState.IDLE)

    def clear(self, face_id: int | None = None) -> None:
        """Discard the baseline of `face_id`, or of every face when None."""
        with self._lock:
            if face_id is None:
                self._faces.clear()
            else:
                self._faces.pop(face_id, None)

"""Frozen result packets the live pipeline emits, one per processed frame (numpy only, no Qt objects).

The GUI stores the latest packet and paints from it; the session recorder writes one CSV row per face
(or one `no_face` row) from it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # the measures module imports cv2; packets stay numpy-only
    from app.core.face_quality import FaceQuality


class PipelineState(Enum):
    """Life cycle of a source or the inference worker."""

    STOPPED = "stopped"
    STARTING = "starting"
    RUNNING = "running"
    STOPPING = "stopping"
    FAULTED = "faulted"


@dataclass(frozen=True)
class FaceResult:
    """Everything the model and the post-processing said about one tracked face in one frame."""

    face_id: int  # stable across frames (IoU tracking)
    box: tuple[int, int, int, int]  # x, y, w, h in frame pixels (detector box, before crop margin)
    score: float  # detector confidence
    valence: float  # raw model output in [-1, 1]
    arousal: float
    valence_smoothed: float  # after the chosen smoother (equal to raw with smoothing "none")
    arousal_smoothed: float
    valence_corrected: float | None  # smoothed minus the neutral baseline; None until calibrated
    arousal_corrected: float | None
    probabilities: np.ndarray  # (8,) softmax, AffectNet order (model.config.CLASS_NAMES)
    expression: str  # argmax class name
    spatial_attention: tuple[np.ndarray, ...]  # 4 maps (H_l, W_l), each sums to 1
    layer_attention: np.ndarray  # (4,) second-level weights, sums to 1
    crop: np.ndarray  # (S, S, 3) uint8 RGB: the square face crop the model saw
    detected: bool = True  # False: the detector missed the face in this frame; the tracker carried its box
    label: str = ""  # the participant label the user gave this face id (app.core.face_names)
    quality: FaceQuality | None = None  # size, sharpness, exposure, pose and verdict (app.core.face_quality)
    # the model's standard deviation of the raw valence and arousal; None: the model has no uncertainty head
    valence_std: float | None = None
    arousal_std: float | None = None


@dataclass(frozen=True)
class PipelineStats:
    """Throughput and latency figures for the status bar and benchmarks."""

    capture_fps: float = 0.0
    processing_fps: float = 0.0
    detect_ms: float = 0.0
    model_ms: float = 0.0
    total_ms: float = 0.0  # capture timestamp -> packet emitted
    dropped_frames: int = 0
    device: str = "cpu"
    runtime: str = ""  # the runtime the loaded model runs on ("torch" or "onnx"); empty before one loads
    model_name: str = ""


@dataclass(frozen=True)
class FramePacket:
    """One processed frame: the image, its faces and the pipeline's figures."""

    frame_index: int  # index of the frame in its source (counts dropped frames too)
    timestamp_s: float  # seconds since the source started (video: position in the file)
    wall_time: float  # Unix epoch seconds when the frame was captured
    frame: np.ndarray  # (H, W, 3) uint8 RGB
    faces: tuple[FaceResult, ...]
    stats: PipelineStats = field(default_factory=PipelineStats)
    va_source: str = "measured"  # "measured" or "derived" (from the model card)
    marker: str = ""  # user event text attached to this frame, if any
    captured_at: float = 0.0  # time.perf_counter() when the frame was grabbed (LSL timestamps map it)
    faces_in_view: int = 0  # faces the detector found; more than len(faces) when the face limit cut some


@dataclass(frozen=True)
class PipelineEvent:
    """A state change or an error the user must see (camera lost, disk full, model failed, ...)."""

    kind: str  # "state", "error", "warning", "info", "recording", "baseline"
    message: str
    state: PipelineState | None = None
    detail: dict = field(default_factory=dict)

"""Face localisation with the MediaPipe Tasks `FaceDetector` and the vendored BlazeFace models.

mediapipe 1.x ships no model files, so the two `.tflite` files live in `assets/detector/` (Apache-2.0,
taken from the `mediapipe==0.10.21` wheel; checksums in `assets/detector/README.md`).

API (used by the live pipeline and by file analysis):

    with FaceDetector(model="short", min_confidence=0.5, max_faces=8, mode="image") as detector:
        detections = detector.detect(frame_rgb)                 # IMAGE mode: unrelated stills
    detector = FaceDetector(mode="video")
    detections = detector.detect(frame_rgb, timestamp_s=t)      # VIDEO mode: frames of one stream

`detect` returns a list of `Detection(box=(x, y, w, h) ints clipped to the frame, score, keypoints)`,
best score first, at most `max_faces` long. Models: "short" (`face_detection_short_range.tflite`,
faces within ~2 m of the camera, fastest) and "full" (`face_detection_full_range_sparse.tflite`,
smaller and farther faces, ~3x slower).

Threading: a detector is not shared between threads. Each thread creates, uses and closes its own
instance (the live pipeline creates one inside its inference worker; file analysis creates one where it
iterates). Always `close()` it (or use `with`), which releases the native graph.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from model.assets import asset_path, restore_hint

DETECTOR_DIR = asset_path("detector")
DETECTOR_MODELS: dict[str, str] = {
    "short": "face_detection_short_range.tflite",
    "full": "face_detection_full_range_sparse.tflite",
}
DETECTOR_MODES = ("image", "video")
# The defaults every detector user reads (the live pipeline, the file finder, the settings, the GUI):
DEFAULT_MODEL = "short"  # a single FaceDetector's model: faces within ~2 m of a webcam, the fastest
MIN_CONFIDENCE = 0.5  # detector score threshold (MediaPipe's own default)
LIVE_MAX_FACES = 8  # most faces a live frame sends to the model (highest scores)


class DetectorError(RuntimeError):
    """The detector cannot be created or used (missing model file, bad settings, bad frame)."""


@dataclass(frozen=True)
class Detection:
    """One detected face in frame pixels."""

    box: tuple[int, int, int, int]  # x, y, w, h, clipped to the frame, w and h >= 1
    score: float  # detector confidence in [0, 1]
    # 6 keypoints (x, y) in pixels: right eye, left eye, nose tip, mouth, right ear, left ear
    keypoints: tuple[tuple[float, float], ...] = ()


def detector_model_path(model: str) -> Path:
    """The vendored `.tflite` file of a detector model name ("short" or "full")."""
    if model not in DETECTOR_MODELS:
        raise DetectorError(f"unknown face detector model {model!r}; choose one of {sorted(DETECTOR_MODELS)}")
    return DETECTOR_DIR / DETECTOR_MODELS[model]


def clip_box(x: float, y: float, w: float, h: float, width: int, height: int) -> tuple[int, int, int, int]:
    """Round a box to ints and clip it to a `width` x `height` frame (keeps at least 1x1 pixel)."""
    x0 = int(np.clip(round(x), 0, width - 1))
    y0 = int(np.clip(round(y), 0, height - 1))
    x1 = int(np.clip(round(x + w), x0 + 1, width))
    y1 = int(np.clip(round(y + h), y0 + 1, height))
    return x0, y0, x1 - x0, y1 - y0


class FaceDetector:
    """MediaPipe Tasks FaceDetector in IMAGE or VIDEO running mode; one instance per thread."""

    def __init__(
        self,
        model: str = DEFAULT_MODEL,
        min_confidence: float = MIN_CONFIDENCE,
        max_faces: int = LIVE_MAX_FACES,
        mode: str = "image",
        model_path: str | Path | None = None,
    ) -> None:
        """Load the model (`model_path` overrides the vendored file of `model`) and build the graph.

        Raises DetectorError naming the file when it is missing or unreadable, or the bad setting.
        """
        if mode not in DETECTOR_MODES:
            raise DetectorError(f"unknown detector mode {mode!r}; choose one of {DETECTOR_MODES}")
        if not 0.0 <= float(min_confidence) <= 1.0:
            raise DetectorError(f"min_confidence must be in [0, 1], got {min_confidence}")
        if int(max_faces) < 1:
            raise DetectorError(f"max_faces must be >= 1, got {max_faces}")
        path = Path(model_path) if model_path is not None else detector_model_path(model)
        try:
            model_bytes = path.read_bytes()
        except OSError as exc:
            raise DetectorError(
                f"face detector model file {path} cannot be read ({exc.strerror or exc}); "
                + (restore_hint("detector", path.name) if model_path is None else "choose another file")
            ) from exc

        import mediapipe as mp  # deferred: importing mediapipe costs ~1 s and is only needed here
        from mediapipe.tasks.python import BaseOptions, vision

        running_mode = vision.RunningMode.VIDEO if mode == "video" else vision.RunningMode.IMAGE
        options = vision.FaceDetectorOptions(
            base_options=BaseOptions(model_asset_buffer=model_bytes),
            running_mode=running_mode,
            min_detection_confidence=float(min_confidence),
        )
        try:
            self._detector = vision.FaceDetector.create_from_options(options)
        except Exception as exc:  # mediapipe raises RuntimeError/ValueError with its own text
            raise DetectorError(f"face detector model {path} could not be loaded: {exc}") from exc
        self._mp = mp
        self.model = model if model_path is None else path.stem
        self.model_path = path
        self.mode = mode
        self.min_confidence = float(min_confidence)
        self.max_faces = int(max_faces)
        self._last_ms = -1  # VIDEO mode: last timestamp handed to mediapipe (strictly increasing)
        self.last_found = 0  # faces the last `detect` found, before the `max_faces` cut

    def detect(self, frame: np.ndarray, timestamp_s: float | None = None) -> list[Detection]:
        """Faces in one uint8 RGB frame (H,W,3), best first, at most `max_faces` (`last_found` says how
        many were found before that cut).

        VIDEO mode needs the frame's `timestamp_s`; it is turned into integer milliseconds and forced
        strictly increasing (a repeated or earlier time becomes last + 1 ms), as mediapipe requires.
        """
        if self._detector is None:
            raise DetectorError("face detector is closed; create a new FaceDetector")
        frame = np.asarray(frame)
        if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
            raise DetectorError(f"frame must be uint8 RGB (H,W,3), got {frame.dtype} {frame.shape}")
        height, width = frame.shape[:2]
        image = self._mp.Image(image_format=self._mp.ImageFormat.SRGB, data=np.ascontiguousarray(frame))
        if self.mode == "video":
            if timestamp_s is None:
                raise DetectorError("a VIDEO-mode detector needs the frame's timestamp_s")
            ms = max(int(round(timestamp_s * 1000.0)), self._last_ms + 1)
            self._last_ms = ms
            result = self._detector.detect_for_video(image, ms)
        else:
            result = self._detector.detect(image)
        detections = []
        for det in result.detections:
            bb = det.bounding_box
            score = float(det.categories[0].score) if det.categories else 0.0
            keypoints = tuple((float(k.x) * width, float(k.y) * height) for k in (det.keypoints or ()))
            box = clip_box(bb.origin_x, bb.origin_y, bb.width, bb.height, width, height)
            detections.append(Detection(box=box, score=score, keypoints=keypoints))
        detections.sort(key=lambda d: d.score, reverse=True)
        self.last_found = len(detections)
        return detections[: self.max_faces]

    def close(self) -> None:
        """Release the native graph; safe to call twice."""
        if self._detector is not None:
            self._detector.close()
            self._detector = None

    def __enter__(self) -> FaceDetector:
        """Use as a context manager that closes the detector on exit."""
        return self

    def __exit__(self, *exc_info: object) -> None:
        """Close the detector."""
        self.close()

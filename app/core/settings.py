"""User-facing settings, each default written once: the core, the command line and the GUI read them here.

Each group is a frozen dataclass whose field defaults are the defaults, with the help text beside it.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.core.cropping import PAD_MODES
from app.core.detection import LIVE_MAX_FACES, MIN_CONFIDENCE
from app.core.face_finder import FILE_MAX_FACES, WHOLE_FRAME_MODELS, FinderPlan
from app.core.reid import REIDENTIFY
from model.io import PRIVATE_MODE
from model.runtimes import DEFAULT_DEVICE, DEFAULT_RUNTIME, DEVICES, RUNTIMES

SHARED_FILES_HELP = (
    "make session and analysis files readable by other users of this machine (a shared lab folder); by "
    "default they are readable by you only (mode 0600), as they hold per-person emotion data"
)


@dataclass(frozen=True)
class OutputSettings:
    """How the per-person files (session recordings, analysis CSVs) are written."""

    shared_files: bool = False  # False: owner-only (0600); True: as any new file (0666 less the umask)
    save_video: bool = False  # a recording also saves its processed frames as NAME.avi (shown by the Viewer)

    def permissions(self) -> int | None:
        """The mode for model.io writers: PRIVATE_MODE, or None (the umask's default) when shared."""
        return None if self.shared_files else PRIVATE_MODE


DETECTORS = ("auto", "short", "full")
LIVE_DETECTOR = DETECTORS[0]  # the live view's detector: every face near or far (PipelineSettings.plan)
LIVE_MIN_FACE_PX = 40.0  # "auto" live: the smallest faces the tile sweep looks for
STILL_SHORT_TILE_PX = 40.0  # "auto" on stills: the short-range tile pyramid starts at faces this wide
LIVE_TILES_PER_FRAME = 1  # "auto" live: steps of the sweep run per frame (the tracker carries the rest)
SAVE_VIDEO_HELP = ("also save the processed frames as NAME.avi (MJPG) beside the CSV, so the Viewer shows "
                   "the frame at its cursor; a camera session has no other copy of its frames")
VIDEO_SEARCH_HELP = ("videos with the auto detector: a frame this often (seconds of video) gets the thorough "
                     "search of still images (tiles and YuNet, about 2.5 s a HD frame), which finds far and "
                     "turned faces; the faces found are tracked between those frames; 0: never")
CROPS_HELP = ("treat every image (and video frame) as one already-cropped face, as in face datasets: no "
              "detection, the whole image is the face (box = the image, no extra margin)")
DETECTOR_HELP = (
    "face detector: auto finds every face near or far (MediaPipe's short- and full-range models on the "
    "whole image, plus, for still images, the full-range model on a pyramid of tiles down to 24 px "
    "faces, YuNet, and the short-range model on small tiles, each unsure find checked again; "
    "docs/BENCHMARKS.md), short = short range only "
    "(faces near the camera, fastest), full = full range only"
)


def sweep_plan(min_face_px: float, tiles_per_frame: int, min_confidence: float, max_faces: int) -> FinderPlan:
    """The plan of a stream of frames (the live view, a video file's frames): the short-range model on
    the whole frame and `tiles_per_frame` steps of a sweep (the full-range model on the whole frame, then
    on tiles down to `min_face_px` faces), so each frame pays for two detector calls; the tracker's faces
    that those passes miss are searched where they are expected, and an unsure new face is looked at again
    before it gets an id (app.core.face_finder)."""
    return FinderPlan(whole=WHOLE_FRAME_MODELS[:1], min_face_px=min_face_px, tiles_per_call=tiles_per_frame,
                      full_in_sweep=True, verify_new=True, min_confidence=min_confidence, max_faces=max_faces)


@dataclass(frozen=True)
class DetectionSettings:
    """How faces are found in files (stills and videos): see app.core.face_finder."""

    detector: str = "auto"  # one of DETECTORS
    min_confidence: float = MIN_CONFIDENCE  # detector score threshold
    max_faces: int = FILE_MAX_FACES  # most faces per image or frame (highest scores)
    min_face_px: float = 24.0  # "auto" on stills: the smallest faces the tile pyramid looks for
    video_search_s: float = 1.0  # "auto" on videos: a frame this often (s of video) gets the stills' search
    crops: bool = False  # every image (and video frame) is one face crop already: nothing is detected
    reidentify: bool = REIDENTIFY  # videos: a person who leaves the view and returns keeps their id

    def __post_init__(self) -> None:
        if self.detector not in DETECTORS:
            raise ValueError(f"unknown face detector {self.detector!r}; choose one of {DETECTORS}")
        if not 0.0 <= self.min_confidence <= 1.0 or self.max_faces < 1:
            raise ValueError(f"min_confidence must be in [0, 1] and max_faces >= 1, got "
                             f"{self.min_confidence} and {self.max_faces}")
        if not self.video_search_s >= 0.0:
            raise ValueError(f"video_search_s must be >= 0 seconds, got {self.video_search_s}")

    def plan(self, still: bool) -> FinderPlan:
        """The FaceFinder plan for a still image (`still`) or the frames of a video. "auto": stills get
        both models on the whole frame, both tile pyramids and YuNet (~2.5 s a HD frame; see BENCHMARKS);
        a video's frames get the live view's sweep (`sweep_plan`), and the stills' plan on a frame every
        `video_search_s` (app.core.face_finder.VideoFileFinder)."""
        if self.detector == "auto" and not still:
            return sweep_plan(LIVE_MIN_FACE_PX, LIVE_TILES_PER_FRAME, self.min_confidence, self.max_faces)
        whole = WHOLE_FRAME_MODELS if self.detector == "auto" else (self.detector,)
        tiles = self.min_face_px if self.detector == "auto" else 0.0
        return FinderPlan(whole=whole, min_face_px=tiles, verify=tiles > 0, yunet=tiles > 0,
                          short_tiles_px=STILL_SHORT_TILE_PX if tiles > 0 else 0.0,
                          min_confidence=self.min_confidence, max_faces=self.max_faces)


@dataclass
class PipelineSettings:
    """Detection, tracking and timing settings of the live pipeline (read when `start` is called)."""

    detector_model: str = LIVE_DETECTOR  # one of DETECTORS: "auto" (near and far), "short" or "full"
    min_confidence: float = MIN_CONFIDENCE  # detector score threshold
    max_faces: int = LIVE_MAX_FACES  # most faces per frame sent to the model (highest scores)
    min_face_px: float = LIVE_MIN_FACE_PX  # "auto": the smallest faces the tile sweep looks for
    tiles_per_frame: int = LIVE_TILES_PER_FRAME  # "auto": steps of the sweep searched per frame
    crop_pad: str = "constant"  # how crops are padded past the frame border: "constant" or "replicate"
    track_iou: float = 0.3  # least IoU for a box to keep its face id
    track_timeout_s: float = 1.0  # unseen time after which a face id is retired
    track_coast_s: float = 0.5  # a face the detector misses is carried (rows say "tracked") this long
    reidentify: bool = REIDENTIFY  # a person who leaves the view and returns keeps their id (app.core.reid)
    pace_files: bool = True  # play video files / image folders at their frame rate (else as fast as read)
    join_timeout_s: float = 5.0  # how long stop() waits for each thread
    shared_files: bool = OutputSettings.shared_files  # recordings readable by others (default: owner only)

    def __post_init__(self) -> None:
        if self.detector_model not in DETECTORS:
            raise ValueError(f"unknown detector model {self.detector_model!r}; choose one of {DETECTORS}")
        self.plan()  # FinderPlan checks the detection values
        if self.crop_pad not in PAD_MODES:
            raise ValueError(f"unknown crop padding {self.crop_pad!r}; choose one of {sorted(PAD_MODES)}")
        if not 0.0 <= self.min_confidence <= 1.0 or self.max_faces < 1:
            raise ValueError(f"min_confidence must be in [0, 1] and max_faces >= 1, got "
                             f"{self.min_confidence} and {self.max_faces}")

    def plan(self) -> FinderPlan:
        """The FaceFinder plan of a live frame: "auto" is `sweep_plan` with this group's sweep values,
        "short"/"full" that model on the whole frame. Every face found is tracked; `max_faces` of them go
        to the model (`face_step.locate_faces`)."""
        if self.detector_model == LIVE_DETECTOR:
            return sweep_plan(self.min_face_px, self.tiles_per_frame, self.min_confidence, FILE_MAX_FACES)
        return FinderPlan(whole=(self.detector_model,), min_confidence=self.min_confidence,
                          max_faces=FILE_MAX_FACES)


LSL_HELP = ("stream the results over Lab Streaming Layer (stream 'AffectScope', type FacialAffect, one "
            "sample per frame stamped with its capture time) and the markers as 'AffectScope-Markers'")


MAX_FACE_SLOTS = 64  # most faces one LSL sample carries


@dataclass(frozen=True)
class LslSettings:
    """The Lab Streaming Layer outlets (app.core.lsl)."""

    enabled: bool = False  # off unless asked for: an outlet is visible to every machine on the network
    stream_name: str = "AffectScope"
    face_slots: int = 4  # faces per sample; a frame's further faces are not streamed

    def __post_init__(self) -> None:
        if not self.stream_name.strip():
            raise ValueError("the LSL stream name must not be empty")
        if not 1 <= self.face_slots <= MAX_FACE_SLOTS:
            raise ValueError(f"LSL face slots must be 1-{MAX_FACE_SLOTS}, got {self.face_slots}")


@dataclass(frozen=True)
class QualitySettings:
    """When a face image is too poor for the model (app.core.face_quality): the verdict is "low" past any
    threshold. Each is the level `bench --quality` measured on the shipped faces at which the model's
    reading of a face moves by more than QUALITY_TOLERANCE from its reading of the clean face
    (docs/BENCHMARKS.md "Face quality")."""

    min_width_px: float = 36.0  # detector box width (measured: 36.0; the session-10 starter: 28.0)
    min_sharpness: float = 13.0  # variance of the Laplacian of the 112-px grey crop (measured: 12.9)
    min_brightness: float = 71.0  # mean grey level of the face, 0-255 (measured: 71.2)
    max_brightness: float = 216.0  # (measured: 215.6)
    max_roll_deg: float = 11.0  # |in-plane tilt| of the eye line, degrees (measured: 11.2)

    def __post_init__(self) -> None:
        if not 0.0 <= self.min_brightness < self.max_brightness <= 255.0:
            raise ValueError(f"brightness thresholds need 0 <= min < max <= 255, got {self.min_brightness}, "
                             f"{self.max_brightness}")
        if min(self.min_width_px, self.min_sharpness, self.max_roll_deg) < 0:
            raise ValueError("quality thresholds must be >= 0")


GOOD_QUALITY, LOW_QUALITY = "good", "low"  # the verdicts in the CSV's `quality` column
# The Viewer's first "leave out rows whose predicted V/A SD is above" level (analyze --max-std has no
# default: it keeps every row unless asked): just above the shipped starter's 95th percentile (0.146) on
# the 103 held-out real faces (median 0.13; docs/BENCHMARKS.md "Uncertainty").
DEFAULT_MAX_STD = 0.15
QUALITY_TOLERANCE = 0.1  # |change| of valence or arousal (of 2 units) that makes a degradation "too much"


@dataclass(frozen=True)
class SummarySettings:
    """How a session summary (app.core.summary) shares a face's frames out over the circumplex."""

    # 0.1 = 5% of the [-1, 1] axis range: a neutral face's V/A jitter (e.g. -0.006, +0.037) stays in
    # the zone instead of counting as "100% unpleasant, activated". A convention, not a measurement:
    # choose a radius that suits your model and population and report it with the figures.
    neutral_radius: float = 0.1

    def __post_init__(self) -> None:
        if not 0.0 <= self.neutral_radius < 1.0:
            raise ValueError(f"the neutral radius must be in [0, 1), got {self.neutral_radius}")


SMOOTHER_KINDS = ("none", "ema", "one_euro")


@dataclass(frozen=True)
class SmoothingSettings:
    """How the live view smooths each face's valence and arousal (app.core.smoothing)."""

    kind: str = "none"  # one of SMOOTHER_KINDS; raw readings until the user picks a filter
    alpha: float = 0.3  # EMA weight of the newest frame, in (0, 1]
    min_cutoff: float = 1.0  # One-Euro cutoff of a still signal, Hz
    beta: float = 0.5  # One-Euro speed coefficient
    d_cutoff: float = 1.0  # One-Euro cutoff of the derivative, Hz

    def __post_init__(self) -> None:
        if self.kind not in SMOOTHER_KINDS:
            raise ValueError(f"unknown smoothing {self.kind!r}; choose one of {', '.join(SMOOTHER_KINDS)}")


@dataclass(frozen=True)
class BaselineSettings:
    """The neutral-baseline calibration (app.core.baseline)."""

    seconds: float = 5.0  # how long the resting face is recorded
    min_samples: int = 3  # fewest frames a baseline may average


@dataclass(frozen=True)
class ModelSettings:
    """Which model the app runs, where and on which runtime (the Live tab, the Model menu, the CLI)."""

    path: str = ""  # "" = the default (shipped) model
    runtime: str = DEFAULT_RUNTIME  # one of model.runtimes.RUNTIMES
    device: str = DEFAULT_DEVICE  # one of model.runtimes.DEVICES (see model.runtimes.available_devices)

    def __post_init__(self) -> None:
        if self.runtime not in RUNTIMES or self.device not in DEVICES:
            raise ValueError(f"runtime must be one of {RUNTIMES} and device one of {DEVICES}, got "
                             f"{self.runtime!r} and {self.device!r}")


"""Frame sources behind one interface: webcam by index, video file, image file or folder, built-in demo.

Every source is used the same way (the live pipeline's capture thread does exactly this):

    source = CameraSource(0, width=1280, height=720, fps=30)   # or VideoFileSource / ImageSource / DemoSource
    source.open()                                # raises SourceError with a message for the user
    ok, frame, timestamp_s = source.read()       # frame: (H,W,3) uint8 RGB; ok False: no frame
    if not ok: print(source.end_reason)          # why: end of file, or the camera stopped delivering
    source.close()                               # safe to call twice; open() again reopens

After `open()`, `width`, `height` and `fps` hold the actual values (a camera may not grant what was
asked for), `name` says what the source is (with the camera's name where the OS gives one).
`is_live` sources (camera, demo) deliver frames at their own pace and cannot rewind; file sources return
frames as fast as they are read (the live pipeline paces them to their timestamps).

Length: about 510 lines, the four sources and the camera listing they share; kept together so every
source visibly keeps the same contract.
"""

from __future__ import annotations

import logging
import math
import sys
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from model.assets import asset_path
from model.data.image_io import IMAGE_SUFFIXES

log = logging.getLogger(__name__)

IMAGE_EXTENSIONS = IMAGE_SUFFIXES  # the image files the app opens: those the dataset reader decodes
VIDEO_EXTENSIONS = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv")
DEMO_DIR = asset_path("demo")
DEMO_IMAGE = DEMO_DIR / "astronaut_head.jpg"
V4L_SYSFS = Path("/sys/class/video4linux")

Frame = tuple[bool, np.ndarray | None, float]  # (ok, (H,W,3) uint8 RGB frame or None, timestamp_s)


class SourceError(RuntimeError):
    """A source cannot be opened or read; the message names the source and what the user can do."""


class FrameSource(ABC):
    """One stream of RGB frames with timestamps (seconds since the source started)."""

    kind = "source"  # "camera", "video", "images" or "demo"
    is_live = False

    def __init__(self) -> None:
        """Not yet opened: size and fps are 0 until `open()` reports the actual values."""
        self.name = self.kind
        self.width = 0
        self.height = 0
        self.fps = 0.0
        self.frame_count: int | None = None  # frames in a file source; None when unbounded or unknown
        self.end_reason = ""  # why the last read() returned no frame

    @abstractmethod
    def open(self) -> None:
        """Acquire the device or file; raise SourceError with a message for the user on failure."""

    @abstractmethod
    def read(self) -> Frame:
        """The next frame as (ok, frame RGB uint8, timestamp_s); ok False sets `end_reason`."""

    @abstractmethod
    def close(self) -> None:
        """Release the device or file; safe to call twice."""

    def describe(self) -> dict:
        """What the session sidecar records about the source (kind, name, actual size and fps)."""
        return {"kind": self.kind, "name": self.name, "width": self.width, "height": self.height,
                "fps": round(float(self.fps), 3)}

    def __enter__(self) -> FrameSource:
        """Open the source for a `with` block."""
        self.open()
        return self

    def __exit__(self, *exc_info: object) -> None:
        """Close the source."""
        self.close()


# --------------------------------------------------------------------------------------------- cameras


@dataclass(frozen=True)
class CameraInfo:
    """A camera the OS lists: its OpenCV index, its name, and whether it opened when probed."""

    index: int
    name: str
    available: bool | None  # None when not probed


def camera_name(index: int) -> str:
    """The OS's name of camera `index` (Linux: /sys/class/video4linux/videoN/name), or "Camera N"."""
    if sys.platform.startswith("linux"):
        try:
            name = (V4L_SYSFS / f"video{index}" / "name").read_text(errors="replace").strip()
        except OSError:
            name = ""
        if name:
            return name
    return f"Camera {index}"


def _linux_capture_indices() -> list[int]:
    """Indices N of /dev/videoN that are a device's main node (sysfs `index` 0; metadata nodes skipped)."""
    indices = []
    for node in V4L_SYSFS.glob("video*"):
        suffix = node.name[len("video"):]
        if not suffix.isdigit():
            continue
        try:
            if (node / "index").read_text().strip() not in ("", "0"):
                continue
        except OSError:
            pass
        indices.append(int(suffix))
    return sorted(indices)


def list_cameras(max_index: int = 8, probe: bool = True) -> list[CameraInfo]:
    """Cameras that exist, with names; `probe` opens each briefly (released at once) to check it works.

    On Linux the list comes from sysfs (a machine without /sys/class/video4linux has no camera, and
    nothing is probed), so nothing is opened unless `probe` is True. Elsewhere the OS gives no list:
    with `probe` indices 0..max_index-1 are tried and only those that open are listed; without it the
    list is empty (nothing is opened, so the GUI thread can ask).
    """
    if sys.platform.startswith("linux"):
        indices = _linux_capture_indices() if V4L_SYSFS.is_dir() else []
        candidates = [i for i in indices if i < max_index]
    else:
        candidates = list(range(max_index)) if probe else []
    cameras = []
    for index in candidates:
        available = None
        if probe:
            capture = cv2.VideoCapture(index)
            available = bool(capture.isOpened())
            capture.release()
            if not available and not sys.platform.startswith("linux"):
                continue
        cameras.append(CameraInfo(index, camera_name(index), available))
    return cameras


class CameraSource(FrameSource):
    """A webcam by OpenCV index, with the requested resolution and frame rate (actual values reported)."""

    kind = "camera"
    is_live = True

    def __init__(
        self,
        index: int,
        width: int | None = None,
        height: int | None = None,
        fps: float | None = None,
        failed_reads: int = 3,
    ) -> None:
        """`failed_reads`: consecutive failed grabs after which the camera counts as lost."""
        super().__init__()
        self.index = int(index)
        self.requested = (width, height, fps)
        self.failed_reads = max(1, int(failed_reads))
        self.name = f"camera {self.index} ({camera_name(self.index)})"
        self._capture: cv2.VideoCapture | None = None
        self._first: np.ndarray | None = None
        self._t0 = 0.0

    def open(self) -> None:
        """Open the camera, request size/fps, read one frame to learn the actual size."""
        self.close()
        self.name = f"camera {self.index} ({camera_name(self.index)})"
        capture = cv2.VideoCapture(self.index)
        if not capture.isOpened():
            log.warning("%s could not be opened", self.name)
            capture.release()
            raise SourceError(
                f"Could not open {self.name}: no camera at this index, or it is in use by another program, "
                f"or access was denied. Check the cable and permissions, close other camera apps, or pick "
                f"another camera."
            )
        width, height, fps = self.requested
        if width:
            capture.set(cv2.CAP_PROP_FRAME_WIDTH, float(width))
        if height:
            capture.set(cv2.CAP_PROP_FRAME_HEIGHT, float(height))
        if fps:
            capture.set(cv2.CAP_PROP_FPS, float(fps))
        ok, bgr = capture.read()
        if not ok or bgr is None:
            log.warning("%s opened but delivered no frame", self.name)
            capture.release()
            raise SourceError(
                f"{self.name} opened but delivered no frame. It may be in use by another program or not "
                f"support the requested format ({width}x{height} @ {fps} fps); try another resolution."
            )
        self._capture = capture
        self._first = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        self.height, self.width = self._first.shape[:2]
        self.fps = float(capture.get(cv2.CAP_PROP_FPS) or 0.0)
        self.end_reason = ""
        self._t0 = time.monotonic()

    def read(self) -> Frame:
        """Grab the next frame; after `failed_reads` failures in a row the camera counts as lost."""
        if self._capture is None:
            self.end_reason = f"{self.name} is not open"
            return False, None, 0.0
        if self._first is not None:
            frame, self._first = self._first, None
            return True, frame, time.monotonic() - self._t0
        for _ in range(self.failed_reads):
            ok, bgr = self._capture.read()
            if ok and bgr is not None:
                return True, cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), time.monotonic() - self._t0
        self.end_reason = (
            f"{self.name} stopped delivering frames ({self.failed_reads} failed reads in a row): it was "
            f"unplugged, switched off or taken by another program. Reconnect it and start again."
        )
        return False, None, time.monotonic() - self._t0

    def close(self) -> None:
        """Release the camera."""
        if self._capture is not None:
            self._capture.release()
            self._capture = None
        self._first = None

    def describe(self) -> dict:
        """Kind, name, index, actual and requested size/fps."""
        width, height, fps = self.requested
        return {**super().describe(), "index": self.index,
                "requested": {"width": width, "height": height, "fps": fps}}


# ------------------------------------------------------------------------------------------------ files


class VideoFileSource(FrameSource):
    """A video file read frame by frame; timestamps are frame index / the file's fps.

    With `loop`, the file starts again at its end and timestamps keep increasing (frame indices run on
    across the repeats), so a short clip can stand in for a camera for as long as needed.
    """

    kind = "video"

    def __init__(self, path: str | Path, loop: bool = False) -> None:
        """`path`: any container/codec OpenCV's FFmpeg backend decodes (mp4, avi, mkv, ...)."""
        super().__init__()
        self.path = Path(path)
        self.loop = bool(loop)
        self.name = f"video {self.path.name}" + (" (looping)" if loop else "")
        self._capture: cv2.VideoCapture | None = None
        self._index = 0
        self.loops = 0  # how many times the file was started again

    def open(self) -> None:
        """Open the file; raise SourceError when it is missing or cannot be decoded."""
        self.close()
        if not self.path.is_file():
            raise SourceError(f"Video file {self.path} does not exist; check the path.")
        capture = cv2.VideoCapture(str(self.path))
        if not capture.isOpened():
            capture.release()
            raise SourceError(f"Video file {self.path} cannot be decoded (unsupported or damaged file).")
        self._capture = capture
        self.fps = float(capture.get(cv2.CAP_PROP_FPS) or 0.0)
        count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        self.frame_count = count if count > 0 else None
        self.width = int(capture.get(cv2.CAP_PROP_FRAME_WIDTH))
        self.height = int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT))
        self._index = 0
        self.end_reason = ""

    def describe(self) -> dict:
        """Kind, name, size, fps, and the file (the Viewer shows its frames for a recorded session)."""
        return {**super().describe(), "path": str(self.path.resolve()), "loop": self.loop}

    def read(self) -> Frame:
        """The next frame; at the end of the file ok is False and `end_reason` says so."""
        if self._capture is None:
            self.end_reason = f"{self.name} is not open"
            return False, None, 0.0
        ok, bgr = self._capture.read()
        if (not ok or bgr is None) and self.loop and self._index > 0:
            self._capture.set(cv2.CAP_PROP_POS_FRAMES, 0)
            self.loops += 1
            ok, bgr = self._capture.read()
        fps = self.fps if self.fps > 0 else 30.0
        timestamp = self._index / fps
        if not ok or bgr is None:
            self.end_reason = f"end of video file {self.path} after {self._index} frames"
            return False, None, timestamp
        self._index += 1
        return True, cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), timestamp

    def close(self) -> None:
        """Release the file."""
        if self._capture is not None:
            self._capture.release()
            self._capture = None


def list_images(path: str | Path, recursive: bool = False) -> list[Path]:
    """Image files (by extension) in a folder, sorted by path; a single file is returned as is."""
    path = Path(path)
    if path.is_file():
        return [path]
    pattern = "**/*" if recursive else "*"
    return sorted(p for p in path.glob(pattern) if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS)


def read_image_rgb(path: str | Path) -> np.ndarray:
    """Decode an image file to (H,W,3) uint8 RGB (EXIF orientation applied; 16-bit, gray, RGBA converted).

    Raises SourceError naming the file when it cannot be read or decoded.
    """
    path = Path(path)
    try:
        data = np.fromfile(path, dtype=np.uint8)
    except OSError as exc:
        raise SourceError(f"Image {path} cannot be read: {exc.strerror or exc}") from exc
    bgr = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if bgr is None:
        raise SourceError(f"Image {path} cannot be decoded (empty, damaged or not an image file).")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


class ImageSource(FrameSource):
    """One image file or the images of a folder (sorted by name), one frame each.

    Files that cannot be decoded are skipped and listed in `skipped` as (path, reason). Timestamps are
    index / `fps`, the rate at which the live pipeline shows them.
    """

    kind = "images"

    def __init__(self, path: str | Path, fps: float = 1.0, recursive: bool = False) -> None:
        """`path`: an image file or a folder; `fps`: images per second when played in the live view."""
        super().__init__()
        if fps <= 0:
            raise ValueError(f"image source fps must be > 0, got {fps}")
        self.path = Path(path)
        self.recursive = recursive
        self.name = f"images {self.path.name}"
        self.fps = float(fps)
        self.paths: list[Path] = []
        self.skipped: list[tuple[Path, str]] = []
        self.current_path: Path | None = None  # the file the last frame came from
        self._index = 0

    def open(self) -> None:
        """List the images; raise SourceError when the path is missing or holds none."""
        if not self.path.exists():
            raise SourceError(f"Image path {self.path} does not exist; check the path.")
        self.paths = list_images(self.path, self.recursive)
        if not self.paths:
            raise SourceError(f"Folder {self.path} holds no image files ({', '.join(IMAGE_EXTENSIONS)}).")
        self.frame_count = len(self.paths)
        self.skipped = []
        self._index = 0
        self.end_reason = ""

    def read(self) -> Frame:
        """The next decodable image (its size becomes `width`/`height`)."""
        while self._index < len(self.paths):
            path = self.paths[self._index]
            timestamp = self._index / self.fps
            self._index += 1
            try:
                frame = read_image_rgb(path)
            except SourceError as exc:
                self.skipped.append((path, str(exc)))
                continue
            self.current_path = path
            self.height, self.width = frame.shape[:2]
            return True, frame, timestamp
        self.end_reason = f"all {len(self.paths)} images of {self.path} shown ({len(self.skipped)} skipped)"
        return False, None, self._index / self.fps

    def close(self) -> None:
        """Nothing is held open between reads."""
        self.current_path = None


# ------------------------------------------------------------------------------------------------- demo


class DemoSource(FrameSource):
    """A camera stand-in that needs no hardware: shipped face photos drifting over a gradient, endlessly.

    Uses `assets/demo/astronaut_head.jpg` (NASA, public domain; see assets/demo/README.md); the second
    face is its mirror image. Frames come at `fps` in real time, like a webcam.
    """

    kind = "demo"
    is_live = True

    def __init__(self, width: int = 640, height: int = 480, fps: float = 30.0, faces: int = 2) -> None:
        """`faces`: 1 or 2 moving faces."""
        super().__init__()
        if faces not in (1, 2):
            raise ValueError(f"demo source shows 1 or 2 faces, got {faces}")
        if fps <= 0 or width < 64 or height < 64:
            raise ValueError(f"demo source needs fps > 0 and >= 64x64 pixels, got {width}x{height}@{fps}")
        self.name = "demo (built-in faces)"
        self.width, self.height, self.fps = int(width), int(height), float(fps)
        self.faces = faces
        self._heads: list[np.ndarray] = []
        self._background: np.ndarray | None = None
        self._mask: np.ndarray | None = None
        self._index = 0
        self._t0 = 0.0

    def open(self) -> None:
        """Load the shipped face image and prepare the background."""
        try:
            head = read_image_rgb(DEMO_IMAGE)
        except SourceError as exc:
            raise SourceError(f"Demo source unavailable: {exc} It ships in assets/demo/.") from exc
        self._heads = [head, head[:, ::-1].copy()][: self.faces]
        rows = np.linspace(0.0, 1.0, self.height, dtype=np.float32)[:, None, None]  # (H,1,1)
        top, bottom = np.array([40, 52, 70], np.float32), np.array([120, 128, 140], np.float32)
        gradient = top + (bottom - top) * rows  # (H,1,3)
        self._background = np.repeat(gradient.astype(np.uint8), self.width, axis=1)  # (H,W,3) C-contiguous
        h, w = head.shape[:2]
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        ellipse = ((xx - w / 2) / (0.48 * w)) ** 2 + ((yy - h / 2) / (0.5 * h)) ** 2
        self._mask = np.clip((1.0 - ellipse) * 4.0, 0.0, 1.0)  # (h,w) soft oval, 1 inside
        self._index = 0
        self._t0 = time.monotonic()
        self.end_reason = ""

    def render(self, t: float) -> np.ndarray:
        """The demo frame at time t seconds (deterministic), (H,W,3) uint8 RGB."""
        if self._background is None:
            raise SourceError("demo source is not open; call open() first")
        frame = self._background.copy()
        n = len(self._heads)
        for i, head in enumerate(self._heads):
            side = int(min(self.height * 0.62, self.width / n * 0.9) * (1.0 + 0.08 * math.sin(0.7 * t + i)))
            cx = self.width * (i + 0.5) / n + 0.08 * self.width * math.sin(0.9 * t + 2.0 * i)
            cy = self.height * 0.5 + 0.08 * self.height * math.sin(1.3 * t + 1.0 + i)
            self._paste(frame, cv2.resize(head, (side, side), interpolation=cv2.INTER_AREA), cx, cy)
        return frame

    def _paste(self, frame: np.ndarray, head: np.ndarray, cx: float, cy: float) -> None:
        """Blend a resized head into the frame (in place) through the oval mask, clipped at the borders."""
        side = head.shape[0]
        mask = cv2.resize(self._mask, (side, side))  # (side,side)
        x0, y0 = int(cx - side / 2), int(cy - side / 2)
        fx0, fy0 = max(0, x0), max(0, y0)
        fx1, fy1 = min(self.width, x0 + side), min(self.height, y0 + side)
        if fx1 <= fx0 or fy1 <= fy0:
            return
        region = (slice(fy0 - y0, fy1 - y0), slice(fx0 - x0, fx1 - x0))
        alpha = np.ascontiguousarray(mask[region])
        face = np.ascontiguousarray(head[region])
        frame[fy0:fy1, fx0:fx1] = cv2.blendLinear(face, frame[fy0:fy1, fx0:fx1], alpha, 1.0 - alpha)

    def read(self) -> Frame:
        """The next frame, delivered no sooner than its time (index / fps) after open()."""
        if self._background is None:
            self.end_reason = f"{self.name} is not open"
            return False, None, 0.0
        timestamp = self._index / self.fps
        delay = self._t0 + timestamp - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        self._index += 1
        return True, self.render(timestamp), timestamp

    def close(self) -> None:
        """Drop the prepared images."""
        self._background = None
        self._heads = []


def source_spec_from_arg(text: str) -> str:
    """The source spec for a `--source` value ("demo", a camera index, an image file/folder or a video
    file): "demo", "camera:N", "images:PATH" or "video:PATH", as settings and the GUI store it."""
    text = text.strip()
    if text.lower() == "demo":
        return "demo"
    if text.isdigit():
        return f"camera:{int(text)}"
    path = Path(text)
    if path.is_dir() or path.suffix.lower() in IMAGE_EXTENSIONS:
        return f"images:{path}"
    return f"video:{path}"


def make_source(spec: str, loop: bool = False) -> FrameSource:
    """The FrameSource a spec names (`loop`: a video file starts again at its end); raises ValueError
    (with the accepted forms) for anything else."""
    kind, _, rest = spec.partition(":")
    if kind == "demo":
        return DemoSource()
    if kind == "camera" and rest.isdigit():
        return CameraSource(int(rest))
    if kind == "video" and rest:
        return VideoFileSource(rest, loop=loop)
    if kind == "images" and rest:
        return ImageSource(rest)
    raise ValueError(f"unknown source {spec!r}; use 'demo', 'camera:N', 'video:PATH' or 'images:PATH'")

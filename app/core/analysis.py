"""File analysis shared by `python main.py analyze` and the GUI's Images tab: images, folders (recursive,
sorted) and video files -> rows with the session CSV columns plus `source_path` and `error`.

`analyze_paths` is a generator of `AnalysisEvent`s, so the CLI drives a progress bar and the GUI a worker
thread from the same code; it checks `cancel` between files and between video frames. It never stops on a
bad file: a file that cannot be read or decoded gets one row with `status=error` and `error` filled; an
image without a face gets one `status=no_face` row with `error="no face detected"`; a video frame without
a face gets a `no_face` row (error empty: the file itself was fine).

Per row: images leave `frame`/`timestamp_s` empty, video rows fill them (frame index, seconds into the
file). Face ids: in an image 1..n, best detector score first; in a video the tracker's stable ids
(`detection` says whether the detector found the face in that frame or the tracker carried it).
There is no smoothing or baseline in file analysis: `*_smoothed` equal the raw values, `*_corrected` are
empty. `latency_ms` is the detection + model time of that image or frame.

Faces are found as `DetectionSettings` says (`file_finder`): a still gets the thorough search (both
BlazeFace models, two tile pyramids, YuNet); a video's frames get the live view's tile sweep and the
tracker, plus the thorough search on a frame every `video_search_s` seconds, which adds the faces the
tracker does not follow yet (far, turned). Very large images are downscaled (longest side
`DETECT_MAX_SIDE`) for detection only; boxes are reported, and crops taken, in the original pixels.
"""

from __future__ import annotations

import csv
import logging
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import IO, Any, Protocol

import cv2
import numpy as np

from app.core.annotate import annotate_frame
from app.core.detection import Detection, clip_box
from app.core.face_finder import FaceFinder, VideoFileFinder
from app.core.face_step import predict_faces, predict_located
from app.core.packets import FaceResult
from app.core.recorder import ANALYSIS_COLUMNS, face_cells
from app.core.reid import Reidentifier
from app.core.settings import DetectionSettings
from app.core.sources import IMAGE_EXTENSIONS, VIDEO_EXTENSIONS, SourceError, VideoFileSource, read_image_rgb
from app.core.tracking import FaceTracker
from model.io import atomic_write, describe_os_error, write_bytes_atomic

log = logging.getLogger(__name__)

DETECT_MAX_SIDE = 1920  # longest image side handed to the detector; larger images are downscaled for it
NO_FACE = "no face detected"


def analysis_csv_writer(handle: IO[str]) -> csv.DictWriter:
    """A CSV writer with the analysis columns (ANALYSIS_COLUMNS) on an open text file; header written."""
    writer = csv.DictWriter(handle, fieldnames=ANALYSIS_COLUMNS)
    writer.writeheader()
    return writer


def write_analysis_csv(path: str | Path, rows: Iterable[dict[str, str]]) -> Path:
    """Write `rows` as an analysis CSV at `path` through a temporary file, so no half file is left.

    Raises OSError naming the file when it cannot be written.
    """
    path = Path(path)
    try:
        with atomic_write(path, "w", newline="") as handle:
            analysis_csv_writer(handle).writerows(rows)
    except OSError as exc:
        raise OSError(describe_os_error(path, exc)) from exc
    return path


class Cancel(Protocol):
    """Anything with `is_set()` (threading.Event): analysis stops at the next file or frame when set."""

    def is_set(self) -> bool:
        """True once the user asked to stop."""
        ...


@dataclass(frozen=True)
class AnalysisEvent:
    """One step of a file analysis.

    kind: "started" (total_files known), "result" (one image or one video frame analysed, or the error row
    of a file that could not be read: `rows` hold its CSV rows), "file_done" (a file finished; `ok` False
    when it could not be read or decoded), "finished" or "cancelled" (the last event).
    """

    kind: str
    total_files: int
    file_index: int = -1  # 0-based index among the files found
    path: Path | None = None
    rows: tuple[dict[str, str], ...] = ()
    faces: tuple[FaceResult, ...] = ()
    frame: np.ndarray | None = None  # (H,W,3) uint8 RGB image or video frame analysed
    frame_index: int | None = None  # video frames only
    frames_total: int | None = None  # video files: frame count reported by the container, if any
    ok: bool = True
    error: str = ""
    annotated_path: Path | None = None  # file_done: where the annotated image/video was written


def collect_files(paths: Iterable[str | Path]) -> list[tuple[Path, Path]]:
    """(file, root) pairs: given files as they are, folders searched recursively for image and video files
    (sorted by path). `root` is the folder given (or the file's parent), used to name annotated outputs.
    A path that does not exist is kept, so it gets an error row."""
    found: list[tuple[Path, Path]] = []
    known = IMAGE_EXTENSIONS + VIDEO_EXTENSIONS
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            # Everything named like an image or video is kept, so a folder named "x.jpg" or a symbolic
            # link that leads nowhere gets an error row saying so rather than vanishing.
            found += [(p, path) for p in sorted(path.rglob("*")) if p.suffix.lower() in known]
        else:
            found.append((path, path.parent))
    return found


def unreadable_reason(path: Path) -> str | None:
    """Why `path` cannot be analysed as a file (missing, a folder, a dangling or looping link), or None."""
    if path.is_symlink() and not path.exists():
        return f"{path} is a symbolic link that leads nowhere (a link loop or a missing target)"
    if path.is_dir():
        return f"{path} is a folder named like a media file, not a file"
    if not path.exists():
        return f"file not found: {path}"
    return None


def _row(path: Path, **cells: str) -> dict[str, str]:
    """An analysis CSV row for `path` with the given cells, every other column empty."""
    return {**dict.fromkeys(ANALYSIS_COLUMNS, ""), "source_path": str(path), **cells}


class WholeImageFinder:
    """For images that are face crops already (`DetectionSettings.crops`): the whole image is one face."""

    def __enter__(self) -> WholeImageFinder:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def detect(self, frame: np.ndarray) -> list[Detection]:
        """One face: the whole frame, score 1."""
        h, w = frame.shape[:2]
        return [Detection(box=(0, 0, int(w), int(h)), score=1.0)]


Finder = FaceFinder | VideoFileFinder | WholeImageFinder


def file_finder(detection: DetectionSettings, still: bool) -> Finder:
    """How the faces of a still (`still`) or of a video's frames are found under `detection`: a video
    with the "auto" detector gets the stills' search on a frame every `video_search_s`."""
    if detection.crops:
        return WholeImageFinder()
    if still:
        return FaceFinder(detection.plan(still=True))
    every = detection.video_search_s if detection.detector == "auto" else 0.0
    return VideoFileFinder(detection.plan(still=False), detection.plan(still=True), every)


def _detect(finder: Finder, frame: np.ndarray, regions: Sequence[tuple[int, int, int, int]] = (),
            timestamp_s: float = 0.0) -> list[Detection]:
    """Detect on a copy downscaled to DETECT_MAX_SIDE when larger; boxes come back in frame pixels.
    `regions`: where the tracker expects faces (frame pixels), searched closely by a FaceFinder;
    `timestamp_s`: the video frame's time (a VideoFileFinder's thorough frames)."""
    if isinstance(finder, WholeImageFinder):
        return finder.detect(frame)
    h, w = frame.shape[:2]
    scale = DETECT_MAX_SIDE / max(h, w)
    search = (partial(finder.detect, timestamp_s=timestamp_s) if isinstance(finder, VideoFileFinder)
              else finder.detect)
    if scale >= 1.0:
        return search(frame, regions)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    small = cv2.resize(frame, size, interpolation=cv2.INTER_AREA)
    scaled = [tuple(max(1, round(v * scale)) for v in box) for box in regions]
    out = []
    for d in search(small, scaled):
        x, y, bw, bh = (v / scale for v in d.box)
        keypoints = tuple((kx / scale, ky / scale) for kx, ky in d.keypoints)
        out.append(Detection(box=clip_box(x, y, bw, bh, w, h), score=d.score, keypoints=keypoints))
    return out


class _AnnotatedOutput:
    """Names annotated outputs DIR/<path relative to its root>.annotated.<ext>, unique within one run."""

    def __init__(self, folder: Path | None) -> None:
        self.folder = folder
        self._used: set[Path] = set()

    def path_for(self, source: Path, root: Path, suffix: str) -> Path | None:
        """A fresh output path for `source` (None when annotated output is off)."""
        if self.folder is None:
            return None
        try:
            rel = source.relative_to(root)
        except ValueError:
            rel = Path(source.name)
        folder = self.folder / rel.parent
        out, n = folder / f"{rel.stem}.annotated{suffix}", 0
        while out in self._used:
            n += 1
            out = folder / f"{rel.stem}-{n}.annotated{suffix}"
        self._used.add(out)
        out.parent.mkdir(parents=True, exist_ok=True)
        return out


def analyze_paths(
    paths: Iterable[str | Path],
    predictor: Any,
    *,
    detection: DetectionSettings | None = None,
    save_annotated_dir: str | Path | None = None,
    cancel: Cancel | None = None,
) -> Iterator[AnalysisEvent]:
    """Analyse image files, folders and videos with `predictor` (a model.predictor.Predictor).

    `detection` (default DetectionSettings()): how faces are found, stills and videos alike. With
    `save_annotated_dir`, annotated images (.jpg) and videos (.avi, MJPG) are written there. Creates its
    own detectors in the calling thread and closes them before returning.
    """
    files = collect_files(paths)
    total = len(files)
    annotated = _AnnotatedOutput(Path(save_annotated_dir) if save_annotated_dir is not None else None)
    yield AnalysisEvent("started", total)
    detection = detection or DetectionSettings()
    margin = 0.0 if detection.crops else None  # a crop is the face as the dataset framed it
    with file_finder(detection, still=True) as image_finder:
        for index, (path, root) in enumerate(files):
            if cancel is not None and cancel.is_set():
                yield AnalysisEvent("cancelled", total, index)
                return
            if path.suffix.lower() in VIDEO_EXTENSIONS:
                reid = Reidentifier() if detection.reidentify and not detection.crops else None
                completed = yield from _analyze_video(
                    path, root, index, total, predictor, file_finder(detection, still=False), margin,
                    annotated, cancel, reid)
                if not completed:
                    yield AnalysisEvent("cancelled", total, index, path)
                    return
            else:
                yield from _analyze_image(path, root, index, total, predictor, image_finder, margin,
                                          annotated)
    log.info("analysed %d file(s)", total)
    yield AnalysisEvent("finished", total)


def _error_events(path: Path, index: int, total: int, message: str) -> Iterator[AnalysisEvent]:
    """The error row of a file that could not be analysed, then its file_done event."""
    log.warning("%s", message)
    row = _row(path, status="error", error=message)
    yield AnalysisEvent("result", total, index, path, rows=(row,), ok=False, error=message)
    yield AnalysisEvent("file_done", total, index, path, ok=False, error=message)


def _analyze_image(
    path: Path, root: Path, index: int, total: int, predictor: Any,
    finder: FaceFinder | WholeImageFinder, margin: float | None, annotated: _AnnotatedOutput,
) -> Iterator[AnalysisEvent]:
    """Events for one image file."""
    reason = unreadable_reason(path)
    if reason is not None:
        yield from _error_events(path, index, total, reason)
        return
    if path.suffix.lower() not in IMAGE_EXTENSIONS:
        known = ", ".join(IMAGE_EXTENSIONS + VIDEO_EXTENSIONS)
        message = f"unsupported file type {path.suffix!r} (supported: {known})"
        yield from _error_events(path, index, total, message)
        return
    try:
        frame = read_image_rgb(path)
    except SourceError as exc:
        yield from _error_events(path, index, total, str(exc))
        return
    start = time.perf_counter()
    try:
        detections = _detect(finder, frame)
        faces = predict_faces(frame, detections, range(1, len(detections) + 1), predictor, margin=margin)
    except Exception as exc:  # a detector/model failure on this image must not end the run
        log.exception("analysis of %s failed", path)
        yield from _error_events(path, index, total, f"analysis of {path} failed: {exc}")
        return
    latency = f"{(time.perf_counter() - start) * 1000.0:.2f}"
    if faces:
        rows = tuple(_row(path, **face_cells(f), latency_ms=latency) for f in faces)
    else:
        rows = (_row(path, status="no_face", latency_ms=latency, error=NO_FACE),)
    yield AnalysisEvent("result", total, index, path, rows=rows, faces=faces, frame=frame,
                        error="" if faces else NO_FACE)
    out = annotated.path_for(path, root, ".jpg")
    if out is not None:
        shown_margin = predictor.config.crop_margin if margin is None else margin
        image = annotate_frame(frame, faces, shown_margin, note="" if faces else NO_FACE)
        ok, encoded = cv2.imencode(".jpg", cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
        if ok:
            write_bytes_atomic(out, encoded.tobytes())
    yield AnalysisEvent("file_done", total, index, path, error="" if faces else NO_FACE, annotated_path=out)


def _analyze_video(
    path: Path, root: Path, index: int, total: int, predictor: Any,
    finder_cm: VideoFileFinder | WholeImageFinder, margin: float | None,
    annotated: _AnnotatedOutput, cancel: Cancel | None, reid: Reidentifier | None = None,
) -> Iterator[AnalysisEvent]:
    """Events for one video file, one "result" per frame; returns False when cancelled midway. `reid`
    gives a person who leaves the view and returns their id back."""
    reason = unreadable_reason(path)
    if reason is not None:
        yield from _error_events(path, index, total, reason)
        return True
    source = VideoFileSource(path)
    try:
        source.open()
    except SourceError as exc:
        yield from _error_events(path, index, total, str(exc))
        return True
    tracker = FaceTracker()
    writer = None
    out = annotated.path_for(path, root, ".avi")
    n_frames = 0
    try:
        with finder_cm as finder:
            while True:
                if cancel is not None and cancel.is_set():
                    return False
                ok, frame, timestamp = source.read()
                if not ok:
                    break
                start = time.perf_counter()
                located = tracker.update(_detect(finder, frame, tracker.expected(timestamp), timestamp),
                                         timestamp, (frame.shape[1], frame.shape[0]))
                if reid is not None:
                    located = reid.observe(frame, located, tracker, timestamp)
                faces = predict_located(frame, located, predictor, margin=margin)
                common = {"frame": str(n_frames), "timestamp_s": f"{timestamp:.4f}",
                          "latency_ms": f"{(time.perf_counter() - start) * 1000.0:.2f}"}
                if faces:
                    rows = tuple(_row(path, **face_cells(f), **common) for f in faces)
                else:
                    rows = (_row(path, status="no_face", **common),)
                yield AnalysisEvent("result", total, index, path, rows=rows, faces=faces, frame=frame,
                                    frame_index=n_frames, frames_total=source.frame_count)
                if out is not None:
                    if writer is None:
                        fps = source.fps if source.fps > 0 else 30.0
                        size = (frame.shape[1], frame.shape[0])
                        writer = cv2.VideoWriter(str(out), cv2.VideoWriter_fourcc(*"MJPG"), fps, size)
                    shown_margin = predictor.config.crop_margin if margin is None else margin
                    image = annotate_frame(frame, faces, shown_margin)
                    writer.write(cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
                n_frames += 1
    except Exception as exc:  # a decoder/detector/model failure midway: keep the rows so far, report it
        log.exception("analysis of %s stopped at frame %d", path, n_frames)
        message = f"analysis of {path} stopped at frame {n_frames}: {exc}"
        yield from _error_events(path, index, total, message)
        return True
    finally:
        source.close()
        if writer is not None:
            writer.release()
    if n_frames == 0:
        yield from _error_events(path, index, total, f"video {path} holds no decodable frame")
        return True
    yield AnalysisEvent("file_done", total, index, path, annotated_path=out, frames_total=n_frames)
    return True

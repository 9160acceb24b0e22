"""Session recorder: the session CSV (one row per face per processed frame, a `no_face` row for a frame
without a face), its NAME.json sidecar, the end-of-session summary and, when asked, the raw video.

Files, all beside each other (DESIGN.md "Files the app writes"):
- NAME.csv: columns `SESSION_COLUMNS`, appended for every packet as whole lines (model.io.LineFile),
  so a killed process loses at most the packet being written and a full disk never leaves half a row
  (the OS may still lose unsynced data on a power cut; `stop` fsyncs).
- NAME.json: written at start: app version, model (name, sha256, V/A measured or derived), settings,
  camera, participant, session id, start time, column list.
- NAME.summary.json + NAME.summary.md: written by `stop` from the CSV (see app.core.summary).
- NAME.avi (optional, off by default): the processed frames in order, MJPG; the n-th video frame is the
  n-th distinct `frame` value of the CSV.
An existing recording is never overwritten: NAME-1, NAME-2, ... is used instead.

Write failures (disk full, path not writable) raise `RecorderError` with a message naming the file, the
cause and what to do; everything written before stays on disk.

Permissions: the files hold per-person emotion data, so they are readable by their owner only (0600)
unless the recorder is given `permissions=None` (app.core.settings.OutputSettings.shared_files, for a
shared lab folder).
"""

from __future__ import annotations

import csv
import errno
import io
import json
import logging
import os
import threading
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from app.core.packets import FaceResult, FramePacket, PipelineEvent
from app.core.summary import summarize_csv, write_summary
from model.config import CLASS_NAMES
from model.io import PRIVATE_MODE, LineFile, write_text_atomic

log = logging.getLogger(__name__)

PROBABILITY_COLUMNS: tuple[str, ...] = tuple(f"p_{name}" for name in CLASS_NAMES)
# app.core.face_quality: the verdict, why it is low, and the measures behind it
QUALITY_COLUMNS: tuple[str, ...] = (
    "quality", "quality_reasons", "sharpness", "brightness", "clipped", "roll_deg", "yaw_deg", "pitch_deg",
)
# the model's standard deviation of the raw valence and arousal (empty for a model without the head)
UNCERTAINTY_COLUMNS: tuple[str, ...] = ("valence_std", "arousal_std")
SESSION_COLUMNS: tuple[str, ...] = (
    "session_id", "participant", "frame", "timestamp_s", "wall_time", "face_id", "face_label", "status",
    "detection",
    "face_x", "face_y", "face_w", "face_h", "face_score",
    *QUALITY_COLUMNS,
    "valence", "arousal", *UNCERTAINTY_COLUMNS,
    "valence_smoothed", "arousal_smoothed", "valence_corrected", "arousal_corrected",
    "expression", *PROBABILITY_COLUMNS, "latency_ms", "marker",
)
ANALYSIS_COLUMNS: tuple[str, ...] = (*SESSION_COLUMNS, "source_path", "error")


def csv_text(rows: Iterable[dict[str, str]], columns: Sequence[str], header: bool = False) -> str:
    """`rows` (and the header line when asked) as CSV text in whole lines; unknown keys are refused."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, extrasaction="raise")
    if header:
        writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def _num(value: float | None, digits: int) -> str:
    """A CSV cell for a number with fixed decimals; empty for None."""
    return "" if value is None else f"{float(value):.{digits}f}"


def face_cells(face: FaceResult) -> dict[str, str]:
    """The per-face CSV cells (box, score, quality, V/A raw with its SD, smoothed and corrected, expression,
    probabilities)."""
    x, y, w, h = (int(v) for v in face.box)
    cells = {
        "face_id": str(face.face_id), "face_label": face.label, "status": "ok",
        "detection": "detected" if face.detected else "tracked",
        "face_x": str(x), "face_y": str(y), "face_w": str(w), "face_h": str(h),
        "face_score": _num(face.score, 4),
        "valence": _num(face.valence, 6), "arousal": _num(face.arousal, 6),
        "valence_std": _num(face.valence_std, 6), "arousal_std": _num(face.arousal_std, 6),
        "valence_smoothed": _num(face.valence_smoothed, 6),
        "arousal_smoothed": _num(face.arousal_smoothed, 6),
        "valence_corrected": _num(face.valence_corrected, 6),
        "arousal_corrected": _num(face.arousal_corrected, 6),
        "expression": face.expression,
    }
    quality = face.quality
    if quality is not None:
        cells.update({
            "quality": quality.verdict, "quality_reasons": ";".join(quality.reasons),
            "sharpness": _num(quality.sharpness, 1), "brightness": _num(quality.brightness, 1),
            "clipped": _num(quality.clipped, 4), "roll_deg": _num(quality.roll_deg, 1),
            "yaw_deg": _num(quality.yaw_deg, 1), "pitch_deg": _num(quality.pitch_deg, 1),
        })
    probabilities = np.asarray(face.probabilities, dtype=np.float64).reshape(-1)  # (8,)
    for column, p in zip(PROBABILITY_COLUMNS, probabilities, strict=True):
        cells[column] = _num(p, 6)
    return cells


def packet_rows(
    packet: FramePacket, session_id: str, participant: str, marker: str = ""
) -> list[dict[str, str]]:
    """CSV rows of one processed frame: one per face, or a single `no_face` row."""
    common = {
        "session_id": session_id, "participant": participant,
        "frame": str(packet.frame_index), "timestamp_s": _num(packet.timestamp_s, 4),
        "wall_time": _num(packet.wall_time, 6), "latency_ms": _num(packet.stats.total_ms, 2),
        "marker": marker,
    }
    if not packet.faces:
        return [{**dict.fromkeys(SESSION_COLUMNS, ""), **common, "status": "no_face"}]
    return [{**common, **face_cells(face)} for face in packet.faces]


@dataclass(frozen=True)
class ModelInfo:
    """What the sidecar and summary say about the model that produced a session."""

    name: str
    sha256: str
    va_source: str  # "measured" or "derived"
    untrained: bool = False
    runtime: str = ""
    device: str = ""

    @classmethod
    def from_predictor(cls, predictor: Any) -> ModelInfo:
        """Read name, sha256, va_source, untrained, runtime and device from a model.predictor Predictor."""
        return cls(name=predictor.name, sha256=predictor.sha256 or "", va_source=predictor.va_source,
                   untrained=bool(predictor.untrained), runtime=predictor.runtime, device=predictor.device)


class RecorderError(RuntimeError):
    """A recording could not be started or continued. `fatal` False: only the raw video stopped."""

    def __init__(self, message: str, path: Path | None = None, fatal: bool = True, errno_: int | None = None):
        super().__init__(message)
        self.path = path
        self.fatal = fatal
        self.errno = errno_

    def to_event(self) -> PipelineEvent:
        """This error as a pipeline event (kind "error" when the recording stopped, else "warning")."""
        return PipelineEvent(kind="error" if self.fatal else "warning", message=str(self),
                             detail={"path": str(self.path) if self.path else "", "errno": self.errno})


def _reason(exc: OSError) -> str:
    """A plain-language cause for an OSError."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return "the disk is full (no space left on device)"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "permission denied"
    if exc.errno == errno.EROFS:
        return "the file system is read-only"
    if exc.errno in (errno.ENOTDIR, errno.ENOENT):
        return "the folder does not exist or a part of the path is a file"
    return exc.strerror or str(exc)


@dataclass(frozen=True)
class SessionPaths:
    """The files of one recording, all named after the CSV's stem."""

    csv: Path
    json: Path
    summary_json: Path
    summary_md: Path
    video: Path

    @classmethod
    def for_stem(cls, folder: Path, stem: str) -> SessionPaths:
        """Paths of a recording called `stem` in `folder`."""
        return cls(folder / f"{stem}.csv", folder / f"{stem}.json", folder / f"{stem}.summary.json",
                   folder / f"{stem}.summary.md", folder / f"{stem}.avi")

    def any_exists(self) -> bool:
        """True when any of these files is already on disk."""
        return any(p.exists() for p in (self.csv, self.json, self.summary_json, self.summary_md, self.video))


def free_session_paths(path: str | Path) -> SessionPaths:
    """Paths for a new recording at `path` (NAME or NAME.csv); NAME-1, NAME-2, ... when NAME is taken."""
    path = Path(path)
    stem = path.stem if path.suffix.lower() == ".csv" else path.name
    candidate, n = SessionPaths.for_stem(path.parent, stem), 0
    while candidate.any_exists():
        n += 1
        candidate = SessionPaths.for_stem(path.parent, f"{stem}-{n}")
    return candidate


def default_session_name(participant: str = "") -> str:
    """A file stem such as `P01_20250101-120000` (participant pseudonym, then local start time)."""
    prefix = "".join(c if c.isalnum() or c in "-_" else "_" for c in participant.strip()) or "session"
    return f"{prefix}_{datetime.now():%Y%m%d-%H%M%S}"


def app_version() -> str:
    """The installed AffectScope version, "unknown" when running from an uninstalled tree."""
    try:
        return metadata.version("affectscope")
    except metadata.PackageNotFoundError:
        return "unknown"


class SessionRecorder:
    """Appends every packet to the session CSV (flushed per packet) and writes the sidecars.

    Construction creates NAME.csv (with its header) and NAME.json; `write` is called from the inference
    worker for every packet; `mark` (any thread) attaches a marker to the next packet's rows; `stop`
    closes the files and writes the summary. After a fatal `RecorderError` further writes raise it again;
    `stop` still summarises what was kept.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        model: ModelInfo,
        participant: str = "",
        session_id: str | None = None,
        settings: dict[str, Any] | None = None,
        camera: dict[str, Any] | None = None,
        version: str | None = None,
        save_video: bool = False,
        video_fps: float = 30.0,
        permissions: int | None = PRIVATE_MODE,
    ) -> None:
        """Create NAME.csv and NAME.json; `permissions` is the files' mode (None: the umask's default)."""
        self.paths = free_session_paths(path)
        self.permissions = permissions
        self.participant = participant
        self.session_id = session_id or f"{datetime.now():%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:6]}"
        self.model = model
        self.save_video = bool(save_video)
        self.video_fps = float(video_fps)
        self.rows_written = 0
        self.packets_written = 0
        self.error: RecorderError | None = None
        self.start_wall_time = time.time()
        self._pending_marker = ""
        self._video = None
        self._video_size: tuple[int, int] | None = None
        self._stopped = False
        log.info("recording session %s of %r", self.session_id, participant)
        self._summary: dict[str, Any] | None = None
        self._lock = threading.Lock()
        try:
            self.paths.csv.parent.mkdir(parents=True, exist_ok=True)
            self._file = LineFile(self.paths.csv, permissions=permissions)  # kept open until stop()
        except OSError as exc:
            raise RecorderError(
                f"Cannot start the recording: cannot create {self.paths.csv}: {_reason(exc)}. "
                "Choose a folder you can write to.", self.paths.csv, errno_=exc.errno) from exc
        self.sidecar = {
            "app": "AffectScope", "app_version": version or app_version(),
            "session_id": self.session_id, "participant": participant,
            "start_time": datetime.fromtimestamp(self.start_wall_time).astimezone().isoformat(),
            "start_wall_time": self.start_wall_time,
            "model": {"name": model.name, "sha256": model.sha256, "va_source": model.va_source,
                      "untrained": model.untrained, "runtime": model.runtime, "device": model.device},
            "settings": settings or {}, "camera": camera or {},
            "files": {"csv": self.paths.csv.name, "video": self.paths.video.name if save_video else None},
            "columns": list(SESSION_COLUMNS),
        }
        try:
            self._file.write(csv_text((), SESSION_COLUMNS, header=True))
            write_text_atomic(self.paths.json, json.dumps(self.sidecar, indent=2) + "\n", permissions)
        except OSError as exc:
            self._close_quietly()
            raise RecorderError(
                f"Cannot start the recording in {self.paths.csv.parent}: {_reason(exc)}. "
                "Free some space or choose another folder.", self.paths.csv, errno_=exc.errno) from exc

    @property
    def is_recording(self) -> bool:
        """True from construction until `stop` or a fatal error."""
        return not self._stopped and self.error is None

    def mark(self, text: str) -> None:
        """Attach a marker (a user event) to the rows of the next packet written."""
        text = text.strip()
        if text:
            with self._lock:
                self._pending_marker = f"{self._pending_marker}; {text}" if self._pending_marker else text

    def write(self, packet: FramePacket) -> None:
        """Append the packet's rows and flush; save its frame when raw video is on. Raises RecorderError."""
        with self._lock:
            if self.error is not None:
                raise self.error
            if self._stopped:
                raise RecorderError(f"The recording {self.paths.csv} was already stopped.", self.paths.csv)
            marker = "; ".join(m for m in (packet.marker, self._pending_marker) if m)
            rows = packet_rows(packet, self.session_id, self.participant, marker)
            try:
                self._file.write(csv_text(rows, SESSION_COLUMNS))
            except OSError as exc:
                self.error = RecorderError(
                    f"Recording stopped: could not write {self.paths.csv}: {_reason(exc)}. The "
                    f"{self.rows_written} rows written before are kept. Free some space or choose another "
                    "folder, then start a new recording.", self.paths.csv, errno_=exc.errno)
                raise self.error from exc
            self._pending_marker = ""
            self.rows_written += len(rows)
            self.packets_written += 1
            if self.save_video:
                self._write_video_frame(packet.frame)

    def _write_video_frame(self, frame_rgb: np.ndarray) -> None:
        """Append one RGB frame to NAME.avi (opened on the first frame); failure turns video saving off."""
        import cv2

        h, w = frame_rgb.shape[:2]
        if self._video is None:
            self._video_size = (w, h)
            self._video = cv2.VideoWriter(str(self.paths.video), cv2.VideoWriter_fourcc(*"MJPG"),
                                          self.video_fps, (w, h))
            if not self._video.isOpened():
                self._video, self.save_video = None, False
                raise RecorderError(
                    f"Raw video saving stopped: cannot open {self.paths.video} for writing. The CSV "
                    "recording continues.", self.paths.video, fatal=False)
            if self.permissions is not None:
                os.chmod(self.paths.video, self.permissions)
        if (w, h) != self._video_size:
            frame_rgb = cv2.resize(frame_rgb, self._video_size, interpolation=cv2.INTER_AREA)
        self._video.write(cv2.cvtColor(frame_rgb, cv2.COLOR_RGB2BGR))

    def _close_quietly(self) -> None:
        """Close the CSV and the video; errors on close (the disk is full) cannot lose more than the tail."""
        try:
            self._file.close()  # syncs first
        except OSError:
            pass
        if self._video is not None:
            self._video.release()
            self._video = None

    def stop(self) -> dict[str, Any]:
        """Close the files and write NAME.summary.json/.md from the CSV; returns the summary dict.

        Safe to call more than once: after a success it returns the same summary, after a failure it
        tries again. Raises RecorderError when the summary cannot be written; the CSV is kept either way.
        """
        with self._lock:
            if self._summary is not None:
                return self._summary
            if not self._stopped:
                self._stopped = True
                self._close_quietly()
            summary = summarize_csv(self.paths.csv)
            summary.update({
                "app_version": self.sidecar["app_version"], "model": self.sidecar["model"],
                "start_time": self.sidecar["start_time"],
                "end_time": datetime.now().astimezone().isoformat(),
                "complete": self.error is None,
            })
            log.info("recording %s stopped: %d rows", self.paths.csv, self.rows_written)
            try:
                write_summary(summary, self.paths.summary_json, self.paths.summary_md, self.permissions)
            except OSError as exc:
                raise RecorderError(
                    f"The session summary could not be written to {self.paths.summary_json}: {_reason(exc)}. "
                    f"The CSV {self.paths.csv} is kept.", self.paths.summary_json, errno_=exc.errno) from exc
            self._summary = summary
            return summary

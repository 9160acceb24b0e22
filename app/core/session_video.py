"""The video frame behind a recording's row, for the Viewer's scrubbing.

    link = find_video(table)                       # VideoLink(path or None, note, ...)
    frames = SessionVideo(link.path)
    image = frames.read(video_frame_index(table, row, link))   # (H,W,3) uint8 RGB, None past the end

Which file: for a live session, the raw video saved beside the CSV (NAME.avi, named in the sidecar),
else the video file the session was recorded from (the sidecar's source `path`) when it is still on
disk; for an `analyze` CSV, the `source_path` of its rows. How a row maps to a video frame: a saved
session video holds the processed frames in order, so the n-th distinct `frame` value of the CSV is the
n-th video frame; in an analysis CSV, and for a source video, `frame` is the frame's index in the file
(modulo its length when the source looped). Sequential reads are decoded in order; a jump seeks.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from app.core.face_quality import FaceQuality
from app.core.packets import FaceResult
from app.core.session_annotations import SessionAnnotations
from app.core.session_table import SessionTable

NO_ATTENTION = np.zeros(0, np.float32)


@dataclass(frozen=True)
class VideoLink:
    """The recording's video file (None when there is none) and a note saying why not."""

    path: Path | None
    note: str = ""
    frame_numbers: bool = False  # the CSV's `frame` is the index in the file (else: the n-th distinct frame)
    loop: bool = False  # the source looped: frame numbers wrap at the file's length


def find_video(table: SessionTable) -> VideoLink:
    """The video the rows of `table` were computed from, when it is on disk."""
    if table.kind == "analysis":
        sources = sorted({s for s in table.text("source_path").tolist() if s})
        if not sources:
            return VideoLink(None, "The rows name no source video.")
        if len(sources) > 1:
            return VideoLink(None, f"The rows come from {len(sources)} videos; choose one to see its frames.")
        path = Path(sources[0])
        if not path.is_absolute():
            path = table.path.parent / path
        if path.is_file():
            return VideoLink(path, frame_numbers=True)
        return VideoLink(None, f"The source video {sources[0]} is not on disk: only the plots are shown.")
    sidecar = table.sidecar or {}
    name = (sidecar.get("files") or {}).get("video") or f"{table.path.stem}.avi"
    path = table.path.parent / name
    if path.is_file():
        return VideoLink(path)
    source = sidecar.get("camera") or {}
    if source.get("kind") == "video" and source.get("path"):
        if Path(source["path"]).is_file():
            return VideoLink(Path(source["path"]), frame_numbers=True, loop=bool(source.get("loop")))
        return VideoLink(
            None, f"The session's source video {source['path']} is not on disk: only the plots are shown."
        )
    return VideoLink(
        None,
        'No video was saved with this session (tick "Save video" in the Live tab\'s Recording group '
        f"to scrub frames next time): {name} is not beside the CSV. The plots are shown.",
    )


def video_frame_index(table: SessionTable, row: int, link: VideoLink, frame_count: int = 0) -> int:
    """The frame of `link`'s video file that row `row` was computed from (`frame_count`: the file's
    length, for a looping source)."""
    frame = float(table.number("frame")[row])
    if not link.frame_numbers:
        return int(np.searchsorted(table.distinct_frames, frame))
    if link.loop and frame_count > 0:
        return int(frame) % frame_count
    return int(frame)


class SessionVideo:
    """Random access to the frames of one video file (OpenCV)."""

    def __init__(self, path: str | Path) -> None:
        """Open `path`; ValueError naming the file when OpenCV cannot read it."""
        self.path = Path(path)
        self._capture = cv2.VideoCapture(str(self.path))
        if not self._capture.isOpened():
            raise ValueError(f"the video {self.path} cannot be opened (unknown format or damaged file)")
        self.frame_count = int(self._capture.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        self._next = 0  # the index the next read() returns

    def read(self, index: int) -> np.ndarray | None:
        """Frame `index` as (H,W,3) uint8 RGB; None when the file has no such frame."""
        if index < 0:
            return None
        if index != self._next:
            self._capture.set(cv2.CAP_PROP_POS_FRAMES, index)
        ok, bgr = self._capture.read()
        self._next = index + 1
        if not ok:
            self._next = -1  # unknown position: the next read seeks
            return None
        return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)

    def close(self) -> None:
        """Release the file."""
        self._capture.release()


def faces_at(
    table: SessionTable, annotations: SessionAnnotations, rows: np.ndarray
) -> tuple[FaceResult, ...]:
    """The faces of `rows` (one frame's rows) as FaceResults for drawing: box, ids after merges, labels,
    V/A and quality as recorded (no attention maps: the CSV does not hold them)."""
    out = []
    ids = annotations.resolved_ids(table.face_ids[rows])
    for row, face_id in zip(rows, ids, strict=True):
        if face_id < 0:
            continue
        box = tuple(
            int(np.nan_to_num(table.number(c)[row])) for c in ("face_x", "face_y", "face_w", "face_h")
        )

        def value(name: str, row: int = row) -> float:
            number = float(table.number(name)[row])
            return number if np.isfinite(number) else 0.0

        corrected = table.number("valence_corrected")[row]
        quality = None
        if str(table.text("quality")[row]):  # measured when recorded (older CSVs have no quality)

            def maybe(name: str, row: int = row) -> float | None:
                number = float(table.number(name)[row])
                return number if np.isfinite(number) else None

            reasons = tuple(r for r in str(table.text("quality_reasons")[row]).split(";") if r)
            quality = FaceQuality(
                float(box[2]),
                value("sharpness"),
                value("brightness"),
                value("clipped"),
                maybe("roll_deg"),
                maybe("yaw_deg"),
                maybe("pitch_deg"),
                reasons,
            )
        out.append(
            FaceResult(
                face_id=int(face_id),
                box=box,
                score=value("face_score"),
                valence=value("valence"),
                arousal=value("arousal"),
                valence_smoothed=value("valence_smoothed"),
                arousal_smoothed=value("arousal_smoothed"),
                valence_corrected=float(corrected) if np.isfinite(corrected) else None,
                arousal_corrected=value("arousal_corrected") if np.isfinite(corrected) else None,
                probabilities=np.zeros(0, np.float32),
                expression=str(table.text("expression")[row]),
                spatial_attention=(),
                layer_attention=NO_ATTENTION,
                crop=np.zeros((0, 0, 3), np.uint8),
                detected=str(table.text("detection")[row]) != "tracked",
                label=annotations.label(int(face_id), str(table.text("face_label")[row])),
                quality=quality,
            )
        )
    return tuple(out)

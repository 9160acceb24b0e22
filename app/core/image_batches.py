"""The worker side of the Images tab's batches (no Qt): analysis events made light, and their previews.

`analysis_events` loads the chosen model and runs `app.core.analysis.analyze_paths`, turning each
analysed image or video frame into an `AnalysedFrame` whose full-size frame is replaced by a downscaled
preview and whose face crops are dropped, so the GUI thread receives small objects and memory stays
bounded however many files a batch holds. `PreviewStore` keeps one `PreviewEntry` per analysed image or
frame (faces with their attention maps) and the downscaled frames of the last PREVIEW_CACHE of them.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import cv2
import numpy as np

from app.core.analysis import AnalysisEvent, analyze_paths, write_analysis_csv
from app.core.packets import FaceResult
from app.core.settings import DetectionSettings, ModelSettings
from app.core.sources import read_image_rgb
from app.core.va_provenance import VaProvenance, va_provenance

PREVIEW_MAX_SIDE = 640  # longest side of the frames kept for the preview
PREVIEW_CACHE = 64  # analysed frames whose preview image is kept in memory
_NO_CROP = np.zeros((0, 0, 3), dtype=np.uint8)


@dataclass(frozen=True)
class ModelReady:
    """The model of a batch was loaded (first item of every batch)."""

    name: str
    va_source: str  # "measured" or "derived"
    untrained: bool
    crop_margin: float
    provenance: VaProvenance  # what the model's V/A were learnt from


@dataclass(frozen=True)
class PreviewImage:
    """A frame downscaled for the preview."""

    image: np.ndarray  # (h,w,3) uint8 RGB
    scale: float  # preview pixels per frame pixel (<= 1)


@dataclass(frozen=True)
class AnalysedFrame:
    """One analysis event as the GUI receives it: without the full frame or face crops."""

    event: AnalysisEvent
    preview: PreviewImage | None  # None when the file could not be read


def preview_image(frame: np.ndarray) -> PreviewImage:
    """`frame` (H,W,3) uint8 RGB downscaled so that its longest side is at most PREVIEW_MAX_SIDE."""
    h, w = frame.shape[:2]
    scale = min(1.0, PREVIEW_MAX_SIDE / max(h, w))
    if scale >= 1.0:
        return PreviewImage(np.ascontiguousarray(frame), 1.0)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return PreviewImage(cv2.resize(frame, size, interpolation=cv2.INTER_AREA), scale)  # (h,w,3)


def _light(event: AnalysisEvent) -> AnalysedFrame:
    """The event without its frame and face crops, plus the preview of its frame."""
    preview = preview_image(event.frame) if event.frame is not None else None
    faces = tuple(replace(face, crop=_NO_CROP) for face in event.faces)
    return AnalysedFrame(replace(event, frame=None, faces=faces), preview)


def analysis_events(
    paths: Sequence[str], choice: ModelSettings, cancel: threading.Event,
    detection: DetectionSettings | None = None,
) -> Iterator[ModelReady | AnalysedFrame]:
    """Worker side of a batch: load the model, then analyse `paths` (faces found as `detection` says,
    default DetectionSettings()) until done or `cancel` is set."""
    from app.core.model_store import open_predictor  # the model stack loads with the batch (start-up)

    predictor = open_predictor(choice.path or None, runtime=choice.runtime, device=choice.device)
    yield ModelReady(predictor.name, predictor.va_source, predictor.untrained, predictor.config.crop_margin,
                     va_provenance(predictor.metadata))
    for event in analyze_paths(paths, predictor, detection=detection, cancel=cancel):
        yield _light(event)


def reload_preview(path: Path, cancel: threading.Event) -> Iterator[PreviewImage]:
    """Worker side of showing a still image whose preview was dropped: read it again, downscale it."""
    if not cancel.is_set():
        yield preview_image(read_image_rgb(path))


def write_csv(path: Path, rows: Sequence[dict[str, str]], cancel: threading.Event) -> Iterator[Path]:
    """Worker side of Export CSV: write `rows` with ANALYSIS_COLUMNS to `path` (via a temporary file)."""
    yield write_analysis_csv(path, rows)


@dataclass(frozen=True)
class PreviewEntry:
    """What the preview shows for the rows of one analysed image or video frame."""

    path: Path
    frame_index: int | None  # video frames only
    faces: tuple[FaceResult, ...]  # boxes in frame pixels, crops dropped
    error: str  # "" when the image had faces
    readable: bool  # False when the file could not be read at all
    model: ModelReady


def scaled_faces(faces: Sequence[FaceResult], scale: float) -> tuple[FaceResult, ...]:
    """The faces with their boxes in preview pixels."""
    out = []
    for face in faces:
        x, y, w, h = face.box
        box = (round(x * scale), round(y * scale), max(1, round(w * scale)), max(1, round(h * scale)))
        out.append(replace(face, box=box))
    return tuple(out)


class PreviewStore:
    """Preview entries of every analysed image/frame, and the preview images of the newest ones."""

    def __init__(self, capacity: int = PREVIEW_CACHE) -> None:
        """Keep the preview images of the last `capacity` entries."""
        self.capacity = int(capacity)
        self.entries: list[PreviewEntry] = []
        self._images: OrderedDict[int, PreviewImage] = OrderedDict()

    def add(self, entry: PreviewEntry, image: PreviewImage | None) -> int:
        """Store `entry` (and its image, dropping the oldest image beyond capacity); returns its index."""
        self.entries.append(entry)
        index = len(self.entries) - 1
        if image is not None:
            self.put_image(index, image)
        return index

    def put_image(self, index: int, image: PreviewImage) -> None:
        """Keep `image` as the preview of entry `index` (the most recently used)."""
        self._images[index] = image
        self._images.move_to_end(index)
        while len(self._images) > self.capacity:
            self._images.popitem(last=False)

    def image(self, index: int) -> PreviewImage | None:
        """The kept preview image of entry `index`, or None when it was dropped or never existed."""
        image = self._images.get(index)
        if image is not None:
            self._images.move_to_end(index)
        return image

    def image_count(self) -> int:
        """Number of preview images in memory."""
        return len(self._images)

    def clear(self) -> None:
        """Forget everything."""
        self.entries.clear()
        self._images.clear()

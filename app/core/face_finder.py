"""Every face in a frame, near or far: several BlazeFace passes merged into one list of boxes.

No single BlazeFace model covers both ends (docs/BENCHMARKS.md, "Face detection"). Measured on the
generated scenes: the full-range model (192 px input) finds a face reliably when the face is 1/8 to 1/4
of its input's width, the short-range model (128 px) from about 1/6 of its input up to a face that
fills the image. So a `FaceFinder` runs, per `FinderPlan`:

- the short-range and/or the full-range model on the whole frame (close-ups and large faces);
- the full-range model on a pyramid of overlapping square tiles: sides L/2, L/4, ... (L the frame's
  longer side) down to `min_face_px / BAND_LOW`, each level's tiles overlapping by a quarter of their
  side, so every face of that level's band (1/8 to 1/4 of the side) lies whole in some tile. In the
  live plan `tiles_per_call` tiles run per frame, in turn (with `full_in_sweep` the full-range model's
  whole-frame pass is one step of that sweep), and the tracker carries the faces between sweeps;
- around each box in `regions` (the tracker's faces the whole-frame passes did not find this frame, or
  found unsure and framed differently: IoU <= SEEN_IOU, score < SURE_SCORE),
  the full-range model on a window `REGION_SCALE` x the face's width, which puts it in the model's band;
- with `yunet` (still images), YuNet's three whole-frame passes (app.core.yunet: as it is, padded,
  upscaled), last: they add the faces the BlazeFace passes missed, mostly faces cut by the frame edge,
  large faces and faces 24-40 px wide;
- with `short_tiles_px` (still images), after the merging and checks below, the short-range model on a
  second pyramid of square tiles: sides `short_tiles_px / SHORT_BAND` (4 x the face), doubled while
  below SHORT_TOP_SHARE of the frame's shorter side, overlapping by half their side. The short-range
  model finds faces from about a quarter to half of its input, turned and tilted ones too, which the
  full-range tiles and YuNet miss (a face looking down, a head turned aside, cut by the frame edge); it
  only adds faces no kept box covers.

Merging: a box touching a tile's inner edge is dropped (the face lies whole in a neighbouring tile or
at a coarser level); then boxes are taken pass by pass in the order above (so a face keeps the
framing of the first model that sees it: the short-range model's for close faces), and one that
overlaps a kept box (IoU > `merge_iou`, or more than `merge_containment` of the smaller box inside the
other: the same face found twice at two scales) is dropped. With `verify`, each remaining face
scored below `verify_below` must be seen twice: one smaller than a fifth of the frame must be found
again in a window that puts it in the full-range model's band (texture that looks like a face at one
tile's alignment rarely does at another); a larger one must also be found by another pass or model
(an unsure whole-frame box around a small face, or a bright wall, is seen by one model only). A face
that only a short-range tile found, scored below SHORT_TILE_SURE, must be found again by another model:
the full-range model in a window around it, or YuNet (`YuNetDetector.seen_again`) scoring at least
SECOND_MODEL_SCORE; on the benchmark's scenes the false faces of that pyramid (truss, cup rim, hair)
scored up to 0.77 and no other model saw them. With
`verify_new` (live) only the unsure faces that no tracked region explains are looked at again: a
one-frame false face on a shoulder or a collar would otherwise get an id and a row. Boxes come back in
frame pixels, best first.

The detectors are MediaPipe's (app.core.detection) in IMAGE mode, created in the calling thread and
closed by `close()`: one finder per thread, as with a FaceDetector.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from app.core.detection import MIN_CONFIDENCE, Detection, FaceDetector, clip_box

WHOLE_FRAME_MODELS = ("short", "full")  # MediaPipe's two BlazeFace models, both run on the whole frame
FILE_MAX_FACES = 64  # most faces per image or video frame: no practical cap for files

EDGE_PX = 2.0  # a box within this distance of a tile's inner edge counts as cut by it
BAND_LOW, BAND_HIGH = 1 / 8, 1 / 4  # face width / tile side that the full-range model finds reliably
TILE_OVERLAP = BAND_HIGH  # neighbouring tiles share this share of their side
OVERRIDE_MARGIN = 0.2  # a later pass's box replaces an earlier one on the same face when this much surer
SEEN_IOU = 0.5  # a tracker region counts as found by the frame's passes when a box overlaps it this much
SURE_SCORE = 0.8  # ... or overlaps it at all (IoU > merge_iou) with at least this score
REGION_SCALE = 1 / 0.2  # window side around a tracked face, in face widths (the face at 1/5 of it)
SHORT_BAND = 1 / 4  # face width / tile side where the short-range tile pyramid starts (it finds 1/4 to 1/2)
SHORT_TILE_OVERLAP = 1 / 2  # neighbouring short-range tiles share half their side
SHORT_TOP_SHARE = 1 / 1.5  # short-range tile sides stay below this share of the frame's shorter side
SHORT_TILE_SURE = 0.8  # a face only a short-range tile found, scored below this, needs another model's look
SECOND_MODEL_SCORE = 0.4  # ... finding it scored at least this (YuNet; the full-range model: min_confidence)
# A face the thorough search adds to a video: at least this sure. A video shows a real face again (the
# next thorough frame, the sweep); an unsure false one would be tracked and re-found for seconds.
VIDEO_NEW_FACE_SCORE = 0.7


@dataclass(frozen=True)
class FinderPlan:
    """Which passes a FaceFinder runs; see the module docstring."""

    whole: tuple[str, ...] = WHOLE_FRAME_MODELS  # detector models run on the whole frame
    min_face_px: float = 0.0  # the tile pyramid reaches faces this wide (0: no tiles)
    tiles_per_call: int = 0  # 0: every tile each call; n > 0: n tiles per call, in turn
    full_in_sweep: bool = False  # the full-range model's whole-frame pass is one step of the tile sweep
    short_tiles_px: float = 0.0  # the short-range tile pyramid starts at faces this wide (0: none)
    verify: bool = False  # look at each face again in a window that puts it in the model's band
    verify_below: float = 0.7  # ... each face scored below this (above it, false faces were not seen)
    verify_new: bool = False  # without `verify`: look again only at unsure faces no tracked region explains
    yunet: bool = False  # YuNet's whole-frame passes last (app.core.yunet)
    min_confidence: float = MIN_CONFIDENCE
    max_faces: int = FILE_MAX_FACES
    merge_iou: float = 0.3
    merge_containment: float = 0.6

    def __post_init__(self) -> None:
        if not self.whole and self.min_face_px <= 0:
            raise ValueError("a FinderPlan needs a whole-frame pass or tiles (min_face_px > 0)")
        if self.min_face_px < 0 or self.tiles_per_call < 0 or self.short_tiles_px < 0:
            raise ValueError(f"min_face_px, tiles_per_call and short_tiles_px must be >= 0, got "
                             f"{self.min_face_px}, {self.tiles_per_call} and {self.short_tiles_px}")
        if not 0.0 <= self.min_confidence <= 1.0 or self.max_faces < 1:
            raise ValueError(f"min_confidence must be in [0, 1] and max_faces >= 1, got "
                             f"{self.min_confidence} and {self.max_faces}")


def _axis_starts(length: int, side: int, overlap: float = TILE_OVERLAP) -> list[int]:
    """Start offsets of windows of `side` along `length`, overlapping by `overlap` of the side and
    spread evenly so the last one ends at the far edge."""
    if side >= length:
        return [0]
    stride = side * (1.0 - overlap)
    count = math.ceil((length - side) / stride) + 1
    return [round(i * (length - side) / (count - 1)) for i in range(count)]


def tile_windows(width: int, height: int, min_face_px: float) -> list[tuple[int, int, int, int]]:
    """The (x0, y0, x1, y1) square tiles of the pyramid over a width x height frame, coarse first:
    sides L/2, L/4, ... while at least min_face_px / BAND_LOW (and a last level at that size)."""
    if min_face_px <= 0:
        return []
    longer = max(width, height)
    smallest = min_face_px / BAND_LOW
    sides = []
    side = longer / 2.0
    while side >= smallest:
        sides.append(side)
        side /= 2.0
    if (not sides or sides[-1] > 1.25 * smallest) and smallest < longer:
        sides.append(smallest)
    windows = []
    for side in sides:
        s = int(round(min(side, width, height)))
        windows += [(x, y, x + s, y + s) for y in _axis_starts(height, s) for x in _axis_starts(width, s)]
    return windows


def short_tile_windows(width: int, height: int, min_face_px: float) -> list[tuple[int, int, int, int]]:
    """The (x0, y0, x1, y1) square tiles of the short-range pyramid over a width x height frame, small
    first: sides min_face_px / SHORT_BAND, doubled while below SHORT_TOP_SHARE of the shorter side, each
    level's tiles overlapping by SHORT_TILE_OVERLAP of their side (no tiles when min_face_px is 0)."""
    if min_face_px <= 0:
        return []
    windows = []
    side = min_face_px / SHORT_BAND
    while side < SHORT_TOP_SHARE * min(width, height):
        s = int(round(side))
        windows += [(x, y, x + s, y + s) for y in _axis_starts(height, s, SHORT_TILE_OVERLAP)
                    for x in _axis_starts(width, s, SHORT_TILE_OVERLAP)]
        side *= 2.0
    return windows


def _iou_and_containment(a: Sequence[float], b: Sequence[float]) -> tuple[float, float]:
    """IoU of two (x, y, w, h) boxes, and their intersection over the smaller box's area."""
    ax1, ay1, bx1, by1 = a[0] + a[2], a[1] + a[3], b[0] + b[2], b[1] + b[3]
    iw = max(0.0, min(ax1, bx1) - max(a[0], b[0]))
    ih = max(0.0, min(ay1, by1) - max(a[1], b[1]))
    inter = iw * ih
    area_a, area_b = a[2] * a[3], b[2] * b[3]
    union, smaller = area_a + area_b - inter, min(area_a, area_b)
    return (inter / union if union > 0 else 0.0), (inter / smaller if smaller > 0 else 0.0)


def same_face(a: Sequence[float], b: Sequence[float], merge_iou: float, merge_containment: float) -> bool:
    """Whether two (x, y, w, h) boxes are taken for one face: IoU above `merge_iou`, or more than
    `merge_containment` of the smaller box inside the other (one face found at two scales)."""
    overlap, contained = _iou_and_containment(a, b)
    return overlap > merge_iou or contained > merge_containment


def merge_detections(passes: Sequence[Sequence[Detection]], merge_iou: float, merge_containment: float,
                     limit: int) -> list[Detection]:
    """One box per face: passes in order (earlier passes win, so a face keeps the framing of the first
    model that sees it whole), each best score first; a box overlapping a kept one (IoU or containment
    above the limits) is dropped, unless it is OVERRIDE_MARGIN more certain than that one, which it then
    replaces (a model outside its size band frames a face badly and is unsure of it: the short-range
    model on a far face). Returns the kept boxes best score first, at most `limit`."""
    kept: list[Detection] = []
    for found in passes:
        for det in sorted(found, key=lambda d: d.score, reverse=True):
            same = [i for i, k in enumerate(kept) if same_face(det.box, k.box, merge_iou, merge_containment)]
            if not same:
                kept.append(det)
            elif len(same) == 1 and det.score >= kept[same[0]].score + OVERRIDE_MARGIN:
                kept[same[0]] = det
    return sorted(kept, key=lambda d: d.score, reverse=True)[:limit]


def _cut_by_inner_edge(box: tuple[int, int, int, int], window: tuple[int, int, int, int],
                       width: int, height: int) -> bool:
    """True when `box` (frame pixels) touches an edge of `window` that is not the frame's edge."""
    x, y, w, h = box
    x0, y0, x1, y1 = window
    return ((x0 > 0 and x <= x0 + EDGE_PX) or (y0 > 0 and y <= y0 + EDGE_PX)
            or (x1 < width and x + w >= x1 - EDGE_PX) or (y1 < height and y + h >= y1 - EDGE_PX))


class FaceFinder:
    """Runs a FinderPlan's passes on frames and merges their boxes; one instance per thread."""

    def __init__(self, plan: FinderPlan | None = None) -> None:
        """Create the detectors the plan needs (DetectorError names a missing model file)."""
        self.plan = plan or FinderPlan()
        models = set(self.plan.whole) | {"full"} | ({"short"} if self.plan.short_tiles_px else set())
        self._detectors: dict[str, FaceDetector] = {}
        try:
            for model in sorted(models):
                self._detectors[model] = FaceDetector(model, self.plan.min_confidence, self.plan.max_faces)
        except Exception:
            self.close()
            raise
        self._yunet = None
        if self.plan.yunet:
            from app.core.yunet import YuNetDetector

            self._yunet = YuNetDetector()
        self._next_tile = 0
        self.calls = 0  # detector calls made so far (the cost of the plan)
        self.last_found = 0  # faces the last `detect` found, before the `max_faces` cut

    def _run(self, model: str, image: np.ndarray) -> list[Detection]:
        self.calls += 1
        return self._detectors[model].detect(image)

    def detect(
        self, frame: np.ndarray, regions: Sequence[tuple[int, int, int, int]] = ()
    ) -> list[Detection]:
        """The merged faces of one uint8 RGB frame (H,W,3), best score first, at most `max_faces`
        (`last_found` says how many were found before that cut). `regions`: boxes (x, y, w, h) where a
        face is expected (the tracker's); each one the whole-frame and tile passes did not find is
        searched closely."""
        frame = np.asarray(frame)
        height, width = frame.shape[:2]
        plan = self.plan
        found: list[list[Detection]] = [self._run(model, frame) for model in plan.whole]
        windows = tile_windows(width, height, plan.min_face_px)
        if plan.full_in_sweep:
            windows = [(0, 0, width, height), *windows]
        if windows and plan.tiles_per_call:
            chosen = [windows[(self._next_tile + i) % len(windows)]
                      for i in range(min(plan.tiles_per_call, len(windows)))]
            self._next_tile = (self._next_tile + plan.tiles_per_call) % len(windows)
        else:
            chosen = windows
        found += [self._window_faces(frame, window, width, height) for window in chosen]
        seen = [d for faces in found for d in faces]
        missing = [box for box in regions if not any(
            (overlap := _iou_and_containment(box, d.box)[0]) > SEEN_IOU
            or (overlap > plan.merge_iou and d.score >= SURE_SCORE) for d in seen)]
        found += [self._window_faces(frame, self._region_window(box, width, height), width, height)
                  for box in missing]
        if self._yunet is not None:
            yunet_passes = self._yunet.detect_passes(frame)
            self.calls += len(yunet_passes)
            found.append([d for faces in yunet_passes for d in faces])  # one pass: its best box wins
        merged = merge_detections(found, plan.merge_iou, plan.merge_containment, sum(map(len, found)))
        if plan.verify or plan.verify_new:
            every = [d for faces in found for d in faces]
            merged = [d for d in merged if (not plan.verify and self._tracked(d, regions))
                      or self._confirmed(frame, d, width, height, every)]
        if plan.short_tiles_px:  # last: it adds the faces the other passes missed, never reframes one
            short_new = self._short_tile_faces(frame, merged)
            merged = merge_detections([merged, short_new], plan.merge_iou, plan.merge_containment,
                                      len(merged) + len(short_new))
        self.last_found = len(merged)
        return merged[: plan.max_faces]

    def _confirmed(self, frame: np.ndarray, det: Detection, width: int, height: int,
                   every: Sequence[Detection]) -> bool:
        """Whether the full-range model finds `det` again in a window of REGION_SCALE x its width
        (the face at 1/5 of the window, inside the band it finds reliably). A face that fills much of
        the frame (the window would be the frame itself) needs a second opinion instead: a box of
        another pass or model among `every` (all the passes' boxes) on the same face."""
        x, y, w, h = det.box
        if det.score >= self.plan.verify_below:
            return True
        if max(w, h) * REGION_SCALE >= min(width, height):
            return any(d is not det and _iou_and_containment(det.box, d.box)[0] >= self.plan.merge_iou
                       for d in every)
        return self._full_range_sees_again(frame, det)

    def _full_range_sees_again(self, frame: np.ndarray, det: Detection) -> bool:
        """Whether the full-range model finds `det` in a window REGION_SCALE x its width around it."""
        height, width = frame.shape[:2]
        again = self._window_faces(frame, self._region_window(det.box, width, height), width, height)
        return any(_iou_and_containment(det.box, d.box)[0] >= self.plan.merge_iou for d in again)

    def _short_tile_faces(self, frame: np.ndarray, earlier: Sequence[Detection]) -> list[Detection]:
        """The short-range tile pyramid's faces that no `earlier` box covers (the same overlap rule as
        merging), each scored below SHORT_TILE_SURE kept only when another model finds it again."""
        height, width = frame.shape[:2]
        plan = self.plan
        out = []
        for window in short_tile_windows(width, height, plan.short_tiles_px):
            for det in self._window_faces(frame, window, width, height, "short"):
                if any(same_face(det.box, e.box, plan.merge_iou, plan.merge_containment) for e in earlier):
                    continue
                if det.score >= SHORT_TILE_SURE or self._seen_by_another_model(frame, det):
                    out.append(det)
        return out

    def _seen_by_another_model(self, frame: np.ndarray, det: Detection) -> bool:
        """Whether the full-range model (in a window REGION_SCALE x the face's width around it) or YuNet
        (`YuNetDetector.seen_again`, scored at least SECOND_MODEL_SCORE) finds `det` again."""
        if self._full_range_sees_again(frame, det):
            return True
        if self._yunet is None:
            return False
        self.calls += 1
        return self._yunet.seen_again(frame, det, SECOND_MODEL_SCORE)

    def _tracked(self, det: Detection, regions: Sequence[tuple[int, int, int, int]]) -> bool:
        """Whether `det` is on a face the tracker already follows (one of its expected `regions`)."""
        return any(_iou_and_containment(det.box, box)[0] > self.plan.merge_iou for box in regions)

    @staticmethod
    def _region_window(box: Sequence[int], width: int, height: int) -> tuple[int, int, int, int]:
        """A square window REGION_SCALE x the box's width around its centre, shifted into the frame."""
        x, y, w, h = box
        side = int(round(min(max(w, h) * REGION_SCALE, width, height)))
        x0 = int(np.clip(round(x + w / 2 - side / 2), 0, width - side))
        y0 = int(np.clip(round(y + h / 2 - side / 2), 0, height - side))
        return x0, y0, x0 + side, y0 + side

    def _window_faces(self, frame: np.ndarray, window: tuple[int, int, int, int], width: int,
                      height: int, model: str = "full") -> list[Detection]:
        """One model's faces in one window, in frame pixels, without the ones its inner edges cut."""
        x0, y0, x1, y1 = window
        out = []
        for det in self._run(model, np.ascontiguousarray(frame[y0:y1, x0:x1])):
            bx, by, bw, bh = det.box
            box = clip_box(bx + x0, by + y0, bw, bh, width, height)
            if _cut_by_inner_edge(box, window, width, height):
                continue  # it lies whole in a neighbouring tile or at a coarser level
            keypoints = tuple((kx + x0, ky + y0) for kx, ky in det.keypoints)
            out.append(Detection(box=box, score=det.score, keypoints=keypoints))
        return out

    def close(self) -> None:
        """Release every detector; safe to call twice."""
        for detector in self._detectors.values():
            detector.close()
        self._detectors = {}

    def __enter__(self) -> FaceFinder:
        """Use as a context manager that closes the finder on exit."""
        return self

    def __exit__(self, *exc_info: object) -> None:
        """Close the finder."""
        self.close()


class VideoFileFinder:
    """The finder of a video file's frames: each frame `quick`'s passes (the whole frame, and where the
    tracker expects its faces); the first frame and then one every `thorough_every_s` seconds of video
    `thorough`'s passes too (the stills' tiles and YuNet), so a far or turned face is found within that
    time and the tracker follows it between. The thorough passes only add faces, scored at least
    VIDEO_NEW_FACE_SCORE: their boxes on a face the quick passes found or the tracker expects are dropped
    (two faces crossing, framed by the thorough passes differently for one frame, swapped ids). One
    instance per thread, like a FaceFinder."""

    def __init__(self, quick: FinderPlan, thorough: FinderPlan, thorough_every_s: float) -> None:
        """Create both finders (DetectorError names a missing model file). `thorough_every_s` <= 0: never
        the thorough passes."""
        self.quick = FaceFinder(quick)
        try:
            self.thorough = FaceFinder(thorough) if thorough_every_s > 0 else None
        except Exception:
            self.quick.close()
            raise
        self.every_s = thorough_every_s
        self._last_thorough_s: float | None = None

    def detect(self, frame: np.ndarray, regions: Sequence[tuple[int, int, int, int]] = (),
               timestamp_s: float = 0.0) -> list[Detection]:
        """The faces of the (H,W,3) uint8 RGB frame at `timestamp_s` seconds into the video, as
        FaceFinder.detect; a frame `thorough_every_s` after the last thorough one gets the thorough
        passes (a frame with an earlier time than the last one, a new video, starts again)."""
        last = self._last_thorough_s
        due = self.thorough is not None and (last is None or timestamp_s < last
                                             or timestamp_s - last >= self.every_s - 1e-6)
        found = self.quick.detect(frame, regions)
        if not due:
            return found
        self._last_thorough_s = timestamp_s
        known = [*regions, *(d.box for d in found)]
        plan = self.thorough.plan
        new = [d for d in self.thorough.detect(frame) if d.score >= VIDEO_NEW_FACE_SCORE and not any(
            same_face(d.box, box, plan.merge_iou, plan.merge_containment) for box in known)]
        return sorted([*found, *new], key=lambda d: d.score, reverse=True)[: self.quick.plan.max_faces]

    def close(self) -> None:
        """Release both finders; safe to call twice."""
        self.quick.close()
        if self.thorough is not None:
            self.thorough.close()

    def __enter__(self) -> VideoFileFinder:
        """Use as a context manager that closes the finder on exit."""
        return self

    def __exit__(self, *exc_info: object) -> None:
        """Close the finder."""
        self.close()

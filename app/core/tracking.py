"""Stable face ids across frames: motion-predicted matching, and faces carried through missed detections.

API:

    tracker = FaceTracker(iou_threshold=0.3, timeout_s=1.0, coast_s=0.5)
    regions = tracker.expected(timestamp_s)                  # where the live faces should be now
    faces = tracker.update(detections, timestamp_s, (w, h))  # one TrackedFace per face in view
    tracker.retired                                          # ids retired by that update

Each track keeps its last box and a velocity of its centre (pixels per second, fitted to its last
HISTORY detections, at most MAX_SPEED face widths a second). At a new frame every track's box is moved
forward to the frame's time, and the detections are matched to those predicted boxes, each track and
detection used once: first greedily by IoU (best first, IoU >= `iou_threshold`), then the rest by
containment (the two detector models frame one face tighter or wider: the smaller box lies mostly in
the other) or centre distance to the predicted or the last seen box (under GATE face widths, similar
sizes), for faces that moved too far between two frames for their boxes to overlap, or whose prediction
overshot (frames dropped under load). Predicting the motion is what keeps two faces' ids apart when they
pass each other.

A track the detector missed is still reported, at its predicted box and marked not `detected`, for up
to `coast_s` after it was last seen, if it was detected in the MIN_STREAK_TO_CARRY frames before, as
long as the box stays mostly in the frame and does not overlap a face that was detected (its centre
inside one, or IoU > DUPLICATE_IOU: one face never holds two ids in a frame). An unmatched detection
starts a new id (ids only grow and are never reused). A track unseen for more than `timeout_s` is
retired; until then a face that reappears near where it was expected takes its id back.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from app.core.detection import Detection, clip_box

GATE = 1.0  # a detection this many face widths from a track's predicted centre can still be matched
SIZE_RATIO = 1.6  # ... when neither box is more than this much wider than the other
CONTAINMENT = 0.8  # a box this much inside a track's box (or holding it) is that face framed otherwise
MAX_SPEED = 3.0  # face widths per second: faster velocity estimates are detector jitter, clamped
CROWD_IOU = 0.05  # a track whose predicted box overlaps another's this much keeps its velocity
HISTORY = 12  # detections a track's velocity is fitted to (0.4 s at 30 fps)
IN_FRAME = 0.5  # a carried face stops being reported once less than this share of its box is in frame
DUPLICATE_IOU = 0.3  # a carried box overlapping a detected face this much is that face: not reported
MIN_STREAK_TO_CARRY = 3  # a face detected in fewer frames in a row (texture seen now and then) is not carried


def iou(a: Sequence[float], b: Sequence[float]) -> float:
    """Intersection over union of two (x, y, w, h) boxes (0 when either is empty)."""
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    iw = min(ax + aw, bx + bw) - max(ax, bx)
    ih = min(ay + ah, by + bh) - max(ay, by)
    if iw <= 0 or ih <= 0:
        return 0.0
    inter = iw * ih
    union = aw * ah + bw * bh - inter
    return float(inter / union) if union > 0 else 0.0


@dataclass(frozen=True)
class TrackedFace:
    """One face of a frame: its id, its box (the detector's, or the track's prediction), and whether the
    detector found it in this frame (`detected`) or the tracker carried it (`detected=False`)."""

    face_id: int
    detection: Detection
    detected: bool = True


@dataclass
class Track:
    """A face id's last seen box, recent centres (for its velocity) and detector score."""

    face_id: int
    box: tuple[float, float, float, float]  # x, y, w, h when last seen
    last_seen_s: float
    score: float
    velocity: tuple[float, float] = (0.0, 0.0)  # centre, px/s
    streak: int = 1  # consecutive frames, up to the last one it was seen in, in which it was detected
    missed: int = 0  # frames since then
    history: deque = field(default_factory=lambda: deque(maxlen=HISTORY))  # (t, cx, cy) when seen

    def predicted(self, timestamp_s: float) -> tuple[float, float, float, float]:
        """The box moved on at the track's velocity to `timestamp_s`."""
        dt = max(0.0, timestamp_s - self.last_seen_s)
        x, y, w, h = self.box
        return x + self.velocity[0] * dt, y + self.velocity[1] * dt, w, h

    def seen(self, box: Sequence[int], timestamp_s: float, score: float, crowded: bool = False) -> None:
        """Take a matched detection: new box, time and score; the velocity is the least-squares slope of
        the centres seen in the last HISTORY detections (clamped to MAX_SPEED), which a detector's jitter
        moves far less than a frame-to-frame difference."""
        self.box = tuple(float(v) for v in box)
        self.last_seen_s = float(timestamp_s)
        self.score = float(score)
        self.streak = self.streak + 1 if self.missed == 0 else 1
        self.missed = 0
        if crowded:  # the box may be another face's, or both: the motion before it is kept
            return
        self.history.append((float(timestamp_s), *_centre(self.box)))
        times = np.array([h[0] for h in self.history])  # (n,)
        if len(times) < 3 or times[-1] - times[0] < 1e-3:
            return
        centred = times - times.mean()
        limit = MAX_SPEED * max(box[2], box[3])
        slopes = [float(np.dot(centred, [h[axis] for h in self.history]) / np.dot(centred, centred))
                  for axis in (1, 2)]
        self.velocity = tuple(max(-limit, min(limit, v)) for v in slopes)


def _centre(box: Sequence[float]) -> tuple[float, float]:
    return box[0] + box[2] / 2.0, box[1] + box[3] / 2.0


def _containment(a: Sequence[float], b: Sequence[float]) -> float:
    """The share of the smaller of two (x, y, w, h) boxes that lies inside the other."""
    iw = min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0])
    ih = min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1])
    smaller = min(a[2] * a[3], b[2] * b[3])
    return float(iw * ih / smaller) if iw > 0 and ih > 0 and smaller > 0 else 0.0


def _inside(point: tuple[float, float], box: Sequence[float]) -> bool:
    return box[0] <= point[0] <= box[0] + box[2] and box[1] <= point[1] <= box[1] + box[3]


def _share_in_frame(box: Sequence[float], size: tuple[int, int]) -> float:
    x, y, w, h = box
    iw = max(0.0, min(x + w, size[0]) - max(x, 0.0))
    ih = max(0.0, min(y + h, size[1]) - max(y, 0.0))
    return iw * ih / (w * h) if w * h > 0 else 0.0


class FaceTracker:
    """Assigns stable integer ids to face detections frame after frame; see the module docstring."""

    def __init__(self, iou_threshold: float = 0.3, timeout_s: float = 1.0, coast_s: float = 0.5) -> None:
        """`iou_threshold`: least overlap to keep an id; `timeout_s`: unseen time before an id retires;
        `coast_s`: how long a missed face is still reported at its predicted box (0: never)."""
        if not 0.0 < iou_threshold <= 1.0:
            raise ValueError(f"iou_threshold must be in (0, 1], got {iou_threshold}")
        if timeout_s < 0 or coast_s < 0:
            raise ValueError(f"timeout_s and coast_s must be >= 0, got {timeout_s} and {coast_s}")
        self.iou_threshold = float(iou_threshold)
        self.timeout_s = float(timeout_s)
        self.coast_s = min(float(coast_s), self.timeout_s)
        self._tracks: dict[int, Track] = {}
        self._next_id = 1
        self.retired: list[int] = []  # ids retired by the last update()

    @property
    def active_ids(self) -> list[int]:
        """Ids currently tracked (seen within the timeout), ascending."""
        return sorted(self._tracks)

    def expected(self, timestamp_s: float) -> list[tuple[int, int, int, int]]:
        """The predicted (x, y, w, h) boxes of the live tracks at `timestamp_s`, rounded: where a face
        detector should look again for faces it may miss in the whole frame."""
        return [tuple(int(round(v)) for v in t.predicted(timestamp_s)) for t in self._tracks.values()]

    def _match(self, predicted: dict[int, tuple[float, float, float, float]],
               boxes: Sequence[Sequence[int]]) -> dict[int, int]:
        """detection index -> track id: by IoU first, then by centre distance (module docstring)."""
        matched: dict[int, int] = {}
        taken: set[int] = set()
        by_overlap = sorted(((iou(p, box), face_id, b) for face_id, p in predicted.items()
                             for b, box in enumerate(boxes)), key=lambda t: -t[0])
        for overlap, face_id, b in by_overlap:
            if overlap < self.iou_threshold:
                break
            if face_id not in taken and b not in matched:
                matched[b] = face_id
                taken.add(face_id)
        by_distance = []
        for face_id, p in predicted.items():
            if face_id in taken:
                continue
            last, width = self._tracks[face_id].box, max(p[2], p[3], 1.0)
            for b, box in enumerate(boxes):
                if b in matched:
                    continue
                if _containment(p, box) >= CONTAINMENT:  # the same face framed tighter or wider
                    by_distance.append((0.0, face_id, b))
                    continue
                ratio = max(box[2], 1) / max(p[2], 1)
                if not 1 / SIZE_RATIO <= ratio <= SIZE_RATIO:
                    continue
                (bx, by) = _centre(box)
                # near where it was predicted, or where it was last seen (a prediction that overshot)
                distance = min(math.hypot(bx - cx, by - cy) for cx, cy in (_centre(p), _centre(last))) / width
                if distance < GATE:
                    by_distance.append((distance, face_id, b))
        for _, face_id, b in sorted(by_distance):
            if face_id not in taken and b not in matched:
                matched[b] = face_id
                taken.add(face_id)
        return matched

    def update(self, detections: Sequence[Detection], timestamp_s: float,
               frame_size: tuple[int, int] | None = None) -> list[TrackedFace]:
        """Match this frame's detections to the tracks; returns the detected faces (in detection order)
        then the carried ones. `frame_size` (width, height) bounds the carried boxes (None: no bound)."""
        predicted = {face_id: t.predicted(timestamp_s) for face_id, t in self._tracks.items()}
        boxes = [d.box for d in detections]
        matched = self._match(predicted, boxes)
        faces = []
        for b, det in enumerate(detections):
            face_id = matched.get(b)
            if face_id is None:
                face_id = self._next_id
                self._next_id += 1
                box = tuple(float(v) for v in det.box)
                track = self._tracks[face_id] = Track(face_id, box, timestamp_s, det.score)
                track.history.append((float(timestamp_s), *_centre(box)))
            else:
                crowded = any(iou(predicted[face_id], p) > CROWD_IOU for other, p in predicted.items()
                              if other != face_id)
                self._tracks[face_id].seen(det.box, timestamp_s, det.score, crowded)
            faces.append(TrackedFace(face_id, det, detected=True))
        seen = set(matched.values())
        for face_id, track in self._tracks.items():
            if face_id in seen or face_id not in predicted:
                continue
            track.missed += 1
            if track.streak < MIN_STREAK_TO_CARRY or timestamp_s - track.last_seen_s > self.coast_s:
                continue
            box = predicted[face_id]
            if frame_size is not None and _share_in_frame(box, frame_size) < IN_FRAME:
                continue
            if any(iou(box, d.box) > DUPLICATE_IOU or _inside(_centre(box), d.box) for d in detections):
                continue
            if frame_size is not None:
                box = clip_box(*box, frame_size[0], frame_size[1])
            else:
                box = tuple(int(round(v)) for v in box)
            faces.append(TrackedFace(face_id, Detection(box=box, score=track.score), detected=False))
        self.retired = sorted(face_id for face_id, t in self._tracks.items()
                              if timestamp_s - t.last_seen_s > self.timeout_s)
        for face_id in self.retired:
            del self._tracks[face_id]
        return faces

    def relabel(self, face_id: int, old_id: int) -> None:
        """Give the track `face_id` the id `old_id` of a face seen earlier (re-identification); `old_id`
        must not be tracked now. Its retired state, if any, is forgotten."""
        if old_id in self._tracks:
            raise ValueError(f"face id {old_id} is tracked now; it cannot be given to face {face_id}")
        if face_id not in self._tracks:
            return  # not in view any more: nothing to rename
        track = self._tracks.pop(face_id)
        track.face_id = old_id
        self._tracks[old_id] = track

    def reset(self) -> None:
        """Forget all tracks (ids keep growing so old ids are never reused)."""
        self.retired = sorted(self._tracks)
        self._tracks.clear()

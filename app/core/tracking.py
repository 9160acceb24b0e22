"""Stable face ids across frames: greedy IoU matching with a timeout before an id is retired.

API:

    tracker = IoUTracker(iou_threshold=0.3, timeout_s=1.0)
    ids = tracker.update(boxes, timestamp_s)   # one id per box, in box order
    tracker.retired                            # ids retired by that update (drop their smoother state)

A box takes the id of the live track it overlaps most (pairs matched greedily, best IoU first, each
track and box used once, IoU >= `iou_threshold`). An unmatched box starts a new id (ids only grow and are
never reused). A track not matched for more than `timeout_s` seconds is retired; until then a face that
briefly disappears (a missed detection, a hand in front of it) gets its old id back.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


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


@dataclass
class Track:
    """A face id's last known box and when it was last seen."""

    face_id: int
    box: tuple[int, int, int, int]
    last_seen_s: float


class IoUTracker:
    """Assigns stable integer ids to face boxes frame after frame."""

    def __init__(self, iou_threshold: float = 0.3, timeout_s: float = 1.0) -> None:
        """`iou_threshold`: least overlap to keep an id; `timeout_s`: unseen time before an id retires."""
        if not 0.0 < iou_threshold <= 1.0:
            raise ValueError(f"iou_threshold must be in (0, 1], got {iou_threshold}")
        if timeout_s < 0:
            raise ValueError(f"timeout_s must be >= 0, got {timeout_s}")
        self.iou_threshold = float(iou_threshold)
        self.timeout_s = float(timeout_s)
        self._tracks: dict[int, Track] = {}
        self._next_id = 1
        self.retired: list[int] = []  # ids retired by the last update()

    @property
    def active_ids(self) -> list[int]:
        """Ids currently tracked (seen within the timeout), ascending."""
        return sorted(self._tracks)

    def update(self, boxes: Sequence[Sequence[int]], timestamp_s: float) -> list[int]:
        """Match this frame's boxes (x, y, w, h) to tracks; return one face id per box, in box order."""
        pairs = sorted(
            (
                (iou(track.box, box), face_id, b)
                for face_id, track in self._tracks.items()
                for b, box in enumerate(boxes)
            ),
            key=lambda p: -p[0],
        )
        ids: list[int | None] = [None] * len(boxes)
        taken: set[int] = set()
        for overlap, face_id, b in pairs:
            if overlap < self.iou_threshold:
                break
            if face_id in taken or ids[b] is not None:
                continue
            ids[b] = face_id
            taken.add(face_id)
        for b, box in enumerate(boxes):
            face_id = ids[b]
            if face_id is None:
                face_id = self._next_id
                self._next_id += 1
                ids[b] = face_id
            self._tracks[face_id] = Track(face_id, tuple(int(v) for v in box), float(timestamp_s))
        self.retired = sorted(
            face_id for face_id, t in self._tracks.items() if timestamp_s - t.last_seen_s > self.timeout_s
        )
        for face_id in self.retired:
            del self._tracks[face_id]
        return [int(i) for i in ids]

    def reset(self) -> None:
        """Forget all tracks (ids keep growing so old ids are never reused)."""
        self.retired = sorted(self._tracks)
        self._tracks.clear()

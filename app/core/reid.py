"""Re-identification: a person who leaves the view (or is hidden) and returns keeps their face id.

    reid = Reidentifier()                                    # loads the face embedding (model.face_embedding)
    located = reid.observe(frame, located, tracker, t)       # after FaceTracker.update, same thread

The session keeps a gallery: for every face id, up to GALLERY_SIZE descriptors of its detected crops
(every frame in its first MATCH_WINDOW_S, then one every REFRESH_S while it is in view, one face per
frame; only crops at least MIN_FACE_PX wide, and not cut by the frame edge unless the id has no other;
a descriptor costs ~16 ms on a laptop CPU). While an id is new (its first MATCH_WINDOW_S), each of its
descriptors is compared with the gallery entries of the ids the tracker does not hold now; the nearest
entry closer than `threshold` (Euclidean, to any of that id's descriptors) gives the face its old id
back (`FaceTracker.relabel`). The threshold is measured on the shipped faces (`python main.py bench
--reid`, docs/BENCHMARKS.md "Re-identification").
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from app.core.cropping import crop_faces
from app.core.tracking import FaceTracker, TrackedFace

REIDENTIFY = True  # the default of the live and the file settings
REID_THRESHOLD = 0.45  # descriptor distance under which two crops are taken as one person
GALLERY_SIZE = 8  # descriptors kept per face id
REFRESH_S = 1.0  # a face in view adds a descriptor this often
MIN_FACE_PX = 40  # smaller crops are neither added nor matched (too little detail)
CROP_MARGIN = 0.1  # context around the detector box in the embedded crop
MATCH_WINDOW_S = 1.0  # a new id is compared with the absent ones in every frame this long
EDGE_PX = 2  # a box this close to the frame edge is a cut face: no descriptor


def _touches_edge(box: Sequence[int], width: int, height: int) -> bool:
    x, y, w, h = box
    return x <= EDGE_PX or y <= EDGE_PX or x + w >= width - EDGE_PX or y + h >= height - EDGE_PX


class Reidentifier:
    """A per-session gallery of face descriptors that gives returning faces their old id back."""

    def __init__(self, threshold: float = REID_THRESHOLD, embedder=None) -> None:
        """`embedder`: anything with `embed(crops) -> (B,128)`; default the vendored face-api network."""
        if embedder is None:
            from model.face_embedding import FaceEmbedder

            embedder = FaceEmbedder()
        self.embedder = embedder
        self.threshold = float(threshold)
        self.gallery: dict[int, deque] = {}
        self._refreshed: dict[int, float] = {}  # id -> when its last descriptor was added
        self._first_seen: dict[int, float] = {}  # id -> when a usable crop of it was first seen
        self._kept: set[int] = set()  # ids given back: not matched again
        self.relabelled: list[tuple[int, int]] = []  # (new id, old id) given back by the last observe

    def distance(self, descriptor: np.ndarray, face_id: int) -> float:
        """The smallest distance from `descriptor` (128,) to the gallery entries of `face_id`."""
        entries = np.stack(self.gallery[face_id])  # (n,128)
        return float(np.min(np.linalg.norm(entries - descriptor, axis=1)))

    def observe(self, frame: np.ndarray, located: Sequence[TrackedFace], tracker: FaceTracker,
                timestamp_s: float) -> list[TrackedFace]:
        """Give new ids that match an absent person their old id back (in `tracker` and in the returned
        list), and add descriptors to the gallery."""
        self.relabelled = []
        present = set(tracker.active_ids)  # the ids the tracker holds, reported this frame or not
        height, width = frame.shape[:2]
        usable = [f for f in located if f.detected and min(f.detection.box[2:]) >= MIN_FACE_PX]
        for f in usable:
            self._first_seen.setdefault(f.face_id, timestamp_s)
        young = [f for f in usable if timestamp_s - self._first_seen[f.face_id] <= MATCH_WINDOW_S
                 and f.face_id not in self._kept]  # new ids: looked at every frame for a while
        whole = [f for f in usable if not _touches_edge(f.detection.box, width, height)]
        stale = sorted((self._refreshed.get(f.face_id, -1e9), i) for i, f in enumerate(whole)
                       if f not in young and timestamp_s - self._refreshed.get(f.face_id, -1e9) >= REFRESH_S)
        wanted = young + [whole[i] for _, i in stale[:1]]  # one refresh a frame keeps each frame cheap
        if not wanted:
            return list(located)
        crops = crop_faces(frame, [f.detection.box for f in wanted], CROP_MARGIN)
        descriptors = self.embedder.embed(crops)  # (B,128)
        renamed: dict[int, int] = {}
        for face, descriptor in zip(wanted, descriptors, strict=True):
            face_id = face.face_id
            if face in young:
                absent = [i for i in self.gallery if i not in present and i not in renamed.values()]
                scored = sorted((self.distance(descriptor, i), i) for i in absent)
                if scored and scored[0][0] < self.threshold:
                    old = scored[0][1]
                    tracker.relabel(face_id, old)
                    self.merge(face_id, old)
                    self._kept.add(old)
                    renamed[face_id] = old
                    self.relabelled.append((face_id, old))
                    face_id = old
            if face in whole or face_id not in self.gallery:  # a cut face is matched, kept only if first
                entries = self.gallery.setdefault(face_id, deque(maxlen=GALLERY_SIZE))
                entries.append(np.asarray(descriptor, np.float32))
                self._refreshed[face_id] = timestamp_s
        return [replace(f, face_id=renamed.get(f.face_id, f.face_id)) for f in located]

    def merge(self, face_id: int, into_id: int) -> None:
        """`face_id` is `into_id` (re-identified, or the user said so): its descriptors join `into_id`'s."""
        entries = self.gallery.pop(face_id, ())
        self._refreshed.pop(face_id, None)
        self._first_seen.pop(face_id, None)
        if entries:
            self.gallery.setdefault(into_id, deque(maxlen=GALLERY_SIZE)).extend(entries)

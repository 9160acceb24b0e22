"""Re-identification: a person who leaves the view (or is hidden) and returns keeps their face id.

    reid = Reidentifier()                                    # loads the face embedding (model.face_embedding)
    located = reid.observe(frame, located, tracker, t)       # after FaceTracker.update, same thread

The session keeps a gallery: for every face id, up to GALLERY_SIZE descriptors of its detected crops
(the first when the id appears, then one every REFRESH_S while it is in view, one face per frame, only
from crops at least MIN_FACE_PX wide; a descriptor costs ~16 ms on a laptop CPU). When the tracker
gives a detected face a new id, its descriptor is compared with the gallery entries of the ids the
tracker does not hold now; the nearest entry closer than `threshold` (Euclidean, to any of that id's
descriptors) gives the face its old id back (`FaceTracker.relabel`). The threshold is measured on the
shipped faces (`python main.py bench --reid`, docs/BENCHMARKS.md "Re-identification").
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
        usable = [f for f in located if f.detected and min(f.detection.box[2:]) >= MIN_FACE_PX]
        wanted = [f for f in usable if f.face_id not in self.gallery]  # new ids: all of them now
        stale = sorted((self._refreshed[f.face_id], i) for i, f in enumerate(usable)
                       if f.face_id in self.gallery and timestamp_s - self._refreshed[f.face_id] >= REFRESH_S)
        wanted += [usable[i] for _, i in stale[:1]]  # one refresh per frame keeps each frame's cost low
        if not wanted:
            return list(located)
        crops = crop_faces(frame, [f.detection.box for f in wanted], CROP_MARGIN)
        descriptors = self.embedder.embed(crops)  # (B,128)
        renamed: dict[int, int] = {}
        for face, descriptor in zip(wanted, descriptors, strict=True):
            face_id = face.face_id
            if face_id not in self.gallery:
                absent = [i for i in self.gallery if i not in present and i not in renamed.values()]
                scored = sorted((self.distance(descriptor, i), i) for i in absent)
                if scored and scored[0][0] < self.threshold:
                    old = scored[0][1]
                    tracker.relabel(face_id, old)
                    renamed[face_id] = old
                    self.relabelled.append((face_id, old))
                    face_id = old
            entries = self.gallery.setdefault(face_id, deque(maxlen=GALLERY_SIZE))
            entries.append(np.asarray(descriptor, np.float32))
            self._refreshed[face_id] = timestamp_s
        return [replace(f, face_id=renamed.get(f.face_id, f.face_id)) for f in located]

    def merge(self, face_id: int, into_id: int) -> None:
        """`face_id` is `into_id` (the user said so): its descriptors join `into_id`'s."""
        entries = self.gallery.pop(face_id, ())
        self._refreshed.pop(face_id, None)
        if entries:
            self.gallery.setdefault(into_id, deque(maxlen=GALLERY_SIZE)).extend(entries)

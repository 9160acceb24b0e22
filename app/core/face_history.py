"""Fixed-size histories of each face's valence/arousal, fed with every packet, read by the painters.

`RingBuffer` is a numpy ring of rows; `FaceHistories` keeps one per face id with the columns
(timestamp_s, valence, arousal, valence_smoothed, arousal_smoothed, low_quality: 1.0 when the face
image was judged low quality, app.core.face_quality). The circumplex draws the last
rows of a face as its trail, the timelines draw the last `window_s` seconds. Faces not seen for
`window_s` seconds are forgotten, so memory stays bounded however long a session runs. The markers of
the packets (the user's and those received over LSL) are kept for the same window.
"""

from __future__ import annotations

import numpy as np

from app.core.face_quality import is_low
from app.core.packets import FramePacket

COLUMNS = ("timestamp_s", "valence", "arousal", "valence_smoothed", "arousal_smoothed", "low_quality")


class RingBuffer:
    """The newest `capacity` rows of `width` floats; appending never allocates."""

    def __init__(self, capacity: int, width: int) -> None:
        """An empty ring of `capacity` rows, each `width` float64 values."""
        if capacity < 1 or width < 1:
            raise ValueError(f"ring buffer needs capacity >= 1 and width >= 1, got {capacity}, {width}")
        self._data = np.zeros((capacity, width), dtype=np.float64)  # (N,W)
        self._next = 0
        self._size = 0

    @property
    def capacity(self) -> int:
        """Most rows kept."""
        return self._data.shape[0]

    def __len__(self) -> int:
        return self._size

    def append(self, row: tuple[float, ...] | np.ndarray) -> None:
        """Store one row, overwriting the oldest when full."""
        self._data[self._next] = row
        self._next = (self._next + 1) % self.capacity
        self._size = min(self._size + 1, self.capacity)

    def last(self, n: int | None = None) -> np.ndarray:
        """The newest `n` rows (all when None), oldest first, as a new (n, width) array."""
        n = self._size if n is None else max(0, min(int(n), self._size))
        idx = (self._next - n + np.arange(n)) % self.capacity  # (n,)
        return self._data[idx]

    def clear(self) -> None:
        """Forget every row."""
        self._next = 0
        self._size = 0


class FaceHistories:
    """One RingBuffer of COLUMNS per face id, fed from packets."""

    def __init__(self, window_s: float = 30.0, capacity: int = 2400) -> None:
        """Keep up to `capacity` rows per face (2400: 30 s at 80 fps) and drop faces unseen for `window_s`."""
        self.window_s = float(window_s)
        self.capacity = int(capacity)
        self._faces: dict[int, RingBuffer] = {}
        self._last_seen: dict[int, float] = {}
        self._markers: list[tuple[float, str]] = []  # (timestamp_s, text), oldest first
        self.latest_timestamp = 0.0

    def add(self, packet: FramePacket) -> None:
        """Append every face of `packet` and forget faces not seen for `window_s` seconds."""
        t = float(packet.timestamp_s)
        if t < self.latest_timestamp:  # a new source restarted the clock
            self.clear()
        self.latest_timestamp = t
        for face in packet.faces:
            ring = self._faces.get(face.face_id)
            if ring is None:
                ring = self._faces[face.face_id] = RingBuffer(self.capacity, len(COLUMNS))
            low = float(is_low(face.quality))
            ring.append((t, face.valence, face.arousal, face.valence_smoothed, face.arousal_smoothed, low))
            self._last_seen[face.face_id] = t
        for face_id in [f for f, seen in self._last_seen.items() if t - seen > self.window_s]:
            del self._faces[face_id], self._last_seen[face_id]
        if packet.marker:
            self._markers.append((t, packet.marker))
        while self._markers and t - self._markers[0][0] > self.window_s:
            self._markers.pop(0)

    def markers(self) -> list[tuple[float, str]]:
        """(timestamp_s, text) of the markers within the last `window_s` seconds, oldest first."""
        return list(self._markers)

    def face_ids(self) -> list[int]:
        """Face ids with a history, sorted."""
        return sorted(self._faces)

    def last(self, face_id: int, n: int | None = None) -> np.ndarray:
        """The newest `n` rows of a face (all when None), (n, 6); empty (0, 6) for an unknown face."""
        ring = self._faces.get(face_id)
        return ring.last(n) if ring is not None else np.zeros((0, len(COLUMNS)))

    def window(self, face_id: int) -> np.ndarray:
        """The rows of a face within the last `window_s` seconds before the latest packet, (n, 6)."""
        rows = self.last(face_id)
        return rows[rows[:, 0] >= self.latest_timestamp - self.window_s]

    def clear(self) -> None:
        """Forget every face and marker."""
        self._faces.clear()
        self._last_seen.clear()
        self._markers.clear()
        self.latest_timestamp = 0.0

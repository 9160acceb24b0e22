"""Participant labels for face ids, set by the user during a session and written to every row.

    names = FaceNames()
    names.set_label(3, "P07")          # any thread; "" clears
    faces = names.apply(faces)         # FaceResults with `label` filled in (the pipeline's worker)
    names.merged(5, 3)                 # face 5 is face 3 from now on: 3 keeps (or takes) the label

Labels are short free text (at most MAX_LABEL characters, no line breaks), so a CSV cell stays a cell.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import replace

from app.core.packets import FaceResult

MAX_LABEL = 64


def clean_label(text: str) -> str:
    """`text` as a label: stripped, one line; ValueError when longer than MAX_LABEL characters."""
    label = " ".join(str(text).split())
    if len(label) > MAX_LABEL:
        raise ValueError(f"a face label has at most {MAX_LABEL} characters, got {len(label)}: {label[:20]}…")
    return label


class FaceNames:
    """Face id -> participant label; safe to use from the GUI and the worker thread at once."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._labels: dict[int, str] = {}

    def set_label(self, face_id: int, text: str) -> str:
        """Name face `face_id` (an empty text removes the name); returns the label as stored."""
        label = clean_label(text)
        with self._lock:
            if label:
                self._labels[int(face_id)] = label
            else:
                self._labels.pop(int(face_id), None)
        return label

    def label(self, face_id: int) -> str:
        """The label of `face_id`, "" when it has none."""
        with self._lock:
            return self._labels.get(int(face_id), "")

    def merged(self, face_id: int, into_id: int) -> None:
        """`face_id` is `into_id` from now on: `into_id` keeps its label, or takes `face_id`'s."""
        with self._lock:
            label = self._labels.pop(int(face_id), "")
            if label and int(into_id) not in self._labels:
                self._labels[int(into_id)] = label

    def apply(self, faces: Iterable[FaceResult]) -> tuple[FaceResult, ...]:
        """`faces` with their labels filled in."""
        with self._lock:
            labels = dict(self._labels)
        return tuple(replace(f, label=labels.get(f.face_id, "")) for f in faces)

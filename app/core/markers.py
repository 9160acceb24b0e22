"""Markers waiting for their frame: typed by the user (next frame) or timed by another program (LSL).

    markers = MarkerQueue()
    markers.add("stimulus A")                     # goes on the next processed frame
    markers.add_at("onset", perf_counter_time)    # goes on the first frame captured at or after it
    text = markers.take_for(frame.captured_at)    # the worker, once per frame: "stimulus A; onset" or ""

Thread-safe: the GUI or an LSL inlet adds, the inference worker takes.
"""

from __future__ import annotations

import logging
import threading

log = logging.getLogger(__name__)


class MarkerQueue:
    """The markers not yet written, and the capture time of the last frame that took some."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending = ""
        self._timed: list[tuple[float, str]] = []  # (perf_counter time, text)
        self._last_captured_at: float | None = None

    def clear(self) -> None:
        """Forget every pending marker (a new source starts)."""
        with self._lock:
            self._pending, self._timed, self._last_captured_at = "", [], None

    def add(self, text: str) -> None:
        """Attach a user event text to the next processed frame."""
        text = text.strip()
        if text:
            with self._lock:
                self._pending = f"{self._pending}; {text}" if self._pending else text

    def add_at(self, text: str, at: float) -> None:
        """Attach `text` to the first frame captured at or after `at` (time.perf_counter() seconds)."""
        text = text.strip()
        if text:
            with self._lock:
                self._timed.append((float(at), text))

    def take_for(self, captured_at: float) -> str:
        """The marker text of the frame captured at `captured_at`: the pending markers, and the timed
        markers whose time has come: each goes on the first frame captured at or after it (the first
        frame that can show the response to a stimulus), or on the next frame when it came late."""
        with self._lock:
            texts = [self._pending] if self._pending else []
            self._pending = ""
            due = [(at, text) for at, text in self._timed if at <= captured_at]
            self._timed = [m for m in self._timed if m not in due]
            previous, self._last_captured_at = self._last_captured_at, captured_at
        for at, text in due:
            if previous is not None and at <= previous:
                log.warning("marker %r arrived %.0f ms after its frame was written; put on the next frame",
                            text, (captured_at - at) * 1000.0)
            texts.append(text)
        return "; ".join(texts)

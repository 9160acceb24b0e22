"""A one-slot "latest frame" holder between the capture thread and the inference worker.

The producer never blocks: `put` replaces a frame nobody has taken yet and counts it as dropped. The
consumer blocks in `take(timeout)` until a frame arrives, the timeout passes, or `close()` is called.
"""

from __future__ import annotations

import threading
from typing import Generic, TypeVar

T = TypeVar("T")


class LatestSlot(Generic[T]):
    """Holds at most one item; newer items replace older untaken ones (counted in `dropped`)."""

    def __init__(self) -> None:
        """An empty, open slot."""
        self._cond = threading.Condition()
        self._item: T | None = None
        self._has_item = False
        self._closed = False
        self.dropped = 0  # items replaced before anyone took them
        self.put_count = 0  # items ever put

    def put(self, item: T) -> None:
        """Store item without blocking; an untaken older item is discarded and counted as dropped."""
        with self._cond:
            if self._has_item:
                self.dropped += 1
            self._item = item
            self._has_item = True
            self.put_count += 1
            self._cond.notify()

    def take(self, timeout: float | None = None) -> T | None:
        """The newest item (removing it), or None after `timeout` seconds or once the slot is closed."""
        with self._cond:
            self._cond.wait_for(lambda: self._has_item or self._closed, timeout=timeout)
            if not self._has_item:
                return None
            item = self._item
            self._item = None
            self._has_item = False
            return item

    def close(self) -> None:
        """Wake every waiting `take` (which then returns the pending item, if any, else None)."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    @property
    def closed(self) -> bool:
        """True once `close()` was called."""
        return self._closed

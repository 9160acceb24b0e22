"""Events per second as an exponential average of the intervals between them (frame rates)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class RateMeter:
    """Frames per second as an exponential average of the intervals between events."""

    alpha: float = 0.1
    fps: float = 0.0
    _last: float | None = field(default=None, repr=False)
    _interval: float | None = field(default=None, repr=False)

    def tick(self, now: float) -> None:
        """Record one event at time `now` (seconds)."""
        if self._last is not None and now > self._last:
            dt = now - self._last
            previous = dt if self._interval is None else self._interval
            self._interval = self.alpha * dt + (1 - self.alpha) * previous
            self.fps = 1.0 / self._interval
        self._last = now

"""The loop every long command runs: a core generator's events shown as they come, Ctrl-C handled.

`run_events(job, show, say)` starts `job(cancel)` (a cancellable generator of the core: `model.train.train`,
`model.distill.distill`) and hands each event to `show`. The first Ctrl-C sets `cancel`, so the job stops
after its current step and writes what it must (the job says so with its own last event); a second
Ctrl-C aborts at once (KeyboardInterrupt). The previous SIGINT handler is restored at the end.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterable
from typing import Any


def run_events(
    job: Callable[[threading.Event], Iterable[Any]],
    show: Callable[[Any], None],
    say: Callable[[str], None],
    cancelled_event: type | tuple[type, ...],
) -> bool:
    """Run `job(cancel)` to its end, showing every event; True when it ended with `cancelled_event`."""
    cancel = threading.Event()

    def on_interrupt(signum, frame) -> None:
        if cancel.is_set():
            raise KeyboardInterrupt
        cancel.set()
        say("stopping after this step (Ctrl-C again to abort)...")

    in_main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGINT, on_interrupt) if in_main else None
    cancelled = False
    try:
        for event in job(cancel):
            show(event)
            cancelled = cancelled or isinstance(event, cancelled_event)
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
    return cancelled

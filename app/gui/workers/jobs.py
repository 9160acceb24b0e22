"""Long jobs of the Images and Training tabs as generators run in a worker thread (superqt).

A `GeneratorJob` runs one generator at a time in Qt's global thread pool through superqt's
`create_worker`. The generator is built by a factory that receives the job's cancel event
(`threading.Event`); the core generators (`analyze_paths`, `model.train.train`) check it between files,
frames and steps, then end on their own, so their clean-up (closing detectors, writing the cancel
checkpoint) always runs in the worker thread.

Everything the job says reaches the GUI thread through the job's own signals, which are connected to
its `@Slot` methods (the job is a QObject living in the GUI thread), so tabs only ever handle:
- `item(object)`: each value the generator yielded, in order;
- `message(str)`: the one place errors go (an exception in the generator, or a warning raised while
  it ran), as a line naming the job; tabs forward it to their `status_message`;
- `ended(str)`: exactly once per run, last: "finished", "cancelled" (the cancel event was set) or
  "failed".
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from typing import Any

from PySide6.QtCore import QObject, Signal, Slot
from superqt.utils import GeneratorWorker, create_worker

log = logging.getLogger(__name__)

FINISHED, CANCELLED, FAILED = "finished", "cancelled", "failed"

JobFactory = Callable[[threading.Event], Iterator[Any]]


class JobError(Exception):
    """An exception raised inside a job, re-raised with a readable message.

    superqt's worker swallows a RuntimeError escaping the generator without any signal (it takes it for
    a deleted Qt object), and torch reports most failures as RuntimeError; every exception is therefore
    re-raised as this type, which reaches `errored` like any other.
    """


def describe_error(exc: BaseException) -> str:
    """A one-line description of an exception: its message, or its type when the message is empty."""
    text = str(exc).strip()
    return text if text else type(exc).__name__


def _drive(factory: JobFactory, cancel: threading.Event, done: threading.Event) -> Iterator[Any]:
    """Run the generator `factory(cancel)` in the worker thread; `done` is set when it has ended."""
    try:
        return (yield from factory(cancel))
    except Exception as exc:  # re-raised with a type superqt reports (see JobError)
        raise JobError(describe_error(exc)) from exc
    finally:
        done.set()


class GeneratorJob(QObject):
    """One cancellable generator job at a time; see the module docstring for its signals."""

    item = Signal(object)
    message = Signal(str)
    ended = Signal(str)

    def __init__(self, name: str, parent: QObject | None = None) -> None:
        """A job called `name` in messages ("analysis", "training", ...); nothing runs until `start`."""
        super().__init__(parent)
        self.name = name
        self._worker: GeneratorWorker | None = None
        self._cancel = threading.Event()
        self._done = threading.Event()
        self._done.set()
        self._failed = False
        self._warnings_seen: set[str] = set()

    @property
    def running(self) -> bool:
        """True from `start` until `ended` has been emitted."""
        return self._worker is not None

    @property
    def cancel_requested(self) -> bool:
        """True when `cancel` was called during the current (or last) run."""
        return self._cancel.is_set()

    def start(self, factory: JobFactory) -> None:
        """Run the generator `factory(cancel_event)` in a worker thread.

        Raises RuntimeError when this job is already running (the tabs disable their start buttons).
        """
        if self.running:
            raise RuntimeError(f"the {self.name} is already running; cancel it or wait until it ends")
        self._cancel = threading.Event()
        self._done = threading.Event()
        self._failed = False
        self._warnings_seen.clear()
        worker = create_worker(
            _drive, factory, self._cancel, self._done, _start_thread=False, _ignore_errors=True
        )
        worker.yielded.connect(self._on_yielded)
        worker.errored.connect(self._on_errored)
        worker.warned.connect(self._on_warned)
        worker.finished.connect(self._on_finished)
        self._worker = worker
        worker.start()

    @Slot()
    def cancel(self) -> None:
        """Ask the generator to stop at its next check; `ended("cancelled")` follows once it has."""
        self._cancel.set()

    def wait(self, timeout_s: float) -> bool:
        """Block until the generator has ended (True) or `timeout_s` passed (False); no events are handled."""
        return self._done.wait(timeout_s)

    def shutdown(self, timeout_s: float = 30.0) -> bool:
        """Cancel and wait for the generator to end (closing the window); False when it did not in time."""
        self.cancel()
        return self.wait(timeout_s)

    @Slot(object)
    def _on_yielded(self, value: Any) -> None:
        self.item.emit(value)

    @Slot(object)
    def _on_errored(self, exc: Exception) -> None:
        self._failed = True
        log.error("%s failed", self.name, exc_info=exc.__cause__ or exc)  # with the traceback
        self.message.emit(f"{self.name} failed: {describe_error(exc)}")

    @Slot(tuple)
    def _on_warned(self, args: tuple) -> None:
        message = str(args[0]) if args else ""
        if message and message not in self._warnings_seen:  # each distinct warning once per run
            self._warnings_seen.add(message)
            log.warning("%s: %s", self.name, message)
            self.message.emit(f"{self.name} warning: {message}")

    @Slot()
    def _on_finished(self) -> None:
        self._worker = None
        if self._failed:
            outcome = FAILED
        elif self._cancel.is_set():
            outcome = CANCELLED
        else:
            outcome = FINISHED
        self.ended.emit(outcome)

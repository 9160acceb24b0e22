"""Calls queued for a worker thread and run between two of its frames, with their results handed back.

    calls = WorkerCalls()
    result = calls.call(fn, if_gone=other, timeout_s=10, worker_alive=thread.is_alive)   # any thread
    calls.run_pending()                                                                    # the worker

The live pipeline uses it so that everything touching the recorder and the baselines happens in its
inference worker, never concurrently with a frame.
"""

from __future__ import annotations

import queue
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any


class WorkerCalls:
    """A queue of calls for one worker thread."""

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()

    def put(self, command: Callable[[], None]) -> None:
        """Queue `command` for the worker; nobody waits for it."""
        self._queue.put(command)

    def run_pending(self) -> None:
        """Worker side: run every queued command, in order."""
        while True:
            try:
                command = self._queue.get_nowait()
            except queue.Empty:
                return
            command()

    def call(
        self, call: Callable[[], Any], if_gone: Callable[[], Any], timeout_s: float,
        worker_alive: Callable[[], bool],
    ) -> Any:
        """Run `call` in the worker between two frames and return its result (or raise its error).

        When the worker is not running (or ends before taking the call), `if_gone` runs in this thread
        instead; the call runs exactly once either way. TimeoutError after `timeout_s`.
        """
        done: Future = Future()

        def command() -> None:
            if done.set_running_or_notify_cancel():
                try:
                    done.set_result(call())
                except Exception as exc:  # noqa: BLE001 - handed to the caller
                    done.set_exception(exc)

        self._queue.put(command)
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                return done.result(timeout=0.05)
            except TimeoutError:
                if not worker_alive() and done.cancel():
                    return if_gone()
                if time.monotonic() > deadline and done.cancel():
                    raise TimeoutError(f"the inference worker did not answer in {timeout_s:.0f} s") from None

"""Bridges the live pipeline's worker-thread callbacks to Qt signals received in the GUI thread.

`LivePipeline` calls `on_packet(packet)` / `on_event(event)` from its inference worker thread. The
bridge's `deliver_packet` / `deliver_event` only emit a signal; the signals are connected to `@Slot`
methods of GUI-thread objects, so Qt queues them into the GUI thread's event loop (a signal connected
to a plain function or lambda would run in the worker thread). Packets are frozen dataclasses holding
numpy arrays only, so nothing Qt crosses threads.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QObject, Signal

from app.core.packets import FramePacket, PipelineEvent

log = logging.getLogger(__name__)


class LiveBridge(QObject):
    """Qt signals for pipeline packets and events; pass `deliver_packet`/`deliver_event` as callbacks."""

    packet_ready = Signal(object)  # FramePacket
    event_ready = Signal(object)  # PipelineEvent
    job_done = Signal(object)  # JobResult of a control call run off the GUI thread

    def deliver_packet(self, packet: FramePacket) -> None:
        """Called in the worker thread for every packet: hand it to the GUI thread."""
        self.packet_ready.emit(packet)

    def deliver_event(self, event: PipelineEvent) -> None:
        """Called in any thread for every pipeline event: hand it to the GUI thread."""
        self.event_ready.emit(event)

    def run_job(self, name: str, func: Callable[[], Any]) -> threading.Thread:
        """Run a blocking control call (e.g. start/stop a recording) in a short-lived thread.

        Its outcome arrives as a `JobResult` through `job_done`, so the GUI thread never waits for the
        pipeline's worker. The returned thread is joined by the owner on shutdown.
        """

        def body() -> None:
            try:
                result = JobResult(name, func(), None)
            except Exception as exc:  # noqa: BLE001 - handed to the GUI thread, shown to the user
                log.exception("%s failed", name)
                result = JobResult(name, None, exc)
            self.job_done.emit(result)

        thread = threading.Thread(target=body, name=f"affectscope-gui-{name}", daemon=True)
        thread.start()
        return thread


@dataclass(frozen=True)
class JobResult:
    """What a control call run by `LiveBridge.run_job` returned, or the exception it raised."""

    name: str
    value: Any
    error: Exception | None

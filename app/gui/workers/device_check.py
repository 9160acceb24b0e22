"""Which inference devices this machine has, found off the GUI thread.

Asking torch whether it sees a CUDA GPU imports torch (~2 s on a laptop CPU), so the window starts with
the CPU alone and `DeviceCheck.found` brings the full list (`model.runtimes.available_devices`) a moment
after it is shown. The model menu and the Training tab's device list take it from there.
"""

from __future__ import annotations

from collections.abc import Iterator

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QComboBox

from app.gui.workers.jobs import GeneratorJob
from model.runtimes import DEFAULT_DEVICE, DEVICES, available_devices

CHECKING_TIP = "Checking whether torch sees a CUDA GPU…"
NO_GPU_TIP = "No CUDA GPU is visible to torch on this machine"


class DeviceCheck(QObject):
    """Runs `available_devices()` once in a worker; `found(devices)` carries the result."""

    found = Signal(tuple)

    def __init__(self, parent: QObject | None = None) -> None:
        """Nothing runs until `start`."""
        super().__init__(parent)
        self.job = GeneratorJob("device check", self)
        self.job.item.connect(self.found)

    def start(self) -> None:
        """Begin the check in the background."""
        self.job.start(_check_devices)

    def shutdown(self, timeout_s: float = 10.0) -> None:
        """Wait for a check still running (closing the window)."""
        self.job.shutdown(timeout_s)


def _check_devices(cancel) -> Iterator[tuple[str, ...]]:
    """Worker side: the devices a model can run on here."""
    yield available_devices()


def offer_devices(combo: QComboBox, devices: tuple[str, ...]) -> bool:
    """List `devices` in `combo`, keeping its choice when it is among them (else the CPU); returns True
    when the choice had to change."""
    chosen = combo.currentText()
    combo.blockSignals(True)
    combo.clear()
    combo.addItems([d for d in DEVICES if d in devices])
    index = combo.findText(chosen)
    combo.setCurrentIndex(index if index >= 0 else combo.findText(DEFAULT_DEVICE))
    combo.blockSignals(False)
    return index < 0 and bool(chosen)


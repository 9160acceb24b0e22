"""The main window's status bar: pipeline figures, model and device, model labels, recording indicator.

Figures come from the latest packet's PipelineStats (capture fps, processing fps, latency, dropped
frames, device, runtime, model name) plus the display rate the Live tab measures. Messages (errors,
notices) use the status bar's own message area and time out, so they never block the user.
"""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QStatusBar, QWidget

from app.core.packets import PipelineStats
from app.core.va_provenance import UNTRAINED, VaProvenance

MESSAGE_TIMEOUT_MS = 10_000
CAUTION_STYLE = "color: black; background: #f0c040;"  # derived V/A, or trained on few rows
UNTRAINED_STYLE = "color: white; background: #8e24aa;"


def _label(tooltip: str) -> QLabel:
    label = QLabel("")
    label.setToolTip(tooltip)
    label.setContentsMargins(6, 0, 6, 0)
    return label


class StatusPanel(QStatusBar):
    """A QStatusBar with permanent labels for the live figures and the model's labels."""

    def __init__(self, parent: QWidget | None = None) -> None:
        """Create the permanent labels (empty until the first update)."""
        super().__init__(parent)
        self.recording = _label("A recording is running: every processed frame is written to the CSV.")
        self.recording.setStyleSheet("color: white; background: #c62828; font-weight: bold;")
        self.recording.hide()
        self.figures = _label("Frames per second: delivered by the source (in), analysed by detection and "
                              "the model, and painted on screen (shown); capture-to-result latency; frames "
                              "the analysis skipped because a newer one had arrived (dropped).")
        self.model = _label("The model in use, and the runtime / device running it.")
        self._name, self._device = "", ""
        self.provenance = _label("")  # what the model's V/A were learnt from (app.core.va_provenance)
        for label in (self.recording, self.figures, self.model, self.provenance):
            self.addPermanentWidget(label)
        self.set_model_labels("", "", None)

    def update_stats(self, stats: PipelineStats, displayed_fps: float) -> None:
        """Show the figures of the latest packet and the measured display rate."""
        self.figures.setText(f"fps {stats.capture_fps:.1f} in · {stats.processing_fps:.1f} analysed · "
                             f"{displayed_fps:.1f} shown | {stats.total_ms:.0f} ms | {stats.dropped_frames} "
                             "dropped")
        device = f"{stats.runtime} / {stats.device}"
        if device != self._device:
            self._device = device
            self._show_model()

    def set_model_labels(self, name: str, device: str, provenance: VaProvenance | None) -> None:
        """Show the model's name and device, and what its V/A were learnt from (hidden before a model
        loads; highlighted when its V/A should not be read as measurements)."""
        self._name = name
        self._device = device or self._device
        self._show_model()
        self.provenance.setVisible(provenance is not None)
        if provenance is None:
            return
        self.provenance.setText(provenance.short)
        self.provenance.setToolTip(provenance.detail)
        style = CAUTION_STYLE if provenance.caution else ""
        self.provenance.setStyleSheet(UNTRAINED_STYLE if provenance.short == UNTRAINED else style)

    def _show_model(self) -> None:
        device = f" ({self._device})" if self._device else ""
        self.model.setText(f"model: {self._name}{device}" if self._name else "model: (none loaded)")

    def set_recording(self, active: bool, path: str = "") -> None:
        """Show or hide the red recording indicator (with the CSV path in its tooltip)."""
        self.recording.setText("● REC")
        self.recording.setToolTip(f"Recording to {path}" if path else "Recording")
        self.recording.setVisible(active)

    def message(self, text: str) -> None:
        """Show a transient, non-blocking message."""
        self.showMessage(text, MESSAGE_TIMEOUT_MS)

"""The Live tab's Lab Streaming Layer group: the results outlet (on/off, name, face slots, whether a
recorder is connected) and the marker stream whose markers go into the session (find, choose, listen).

`LslPanel` drives the pipeline's `app.core.lsl.LslLink` (given by `attach`): creating or closing an
outlet takes milliseconds and runs here; finding marker streams listens for a second and runs off the
GUI thread (`LiveBridge.run_job`); a one-second timer refreshes the two status lines. Messages for
the status bar go out through `message`.
"""

from __future__ import annotations

from PySide6.QtCore import QTimer, Signal, Slot
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QWidget,
)

from app.core.lsl import LslLink, StreamChoice, list_marker_streams
from app.core.settings import LSL_HELP, MAX_FACE_SLOTS, LslSettings
from app.gui.workers.live_bridge import JobResult, LiveBridge

NO_STREAMS = "(press Find)"
STATUS_INTERVAL_MS = 1000  # the consumer and inlet status lines are refreshed this often
FIND_TIMEOUT_S = 1.0  # how long "Find" listens for marker streams
FIND_JOB = "find_marker_streams"


class LslPanel(QGroupBox):
    """Outlet toggle, stream name, face slots and status; marker stream chooser, Find, Listen, status."""

    message = Signal(str)  # for the status bar and the log

    def __init__(self, parent: QWidget | None = None) -> None:
        """Inputs with LslSettings' defaults."""
        super().__init__("Lab Streaming Layer", parent)
        defaults = LslSettings()
        self.stream_box = QCheckBox("Stream results")
        self.stream_box.setToolTip(LSL_HELP[0].upper() + LSL_HELP[1:] + ". LabRecorder lists it.")
        self.name = QLineEdit(defaults.stream_name)
        self.name.setToolTip("The stream's name on the network; the markers go out as NAME-Markers.")
        self.slots = QSpinBox()
        self.slots.setRange(1, MAX_FACE_SLOTS)
        self.slots.setValue(defaults.face_slots)
        self.slots.setToolTip("Faces per sample: each face keeps its slot while in view; further faces "
                              "of a frame are not streamed.")
        self.outlet_status = QLabel("LSL off")
        self.outlet_status.setWordWrap(True)
        self.marker_streams = QComboBox()
        self.marker_streams.addItem(NO_STREAMS, None)
        self.marker_streams.setToolTip("Marker streams (type Markers) on the network, e.g. PsychoPy's.")
        self.marker_streams.setMinimumContentsLength(10)
        self.find_button = QPushButton("Find")
        self.find_button.setToolTip("Look for marker streams on the network (takes about a second).")
        self.listen_box = QCheckBox("Write its markers into the session")
        self.listen_box.setToolTip("Each received marker goes on the first frame captured at or after its "
                                   "time (LSL time correction applied): CSV marker column and timelines.")
        self.inlet_status = QLabel("not listening")
        self.inlet_status.setWordWrap(True)
        name_row = QHBoxLayout()
        name_row.addWidget(self.name, 1)
        name_row.addWidget(QLabel("faces"))
        name_row.addWidget(self.slots)
        find_row = QHBoxLayout()
        find_row.addWidget(self.marker_streams, 1)
        find_row.addWidget(self.find_button)
        form = QFormLayout(self)
        form.addRow(self.stream_box)
        form.addRow("Name", name_row)
        form.addRow(self.outlet_status)
        form.addRow("Markers in", find_row)
        form.addRow(self.listen_box)
        form.addRow(self.inlet_status)
        self.link: LslLink | None = None
        self._bridge: LiveBridge | None = None
        self._jobs: list = []
        self._searching = False  # a marker-stream search is in flight (its text stays in the status)
        self.timer = QTimer(self)
        self.timer.setInterval(STATUS_INTERVAL_MS)
        self.timer.timeout.connect(self.refresh_status)
        self.stream_box.toggled.connect(self.set_lsl_streaming)
        self.find_button.clicked.connect(self.find_marker_streams)
        self.listen_box.toggled.connect(self.set_marker_listening)

    def attach(self, link: LslLink, bridge: LiveBridge) -> None:
        """Drive `link`; run the stream search through `bridge`."""
        self.link, self._bridge = link, bridge
        bridge.job_done.connect(self._on_job_done)
        self.timer.start()

    def settings(self) -> LslSettings:
        """The outlet settings shown (raises ValueError for an empty name)."""
        return LslSettings(enabled=self.stream_box.isChecked(), stream_name=self.name.text().strip(),
                           face_slots=self.slots.value())

    @Slot(bool)
    def set_lsl_streaming(self, on: bool) -> None:
        """Put the results and marker outlets on the network, or take them off."""
        if not on:
            self.link.disable()
            self.message.emit("LSL outlets off")
        else:
            try:
                self.link.enable(self.settings())
            except (ValueError, RuntimeError) as exc:
                self.message.emit(f"LSL not started: {exc}")
            else:
                name = self.link.settings.stream_name
                self.message.emit(f"LSL outlets on: {name} (FacialAffect) and {name}-Markers")
        self.set_streaming(self.link.enabled)
        self.refresh_status()

    @Slot()
    def find_marker_streams(self) -> None:
        """Look for marker streams off the GUI thread; the list arrives in `_on_job_done`."""
        self.find_button.setEnabled(False)
        self.inlet_status.setText("looking for marker streams…")
        self._searching = True
        self._jobs.append(self._bridge.run_job(FIND_JOB, lambda: list_marker_streams(FIND_TIMEOUT_S)))

    @Slot(object)
    def _on_job_done(self, result: JobResult) -> None:
        if result.name != FIND_JOB:
            return
        self._jobs = [job for job in self._jobs if job.is_alive()]  # this one may not have exited yet
        self._searching = False
        self.find_button.setEnabled(self.link.listening_to is None)
        if result.error is not None:
            self.inlet_status.setText("the search failed")
            self.message.emit(f"Finding LSL marker streams failed: {result.error}")
            return
        self.set_streams(result.value)
        self.inlet_status.setText(f"{len(result.value)} marker stream(s) found")

    @Slot(bool)
    def set_marker_listening(self, on: bool) -> None:
        """Read the chosen marker stream into the session, or stop reading."""
        if on:
            choice = self.chosen()
            if choice is None:
                self.message.emit("Choose a marker stream first: press Find, then pick one.")
            else:
                self.link.listen(choice)
                self.message.emit(f"Reading markers from {choice.describe()}")
        else:
            self.link.stop_listening()
        self.set_listening(self.link.listening_to is not None)
        self.refresh_status()

    @Slot()
    def refresh_status(self) -> None:
        """Write the outlet's consumer status and the inlet's connection into the two status lines."""
        link = self.link
        self.outlet_status.setText(f"{link.status()} ({link.samples} samples sent)"
                                   if link.enabled else "LSL off")
        choice = link.listening_to
        if choice is None:
            self.inlet_status.setText(self.inlet_status.text() if self._searching else "not listening")
        else:
            state = "connected" if link.inlet_connected() else "waiting for the stream"
            self.inlet_status.setText(f"{choice.name}: {state}")

    def shutdown(self) -> None:
        """Stop the timer, stop reading markers, take the outlets off, wait for a running search."""
        self.timer.stop()
        if self.link is not None:
            self.link.close()
        for job in self._jobs:
            job.join(timeout=5.0)
        self._jobs = []

    def set_streaming(self, on: bool) -> None:
        """Reflect the outlet's state without acting on it (restored settings, a failure)."""
        self.stream_box.blockSignals(True)
        self.stream_box.setChecked(on)
        self.stream_box.blockSignals(False)
        self.name.setEnabled(not on)
        self.slots.setEnabled(not on)

    def set_listening(self, on: bool) -> None:
        """Reflect whether a marker stream is read, without acting on it."""
        self.listen_box.blockSignals(True)
        self.listen_box.setChecked(on)
        self.listen_box.blockSignals(False)
        self.marker_streams.setEnabled(not on)
        self.find_button.setEnabled(not on)

    def set_streams(self, choices: list[StreamChoice]) -> None:
        """Offer `choices` (the previous choice stays selected when it is still there)."""
        keep = self.chosen()
        self.marker_streams.clear()
        if not choices:
            self.marker_streams.addItem("(no marker stream found)", None)
        for choice in choices:
            self.marker_streams.addItem(choice.describe(), choice)
            if keep is not None and choice.source_id == keep.source_id:
                self.marker_streams.setCurrentIndex(self.marker_streams.count() - 1)

    def chosen(self) -> StreamChoice | None:
        """The marker stream selected, or None."""
        return self.marker_streams.currentData()

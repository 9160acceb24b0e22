"""Control groups of the Live tab: smoothing, neutral calibration, model choice, recording.

Each group only holds inputs and emits what the user asked for; the Live tab forwards the requests to
the pipeline and reflects the pipeline's answers back (labels, enabled states).
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSizePolicy,
    QWidget,
)

from app.core.settings import SAVE_VIDEO_HELP, SMOOTHER_KINDS, BaselineSettings, SmoothingSettings
from app.gui.workers.device_check import offer_devices
from model.runtimes import DEVICES, RUNTIME_HELP, RUNTIMES

SMOOTHING_LABELS = {"none": "None (raw)", "ema": "EMA", "one_euro": "One-Euro"}  # per SMOOTHER_KINDS
MODEL_FILTER = "AffectScope models (*.pt *.onnx);;All files (*)"


def _spin(value: float, low: float, high: float, step: float, decimals: int, tip: str) -> QDoubleSpinBox:
    spin = QDoubleSpinBox()
    spin.setRange(low, high)
    spin.setSingleStep(step)
    spin.setDecimals(decimals)
    spin.setValue(value)
    spin.setToolTip(tip)
    return spin


class SmoothingControls(QGroupBox):
    """Smoother kind (none / EMA / One-Euro) and its parameters; emits `changed(kind, params)`."""

    changed = Signal(str, dict)

    def __init__(self, parent: QWidget | None = None) -> None:
        """Inputs with the core smoothers' defaults."""
        super().__init__("Smoothing", parent)
        self.kind = QComboBox()
        self.kind.setToolTip("How the plotted and the *_smoothed values are filtered over time: None = the "
                             "raw model output; EMA = exponential moving average; One-Euro = little lag on "
                             "fast changes, little jitter when still. Raw values are always recorded too.")
        for key in SMOOTHER_KINDS:
            self.kind.addItem(SMOOTHING_LABELS[key], key)
        d = SmoothingSettings()
        self.alpha = _spin(d.alpha, 0.01, 1.0, 0.05, 2,
                           "EMA weight of the newest frame (1 = no smoothing).")
        self.min_cutoff = _spin(d.min_cutoff, 0.01, 30.0, 0.1, 2,
                                "One-Euro cutoff (Hz) of a still signal: lower = less jitter, more lag.")
        self.beta = _spin(d.beta, 0.0, 50.0, 0.1, 2,
                          "One-Euro speed coefficient: higher = less lag on fast changes.")
        self.d_cutoff = _spin(d.d_cutoff, 0.01, 30.0, 0.1, 2,
                              "One-Euro cutoff (Hz) of the derivative filter.")
        form = QFormLayout(self)
        form.addRow("Filter", self.kind)
        form.addRow("EMA alpha", self.alpha)
        form.addRow("min cutoff (Hz)", self.min_cutoff)
        form.addRow("beta", self.beta)
        form.addRow("d cutoff (Hz)", self.d_cutoff)
        self._form = form
        self.kind.currentIndexChanged.connect(self._emit)
        for spin in (self.alpha, self.min_cutoff, self.beta, self.d_cutoff):
            spin.valueChanged.connect(self._emit)
        self._show_relevant()

    def current(self) -> tuple[str, dict[str, float]]:
        """The chosen kind and its parameters, as `LivePipeline.set_smoothing` takes them."""
        kind = str(self.kind.currentData())
        if kind == "ema":
            return kind, {"alpha": self.alpha.value()}
        if kind == "one_euro":
            return kind, {"min_cutoff": self.min_cutoff.value(), "beta": self.beta.value(),
                          "d_cutoff": self.d_cutoff.value()}
        return kind, {}

    def set_current(self, kind: str, params: dict[str, float]) -> None:
        """Show `kind` and `params` (unknown kinds fall back to none)."""
        index = self.kind.findData(kind)
        self.kind.setCurrentIndex(max(index, 0))
        for name, spin in (("alpha", self.alpha), ("min_cutoff", self.min_cutoff), ("beta", self.beta),
                           ("d_cutoff", self.d_cutoff)):
            if name in params:
                spin.setValue(float(params[name]))

    def _show_relevant(self) -> None:
        kind = str(self.kind.currentData())
        for spin, visible in ((self.alpha, kind == "ema"), (self.min_cutoff, kind == "one_euro"),
                              (self.beta, kind == "one_euro"), (self.d_cutoff, kind == "one_euro")):
            self._form.setRowVisible(spin, visible)

    @Slot()
    def _emit(self) -> None:
        self._show_relevant()
        self.changed.emit(*self.current())


class CalibrationControls(QGroupBox):
    """Neutral calibration: duration, Calibrate / Clear buttons and a countdown label."""

    calibrate_requested = Signal(float)
    clear_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        """Inputs; the countdown is written by the Live tab while a baseline is recorded."""
        super().__init__("Neutral calibration", parent)
        self.seconds = _spin(BaselineSettings.seconds, 1.0, 60.0, 1.0, 0,
                             "How long the participant keeps a relaxed, neutral face.")
        self.calibrate_button = QPushButton("Calibrate neutral")
        self.calibrate_button.setToolTip("Record the neutral resting state of every face in view; afterwards "
                                         "V/A are also reported relative to it.")
        self.clear_button = QPushButton("Clear")
        self.clear_button.setToolTip("Forget every face's neutral baseline (the corrected columns become "
                                     "empty).")
        self.countdown = QLabel("not calibrated")
        self.countdown.setWordWrap(True)
        buttons = QHBoxLayout()
        buttons.addWidget(self.calibrate_button)
        buttons.addWidget(self.clear_button)
        form = QFormLayout(self)
        form.addRow("Duration (s)", self.seconds)
        form.addRow(buttons)
        form.addRow(self.countdown)
        self.calibrate_button.clicked.connect(lambda: self.calibrate_requested.emit(self.seconds.value()))
        self.clear_button.clicked.connect(self.clear_requested)


class ModelControls(QGroupBox):
    """Model file (empty: default model), runtime, device; emits `apply_requested(path, runtime, device)`."""

    apply_requested = Signal(str, str, str)

    def __init__(self, parent: QWidget | None = None) -> None:
        """Every device is listed (a remembered choice is restored) until `set_devices` says which this
        machine has."""
        super().__init__("Model", parent)
        self.path = QLineEdit()
        self.path.setPlaceholderText("default model")
        self.path.setToolTip("A .pt checkpoint or .onnx export; empty uses the bundled default model.")
        self.browse_button = QPushButton("…")
        self.browse_button.setToolTip("Choose a model file")
        self.runtime = QComboBox()
        self.runtime.addItems(list(RUNTIMES))
        self.runtime.setToolTip(RUNTIME_HELP)
        self.device = QComboBox()
        self.device.setToolTip("Where the model runs: cpu, or cuda when torch sees a GPU.")
        self.device.addItems(DEVICES)
        self.apply_button = QPushButton("Use this model")
        self.apply_button.setToolTip("Load the chosen model, runtime and device (prepared in the background; "
                                     "the current model keeps running until it is ready).")
        self.info = QLabel("no model loaded yet")
        self.info.setWordWrap(True)
        row = QHBoxLayout()
        row.addWidget(self.path, 1)
        row.addWidget(self.browse_button)
        form = QFormLayout(self)
        form.addRow("File", row)
        form.addRow("Runtime", self.runtime)
        form.addRow("Device", self.device)
        form.addRow(self.apply_button)
        form.addRow(self.info)
        self.browse_button.clicked.connect(self.choose_file)
        self.apply_button.clicked.connect(self.request_apply)

    def set_choice(self, path: str, runtime: str, device: str) -> None:
        """Show a model choice (unknown runtime/device entries are left unchanged)."""
        self.path.setText(path)
        for combo, value in ((self.runtime, runtime), (self.device, device)):
            index = combo.findText(value)
            if index >= 0:
                combo.setCurrentIndex(index)

    def set_devices(self, devices: tuple[str, ...]) -> bool:
        """Offer only `devices` (the device check's answer); True when the chosen one is not among them
        and the CPU is shown instead."""
        return offer_devices(self.device, devices)

    def choice(self) -> tuple[str, str, str]:
        """(path, runtime, device) as shown."""
        return self.path.text().strip(), self.runtime.currentText(), self.device.currentText()

    @Slot()
    def choose_file(self) -> None:
        """Ask for a model file (a user action), then apply it."""
        path, _ = QFileDialog.getOpenFileName(self, "Choose model", "", MODEL_FILTER)
        if path:
            self.path.setText(path)
            if path.lower().endswith(".onnx"):
                self.runtime.setCurrentText("onnx")
            self.request_apply()

    @Slot()
    def request_apply(self) -> None:
        """Emit the shown choice."""
        self.apply_requested.emit(*self.choice())


class PathLabel(QLabel):
    """One line that shows a file path elided in the middle to its width (full path in the tooltip),
    so a long recording path never wraps and pushes the controls below it down."""

    def __init__(self, text: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._full = ""
        self.setMinimumWidth(60)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.set_full_text(text)

    def set_full_text(self, text: str) -> None:
        """Show `text` (elided to fit) with the whole of it as the tooltip."""
        self._full = text
        self.setToolTip(text)
        self._elide()

    def full_text(self) -> str:
        """The text before eliding."""
        return self._full

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        """Elide again for the new width."""
        super().resizeEvent(event)
        self._elide()

    def _elide(self) -> None:
        self.setText(self.fontMetrics().elidedText(self._full, Qt.TextElideMode.ElideMiddle,
                                                   max(self.width(), 60)))


class RecordControls(QGroupBox):
    """Participant pseudonym, output folder, Record/Stop, the CSV path, and the marker input."""

    record_clicked = Signal()
    marker_requested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        """Inputs; the Live tab switches the button text and the indicator."""
        super().__init__("Recording", parent)
        self.participant = QLineEdit()
        self.participant.setToolTip("A pseudonym written into the recording (no names: the files "
                                    "hold emotion "
                                    "data about a person)")
        self.participant.setPlaceholderText("pseudonym, e.g. P01 (no real names)")
        self.folder = QLineEdit()
        self.folder.setToolTip("Where recordings go: NAME.csv plus its .json sidecar and summary")
        self.folder.setPlaceholderText("folder for the session files")
        self.folder_button = QPushButton("…")
        self.folder_button.setToolTip("Choose the folder for the session files")
        self.save_video = QCheckBox("Save video")
        self.save_video.setToolTip(SAVE_VIDEO_HELP[0].upper() + SAVE_VIDEO_HELP[1:])
        self.record_button = QPushButton("Record")
        self.record_button.setToolTip("Start/stop writing every processed frame to a session CSV (Ctrl+R).")
        self.indicator = QLabel("● REC")
        self.indicator.setStyleSheet("color: white; background: #c62828; font-weight: bold; "
                                     "padding: 2px 6px;")
        self.indicator.hide()
        self.csv_path = PathLabel("not recording")
        self.marker_text = QLineEdit()
        self.marker_text.setToolTip("Text of the next marker (a stimulus, an event): Return or M "
                                    "adds it to the "
                                    "current frame")
        self.marker_text.setPlaceholderText("marker text (optional)")
        self.marker_button = QPushButton("Marker (M)")
        self.marker_button.setToolTip("Write a marker (a user event) into the next CSV row; Return in the "
                                      "text field does the same.")
        folder_row = QHBoxLayout()
        folder_row.addWidget(self.folder, 1)
        folder_row.addWidget(self.folder_button)
        record_row = QHBoxLayout()
        record_row.addWidget(self.record_button)
        record_row.addWidget(self.indicator)
        record_row.addStretch(1)
        record_row.addWidget(self.save_video)
        marker_row = QHBoxLayout()
        marker_row.addWidget(self.marker_text, 1)
        marker_row.addWidget(self.marker_button)
        form = QFormLayout(self)
        form.addRow("Participant", self.participant)
        form.addRow("Folder", folder_row)
        form.addRow(record_row)
        form.addRow("CSV", self.csv_path)
        form.addRow(marker_row)
        self.folder_button.clicked.connect(self.choose_folder)
        self.record_button.clicked.connect(self.record_clicked)
        self.marker_button.clicked.connect(self.request_marker)
        self.marker_text.returnPressed.connect(self.request_marker)

    def set_recording(self, active: bool, csv_path: str = "") -> None:
        """Reflect whether a recording runs (button text, indicator, CSV path)."""
        self.record_button.setText("Stop recording" if active else "Record")
        self.indicator.setVisible(active)
        if csv_path:
            self.csv_path.set_full_text(csv_path)
        elif not active and not self.csv_path.full_text():
            self.csv_path.set_full_text("not recording")

    @Slot()
    def choose_folder(self) -> None:
        """Ask for the output folder (a user action)."""
        folder = QFileDialog.getExistingDirectory(self, "Folder for session files", self.folder.text())
        if folder:
            self.folder.setText(folder)

    @Slot()
    def request_marker(self) -> None:
        """Emit the marker text ("marker" when empty) and clear the input."""
        self.marker_requested.emit(self.marker_text.text().strip() or "marker")
        self.marker_text.clear()

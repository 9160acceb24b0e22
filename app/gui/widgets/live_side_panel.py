"""The Live tab's right-hand column: recording, calibration, smoothing, model and LSL groups, scrollable.

`restore(settings)` fills the groups from the remembered choices (the core's defaults where none are)
and `save(settings, lsl_enabled)` remembers them.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QScrollArea, QVBoxLayout, QWidget

from app.core.settings import BaselineSettings, LslSettings, ModelSettings, OutputSettings, SmoothingSettings
from app.gui import settings as keys
from app.gui.widgets.face_identity import FaceIdentityControls
from app.gui.widgets.live_controls import (
    CalibrationControls,
    ModelControls,
    RecordControls,
    SmoothingControls,
)
from app.gui.widgets.lsl_controls import LslPanel
from app.gui.widgets.wheel_guard import guard_wheel

MIN_WIDTH = 300  # px: the groups' forms stay readable


class LiveSidePanel(QScrollArea):
    """The session controls of the Live tab, one group under another."""

    def __init__(self, parent: QWidget | None = None) -> None:
        """Build the groups; nothing is restored until `restore`."""
        super().__init__(parent)
        self.recording = RecordControls()
        self.faces = FaceIdentityControls()
        self.calibration = CalibrationControls()
        self.smoothing = SmoothingControls()
        self.models = ModelControls()
        self.lsl = LslPanel()
        controls = QWidget()
        column = QVBoxLayout(controls)
        for group in (self.recording, self.faces, self.calibration, self.smoothing, self.models, self.lsl):
            column.addWidget(group)
        column.addStretch(1)
        self.setWidgetResizable(True)
        self.setWidget(controls)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        # as wide as the groups need, so nothing is cut and no sideways scrolling is ever needed
        needed = controls.minimumSizeHint().width() + self.verticalScrollBar().sizeHint().width()
        self.setMinimumWidth(max(MIN_WIDTH, needed))
        guard_wheel(self)  # scrolling the panel never changes a control under the pointer

    def restore(self, s: QSettings, default_folder: Path) -> None:
        """Fill every group from `s`; recordings go to `default_folder` unless another was chosen."""
        smooth, model, lsl = SmoothingSettings(), ModelSettings(), LslSettings()
        self.smoothing.set_current(keys.value_str(s, keys.LIVE_SMOOTHING, smooth.kind), {
            "alpha": keys.value_float(s, keys.LIVE_EMA_ALPHA, smooth.alpha),
            "min_cutoff": keys.value_float(s, keys.LIVE_EURO_MIN_CUTOFF, smooth.min_cutoff),
            "beta": keys.value_float(s, keys.LIVE_EURO_BETA, smooth.beta),
            "d_cutoff": keys.value_float(s, keys.LIVE_EURO_D_CUTOFF, smooth.d_cutoff),
        })
        seconds = keys.value_float(s, keys.LIVE_BASELINE_SECONDS, BaselineSettings.seconds)
        self.calibration.seconds.setValue(seconds)
        self.models.set_choice(keys.value_str(s, keys.MODEL_PATH, model.path),
                               keys.value_str(s, keys.MODEL_RUNTIME, model.runtime),
                               keys.value_str(s, keys.MODEL_DEVICE, model.device))
        self.recording.participant.setText(keys.value_str(s, keys.RECORD_PARTICIPANT))
        self.recording.folder.setText(keys.value_str(s, keys.RECORD_FOLDER, str(default_folder)))
        self.recording.save_video.setChecked(
            keys.value_bool(s, keys.RECORD_SAVE_VIDEO, OutputSettings().save_video))
        self.lsl.name.setText(keys.value_str(s, keys.LSL_STREAM_NAME, lsl.stream_name) or lsl.stream_name)
        self.lsl.slots.setValue(int(keys.value_float(s, keys.LSL_FACE_SLOTS, lsl.face_slots)))
        self.lsl.set_streaming(keys.value_bool(s, keys.LSL_ENABLED, lsl.enabled))

    def save(self, s: QSettings, lsl_enabled: bool) -> None:
        """Remember every group's choices in `s` (`lsl_enabled`: whether results are streamed now)."""
        kind, _ = self.smoothing.current()
        s.setValue(keys.LIVE_SMOOTHING, kind)
        s.setValue(keys.LIVE_EMA_ALPHA, self.smoothing.alpha.value())
        s.setValue(keys.LIVE_EURO_MIN_CUTOFF, self.smoothing.min_cutoff.value())
        s.setValue(keys.LIVE_EURO_BETA, self.smoothing.beta.value())
        s.setValue(keys.LIVE_EURO_D_CUTOFF, self.smoothing.d_cutoff.value())
        s.setValue(keys.LIVE_BASELINE_SECONDS, self.calibration.seconds.value())
        path, runtime, device = self.models.choice()
        s.setValue(keys.MODEL_PATH, path)
        s.setValue(keys.MODEL_RUNTIME, runtime)
        s.setValue(keys.MODEL_DEVICE, device)
        s.setValue(keys.RECORD_PARTICIPANT, self.recording.participant.text().strip())
        s.setValue(keys.RECORD_FOLDER, self.recording.folder.text().strip())
        s.setValue(keys.RECORD_SAVE_VIDEO, self.recording.save_video.isChecked())
        s.setValue(keys.LSL_ENABLED, lsl_enabled)
        s.setValue(keys.LSL_STREAM_NAME, self.lsl.name.text().strip())
        s.setValue(keys.LSL_FACE_SLOTS, self.lsl.slots.value())

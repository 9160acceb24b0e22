"""Source picker of the Live tab: cameras by name (with a refresh), a video file, or the demo source.

A source is described by a spec string that settings and the command line share:
"demo", "camera:N", "video:PATH" or "images:PATH" (app.core.sources: `source_spec_from_arg` turns
`--source` text into one, `make_source(spec)` builds the FrameSource; opening it happens in the
pipeline's thread).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import QComboBox, QFileDialog, QHBoxLayout, QLabel, QPushButton, QWidget

from app.core.sources import VIDEO_EXTENSIONS, CameraInfo, list_cameras
from app.gui.workers.jobs import GeneratorJob

NO_CAMERA = "No camera found. Plug one in and press Refresh, or use a video file or the demo source."
FILE_SPECS = ("video:", "images:")  # source specs that name a file or folder (kept across a refresh)

VIDEO_FILTER = f"Videos ({' '.join('*' + ext for ext in VIDEO_EXTENSIONS)});;All files (*)"


def describe_spec(spec: str) -> str:
    """A short name of a spec for the picker."""
    kind, _, rest = spec.partition(":")
    if kind == "demo":
        return "Demo (built-in faces, no camera needed)"
    if kind in ("video", "images"):
        return f"{kind.capitalize()}: {Path(rest).name}"
    return spec


class SourcePicker(QWidget):
    """A combo box of sources plus "Refresh cameras" and "Video file…"; emits `spec_changed(str)`."""

    spec_changed = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        """Fill the list with the demo source and the cameras the OS lists, then check them in the
        background (each is opened once, quietly: OpenCV's messages go to the native log)."""
        super().__init__(parent)
        self.combo = QComboBox()
        self.combo.setMinimumContentsLength(16)
        self.combo.setToolTip("What to analyse: a camera (by its name), a video file, or the built-in demo.")
        self.refresh_button = QPushButton("Refresh cameras")
        self.refresh_button.setToolTip("Look again for cameras (after plugging one in).")
        self.video_button = QPushButton("Video file…")
        self.video_button.setToolTip("Analyse a video file as if it were a camera (played at its frame rate)")
        self.camera_note = QLabel("")
        self.camera_note.setWordWrap(True)
        self.camera_note.setStyleSheet("color: #c08000;")
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.combo, 1)
        row.addWidget(self.refresh_button)
        row.addWidget(self.video_button)
        self.setLayout(row)  # `camera_note` is placed by the owner (the Live tab puts it beside Start)
        self.probe_job = GeneratorJob("camera check", self)
        self.probe_job.item.connect(self._show_cameras)
        self.refresh_button.clicked.connect(self.refresh_cameras)
        self.video_button.clicked.connect(self.choose_video_file)
        self.combo.currentIndexChanged.connect(self._on_index_changed)
        self.refresh_cameras()

    @Slot()
    def refresh_cameras(self) -> None:
        """List the cameras the OS names at once, then open each in the background and keep those that
        work (the choice is kept when it still exists)."""
        cameras = list_cameras(probe=False)  # opens nothing: safe in the GUI thread
        self._show_cameras(cameras)
        if (cameras or not sys.platform.startswith("linux")) and not self.probe_job.running:
            self.refresh_button.setEnabled(False)
            self.camera_note.setText("Checking the cameras…")
            self.probe_job.ended.connect(self._probe_ended, Qt.ConnectionType.SingleShotConnection)
            self.probe_job.start(_probe_cameras)

    @Slot(object)
    def _show_cameras(self, cameras: list[CameraInfo]) -> None:
        """Rebuild the camera entries: those that opened, or (before the check) those the OS lists."""
        current = self.spec()
        files = [self.combo.itemData(i) for i in range(self.combo.count())
                 if str(self.combo.itemData(i)).startswith(FILE_SPECS)]
        working = [c for c in cameras if c.available is not False]
        self.combo.blockSignals(True)
        self.combo.clear()
        self.combo.addItem(describe_spec("demo"), "demo")
        for camera in working:
            self.combo.addItem(f"Camera {camera.index}: {camera.name}", f"camera:{camera.index}")
        for spec in files:
            self.combo.addItem(describe_spec(spec), spec)
        self.combo.blockSignals(False)
        self.camera_note.setText("" if working else NO_CAMERA)
        self.set_spec(current or "demo")

    @Slot(str)
    def _probe_ended(self, _outcome: str) -> None:
        self.refresh_button.setEnabled(True)

    def shutdown(self, timeout_s: float = 10.0) -> None:
        """Wait for a camera check still running (closing the window)."""
        self.probe_job.shutdown(timeout_s)

    def spec(self) -> str:
        """The chosen source spec ("" when the list is empty)."""
        data = self.combo.currentData()
        return "" if data is None else str(data)

    def set_spec(self, spec: str) -> None:
        """Select `spec`, adding a file entry when needed (an unknown camera falls back to the demo)."""
        index = self.combo.findData(spec)
        if index < 0 and spec.startswith(FILE_SPECS):
            self.combo.addItem(describe_spec(spec), spec)
            index = self.combo.count() - 1
        if index < 0 and spec.startswith("camera:"):
            self.combo.addItem(f"{spec.replace('camera:', 'Camera ')} (not listed by the OS)", spec)
            index = self.combo.count() - 1
        self.combo.setCurrentIndex(max(index, 0))

    @Slot()
    def choose_video_file(self) -> None:
        """Ask for a video file (a user action) and select it."""
        path, _ = QFileDialog.getOpenFileName(self, "Open video", "", VIDEO_FILTER)
        if path:
            self.set_spec(f"video:{path}")

    @Slot(int)
    def _on_index_changed(self, _index: int) -> None:
        self.spec_changed.emit(self.spec())


def _probe_cameras(cancel) -> Iterator[list[CameraInfo]]:
    """Worker side of the camera check: the cameras with `available` set by opening each once."""
    yield list_cameras(probe=True)


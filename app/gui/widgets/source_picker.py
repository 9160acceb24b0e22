"""Source picker of the Live tab: cameras by name (with a refresh), a video file, or the demo source.

A source is described by a spec string that settings and the command line share:
"demo", "camera:N", "video:PATH" or "images:PATH" (app.core.sources: `source_spec_from_arg` turns
`--source` text into one, `make_source(spec)` builds the FrameSource; opening it happens in the
pipeline's thread).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import QComboBox, QFileDialog, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from app.core.sources import list_cameras

FILE_SPECS = ("video:", "images:")  # source specs that name a file or folder (kept across a refresh)

VIDEO_FILTER = "Videos (*.mp4 *.avi *.mov *.mkv *.webm *.m4v *.mpg *.mpeg *.wmv);;All files (*)"


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
        """Fill the list with the demo source and the cameras the OS lists (not opened)."""
        super().__init__(parent)
        self.combo = QComboBox()
        self.combo.setMinimumContentsLength(28)
        self.combo.setToolTip("What to analyse: a camera (by its name), a video file, or the built-in demo.")
        self.refresh_button = QPushButton("Refresh cameras")
        self.refresh_button.setToolTip("Look again for cameras (after plugging one in).")
        self.video_button = QPushButton("Video file…")
        self.camera_note = QLabel("")
        self.camera_note.setWordWrap(True)
        self.camera_note.setStyleSheet("color: #c08000;")
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.combo, 1)
        row.addWidget(self.refresh_button)
        row.addWidget(self.video_button)
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        column.addLayout(row)
        column.addWidget(self.camera_note)
        self.refresh_button.clicked.connect(self.refresh_cameras)
        self.video_button.clicked.connect(self.choose_video_file)
        self.combo.currentIndexChanged.connect(self._on_index_changed)
        self.refresh_cameras()

    @Slot()
    def refresh_cameras(self) -> None:
        """Rebuild the camera entries from the OS's list, keeping the current choice when it still exists."""
        current = self.spec()
        files = [self.combo.itemData(i) for i in range(self.combo.count())
                 if str(self.combo.itemData(i)).startswith(FILE_SPECS)]
        self.combo.blockSignals(True)
        self.combo.clear()
        self.combo.addItem(describe_spec("demo"), "demo")
        cameras = list_cameras(probe=False)
        for camera in cameras:
            self.combo.addItem(f"Camera {camera.index}: {camera.name}", f"camera:{camera.index}")
        for spec in files:
            self.combo.addItem(describe_spec(spec), spec)
        self.combo.blockSignals(False)
        self.camera_note.setText("" if cameras else "No camera found. Plug one in and press Refresh, or use "
                                 "a video file or the demo source.")
        self.set_spec(current or "demo")

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

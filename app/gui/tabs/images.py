"""The Images tab: analyse image files, folders and videos in a worker; list every face; preview one.

Files come from the Add buttons (file dialogs), drag-and-drop onto the tab, or `add_paths`. A batch runs
`app.core.analysis.analyze_paths` (the generator behind `python main.py analyze`) in a `GeneratorJob`
with the model chosen in the Live tab (settings model/path, runtime, device), loaded in the worker
thread. Rows appear as each file (or video frame) is done; paths added while a batch runs are analysed
after it. Selecting a row previews that image: face boxes and labels, the fused attention heatmap on the
fixed 0..1 scale, and the faces' points on a small circumplex. Export CSV writes every row with the
`analyze` command's columns (ANALYSIS_COLUMNS). V/A is labelled "V/A derived" for a model whose card
says so, and results of an untrained model are labelled "untrained model".
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
from PySide6.QtCore import QModelIndex, QSettings, Qt, Signal, Slot
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.core.face_history import FaceHistories
from app.core.image_batches import (
    AnalysedFrame,
    ModelReady,
    PreviewEntry,
    PreviewImage,
    PreviewStore,
    analysis_events,
    reload_preview,
    scaled_faces,
    write_csv,
)
from app.core.packets import FramePacket
from app.core.settings import CROPS_HELP, DetectionSettings, ModelSettings
from app.core.sources import IMAGE_EXTENSIONS, VIDEO_EXTENSIONS
from app.gui import settings as keys
from app.gui.analysis_results import TABLE_COLUMNS, ResultsTable
from app.gui.widgets.circumplex import CircumplexPlot
from app.gui.widgets.video_view import VideoView
from app.gui.workers.jobs import CANCELLED, FAILED, FINISHED, GeneratorJob

FOLDER_KEY = "images/folder"  # last folder the Add / Export dialogs showed
OVERLAY_KEY = "images/attention_overlay"
CROPS_KEY = "images/crops"  # the images are face crops: no detection
FILE_FILTER = (
    "Images and videos (" + " ".join(f"*{ext}" for ext in IMAGE_EXTENSIONS + VIDEO_EXTENSIONS) + ");;"
    "All files (*)"
)
TABLE_MIN_WIDTH = 420  # px: file, face, V, A, expression and error all in view
_BLANK = np.zeros((240, 320, 3), dtype=np.uint8)  # shown behind a message when there is no image


class ImagesTab(QWidget):
    """Batch analysis of image/video files with a results table, a preview and CSV export."""

    status_message = Signal(str)  # a non-modal message for the status bar and the log

    def __init__(
        self, settings: QSettings, model_choice: Callable[[], ModelSettings], parent: QWidget | None = None
    ) -> None:
        """Build the controls, table and preview; nothing runs until files are added. `model_choice` gives
        the model a new batch uses (the window's one model choice, shown in the Live tab and Model menu)."""
        super().__init__(parent)
        self.settings = settings
        self._model_choice = model_choice
        self.setAcceptDrops(True)
        self.results = ResultsTable(self)
        self._exported_rows = self._exporting_rows = 0  # rows written by the last finished export
        self.previews = PreviewStore()
        self.model: ModelReady | None = None  # the model of the current/last batch
        self.pending: list[str] = []  # paths added while a batch runs
        self._batch_files = 0
        self._files_done = 0
        self._files_failed = 0
        self._shown_entry: int | None = None
        self._reload_entry: int | None = None

        self.analysis_job = GeneratorJob("analysis", self)
        self.analysis_job.item.connect(self._on_analysis_item)
        self.analysis_job.ended.connect(self._on_analysis_ended)
        self.preview_job = GeneratorJob("preview", self)
        self.preview_job.item.connect(self._on_preview_loaded)
        self.preview_job.ended.connect(self._on_preview_ended)
        self.export_job = GeneratorJob("CSV export", self)
        self.export_job.item.connect(self._on_exported)
        self.export_job.ended.connect(self._update_buttons)
        for job in (self.analysis_job, self.preview_job, self.export_job):
            job.message.connect(self.status_message)

        self._build()
        self._update_buttons()

    # ---------------------------------------------------------------------------------------- layout

    def _build(self) -> None:
        self.add_files_button = QPushButton("Add images…")
        self.add_files_button.setToolTip("Analyse image or video files (or drop files and folders here)")
        self.add_files_button.clicked.connect(self.open_files)
        self.add_folder_button = QPushButton("Add folder…")
        self.add_folder_button.setToolTip("Analyse every image and video in a folder and its subfolders")
        self.add_folder_button.clicked.connect(self.open_folder)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop the batch after the current file or frame; its rows so "
                                      "far are kept")
        self.cancel_button.clicked.connect(self.cancel)
        self.clear_button = QPushButton("Clear")
        self.clear_button.setToolTip("Empty the table and the preview (export the rows first to keep them)")
        self.clear_button.clicked.connect(self.clear)
        self.export_button = QPushButton("Export CSV…")
        self.export_button.setToolTip("Save every row with the columns of `python main.py analyze`")
        self.export_button.clicked.connect(self.export_csv)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress_label = QLabel("Drop image files, folders or videos here, or use Add.")
        self.model_label = QLabel("Model: the one chosen in the Live tab (loaded when a batch starts)")
        self.model_label.setWordWrap(True)

        self.crops_box = QCheckBox("Images are face crops")
        self.crops_box.setToolTip(CROPS_HELP[0].upper() + CROPS_HELP[1:] + " (next batch)")
        self.crops_box.setChecked(keys.value_bool(self.settings, CROPS_KEY, DetectionSettings.crops))
        self.crops_box.toggled.connect(lambda checked: self.settings.setValue(CROPS_KEY, checked))
        buttons = QHBoxLayout()
        for button in (self.add_files_button, self.add_folder_button, self.cancel_button,
                       self.clear_button, self.export_button):
            buttons.addWidget(button)
        buttons.addWidget(self.crops_box)
        buttons.addWidget(self.progress, 1)

        self.table = QTableView()
        self.table.setModel(self.results)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().setVisible(False)
        header = self.table.horizontalHeader()  # every column in view: the text ones share the room left
        for column, (_, key) in enumerate(TABLE_COLUMNS):
            mode = QHeaderView.ResizeMode.Stretch if key in ("source_path", "error") else \
                QHeaderView.ResizeMode.ResizeToContents
            header.setSectionResizeMode(column, mode)
        self.table.setTextElideMode(Qt.TextElideMode.ElideMiddle)  # long names keep their start and end
        self.table.setMinimumWidth(TABLE_MIN_WIDTH)
        self.table.selectionModel().currentRowChanged.connect(self._on_current_row)

        self.view = VideoView()
        self.view.show_message("Select a row to preview its image")
        self.overlay_box = QCheckBox("Attention overlay")
        self.overlay_box.setToolTip("Fused first-level attention over each face, on the fixed 0..1 scale")
        self.overlay_box.setChecked(keys.value_bool(self.settings, OVERLAY_KEY, True))
        self.overlay_box.toggled.connect(self._on_overlay_toggled)
        self.circumplex = CircumplexPlot(trail_points=1)
        self.circumplex.setMinimumSize(200, 200)
        self.circumplex.setMaximumWidth(320)
        self.circumplex.setMaximumHeight(320)  # the preview image gets the rest of the height
        self.details = QLabel("")
        self.details.setWordWrap(True)
        self.details.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        details_area = QScrollArea()  # many faces' lines scroll instead of squeezing the preview image
        details_area.setWidget(self.details)
        details_area.setWidgetResizable(True)
        details_area.setFrameShape(QScrollArea.Shape.NoFrame)
        below = QHBoxLayout()
        below.addWidget(self.circumplex)
        side = QVBoxLayout()
        side.addWidget(self.overlay_box)
        side.addWidget(details_area, 1)
        below.addLayout(side, 1)
        preview = QWidget()
        preview_layout = QVBoxLayout(preview)
        preview_layout.setContentsMargins(0, 0, 0, 0)
        preview_layout.addWidget(self.view, 3)  # the preview takes most of the height
        preview_layout.addLayout(below, 2)

        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.table)
        splitter.addWidget(preview)
        splitter.setStretchFactor(0, 1)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([TABLE_MIN_WIDTH, TABLE_MIN_WIDTH])  # half each to start with
        splitter.setChildrenCollapsible(False)

        layout = QVBoxLayout(self)
        layout.addLayout(buttons)
        layout.addWidget(self.progress_label)
        layout.addWidget(self.model_label)
        layout.addWidget(splitter, 1)

    # ----------------------------------------------------------------------------------- file input

    def _folder(self) -> str:
        return keys.value_str(self.settings, FOLDER_KEY, str(Path.home()))

    def _remember_folder(self, path: str | Path) -> None:
        path = Path(path)
        self.settings.setValue(FOLDER_KEY, str(path if path.is_dir() else path.parent))

    @Slot()
    def open_files(self) -> None:
        """Ask for image/video files (a user action) and analyse them."""
        paths, _ = QFileDialog.getOpenFileNames(self, "Analyse images or videos", self._folder(), FILE_FILTER)
        if paths:
            self.add_paths(paths)

    @Slot()
    def open_folder(self) -> None:
        """Ask for a folder (a user action) and analyse every image and video in it."""
        folder = QFileDialog.getExistingDirectory(self, "Analyse a folder", self._folder())
        if folder:
            self.add_paths([folder])

    def add_paths(self, paths: list[str | Path]) -> None:
        """Analyse files and folders (recursively); queued after the running batch, if any."""
        paths = [str(p) for p in paths]
        if not paths:
            return
        self._remember_folder(paths[0])
        if self.analysis_job.running:
            self.pending.extend(paths)
            self.status_message.emit(f"{len(paths)} more path(s) will be analysed after the current batch")
            return
        self._start_batch(paths)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 - Qt override
        """Accept drags that carry local files or folders."""
        if event.mimeData().hasUrls() and any(url.isLocalFile() for url in event.mimeData().urls()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 - Qt override
        """Analyse the dropped files and folders."""
        paths = [url.toLocalFile() for url in event.mimeData().urls() if url.isLocalFile()]
        if paths:
            event.acceptProposedAction()
            self.add_paths(paths)
        else:
            event.ignore()

    # -------------------------------------------------------------------------------------- batches

    def _start_batch(self, paths: list[str]) -> None:
        choice = self._model_choice()
        self._batch_files = self._files_done = self._files_failed = 0
        self.progress.setRange(0, 0)  # busy until the file count is known
        self.progress_label.setText(f"Loading the model and looking for files in {len(paths)} path(s)…")
        detection = DetectionSettings(crops=self.crops_box.isChecked())
        self.analysis_job.start(lambda cancel: analysis_events(paths, choice, cancel, detection))
        self._update_buttons()

    @property
    def running(self) -> bool:
        """True while a batch runs."""
        return self.analysis_job.running

    @Slot()
    def cancel(self) -> None:
        """Stop the running batch after the current file or video frame; queued paths are dropped."""
        if self.pending:
            self.status_message.emit(f"{len(self.pending)} queued path(s) dropped")
            self.pending.clear()
        self.analysis_job.cancel()

    @Slot(object)
    def _on_analysis_item(self, item: object) -> None:
        if isinstance(item, ModelReady):
            self._on_model(item)
            return
        if not isinstance(item, AnalysedFrame):
            return
        event = item.event
        if event.kind == "started":
            self._batch_files = event.total_files
            self.progress.setRange(0, max(1, event.total_files))
            self.progress.setValue(0)
            if event.total_files == 0:
                self.status_message.emit("No image or video files found in the given paths")
        elif event.kind == "result":
            self._add_result(item)
        elif event.kind == "file_done":
            self._files_done += 1
            self._files_failed += 0 if event.ok else 1
            self.progress.setValue(self._files_done)
        if event.path is not None:
            where = f" frame {event.frame_index}" if event.frame_index is not None else ""
            self.progress_label.setText(
                f"{self._files_done} of {self._batch_files} files done; {event.path.name}{where}; "
                f"{len(self.results.rows)} rows")

    def _on_model(self, model: ModelReady) -> None:
        self.model = model
        self.model_label.setText(f"Model: {model.name} — {model.provenance.short}: {model.provenance.detail}")
        self.results.set_va_derived(model.va_source == "derived")
        self.circumplex.set_labels(model.va_source, model.untrained)

    def _add_result(self, item: AnalysedFrame) -> None:
        event = item.event
        if self.model is None or event.path is None:
            return
        entry = PreviewEntry(event.path, event.frame_index, event.faces, event.error,
                             readable=item.preview is not None, model=self.model)
        index = self.previews.add(entry, item.preview)
        first_row = len(self.results.rows)
        self.results.add_rows(event.rows, index)
        if first_row == 0:
            self.table.selectRow(0)

    @Slot(str)
    def _on_analysis_ended(self, outcome: str) -> None:
        self.progress.setRange(0, max(1, self._batch_files))
        self.progress.setValue(self._files_done)
        summary = (f"{self._files_done} of {self._batch_files} files, {self._files_failed} could not be "
                   f"read, {len(self.results.rows)} rows in the table")
        if outcome == FINISHED:
            self.progress_label.setText(f"Done: {summary}.")
            self.status_message.emit(f"Analysis done: {summary}")
        elif outcome == CANCELLED:
            self.progress_label.setText(f"Cancelled: {summary}.")
            self.status_message.emit(f"Analysis cancelled: {summary}")
        else:
            self.progress_label.setText("The analysis stopped with an error (see the log).")
        self._update_buttons()
        if self.pending:
            paths, self.pending = self.pending, []
            if outcome == FINISHED:
                self._start_batch(paths)
            else:
                self.status_message.emit(f"{len(paths)} queued path(s) dropped; add them again to analyse")

    # ---------------------------------------------------------------------------------------- preview

    def select_row(self, row: int) -> None:
        """Select table row `row` (its image is previewed)."""
        self.table.selectRow(row)

    @Slot(QModelIndex, QModelIndex)
    def _on_current_row(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if current.isValid():
            self.show_entry(self.results.entry_of_row[current.row()])

    @Slot(bool)
    def _on_overlay_toggled(self, checked: bool) -> None:
        self.settings.setValue(OVERLAY_KEY, checked)
        if self._shown_entry is not None:
            self.show_entry(self._shown_entry)

    def show_entry(self, index: int) -> None:
        """Preview analysed image/frame `index`: its image (read again when no longer kept) and faces."""
        self._shown_entry = index
        entry = self.previews.entries[index]
        image = self.previews.image(index)
        if image is not None:
            self._draw(entry, image)
        elif not entry.readable:
            self._draw_message(entry, entry.error)
        elif entry.frame_index is not None:
            self._draw_message(entry, f"frame {entry.frame_index} is no longer kept for the preview "
                                      f"(the last {self.previews.capacity} analysed frames are)")
        else:
            self._draw_message(entry, f"reading {entry.path.name}…")
            if not self.preview_job.running:  # else the row is read when the running read ends
                self._reload_entry = index
                self.preview_job.start(lambda cancel: reload_preview(entry.path, cancel))

    def _face_lines(self, entry: PreviewEntry) -> str:
        derived = " (V/A derived)" if entry.model.va_source == "derived" else ""
        lines = [f"<b>{entry.path.name}</b>" + (f" — frame {entry.frame_index}"
                                                if entry.frame_index is not None else "")]
        lines.append(f"model: {entry.model.name} ({entry.model.provenance.short})")
        for face in entry.faces:
            lines.append(f"#{face.face_id} {face.expression}: V {face.valence:+.3f}, "
                         f"A {face.arousal:+.3f}{derived}")
        if entry.error:
            lines.append(entry.error)
        return "<br>".join(lines)

    def _draw(self, entry: PreviewEntry, image: PreviewImage) -> None:
        packet = FramePacket(frame_index=entry.frame_index or 0, timestamp_s=0.0, wall_time=0.0,
                             frame=image.image, faces=scaled_faces(entry.faces, image.scale),
                             va_source=entry.model.va_source)
        self.view.crop_margin = entry.model.crop_margin
        self.view.show_attention = self.overlay_box.isChecked()
        self.view.update_from(packet)
        if entry.error:
            self.view.show_message(entry.error)
        self.circumplex.set_labels(entry.model.va_source, entry.model.untrained)
        self.circumplex.update_from(packet, FaceHistories())
        self.details.setText(self._face_lines(entry))

    def _draw_message(self, entry: PreviewEntry | None, text: str) -> None:
        """A blank image with `text` in the view, no circumplex points, the entry's faces as text."""
        self.view.update_from(FramePacket(0, 0.0, 0.0, _BLANK, ()))
        self.view.show_message(text)
        self.circumplex.update_from(None, FaceHistories())
        self.details.setText(self._face_lines(entry) if entry is not None else "")

    @Slot(object)
    def _on_preview_loaded(self, image: object) -> None:
        if isinstance(image, PreviewImage) and self._reload_entry is not None:
            self.previews.put_image(self._reload_entry, image)
            if self._shown_entry == self._reload_entry:
                self._draw(self.previews.entries[self._reload_entry], image)

    @Slot(str)
    def _on_preview_ended(self, outcome: str) -> None:
        loaded, self._reload_entry = self._reload_entry, None
        wanted = self._shown_entry
        if loaded is None or wanted is None:
            return
        if wanted != loaded and self.previews.image(wanted) is None:
            self.show_entry(wanted)  # another row was selected while reading: read that one now
        elif wanted == loaded and outcome == FAILED:
            entry = self.previews.entries[wanted]
            self._draw_message(entry, f"{entry.path.name} could not be read again (see the log)")

    # ----------------------------------------------------------------------------------------- export

    @Slot()
    def export_csv(self) -> None:
        """Ask where to save the results (a user action) and write the CSV."""
        if not self.results.rows:
            self.status_message.emit("Nothing to export yet: analyse some images first")
            return
        path, _ = QFileDialog.getSaveFileName(self, "Export results CSV",
                                              str(Path(self._folder()) / "analysis.csv"), "CSV (*.csv)")
        if path:
            self.export_csv_to(path)

    def export_csv_to(self, path: str | Path) -> None:
        """Write every row so far to `path` (ANALYSIS_COLUMNS) in a worker; the outcome is reported."""
        if self.export_job.running:
            self.status_message.emit("An export is already being written; try again when it is done")
            return
        rows = list(self.results.rows)
        self._remember_folder(path)
        self._exporting_rows = len(rows)
        self.export_job.start(lambda cancel: write_csv(Path(path), rows, cancel))
        self._update_buttons()

    @Slot(object)
    def _on_exported(self, path: object) -> None:
        self._exported_rows = self._exporting_rows
        self.status_message.emit(f"Exported the results to {path}")

    def unexported_rows(self) -> int:
        """Rows in the table that no finished export holds (lost when the window closes)."""
        return max(0, len(self.results.rows) - self._exported_rows)

    # ---------------------------------------------------------------------------------------- state

    @Slot()
    def clear(self) -> None:
        """Forget every result and preview (not while a batch runs)."""
        if self.analysis_job.running:
            self.status_message.emit("Cancel the running analysis before clearing its results")
            return
        self.preview_job.cancel()
        self._reload_entry = None  # a read still running is ignored when it arrives
        self.results.clear()
        self._exported_rows = self._exporting_rows = 0
        self.previews.clear()
        self._shown_entry = None
        self._draw_message(None, "Select a row to preview its image")
        self.progress.setValue(0)
        self.progress_label.setText("Drop image files, folders or videos here, or use Add.")
        self._update_buttons()

    @Slot()
    def _update_buttons(self) -> None:
        busy = self.analysis_job.running
        self.cancel_button.setEnabled(busy)
        self.clear_button.setEnabled(not busy)
        self.export_button.setEnabled(not self.export_job.running)

    def shutdown(self, timeout_s: float = 30.0) -> None:
        """Stop every job of the tab (closing the window); waits up to `timeout_s` for each."""
        self.pending.clear()
        for job in (self.analysis_job, self.preview_job, self.export_job):
            if not job.shutdown(timeout_s):
                self.status_message.emit(f"The {job.name} did not stop within {timeout_s:.0f} s")

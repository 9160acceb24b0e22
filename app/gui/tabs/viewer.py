"""The Viewer tab: reopen a recording, scrub it, summarise it, edit it, export its figures.

A session CSV recorded live (or an `analyze` CSV of a video) comes from Open, the Recent menu, a drop
onto the tab, or `open_session` (`main.py gui --open FILE`). It is read by `read_session` in a
`GeneratorJob` (progress bar, Cancel); what could not be read is listed above the plots.

Layout: on the left valence and arousal of every face over time (the cursor: the vertical line, dragged
or moved with the slider and the arrow keys; the selection: the shaded range, dragged at its edges) and
the chosen face's stacked expressions; on the right the video frame at the cursor with its boxes and
ids (when the video is on disk), and three panels: the circumplex of the selection, the summary table
(marker segments or named intervals; Copy, Save CSV) and the edits (rename, merge, excluded ranges,
named intervals). Edits are written to NAME.annotations.json at once; the recording is only read.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QSettings, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QGuiApplication, QKeyEvent
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QMenu,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSlider,
    QSplitter,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.core.packets import FramePacket
from app.core.segment_summary import (
    DEFAULT_SIGNAL,
    SIGNALS,
    interval_segments,
    marker_segments,
    recording_span,
    summarize_segments,
)
from app.core.session_annotations import export_cleaned_csv, load_annotations, save_annotations
from app.core.session_table import LoadDone, LoadProgress, SessionTable, read_session
from app.core.session_video import SessionVideo, VideoLink, faces_at, find_video, video_frame_index
from app.gui import settings as keys
from app.gui.session_report import CIRCUMPLEX_SIZE, EXPRESSION_SIZE, VA_SIZE, report_from_view
from app.gui.theme import chart_colours_of, style_chart
from app.gui.widgets.figure_export_dialog import FigureExportDialog
from app.gui.widgets.live_controls import PathLabel
from app.gui.widgets.session_edits import SessionEditsPanel
from app.gui.widgets.session_figures import (
    SIGNAL_TITLES,
    CircumplexFigure,
    ExpressionFigure,
    SessionView,
    ValenceArousalFigure,
    render_copy,
)
from app.gui.widgets.summary_panel import SummaryPanel
from app.gui.widgets.video_view import VideoView
from app.gui.workers.jobs import FINISHED, GeneratorJob

CSV_FILTER = "AffectScope session or analysis CSV (*.csv);;All files (*)"
CURSOR_PEN = pg.mkPen((220, 40, 40), width=1.5)
SELECTION_BRUSH = (80, 140, 230, 40)
PROGRESS_STEPS = 1000
SHIFT_STEP_S = 1.0  # Shift+arrow moves the cursor this far
VIDEO_MIN_HEIGHT = 180  # px: the frame stays readable in a 1024x700 window


class ViewerTab(QWidget):
    """Open a recording; timelines, frame, circumplex, summary and edits (module docstring)."""

    status_message = Signal(str)

    def __init__(self, settings: QSettings, parent: QWidget | None = None) -> None:
        """An empty Viewer; nothing is read until a session is opened."""
        super().__init__(parent)
        self.settings = settings
        self.view: SessionView | None = None
        self.video: SessionVideo | None = None
        self.video_link = VideoLink(None)
        self.frame_times = np.zeros(0)  # (m,) the distinct timestamps, ascending: the slider's positions
        self._pending: str | None = None  # a path to open once the running load has stopped
        self._loading: Path | None = None
        self._last_error = ""
        self._opened_text = "No session open"  # what the file label says about the open recording
        self.load_job = GeneratorJob("session loading", self)
        self.load_job.item.connect(self._on_load_item)
        self.load_job.message.connect(self._on_load_message)
        self.load_job.ended.connect(self._on_load_ended)
        self._frame_timer = QTimer(self)  # coalesces scrubbing: one frame drawn per event-loop turn
        self._frame_timer.setSingleShot(True)
        self._frame_timer.setInterval(0)
        self._frame_timer.timeout.connect(self._show_frame)
        self.setAcceptDrops(True)
        self._build()
        self._update_enabled()

    # ------------------------------------------------------------------------------------ layout

    def _build(self) -> None:
        self.open_button = QPushButton("Open session…")
        self.open_button.setToolTip(
            "Open a session CSV recorded in the Live tab, or an `analyze` CSV of a video (or drop one here)"
        )
        self.open_button.clicked.connect(self.choose_file)
        self.recent_menu = QMenu("Recent sessions", self)
        self.recent_menu.aboutToShow.connect(self._fill_recent_menu)
        self.recent_button = QToolButton()
        self.recent_button.setText("Recent")
        self.recent_button.setToolTip("Open one of the sessions opened or recorded last")
        self.recent_button.setMenu(self.recent_menu)
        self.recent_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.file_label = PathLabel("No session open")
        self.signal = QComboBox()
        for key in SIGNALS:
            self.signal.addItem(SIGNAL_TITLES[key], key)
        chosen = keys.value_str(self.settings, keys.VIEWER_SIGNAL, DEFAULT_SIGNAL)
        self.signal.setCurrentIndex(max(0, self.signal.findData(chosen)))
        self.signal.setToolTip("Which valence/arousal the plots and the summary use")
        self.signal.currentIndexChanged.connect(self._on_signal_changed)
        self.export_figure_button = QPushButton("Export figure…")
        self.export_figure_button.setToolTip("Save a figure as PNG or SVG at a size you choose")
        self.export_figure_button.clicked.connect(self.ask_export_figure)
        self.export_csv_button = QPushButton("Export cleaned CSV…")
        self.export_csv_button.setToolTip(
            "Write a new CSV without the excluded ranges, with merged ids and "
            "labels (the recording is not changed)"
        )
        self.export_csv_button.clicked.connect(self.ask_export_cleaned)
        self.report_button = QPushButton("Write report…")
        self.report_button.setToolTip(
            "Write every figure, the summary CSV and an HTML report into a "
            "folder (as `python main.py report`)"
        )
        self.report_button.clicked.connect(self.ask_write_report)
        top = QHBoxLayout()
        for widget in (self.open_button, self.recent_button):
            top.addWidget(widget)
        top.addWidget(self.file_label, 1)
        top.addWidget(QLabel("V/A:"))
        for widget in (self.signal, self.export_figure_button, self.export_csv_button, self.report_button):
            top.addWidget(widget)
        self.progress = QProgressBar()
        self.progress.setRange(0, PROGRESS_STEPS)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop reading the file (nothing already shown is lost)")
        self.cancel_button.clicked.connect(self.load_job.cancel)
        self.load_row = QWidget()
        load = QHBoxLayout(self.load_row)
        load.setContentsMargins(0, 0, 0, 0)
        load.addWidget(self.progress, 1)
        load.addWidget(self.cancel_button)
        self.load_row.hide()
        self.notes = QLabel()
        self.notes.setWordWrap(True)
        self.notes.setStyleSheet("color: #c07000;")
        self.notes.hide()

        self.va_figure = ValenceArousalFigure()
        self.va_figure.scene().sigMouseClicked.connect(self._on_plot_clicked)
        self.face = QComboBox()
        self.face.setToolTip("The face whose expressions are shown")
        self.face.currentIndexChanged.connect(self._draw_expressions)
        self.expression_figure = ExpressionFigure()
        self.expression_figure.setXLink(self.va_figure.plots["valence"])  # one time axis for both
        expressions = QWidget()
        column = QVBoxLayout(expressions)
        column.setContentsMargins(0, 0, 0, 0)
        face_row = QHBoxLayout()
        face_row.addWidget(QLabel("Expressions of"))
        face_row.addWidget(self.face, 1)
        column.addLayout(face_row)
        column.addWidget(self.expression_figure, 1)
        plots = QSplitter(Qt.Orientation.Vertical)
        plots.addWidget(self.va_figure)
        plots.addWidget(expressions)
        plots.setStretchFactor(0, 3)
        plots.setStretchFactor(1, 2)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setToolTip("Scrub: drag, or Left/Right one frame (Shift: one second), Home/End")
        self.slider.valueChanged.connect(self._on_slider)
        self.time_label = QLabel("")
        scrub = QHBoxLayout()
        scrub.addWidget(self.slider, 1)
        scrub.addWidget(self.time_label)
        left = QWidget()
        left_column = QVBoxLayout(left)
        left_column.setContentsMargins(0, 0, 0, 0)
        left_column.addWidget(plots, 1)
        left_column.addLayout(scrub)

        self.video_view = VideoView()
        self.video_view.setMinimumHeight(VIDEO_MIN_HEIGHT)
        self.circumplex = CircumplexFigure()
        self.whole_button = QPushButton("Select the whole recording")
        self.whole_button.setToolTip(
            "Set the selection (the shaded range on the timeline) to the whole recording"
        )
        self.whole_button.clicked.connect(self.select_whole)
        circumplex = QWidget()
        circumplex_column = QVBoxLayout(circumplex)
        circumplex_column.setContentsMargins(0, 0, 0, 0)
        circumplex_column.addWidget(self.circumplex, 1)
        circumplex_column.addWidget(self.whole_button)
        self.summary = SummaryPanel()
        self.summary.segmentation_changed.connect(lambda _key: self._update_summary())
        self.summary.status_message.connect(self.status_message)
        self.edits = SessionEditsPanel(self.selection)
        self.edits.edited.connect(self._on_edited)
        self.edits.status_message.connect(self.status_message)
        self.panels = QTabWidget()
        self.panels.addTab(circumplex, "Circumplex")
        self.panels.addTab(self.summary, "Summary")
        edits = QScrollArea()  # its groups scroll in a small window instead of squeezing the video
        edits.setWidget(self.edits)
        edits.setWidgetResizable(True)
        edits.setFrameShape(QFrame.Shape.NoFrame)
        self.panels.addTab(edits, "Edits")
        right = QSplitter(Qt.Orientation.Vertical)
        right.addWidget(self.video_view)
        right.addWidget(self.panels)
        right.setStretchFactor(0, 2)
        right.setStretchFactor(1, 3)
        body = QSplitter(Qt.Orientation.Horizontal)
        body.addWidget(left)
        body.addWidget(right)
        body.setStretchFactor(0, 3)
        body.setStretchFactor(1, 2)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.load_row)
        layout.addWidget(self.notes)
        layout.addWidget(body, 1)

        self.cursors = [pg.InfiniteLine(0.0, angle=90, movable=True, pen=CURSOR_PEN) for _ in range(2)]
        self.expression_cursor = pg.InfiniteLine(0.0, angle=90, movable=False, pen=CURSOR_PEN)
        for line in self.cursors:
            line.setToolTip("The cursor: drag it to scrub")
            line.sigPositionChanged.connect(self._on_cursor_dragged)
        self.regions = [pg.LinearRegionItem(brush=pg.mkBrush(SELECTION_BRUSH)) for _ in range(2)]
        for region in self.regions:
            region.setToolTip("The selection: drag its edges (circumplex, exclusions, named intervals)")
            region.sigRegionChanged.connect(self._on_region_moved)
            region.sigRegionChangeFinished.connect(self._draw_circumplex)
        self.video_view.show_message("Open a session: File > Open session…, Recent, or drop a CSV here")

    def _update_enabled(self) -> None:
        loaded = self.view is not None
        for widget in (
            self.export_figure_button,
            self.export_csv_button,
            self.report_button,
            self.slider,
            self.whole_button,
            self.face,
        ):
            widget.setEnabled(loaded)

    # ------------------------------------------------------------------------------------ opening

    @Slot()
    def choose_file(self) -> None:
        """Ask for a session CSV (a user action) and open it."""
        folder = keys.value_str(self.settings, keys.VIEWER_FOLDER, str(Path.home()))
        path, _ = QFileDialog.getOpenFileName(self, "Open a session", folder, CSV_FILTER)
        if path:
            self.open_session(path)

    def _fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        paths = keys.recent_files(self.settings)
        for path in paths:
            self.recent_menu.addAction(path, lambda p=path: self.open_session(p))
        if not paths:
            self.recent_menu.addAction("(no recent session)").setEnabled(False)

    def open_session(self, path: str | Path) -> None:
        """Read `path` in the background (the running load, if any, is cancelled first)."""
        path = str(path)
        if self.load_job.running:
            self._pending = path
            self.load_job.cancel()
            return
        self._loading = Path(path)
        self._last_error = ""
        self.progress.setValue(0)
        self.load_row.show()
        self.file_label.set_full_text(f"Reading {Path(path).name}…")
        self.load_job.start(lambda cancel: read_session(path, cancel))

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 - Qt override
        """Accept a dropped file."""
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 - Qt override
        """Open the first dropped file."""
        paths = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if paths:
            self.open_session(paths[0])
            if len(paths) > 1:
                self.status_message.emit(
                    f"{len(paths) - 1} more dropped file(s) ignored: the Viewer opens one recording at a time"
                )

    @Slot(object)
    def _on_load_item(self, event: object) -> None:
        if isinstance(event, LoadProgress):
            self.progress.setValue(int(PROGRESS_STEPS * event.bytes_read / max(1, event.bytes_total)))
        elif isinstance(event, LoadDone):
            self._show_table(event.table)

    @Slot(str)
    def _on_load_message(self, text: str) -> None:
        self._last_error = text
        self.status_message.emit(text)

    @Slot(str)
    def _on_load_ended(self, outcome: str) -> None:
        self.load_row.hide()
        if outcome != FINISHED:
            name = self._loading.name if self._loading else "the file"
            self.file_label.set_full_text(self._opened_text)
            if self._last_error:
                self._set_notes([self._last_error.removeprefix("session loading failed: ")])
            elif self._pending is None:
                self.status_message.emit(f"Reading {name} was cancelled")
        pending, self._pending = self._pending, None
        if pending is not None:
            self.open_session(pending)

    def _show_table(self, table: SessionTable) -> None:
        """A table was read: take its annotations and video, draw everything."""
        annotations, note = load_annotations(table.path)
        self.view = SessionView(table, annotations, self.signal_key())
        if self.video is not None:
            self.video.close()
            self.video = None
        link = self.video_link = find_video(table)
        notes = list(table.notes) + ([note] if note else [])
        if link.path is not None:
            try:
                self.video = SessionVideo(link.path)
            except ValueError as exc:
                notes.append(f"{exc}; only the plots are shown.")
        elif link.note:
            notes.append(link.note)
        self._set_notes(notes)
        if self.video is None:
            self.video_view.show_message(notes[-1] if notes else "No video")
        self.frame_times = np.unique(table.timestamps)
        self.slider.blockSignals(True)
        self.slider.setRange(0, max(0, len(self.frame_times) - 1))
        rate = 1.0 / table.frame_interval_s() if table.frame_interval_s() > 0 else 1.0
        self.slider.setPageStep(max(1, round(rate * SHIFT_STEP_S)))
        self.slider.setValue(0)
        self.slider.blockSignals(False)
        model = (table.sidecar or {}).get("model") or {}
        measured = {"derived": ", V/A derived", "measured": ""}.get(model.get("va_source"), "")
        self._opened_text = (
            f"{table.path.name}  ({table.duration_s:.1f} s, {len(table)} rows, "
            f"{len(self.view.faces())} face(s), {len(table.markers())} marker(s))"
            + (f" · model {model['name']}{measured}" if model.get("name") else "")
        )
        self.file_label.set_full_text(self._opened_text)
        keys.remember_recent(self.settings, table.path)
        self.settings.setValue(keys.VIEWER_FOLDER, str(table.path.parent))
        self._redraw(reset_selection=True)
        self._update_enabled()
        self._show_frame()
        self.slider.setFocus()
        self.status_message.emit(f"Opened {table.path}: {len(table)} rows")

    def _set_notes(self, notes: list[str]) -> None:
        self.notes.setText("\n".join(f"• {n}" for n in notes))
        self.notes.setVisible(bool(notes))

    # ------------------------------------------------------------------------------------ drawing

    def signal_key(self) -> str:
        """The chosen V/A signal (a key of SIGNALS)."""
        return str(self.signal.currentData())

    @Slot()
    def _on_signal_changed(self) -> None:
        self.settings.setValue(keys.VIEWER_SIGNAL, self.signal_key())
        if self.view is not None:
            self.view.signal = self.signal_key()
            self._redraw()
            if not np.isfinite(self.view.table.number(SIGNALS[self.view.signal][0])).any():
                self.status_message.emit(
                    f"This recording has no {SIGNAL_TITLES[self.view.signal]} values "
                    "(e.g. no baseline was taken): the plots are empty"
                )

    def _redraw(self, reset_selection: bool = False) -> None:
        """Draw every figure, panel and list again (the recording, the signal or the edits changed)."""
        view = self.view
        if view is None:
            return
        selection = self.selection()
        view.changed()
        self.va_figure.draw(view)
        for plot, cursor, region in zip(
            self.va_figure.plots.values(), self.cursors, self.regions, strict=True
        ):
            plot.addItem(region, ignoreBounds=True)
            plot.addItem(cursor, ignoreBounds=True)
        style_chart(self.va_figure, chart_colours_of(self.va_figure))
        if reset_selection:
            selection = recording_span(view.table)
        self._set_selection(*selection)
        chosen = self.face.currentData()
        self.face.blockSignals(True)
        self.face.clear()
        for face in view.faces():
            self.face.addItem(view.name(face), face)
        self.face.setCurrentIndex(max(0, self.face.findData(chosen)))
        self.face.blockSignals(False)
        self._draw_expressions()
        self._draw_circumplex()
        self._update_summary()
        self.edits.show_view(view)
        self._move_cursor_lines()

    @Slot()
    def _draw_expressions(self) -> None:
        if self.view is None:
            return
        shown = self.va_figure.plots["valence"].viewRange()[0]  # drawing sets the linked time range
        self.expression_figure.draw(self.view, self.face.currentData())
        self.va_figure.plots["valence"].setXRange(*shown, padding=0)
        self.expression_figure.getPlotItem().addItem(self.expression_cursor, ignoreBounds=True)
        style_chart(self.expression_figure, chart_colours_of(self.expression_figure))

    @Slot()
    def _draw_circumplex(self) -> None:
        if self.view is None:
            return
        self.circumplex.draw(self.view, *self.selection())
        style_chart(self.circumplex, chart_colours_of(self.circumplex))

    def _update_summary(self) -> None:
        if self.view is None:
            return
        table, annotations = self.view.table, self.view.annotations
        if self.summary.segmentation_key() == "intervals":
            segments = interval_segments(table, annotations)
        else:
            segments = marker_segments(table)
        self.summary.suggested_name = str(table.path.with_name(f"{table.path.stem}.segments.csv"))
        self.summary.show_rows(summarize_segments(table, annotations, segments, self.view.signal))

    # ------------------------------------------------------------------------- cursor and selection

    def selection(self) -> tuple[float, float]:
        """The selected range (start_s, end_s) on the timeline."""
        low, high = self.regions[0].getRegion()
        return float(low), float(high)

    def _set_selection(self, start: float, end: float) -> None:
        for region in self.regions:
            region.blockSignals(True)
            region.setRegion((start, end))
            region.blockSignals(False)

    @Slot()
    def select_whole(self) -> None:
        """Select the whole recording."""
        if self.view is not None:
            self._set_selection(*recording_span(self.view.table))
            self._draw_circumplex()

    def set_selection(self, start: float, end: float) -> None:
        """Select [start, end] seconds (what dragging the shaded range does)."""
        self._set_selection(start, end)
        self._draw_circumplex()

    @Slot(object)
    def _on_region_moved(self, moved: pg.LinearRegionItem) -> None:
        for region in self.regions:
            if region is not moved:
                region.blockSignals(True)
                region.setRegion(moved.getRegion())
                region.blockSignals(False)

    def cursor_time(self) -> float:
        """The time (s) at the cursor; 0 when nothing is open."""
        if len(self.frame_times) == 0:
            return 0.0
        return float(self.frame_times[self.slider.value()])

    def set_cursor_time(self, t: float) -> None:
        """Move the cursor to the frame nearest `t` seconds."""
        times = self.frame_times
        if len(times):
            index = int(np.clip(np.searchsorted(times, t), 0, len(times) - 1))
            if index > 0 and abs(times[index - 1] - t) <= abs(times[index] - t):
                index -= 1
            self.slider.setValue(index)

    def _move_cursor_lines(self) -> None:
        t = self.cursor_time()
        for line in (*self.cursors, self.expression_cursor):
            line.blockSignals(True)
            line.setValue(t)
            line.blockSignals(False)

    @Slot(int)
    def _on_slider(self, _value: int) -> None:
        self._move_cursor_lines()
        self._frame_timer.start()

    @Slot(object)
    def _on_cursor_dragged(self, line: pg.InfiniteLine) -> None:
        self.set_cursor_time(float(line.value()))
        self._move_cursor_lines()  # snap to the frame

    def _on_plot_clicked(self, event) -> None:
        """A click in a V/A plot moves the cursor there."""
        for plot in self.va_figure.plots.values():
            if plot.sceneBoundingRect().contains(event.scenePos()):
                self.set_cursor_time(plot.vb.mapSceneToView(event.scenePos()).x())
                return

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt override
        """Left/Right: one frame (Shift: one second); Home/End: the first/last frame."""
        steps = {Qt.Key.Key_Left: -1, Qt.Key.Key_Right: 1}
        if self.view is not None and event.key() in steps:
            shift = event.modifiers() & Qt.KeyboardModifier.ShiftModifier
            step = self.slider.pageStep() if shift else 1
            self.slider.setValue(self.slider.value() + steps[event.key()] * step)
        elif self.view is not None and event.key() in (Qt.Key.Key_Home, Qt.Key.Key_End):
            self.slider.setValue(
                self.slider.minimum() if event.key() == Qt.Key.Key_Home else self.slider.maximum()
            )
        else:
            super().keyPressEvent(event)

    @Slot()
    def _show_frame(self) -> None:
        """Draw the video frame at the cursor with its faces, and say where the cursor is."""
        view = self.view
        if view is None or len(self.frame_times) == 0:
            return
        table, t = view.table, self.cursor_time()
        rows = np.arange(
            np.searchsorted(table.timestamps, t, "left"), np.searchsorted(table.timestamps, t, "right")
        )
        faces = faces_at(table, view.annotations, rows)
        excluded = [
            r.text or "no reason given" for r in view.annotations.excluded if r.start_s <= t <= r.end_s
        ]
        text = f"{t:.2f} s · frame {self.slider.value() + 1}/{len(self.frame_times)} · {len(faces)} face(s)"
        if excluded:
            text += f" · excluded ({excluded[0]})"
        self.time_label.setText(text)
        if self.video is None or len(rows) == 0:
            return
        index = video_frame_index(table, int(rows[0]), self.video_link, self.video.frame_count)
        image = self.video.read(index)
        if image is None:
            self.video_view.show_message(f"Frame {index} is past the end of {self.video.path.name}")
            return
        self.video_view.update_from(
            FramePacket(
                frame_index=index,
                timestamp_s=t,
                wall_time=0.0,
                frame=image,
                faces=faces,
                faces_in_view=len(faces),
            )
        )

    # ------------------------------------------------------------------------------ edits, exports

    @Slot(str)
    def _on_edited(self, what: str) -> None:
        """An edit was made: save the annotation file, draw again."""
        view = self.view
        try:
            saved = save_annotations(view.table.path, view.annotations)
        except OSError as exc:
            self.status_message.emit(
                f"{what}, but the annotation file could not be written ({exc}); the edit "
                "holds until the Viewer closes"
            )
        else:
            self.status_message.emit(f"{what} (saved in {saved.name})")
        self._redraw()
        self._show_frame()  # the frame's labels and the cursor's "excluded" note follow the edit

    def figure_choices(self) -> dict[str, tuple[str, tuple[int, int]]]:
        """The figures "Export figure…" offers: key -> (title, default size)."""
        face = self.face.currentData()
        name = self.view.name(face) if self.view is not None and face is not None else "no face"
        low, high = self.selection()
        return {
            "valence_arousal": ("Valence and arousal over time", VA_SIZE),
            "expressions": (f"Expressions of {name}", EXPRESSION_SIZE),
            "circumplex": (f"Circumplex of the selection ({low:.1f}-{high:.1f} s)", CIRCUMPLEX_SIZE),
        }

    @Slot()
    def ask_export_figure(self) -> None:
        """Ask which figure, at what size and where (user actions), then export it."""
        if self.view is None:
            return
        dialog = FigureExportDialog(self.figure_choices(), self)
        if not dialog.exec():
            return
        key, size = dialog.choice()
        folder = keys.value_str(self.settings, keys.VIEWER_FOLDER, str(Path.home()))
        path, chosen = QFileDialog.getSaveFileName(
            self,
            "Save the figure",
            str(Path(folder) / f"{key}.png"),
            "PNG image (*.png);;SVG vector figure (*.svg)",
        )
        if path:
            if not Path(path).suffix:
                path += ".svg" if "svg" in chosen else ".png"
            self.export_figure(key, size, path)

    def export_figure(self, key: str, size: tuple[int, int], path: str | Path) -> Path | None:
        """Write figure `key` (of `figure_choices`) at `size` (w, h px) to `path` (.png or .svg)."""
        view = self.view
        drawers = {
            "valence_arousal": (ValenceArousalFigure, lambda figure: figure.draw(view)),
            "expressions": (ExpressionFigure, lambda figure: figure.draw(view, self.face.currentData())),
            "circumplex": (CircumplexFigure, lambda figure: figure.draw(view, *self.selection())),
        }
        kind, draw = drawers[key]
        try:
            written = render_copy(kind, draw, size, path)
        except (OSError, ValueError) as exc:
            self.status_message.emit(f"The figure could not be saved to {path}: {exc}")
            return None
        self.status_message.emit(f"Figure saved: {written} ({size[0]}x{size[1]} px)")
        return written

    @Slot()
    def ask_export_cleaned(self) -> None:
        """Ask where (a user action), then write the cleaned CSV."""
        if self.view is None:
            return
        source = self.view.table.path
        path, _ = QFileDialog.getSaveFileName(
            self, "Export the cleaned CSV", str(source.with_name(f"{source.stem}.cleaned.csv")), CSV_FILTER
        )
        if path:
            self.export_cleaned(path)

    def export_cleaned(self, path: str | Path) -> int | None:
        """Write the recording with the edits applied to `path`; returns the rows written."""
        QGuiApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        try:
            rows = export_cleaned_csv(self.view.table, self.view.annotations, path)
        except (OSError, ValueError) as exc:
            self.status_message.emit(f"The cleaned CSV was not written: {exc}")
            return None
        finally:
            QGuiApplication.restoreOverrideCursor()
        self.status_message.emit(f"Cleaned CSV written: {path} ({rows} rows)")
        return rows

    @Slot()
    def ask_write_report(self) -> None:
        """Ask for a folder (a user action), then write the report there."""
        if self.view is None:
            return
        source = self.view.table.path
        folder = QFileDialog.getExistingDirectory(self, "Write the report into", str(source.parent))
        if folder:
            self.write_report(Path(folder) / f"{source.stem}_report")

    def write_report(self, folder: str | Path) -> Path | None:
        """Write the figures, the summary and report.html of the open recording into `folder`."""
        steps = report_from_view(
            SessionView(self.view.table, self.view.annotations, self.view.signal), folder
        )
        QGuiApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        try:
            while True:
                self.status_message.emit(next(steps))
                QApplication.processEvents()
        except StopIteration as done:
            return done.value.html
        except (OSError, ValueError) as exc:
            self.status_message.emit(f"The report was not written: {exc}")
            return None
        finally:
            QGuiApplication.restoreOverrideCursor()

    def shutdown(self, timeout_s: float = 30.0) -> None:
        """Stop reading and close the video (closing the window); edits are already saved."""
        self._pending = None
        if not self.load_job.shutdown(timeout_s):
            self.status_message.emit(f"Reading the session did not stop within {timeout_s:.0f} s")
        if self.video is not None:
            self.video.close()
            self.video = None

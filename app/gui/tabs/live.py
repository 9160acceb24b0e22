"""The Live tab: a source, the live results of every face, and the controls of a session.

Threads: the `LivePipeline` runs capture and inference in its own threads and calls the `LiveBridge`,
whose signals reach `on_packet` / `on_event` (`@Slot`s, GUI thread). `on_packet` only stores the
packet and appends its faces to the histories (cheap); one display timer (`DISPLAY_INTERVAL_MS`) paints
from the latest stored packet, one panel group per tick (video, circumplex, attention and details of
the selected face), so painting never queues up behind the pipeline and never blocks the GUI thread for long.
Control calls that wait for the worker (start/stop recording) run in short-lived threads
(`LiveBridge.run_job`) and report back through a signal, so the GUI thread never blocks on them.

The Lab Streaming Layer group (`LslPanel`) drives an `LslLink` (app.core.lsl) of the pipeline: the
pipeline's worker only queues each sample and the outlet's own thread pushes it; the marker inlet reads
in its own thread and hands markers to the pipeline, which puts them on frames (CSV and timelines).

Errors from the pipeline are shown non-modally: in the video view, the status bar and the log
(`status_message`). The selected face drives the attention panel, timelines and expression bars.

Length: about 650 lines, nearly all one class, kept whole because painting (one group per tick), the recording
flow and the pipeline's events share the tab's state. Its panels live in app/gui/widgets/ (the side
column in `live_side_panel.py`).
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSettings, Qt, QTimer, Signal, Slot
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTabWidget,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from app.core.baseline import BaselineState
from app.core.face_history import FaceHistories
from app.core.lsl import LslLink
from app.core.packets import FaceResult, FramePacket, PipelineEvent, PipelineState
from app.core.pipeline import LivePipeline, PipelineError
from app.core.recorder import default_session_name
from app.core.sources import make_source
from app.core.summary import summary_markdown
from app.core.va_provenance import VaProvenance, va_provenance
from app.gui import settings as keys
from app.gui.widgets.attention_panel import AttentionPanel
from app.gui.widgets.circumplex import CircumplexPlot
from app.gui.widgets.expression_bars import ExpressionBars
from app.gui.widgets.live_side_panel import LiveSidePanel
from app.gui.widgets.source_picker import SourcePicker
from app.gui.widgets.timelines import Timelines
from app.gui.widgets.video_view import VideoView
from app.gui.workers.live_bridge import JobResult, LiveBridge

# The one display timer. Each tick draws at most one panel group (PANEL_GROUPS) that is behind the latest
# packet and does nothing otherwise, so a fast tick costs nothing while idle; at 10 ms all four groups
# follow a 25 fps source, and the video alone could follow ~100 fps. (A 33 ms timer drawing everything
# at once would drop packets of a 30 fps camera and block the GUI thread for a whole frame's drawing.)
# Least sizes (px) of the panels: below them a chart stops being readable (at 1024x700 the tab scrolls).
VIDEO_MIN, LOWER_MIN = (320, 220), (320, 190)
CIRCUMPLEX_MIN, ATTENTION_MIN, EXPRESSIONS_MIN = (240, 230), (240, 230), (240, 165)
DISPLAY_INTERVAL_MS = 10
RATE_WINDOW_S = 5.0  # displayed fps is measured over the paints of this window
PANEL_GROUPS = ("video", "circumplex", "attention", "details")  # drawn one per display tick, in order
STATS_INTERVAL_S = 0.25  # the status bar figures are refreshed at most this often
TIMELINE_INTERVAL_S = 0.1  # the 30-s timelines are redrawn at most this often (all samples are kept)


def calibrated_text(face_id: int, valence: float, arousal: float) -> str:
    """What the calibration panel says once a face's neutral baseline is known."""
    return f"Face #{face_id} calibrated: neutral at valence {valence:+.2f}, arousal {arousal:+.2f}"


NOT_CALIBRATED_AFTER_SWITCH = "not calibrated: the model changed, calibrate again"


def default_output_folder() -> Path:
    """Where recordings go unless the user picks a folder: ~/AffectScope/sessions."""
    return Path.home() / "AffectScope" / "sessions"


class LiveTab(QWidget):
    """Source picker, video with faces, circumplex, attention, timelines, bars, and session controls."""

    status_message = Signal(str)  # a non-modal message for the status bar and the log
    stats_updated = Signal(object, float)  # PipelineStats of the painted packet, displayed fps
    model_changed = Signal(str, str, object)  # model name, "runtime / device", VaProvenance
    recording_changed = Signal(bool, str)  # recording?, CSV path
    running_changed = Signal(bool)

    def __init__(
        self,
        settings: QSettings,
        parent: QWidget | None = None,
        pipeline_factory: Callable[..., LivePipeline] = LivePipeline,
    ) -> None:
        """Build the widgets, restore the settings, and create the (idle) pipeline; no model is loaded
        until `preload_model` (the window calls it once shown) or Start.

        `pipeline_factory(on_packet=, on_event=, model_path=, runtime=, device=)` builds the pipeline
        (tests pass one with other tracker settings).
        """
        super().__init__(parent)
        self.settings = settings
        self.bridge = LiveBridge(self)
        self.histories = FaceHistories(window_s=30.0)
        self.latest: FramePacket | None = None
        self.packets_received = 0  # packets that reached the GUI thread
        self.frames_painted = 0  # paints of a new packet
        self.va_source = "measured"
        self.untrained = False
        self.model_name = ""
        self.provenance: VaProvenance | None = None  # what the model in use learnt its V/A from
        self.recording_path = ""
        self.last_summary: dict[str, Any] | None = None
        # The packet each panel group shows; one group is drawn per display tick (see `paint`).
        self._drawn: dict[str, FramePacket | None] = dict.fromkeys(PANEL_GROUPS)
        self._stale: set[str] = set()  # groups to redraw although their packet did not change
        self._painters = {"video": self._draw_video, "circumplex": self._draw_circumplex,
                          "attention": self._draw_attention, "details": self._draw_details}
        self._paint_times: deque[float] = deque(maxlen=512)
        self._stats_shown_at = 0.0
        self._timelines_at = 0.0
        self._timelines_face: int | None = None
        self._selected: int | None = None
        self._pending_record: str | None = None
        self._jobs: list[threading.Thread] = []
        self._build_widgets()
        self._restore_settings()
        path, runtime, device = self.models.choice()
        self.pipeline = pipeline_factory(
            on_packet=self.bridge.deliver_packet, on_event=self.bridge.deliver_event,
            model_path=path or None, runtime=runtime, device=device,
        )
        kind, params = self.smoothing.current()
        self.pipeline.set_smoothing(kind, **params)
        self.video.show_attention = self.overlay_box.isChecked()
        self.lsl_link = LslLink(self.pipeline, self._report_from_thread)
        self.lsl.attach(self.lsl_link, self.bridge)
        self._connect_controls()
        self.bridge.packet_ready.connect(self.on_packet)
        self.bridge.event_ready.connect(self.on_event)
        self.bridge.job_done.connect(self.on_job_done)
        self.display_timer = QTimer(self)
        self.display_timer.setInterval(DISPLAY_INTERVAL_MS)
        self.display_timer.timeout.connect(self.paint)
        self.display_timer.start()
        if self.lsl.stream_box.isChecked():  # remembered from the last run
            self.lsl.set_lsl_streaming(True)
        self._set_running_ui(False)
        self.video.show_message("Choose a source and press Start (Space).")

    # ------------------------------------------------------------------------------------ layout

    def _build_widgets(self) -> None:
        self.source_picker = SourcePicker()
        self.start_button = QPushButton("Start")
        self.start_button.setToolTip("Start or stop the live analysis (Space).")
        self.face_choice = QComboBox()
        self.face_choice.setToolTip("The face whose attention, timelines and expressions are shown.")
        self.face_choice.setMinimumContentsLength(8)
        self.loop_box = QCheckBox("Loop video")
        self.loop_box.setToolTip("Start a video file again at its end (to try the controls on a short clip).")
        self.overlay_box = QCheckBox("Attention overlay")
        self.overlay_box.setToolTip("Draw each face's fused attention (fixed 0..1 scale) over the video.")
        self.video = VideoView()
        self.circumplex = CircumplexPlot()
        self.attention = AttentionPanel()
        self.expressions = ExpressionBars()
        self.timelines = Timelines(window_s=30.0)
        self.side = LiveSidePanel()
        self.recording, self.calibration = self.side.recording, self.side.calibration
        self.smoothing, self.models, self.lsl = self.side.smoothing, self.side.models, self.side.lsl
        self.faces_box = self.side.faces
        self.summary_view = QTextBrowser()
        self.summary_view.setPlaceholderText("The summary of a recording appears here when it stops.")
        self.lower_tabs = QTabWidget()
        self.lower_tabs.addTab(self.timelines, "Timelines (30 s)")
        self.lower_tabs.addTab(self.summary_view, "Recording summary")

        source_row = QHBoxLayout()  # what to analyse
        source_row.addWidget(QLabel("Source"))
        source_row.addWidget(self.source_picker, 1)
        source_row.addWidget(self.loop_box)
        view_row = QHBoxLayout()  # run it, and what to show
        view_row.addWidget(self.start_button)
        view_row.addSpacing(12)
        view_row.addWidget(QLabel("Face"))
        view_row.addWidget(self.face_choice)
        view_row.addWidget(self.overlay_box)
        view_row.addStretch(1)
        view_row.addWidget(self.source_picker.camera_note, 3)  # "no camera found" etc., wrapped
        top = QVBoxLayout()
        top.addLayout(source_row)
        top.addLayout(view_row)

        for widget, (width, height) in ((self.video, VIDEO_MIN), (self.lower_tabs, LOWER_MIN),
                                        (self.circumplex, CIRCUMPLEX_MIN), (self.attention, ATTENTION_MIN),
                                        (self.expressions, EXPRESSIONS_MIN)):
            widget.setMinimumSize(width, height)  # readable at any window size; the tab scrolls instead
        left = QSplitter(Qt.Orientation.Vertical)
        left.addWidget(self.video)
        left.addWidget(self.lower_tabs)
        left.setStretchFactor(0, 3)
        left.setStretchFactor(1, 2)
        middle = QSplitter(Qt.Orientation.Vertical)
        middle.addWidget(self.circumplex)
        middle.addWidget(self.attention)
        middle.addWidget(self.expressions)
        middle.setStretchFactor(0, 5)
        middle.setStretchFactor(1, 3)
        middle.setStretchFactor(2, 3)
        body = QSplitter(Qt.Orientation.Horizontal)
        body.addWidget(left)
        body.addWidget(middle)
        body.addWidget(self.side)
        body.setStretchFactor(0, 5)
        body.setStretchFactor(1, 3)
        body.setStretchFactor(2, 2)
        for splitter in (left, middle, body):
            splitter.setChildrenCollapsible(False)  # a dragged handle never squeezes a panel to nothing
        outer = QScrollArea()  # below the panels' minimum sizes the tab scrolls rather than squeezing them
        outer.setWidgetResizable(True)
        outer.setFrameShape(QFrame.Shape.NoFrame)
        outer.setWidget(body)
        body.setMinimumSize(body.minimumSizeHint())  # the scroll area honours an explicit minimum
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(outer, 1)

    def _connect_controls(self) -> None:
        self.start_button.clicked.connect(self.toggle_running)
        self.face_choice.currentIndexChanged.connect(self._on_face_chosen)
        self.faces_box.label_edited.connect(self.name_face)
        self.faces_box.merge_requested.connect(self.merge_faces)
        self.overlay_box.toggled.connect(self._on_overlay_toggled)
        self.smoothing.changed.connect(self.apply_smoothing)
        self.calibration.calibrate_requested.connect(self.start_calibration)
        self.calibration.clear_requested.connect(self.clear_calibration)
        self.models.apply_requested.connect(self.apply_model)
        self.recording.record_clicked.connect(self.toggle_recording)
        self.recording.marker_requested.connect(self.add_marker)
        self.lsl.message.connect(self._report)

    def _restore_settings(self) -> None:
        s = self.settings
        self.source_picker.set_spec(keys.value_str(s, keys.LIVE_SOURCE, "demo"))
        self.overlay_box.setChecked(keys.value_bool(s, keys.LIVE_ATTENTION_OVERLAY, False))
        self.loop_box.setChecked(keys.value_bool(s, keys.LIVE_LOOP_VIDEO, False))
        self.side.restore(s, default_output_folder())

    def save_settings(self) -> None:
        """Store the source, view, smoothing, calibration, model, recording and LSL choices."""
        s = self.settings
        s.setValue(keys.LIVE_SOURCE, self.source_picker.spec())
        s.setValue(keys.LIVE_ATTENTION_OVERLAY, self.overlay_box.isChecked())
        s.setValue(keys.LIVE_LOOP_VIDEO, self.loop_box.isChecked())
        self.side.save(s, self.lsl_link.enabled)

    # ---------------------------------------------------------------------------------- controls

    @property
    def running(self) -> bool:
        """True while the pipeline is starting or running."""
        return self.pipeline.state in (PipelineState.STARTING, PipelineState.RUNNING)

    def set_source_spec(self, spec: str) -> None:
        """Choose a source ("demo", "camera:N", "video:PATH", "images:PATH")."""
        self.source_picker.set_spec(spec)

    @Slot()
    def toggle_running(self) -> None:
        """Start the chosen source, or stop the running one."""
        if self.running:
            self.stop()
        else:
            self.start()

    @Slot()
    def start(self) -> None:
        """Start the pipeline on the chosen source; problems are reported in the window."""
        spec = self.source_picker.spec()
        try:
            source = make_source(spec, loop=self.loop_box.isChecked())
            self.pipeline.start(source)
        except (ValueError, PipelineError) as exc:
            self._report(f"Cannot start: {exc}")
            return
        self.histories.clear()
        self.latest = None
        self._drawn = dict.fromkeys(PANEL_GROUPS)
        self.calibration.countdown.setText("not calibrated")  # a new start forgets every baseline
        self.video.show_message(f"Opening {source.name}…")
        self._set_running_ui(True)

    @Slot()
    def stop(self) -> None:
        """Stop the pipeline (this ends a running recording, whose summary is then shown)."""
        self.pipeline.stop()
        self._set_running_ui(False)

    def choose_video_file(self) -> None:
        """Ask for a video file (a user action) and select it as the source."""
        self.source_picker.choose_video_file()

    @Slot(str, dict)
    def apply_smoothing(self, kind: str, params: dict) -> None:
        """Use the chosen smoother for every face from the next frame on."""
        try:
            self.pipeline.set_smoothing(kind, **params)
        except ValueError as exc:
            self._report(f"Smoothing not changed: {exc}")

    @Slot(float)
    def start_calibration(self, seconds: float) -> None:
        """Record the neutral baseline of every face in view for `seconds`."""
        if not self.running:
            self._report("Start a source before calibrating: the baseline is recorded from live frames.")
            return
        self.pipeline.start_baseline(seconds)
        self.calibration.countdown.setText(f"Keep a relaxed, neutral face… {seconds:.0f} s")

    @Slot()
    def clear_calibration(self) -> None:
        """Forget every face's baseline."""
        self.pipeline.clear_baseline()
        self.calibration.countdown.setText("not calibrated")

    @Slot(str, str, str)
    def preload_model(self) -> None:
        """Load the chosen model in the background now, so that it is named before Start and the first
        start is quick (the main window calls this once it is shown)."""
        self.pipeline.preload_model()

    def set_devices(self, devices: tuple[str, ...]) -> None:
        """Offer the devices this machine has; a remembered device it lacks gives way to the CPU."""
        if self.models.set_devices(devices):
            path, runtime, device = self.models.choice()
            self._report(f"No CUDA GPU is visible to torch here: the model runs on the {device}.")
            self.apply_model(path, runtime, device)

    def apply_model(self, path: str, runtime: str, device: str) -> None:
        """Use another model/runtime/device: loaded between two frames (or at the next start)."""
        if path and not Path(path).is_file():
            self._report(f"Model file {path} does not exist; choose a .pt checkpoint or an .onnx export.")
            return
        if path.lower().endswith(".onnx") and runtime != "onnx":
            self._report(f"{Path(path).name} is an ONNX export: choose runtime 'onnx' to use it.")
            return
        self.models.set_choice(path, runtime, device)
        self.pipeline.set_model(path or None, runtime, device)
        if not self.running:
            self.pipeline.preload_model()  # ready (and named in the status bar) before Start
        what = Path(path).name if path else "the default model"
        self._report(f"Model {what} ({runtime}, {device}) will be used from the next frame"
                     if self.running else f"Model {what} ({runtime}, {device}) will be loaded at start")
        self.save_settings()

    @Slot()
    def toggle_recording(self) -> None:
        """Start a recording in the chosen folder, or stop the running one."""
        if self.recording_path:
            self.stop_recording()
        else:
            self.start_recording()

    def start_recording(self, csv_path: str | Path | None = None) -> None:
        """Record to `csv_path` (default: the folder + participant + time); waits for the source to run."""
        participant = self.recording.participant.text().strip()
        save_video = self.recording.save_video.isChecked()
        if csv_path is None:
            folder = Path(self.recording.folder.text().strip() or default_output_folder()).expanduser()
            csv_path = folder / f"{default_session_name(participant)}.csv"
        if self.pipeline.state is not PipelineState.RUNNING:
            if not self.running:
                self._report("Start a source before recording.")
                return
            self._pending_record = str(csv_path)  # recorded once the source runs
            return
        self.recording.record_button.setEnabled(False)
        kind, params = self.smoothing.current()
        settings = {"gui": {"smoothing": kind, "smoothing_params": params,
                            "source": self.source_picker.spec()}}
        self._jobs.append(self.bridge.run_job(
            "start_recording",
            lambda: self.pipeline.start_recording(csv_path, participant=participant, settings=settings,
                                                  save_video=save_video)))

    def stop_recording(self) -> None:
        """End the recording; the summary is shown when the pipeline reports it stopped."""
        self.recording.record_button.setEnabled(False)
        self._jobs.append(self.bridge.run_job("stop_recording", self.pipeline.stop_recording))

    @Slot(str)
    def add_marker(self, text: str = "marker") -> None:
        """Attach a marker to the next processed frame (written to the CSV when recording)."""
        if not self.running:
            self._report("Markers are attached to live frames: start a source first.")
            return
        self.pipeline.add_marker(text)
        self.lsl_link.send_marker(text)
        self._report(f"Marker '{text}' added" + ("" if self.recording_path else " (not recording)"))

    # --------------------------------------------------------------------------- pipeline input

    @Slot(object)
    def on_packet(self, packet: FramePacket) -> None:
        """Store the newest packet and extend the histories; painting happens on the display timer."""
        self.latest = packet
        self.packets_received += 1
        self.histories.add(packet)
        if packet.va_source != self.va_source:
            self.va_source = packet.va_source
            self._update_model_labels()

    @Slot(object)
    def on_event(self, event: PipelineEvent) -> None:
        """Reflect a pipeline event: state changes, errors, model info, baseline and recording notes."""
        self.lsl_link.on_event(event)  # recording start/stop go out as LSL markers
        if event.kind == "state":
            self._on_state(event)
            return
        if event.kind == "info" and "model" in event.detail:
            self.model_name = str(event.detail["model"])
            self.va_source = str(event.detail.get("va_source", self.va_source))
            self.untrained = bool(event.detail.get("untrained", False))
            # the preloaded model comes with the event; at start the worker has set it before this event
            predictor = event.detail.get("predictor") or self.pipeline.predictor
            if predictor is not None:
                self.video.crop_margin = predictor.config.crop_margin  # where its crops come from
                self.provenance = va_provenance(predictor.metadata)
            self._update_model_labels()
        elif event.kind == "recording":
            self._on_recording_event(event)
        elif event.kind == "baseline" and "valence" in event.detail:
            d = event.detail
            self.calibration.countdown.setText(calibrated_text(d["face_id"], d["valence"], d["arousal"]))
        elif event.kind == "baseline" and "cleared" in event.detail:
            self.calibration.countdown.setText(NOT_CALIBRATED_AFTER_SWITCH)
        if event.kind == "error" and self.pipeline.state is PipelineState.FAULTED:
            self.video.show_message(event.message)
        self._report(event.message)

    def _on_state(self, event: PipelineEvent) -> None:
        state = event.state
        if state is PipelineState.RUNNING:
            self._set_running_ui(True)
            if self._pending_record is not None:
                path, self._pending_record = self._pending_record, None
                self.start_recording(path)
        elif state in (PipelineState.STOPPED, PipelineState.FAULTED):
            self._pending_record = None
            self._set_running_ui(False)
            if state is PipelineState.FAULTED:
                self._report(f"Stopped: {self.pipeline.fault or event.message}")

    def _on_recording_event(self, event: PipelineEvent) -> None:
        path = str(event.detail.get("path", ""))
        if "rows" in event.detail:  # the recording ended and its summary was written
            self.recording_path = ""
            self.recording.set_recording(False, f"{path} ({event.detail['rows']} rows, finished)")
            self.recording_changed.emit(False, path)
            self._show_summary_of(Path(path))
        else:
            self.recording_path = path
            self.recording.set_recording(True, path)
            self.recording_changed.emit(True, path)
            self.last_summary = None  # the previous session's summary does not describe this one
            self.summary_view.clear()
            self.summary_view.setPlaceholderText(f"Recording to {Path(path).name}: its summary appears "
                                                 "here when it stops.")
        self.recording.record_button.setEnabled(self.running or bool(self.recording_path))

    @Slot(object)
    def on_job_done(self, result: JobResult) -> None:
        """A control call finished off the GUI thread: report a failure, re-enable its button."""
        self._jobs = [job for job in self._jobs if job.is_alive()]
        self.recording.record_button.setEnabled(self.running or bool(self.recording_path))
        if result.error is not None:
            self._report(f"{result.name.replace('_', ' ').capitalize()} failed: {result.error}")

    def _show_summary_of(self, csv_path: Path) -> None:
        """Show NAME.summary.json (written by the recorder beside the CSV) in the summary panel."""
        summary_path = csv_path.with_name(f"{csv_path.stem}.summary.json")
        try:
            self.last_summary = json.loads(summary_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            self._report(f"The session summary {summary_path} could not be read: {exc}")
            return
        note = "\n\n**V/A derived** from expression probabilities.\n" if self.va_source == "derived" else ""
        self.summary_view.setMarkdown(summary_markdown(self.last_summary) + note
                                      + f"\n\nSaved beside the CSV: `{summary_path}`")
        self.lower_tabs.setCurrentWidget(self.summary_view)

    # ----------------------------------------------------------------------------------- painting

    @Slot()
    def paint(self) -> None:
        """Display-timer tick: draw ONE panel group that does not show the latest packet yet.

        Groups, in priority order: the video (and the status figures), the circumplex, the selected
        face's attention, its details (expressions, timelines <= 10 Hz, calibration countdown). Each tick
        draws at most one, and Qt renders it before the next tick, so the GUI thread never spends a
        whole frame's drawing in one block. A new packet always goes to the video first; when packets
        come faster than the ticks, the lower groups are drawn less often, never the video.
        """
        packet = self.latest
        if packet is None:
            return
        for group in PANEL_GROUPS:
            if self._drawn[group] is not packet or group in self._stale:
                is_new = self._drawn[group] is not packet
                self._drawn[group] = packet
                self._stale.discard(group)
                self._painters[group](packet, is_new)
                return

    def _draw_video(self, packet: FramePacket, is_new: bool) -> None:
        """The frame with boxes and labels; counts displayed frames and refreshes the status figures."""
        self._sync_face_choice(packet)
        self.video.update_from(packet)
        if is_new:
            now = time.perf_counter()
            self._paint_times.append(now)
            self.frames_painted += 1
            if now - self._stats_shown_at >= STATS_INTERVAL_S:  # text changes cost a status-bar relayout
                self._stats_shown_at = now
                self.stats_updated.emit(packet.stats, self.displayed_fps(now))

    def _draw_circumplex(self, packet: FramePacket, is_new: bool) -> None:
        """Every face's current point, trail and baseline."""
        self.circumplex.update_from(packet, self.histories)

    def _selected_face_of(self, packet: FramePacket) -> FaceResult | None:
        return next((f for f in packet.faces if f.face_id == self._selected), None)

    def _draw_attention(self, packet: FramePacket, is_new: bool) -> None:
        """The selected face's four attention maps over its crop and its layer weights."""
        face = self._selected_face_of(packet)
        if face is not None:
            self.attention.update_from(face)
        else:
            self.attention.clear_face()

    def _draw_details(self, packet: FramePacket, is_new: bool) -> None:
        """The selected face's expression bars, timelines (<= 10 Hz) and calibration countdown."""
        face = self._selected_face_of(packet)
        self.expressions.set_probabilities(face.probabilities if face is not None else None)
        now = time.perf_counter()
        if now - self._timelines_at >= TIMELINE_INTERVAL_S or self._timelines_face != self._selected:
            self._timelines_at = now
            self._timelines_face = self._selected
            self.timelines.update_from(self.histories, self._selected)
        self._update_countdown()

    def displayed_fps(self, now: float | None = None) -> float:
        """New packets painted per second over the last RATE_WINDOW_S seconds."""
        now = time.perf_counter() if now is None else now
        recent = [t for t in self._paint_times if now - t <= RATE_WINDOW_S]
        if len(recent) < 2:
            return 0.0
        return (len(recent) - 1) / max(recent[-1] - recent[0], 1e-6)

    @property
    def painted_packet(self) -> FramePacket | None:
        """The packet the video shows now (None before the first paint)."""
        return self._drawn["video"]

    def shown_packets(self) -> dict[str, FramePacket | None]:
        """The packet each panel group (PANEL_GROUPS) shows now."""
        return dict(self._drawn)

    def selected_face(self) -> int | None:
        """The face id whose details are shown (None when no face is in view)."""
        return self._selected

    def _sync_face_choice(self, packet: FramePacket) -> None:
        faces = sorted(packet.faces, key=lambda f: f.face_id)
        ids = [f.face_id for f in faces]
        texts = [f"#{f.face_id} {f.label}".strip() for f in faces]
        shown = [self.face_choice.itemText(i) for i in range(self.face_choice.count())]
        if texts != shown:
            keep = self._selected
            self.face_choice.blockSignals(True)
            self.face_choice.clear()
            for face_id, text in zip(ids, texts, strict=True):
                self.face_choice.addItem(text, face_id)
            self.face_choice.blockSignals(False)
            self._selected = keep if keep in ids else (ids[0] if ids else None)
            if self._selected is not None:
                self.face_choice.setCurrentIndex(ids.index(self._selected))
            self._show_identity()

    def _show_identity(self) -> None:
        """The Faces group shows the chosen face and the session's other ids."""
        others = [i for i in self.histories.face_ids() if i != self._selected]
        label = self.pipeline.names.label(self._selected) if self._selected is not None else ""
        self.faces_box.show_face(self._selected, label, others)

    @Slot(int, str)
    def name_face(self, face_id: int, text: str) -> None:
        """Give face `face_id` a participant label (written to every row from now on)."""
        try:
            label = self.pipeline.names.set_label(face_id, text)
        except ValueError as exc:
            self._report(f"Face #{face_id} keeps its name: {exc}")
            return
        self._report(f"Face #{face_id} is now labelled {label!r}" if label
                     else f"Face #{face_id}'s label removed")

    @Slot(int, int)
    def merge_faces(self, face_id: int, into_id: int) -> None:
        """Report face `face_id` as face `into_id` from now on (the same person)."""
        try:
            self.pipeline.merge_faces(face_id, into_id)
        except (ValueError, TimeoutError) as exc:
            self._report(f"Faces #{face_id} and #{into_id} were not merged: {exc}")
            return
        self._report(f"Face #{face_id} is face #{into_id} from now on (a marker says so in the recording)")

    @Slot(int)
    def _on_face_chosen(self, index: int) -> None:
        data = self.face_choice.itemData(index)
        self._selected = None if data is None else int(data)
        self._stale.update(("video", "attention", "details"))  # show the newly chosen face's panels
        self._show_identity()

    @Slot(bool)
    def _on_overlay_toggled(self, checked: bool) -> None:
        self.video.show_attention = checked
        self._stale.add("video")

    def _update_countdown(self) -> None:
        if self._selected is None:
            return
        status = self.pipeline.baseline_status(self._selected)
        if status.state is BaselineState.RECORDING:
            remaining = (1.0 - status.progress) * self.calibration.seconds.value()
            self.calibration.countdown.setText(f"Keep a relaxed, neutral face… {remaining:.0f} s left "
                                               f"(face #{self._selected})")
        elif status.state is BaselineState.READY:
            text = calibrated_text(self._selected, status.valence, status.arousal)
            self.calibration.countdown.setText(text)

    # ------------------------------------------------------------------------------------ helpers

    def _set_running_ui(self, running: bool) -> None:
        self.start_button.setText("Stop" if running else "Start")
        self.source_picker.setEnabled(not running)
        self.loop_box.setEnabled(not running)
        self.recording.record_button.setEnabled(running or bool(self.recording_path))
        self.calibration.calibrate_button.setEnabled(running)
        self.recording.marker_button.setEnabled(running)
        if self.pipeline.state is PipelineState.STOPPED and self.recording_path:
            self.recording_path = ""
            self.recording.set_recording(False)
            self.recording_changed.emit(False, "")
        self.running_changed.emit(running)

    def _update_model_labels(self) -> None:
        device = f"{self.pipeline.stats.runtime} / {self.pipeline.stats.device}"
        provenance = self.provenance
        about_va = f"\n{provenance.short}: {provenance.detail}" if provenance is not None else ""
        self.models.info.setText(f"In use: {self.model_name or '—'} ({device}){about_va}")
        self.circumplex.set_labels(self.va_source, self.untrained)
        self.timelines.set_labels(self.va_source)
        self.model_changed.emit(self.model_name, device, provenance)

    def _report(self, message: str) -> None:
        self.status_message.emit(message)

    def _report_from_thread(self, message: str) -> None:
        """A notice from a helper thread (the marker inlet), shown through the bridge in the GUI thread."""
        self.bridge.deliver_event(PipelineEvent("warning", message))

    def shutdown(self) -> None:
        """Stop painting, end a recording, stop the pipeline and wait for every thread (on close)."""
        self.display_timer.stop()
        self.save_settings()
        self.pipeline.stop()
        self.lsl.shutdown()
        self.source_picker.shutdown()
        for job in self._jobs:
            job.join(timeout=15.0)
        self._jobs = []


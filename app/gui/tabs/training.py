"""The Training tab: fine-tune the bundled model (or train a new one) on the user's labelled faces.

The form fills a `model.train.TrainOptions`; Start runs `app.core.training_job.training_events` (an
evaluation of the start weights, `model.train.train`, an evaluation of the result) in a `GeneratorJob`.
Cancel sets the run's cancel event: `train` writes a checkpoint of the current weights and ends, and the
tab returns to idle with that checkpoint as its result. The loss of every step and the validation
accuracy / CCC of every epoch are plotted live (plot items created once, refreshed by a timer); the
metric table compares the model before and after on the same validation set. The result can be
copied elsewhere (Save checkpoint), exported to ONNX, or handed to the Live tab (`model_ready`).
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import pyqtgraph as pg
from PySide6.QtCore import QSettings, Qt, QTimer, Signal, Slot
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.core.training_report import (
    METRIC_ROWS,
    EvaluationDone,
    EvaluationStarted,
    RunProgress,
    describe_time_left,
    metric_value,
)
from app.gui.tabs.training_form import MODEL_FILTER, TrainingForm
from app.gui.widgets.palette import FACE_COLORS
from app.gui.widgets.plot_export import install_export_menu
from app.gui.widgets.wheel_guard import guard_wheel
from app.gui.workers.jobs import CANCELLED, FINISHED, GeneratorJob
from model import train as t

PROGRESS_STEPS = 1000  # resolution of the whole-run progress bar
PLOT_INTERVAL_MS = 250  # how often the curves are redrawn while a run goes on
VALIDATION_CURVES = (("accuracy", "accuracy"), ("ccc_v", "CCC valence"), ("ccc_a", "CCC arousal"))


def _cell(value: float | None, integer: bool = False) -> str:
    if value is None or math.isnan(value):
        return "n/a"
    return f"{int(value)}" if integer else f"{value:.3f}"


class TrainingTab(QWidget):
    """Training form, live curves, before/after metrics and the resulting checkpoint's actions."""

    model_ready = Signal(str)  # a checkpoint path for the Live tab
    status_message = Signal(str)  # a non-modal message for the status bar and the log

    def __init__(self, settings: QSettings, parent: QWidget | None = None) -> None:
        """Build the form (restored from `settings`), the plots and the result area."""
        super().__init__(parent)
        self.settings = settings
        self.result_checkpoint: str | None = None  # the run's best (or cancel) checkpoint
        self._latest_checkpoint: str | None = None
        self._metrics: dict[str, dict | None] = {"before": None, "after": None}
        self._loss: dict[int, tuple[list[float], list[float]]] = {1: ([], []), 2: ([], [])}
        self._validation: dict[str, list[float]] = {"epoch": [], **{k: [] for k, _ in VALIDATION_CURVES}}
        self._step_count = 0
        self._plots_dirty = False
        self._progress = RunProgress(t.TrainOptions())

        self.train_job = GeneratorJob("training", self)
        self.train_job.item.connect(self._on_train_item)
        self.train_job.ended.connect(self._on_train_ended)
        self.file_job = GeneratorJob("checkpoint save/export", self)
        self.file_job.item.connect(self._on_file_written)
        self.file_job.ended.connect(self._update_state)
        for job in (self.train_job, self.file_job):
            job.message.connect(self.status_message)
        self._plot_timer = QTimer(self)
        self._plot_timer.setInterval(PLOT_INTERVAL_MS)
        self._plot_timer.timeout.connect(self.refresh_plots)

        self._build()
        self._update_state()

    # ---------------------------------------------------------------------------------------- layout

    def _build_plots(self) -> pg.GraphicsLayoutWidget:
        plots = pg.GraphicsLayoutWidget()
        install_export_menu(plots, "training_curves")  # right-click: save as PNG or SVG
        plots.setBackground("#1e1e1e")
        self.loss_plot = plots.addPlot(row=0, col=0, title="training loss")
        self.loss_plot.setLabel("bottom", "step")
        self.loss_plot.addLegend(offset=(-10, 10))
        self.loss_plot.setDownsampling(auto=True, mode="peak")
        self.loss_plot.setClipToView(True)
        stage_names = {1: "stage 1 (expressions)", 2: "stage 2 (valence/arousal)"}
        self.loss_curves = {stage: self.loss_plot.plot(pen=pg.mkPen(FACE_COLORS[stage - 1], width=1.5),
                                                        name=name) for stage, name in stage_names.items()}
        self.val_plot = plots.addPlot(row=1, col=0, title="validation")
        self.val_plot.setLabel("bottom", "epoch")
        self.val_plot.addLegend(offset=(-10, 10))
        self.val_curves = {
            key: self.val_plot.plot(pen=pg.mkPen(FACE_COLORS[i + 2], width=1.5), symbol="o", symbolSize=6,
                                    symbolBrush=FACE_COLORS[i + 2], name=name, connect="finite")
            for i, (key, name) in enumerate(VALIDATION_CURVES)
        }
        return plots

    def _build_result_area(self) -> QWidget:
        self.metric_table = QTableWidget(len(METRIC_ROWS), 3)
        self.metric_table.setHorizontalHeaderLabels(["before", "after", "change"])
        self.metric_table.setVerticalHeaderLabels([title for title, _ in METRIC_ROWS])
        self.metric_table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.metric_table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.result_label = QLabel("No trained model yet.")
        self.result_label.setWordWrap(True)
        self.result_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.save_button = QPushButton("Save checkpoint…")
        self.save_button.setToolTip("Copy the resulting checkpoint (.pt) to a file of your choice")
        self.save_button.clicked.connect(self.save_checkpoint)
        self.export_button = QPushButton("Export ONNX…")
        self.export_button.setToolTip("Write the result as one ONNX file, checked against torch (parity)")
        self.export_button.clicked.connect(self.export_onnx)
        self.use_button = QPushButton("Use this model in the Live tab")
        self.use_button.setToolTip("Switch the Live tab (and the Images tab's next batch) to this model")
        self.use_button.clicked.connect(self.use_in_live_tab)
        buttons = QHBoxLayout()
        for button in (self.save_button, self.export_button, self.use_button):
            buttons.addWidget(button)
        area = QWidget()
        layout = QVBoxLayout(area)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(QLabel("Validation metrics (the same images before and after)"))
        layout.addWidget(self.metric_table, 1)
        layout.addWidget(self.result_label)
        layout.addLayout(buttons)
        return area

    def _build(self) -> None:
        self.start_button = QPushButton("Start")
        self.start_button.setToolTip("Train with the form's settings; each run writes to a new folder")
        self.start_button.clicked.connect(self.start)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop after the current step; the weights so far are kept")
        self.cancel_button.clicked.connect(self.cancel)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress_label = QLabel("Idle.")
        self.progress_label.setWordWrap(True)
        self.form = TrainingForm(self.settings)
        self.form.start_mode.currentIndexChanged.connect(self._update_state)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.form)
        guard_wheel(scroll)  # scrolling the form never changes a setting under the pointer
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(scroll, 1)
        run_buttons = QHBoxLayout()
        run_buttons.addWidget(self.start_button)
        run_buttons.addWidget(self.cancel_button)
        left_layout.addLayout(run_buttons)
        left_layout.addWidget(self.progress)
        left_layout.addWidget(self.progress_label)
        right = QSplitter(Qt.Orientation.Vertical)
        right.addWidget(self._build_plots())
        right.addWidget(self._build_result_area())
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(left)
        splitter.addWidget(right)
        splitter.setStretchFactor(1, 2)
        layout = QVBoxLayout(self)
        layout.addWidget(splitter)

    @Slot()
    def start(self) -> None:
        """Start a run with the form's options; a form error is reported and nothing starts."""
        if self.train_job.running:
            return
        try:
            options = self.form.options()
        except ValueError as exc:
            self.status_message.emit(f"Cannot start training: {exc}")
            return
        self.form.save_settings()
        self._reset_run()
        self._progress = RunProgress(options)
        evaluate = self.form.evaluate_box.isChecked()
        self.progress.setRange(0, 0)
        self.progress_label.setText(f"Starting; writing to {options.out_dir}")
        from app.core.training_job import training_events  # torch loads with the first run (start-up)

        self.train_job.start(lambda cancel: training_events(options, evaluate, cancel))
        self._plot_timer.start()
        self._update_state()

    @property
    def running(self) -> bool:
        """True while a run (with its evaluations) goes on."""
        return self.train_job.running

    @property
    def steps_done(self) -> int:
        """Optimiser steps of the current (or last) run so far, all stages together."""
        return self._step_count

    @Slot()
    def cancel(self) -> None:
        """Stop the run after the current step (or batch); the weights so far are written."""
        if self.train_job.running:
            self.progress_label.setText("Cancelling after the current step…")
            self.train_job.cancel()

    def _reset_run(self) -> None:
        self.result_checkpoint = self._latest_checkpoint = None
        self._metrics = {"before": None, "after": None}
        for xs, ys in self._loss.values():
            xs.clear()
            ys.clear()
        for values in self._validation.values():
            values.clear()
        self._step_count = 0
        self._plots_dirty = True
        self.refresh_plots()
        for plot in (self.loss_plot, self.val_plot):  # a new run's curves choose their own ranges
            plot.enableAutoRange()
        self._fill_metric_table()
        self.result_label.setText("No trained model yet.")

    @Slot(object)
    def _on_train_item(self, event: object) -> None:
        if isinstance(event, EvaluationStarted):
            what = "start weights" if event.which == "before" else "trained model"
            self.progress.setRange(0, 0)
            self.progress_label.setText(f"Evaluating the {what} on {event.n_images} validation images…")
        elif isinstance(event, EvaluationDone):
            self._metrics[event.which] = event.metrics
            self.metric_table.horizontalHeaderItem(0 if event.which == "before" else 1).setToolTip(
                event.model_name)
            self._fill_metric_table()
        elif isinstance(event, t.RunStarted):
            skipped = {k: v for counts in event.skip_counts.values() for k, v in counts.items() if v}
            self.progress_label.setText(
                f"Training {event.model_name} on {event.device}: {event.n_train} training / {event.n_val} "
                f"validation images ({event.val_source})")
            if skipped:
                self.status_message.emit(f"Training data: rows skipped {skipped}")
        elif isinstance(event, t.StageStarted):
            self._progress.stage_started(event.stage, event.steps_per_epoch)
            self.progress.setRange(0, PROGRESS_STEPS)
            self._show_progress()
        elif isinstance(event, t.StepDone):
            self._on_step(event)
        elif isinstance(event, t.EpochDone):
            self._on_epoch(event)
        elif isinstance(event, t.CheckpointWritten):
            self._latest_checkpoint = event.path
        elif isinstance(event, t.StageDone):
            self._progress.stage_done(event.stage, event.steps)
            self._show_progress()
            self.status_message.emit(f"Stage {event.stage} done ({event.reason}): best "
                                     f"{event.best_criterion:.3f} at epoch {event.best_epoch + 1} -> "
                                     f"{event.best_path}")
        elif isinstance(event, t.RunFinished):
            self.result_checkpoint = event.model_path
        elif isinstance(event, t.Cancelled):
            self.result_checkpoint = event.checkpoint_path or self._latest_checkpoint

    def _on_step(self, event: t.StepDone) -> None:
        self._step_count += 1
        xs, ys = self._loss[event.stage]
        xs.append(float(self._step_count))
        ys.append(float(event.losses.get("total", math.nan)))
        self._plots_dirty = True
        self._progress.step_done(event.stage, event.stage_step, time.monotonic())
        self._show_progress()
        epochs = self._progress.epochs[event.stage]
        self.progress_label.setText(
            f"Stage {event.stage}, epoch {event.epoch + 1} of {epochs}, step {event.step}/"
            f"{event.steps_per_epoch}: loss {ys[-1]:.4f}, {event.images_per_s:.1f} images/s")

    def _show_progress(self) -> None:
        """The whole run's progress bar: share of all stages' steps, with the time left in its text."""
        progress = self._progress
        self.progress.setValue(round(progress.fraction() * PROGRESS_STEPS))
        left = describe_time_left(progress.seconds_left())
        self.progress.setFormat(f"%p% of the run{' · ' + left if left else ''}")

    def _on_epoch(self, event: t.EpochDone) -> None:
        self._validation["epoch"].append(float(len(self._validation["epoch"]) + 1))
        for key, _ in VALIDATION_CURVES:
            self._validation[key].append(float(event.metrics.get(key, math.nan)))
        self._plots_dirty = True
        shown = ", ".join(f"{k} {v:.3f}" for k, v in event.metrics.items())
        self.status_message.emit(f"Stage {event.stage} epoch {event.epoch + 1}: validation {shown}"
                                 + (" (best so far)" if event.is_best else ""))

    @Slot()
    def refresh_plots(self) -> None:
        """Redraw the curves from the collected points (the plot items are updated in place)."""
        if not self._plots_dirty:
            return
        self._plots_dirty = False
        for stage, (xs, ys) in self._loss.items():
            self.loss_curves[stage].setData(xs, ys)
        epochs = self._validation["epoch"]
        for key, _ in VALIDATION_CURVES:
            self.val_curves[key].setData(epochs, self._validation[key])

    def _fill_metric_table(self) -> None:
        before, after = self._metrics["before"], self._metrics["after"]
        for row, (title, path) in enumerate(METRIC_ROWS):
            a, b = metric_value(before, path), metric_value(after, path)
            integer = title == "images"
            change = "" if integer or a is None or b is None else f"{b - a:+.3f}"
            for column, text in enumerate((_cell(a, integer), _cell(b, integer), change)):
                self.metric_table.setItem(row, column, QTableWidgetItem(text if before or after else ""))

    @Slot(str)
    def _on_train_ended(self, outcome: str) -> None:
        self._plot_timer.stop()
        self._plots_dirty = True
        self.refresh_plots()
        self.progress.setRange(0, PROGRESS_STEPS)
        self.progress.setValue(PROGRESS_STEPS if outcome == FINISHED else round(
            self._progress.fraction() * PROGRESS_STEPS))
        self.progress.setFormat("%p% of the run")
        if self.result_checkpoint:
            self.result_label.setText(f"Result: {self.result_checkpoint}")
        if outcome == FINISHED and self.result_checkpoint:
            self.progress_label.setText("Finished.")
            self.status_message.emit(f"Training finished; best model {self.result_checkpoint}")
        elif outcome == CANCELLED:
            kept = (f"the weights so far are in {self.result_checkpoint}" if self.result_checkpoint
                    else "no checkpoint was written yet")
            self.progress_label.setText(f"Cancelled; {kept}.")
            self.status_message.emit(f"Training cancelled; {kept}")
        else:
            self.progress_label.setText("Stopped by an error (see the log).")
        self._update_state()

    # ---------------------------------------------------------------------------------------- result

    @Slot()
    def save_checkpoint(self) -> None:
        """Ask where to copy the resulting checkpoint (a user action) and copy it."""
        if self.result_checkpoint:
            path, _ = QFileDialog.getSaveFileName(self, "Save checkpoint", str(Path.home() / "model.pt"),
                                                  MODEL_FILTER)
            if path:
                self.save_checkpoint_to(path)

    def save_checkpoint_to(self, path: str | Path) -> None:
        """Copy the resulting checkpoint to `path` in a worker; the outcome is reported."""
        source = self.result_checkpoint
        if self._can_write_result(source):
            from app.core.training_job import copy_checkpoint

            self.file_job.start(lambda cancel: copy_checkpoint(Path(source), Path(path), cancel))
            self._update_state()

    @Slot()
    def export_onnx(self) -> None:
        """Ask where to write the ONNX file (a user action) and export the resulting checkpoint."""
        if self.result_checkpoint:
            path, _ = QFileDialog.getSaveFileName(self, "Export ONNX", str(Path.home() / "model.onnx"),
                                                  "ONNX (*.onnx)")
            if path:
                self.export_onnx_to(path)

    def export_onnx_to(self, path: str | Path) -> None:
        """Export the resulting checkpoint to one ONNX file at `path` in a worker (parity checked)."""
        source = self.result_checkpoint
        if self._can_write_result(source):
            from app.core.training_job import export_checkpoint

            self.file_job.start(lambda cancel: export_checkpoint(Path(source), Path(path), cancel))
            self._update_state()

    def _can_write_result(self, source: str | None) -> bool:
        if not source:
            self.status_message.emit("No trained model yet: run a training first")
            return False
        if self.file_job.running:
            self.status_message.emit("A checkpoint is being written; try again when it is done")
            return False
        return True

    @Slot(object)
    def _on_file_written(self, result: object) -> None:
        if isinstance(result, Path):  # copy_checkpoint's result; export_checkpoint yields an ExportReport
            self.status_message.emit(f"Saved the checkpoint to {result}")
        else:
            verdict = "parity PASS" if result.passed else "parity FAIL: do not use this file"
            self.status_message.emit(f"Exported ONNX to {result.path} (max difference to torch "
                                     f"{result.max_abs_diff:.1e}, {verdict})")

    @Slot()
    def use_in_live_tab(self) -> None:
        """Hand the resulting checkpoint to the Live tab (`model_ready`)."""
        if not self.result_checkpoint:
            self.status_message.emit("No trained model yet: run a training first")
            return
        self.model_ready.emit(self.result_checkpoint)
        self.status_message.emit(f"The Live tab now uses {self.result_checkpoint}")

    # ----------------------------------------------------------------------------------------- state

    @Slot()
    def _update_state(self) -> None:
        running = self.train_job.running
        self.form.setEnabled(not running)
        self.form.update_state()
        self.start_button.setEnabled(not running)
        self.cancel_button.setEnabled(running)
        has_result = bool(self.result_checkpoint) and not running
        for button in (self.save_button, self.export_button, self.use_button):
            button.setEnabled(has_result and not self.file_job.running)

    def shutdown(self, timeout_s: float = 60.0) -> None:
        """Cancel the run (its checkpoint is written) and wait up to `timeout_s` for every job to end."""
        self._plot_timer.stop()
        for job in (self.train_job, self.file_job):
            if not job.shutdown(timeout_s):
                self.status_message.emit(f"The {job.name} did not stop within {timeout_s:.0f} s")

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
import os
import time
from collections.abc import Callable
from pathlib import Path

import pyqtgraph as pg
from PySide6.QtCore import QSettings, Qt, QTimer, Signal, Slot
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.core.model_store import resolve_model_path
from app.core.training_job import (
    METRIC_ROWS,
    EvaluationDone,
    EvaluationStarted,
    copy_checkpoint,
    export_checkpoint,
    metric_value,
    training_events,
)
from app.gui import settings as keys
from app.gui.widgets.palette import FACE_COLORS
from app.gui.widgets.wheel_guard import guard_wheel
from app.gui.workers.jobs import CANCELLED, FINISHED, GeneratorJob
from model import train as t
from model.backbones import BACKBONES, shipped_weights
from model.config import LR_AUTO_HELP, ModelConfig
from model.data import DATASET_FORMATS
from model.export import ExportReport
from model.runtimes import available_devices

START_DEFAULT, START_CHECKPOINT, START_NEW = "default", "checkpoint", "new"
START_CHOICES = (
    (START_DEFAULT, "Bundled default model"),
    (START_CHECKPOINT, "Checkpoint file"),
    (START_NEW, "New model"),
)
PLOT_INTERVAL_MS = 250  # how often the curves are redrawn while a run goes on
VALIDATION_CURVES = (("accuracy", "accuracy"), ("ccc_v", "CCC valence"), ("ccc_a", "CCC arousal"))
KEY = "training/"  # prefix of this tab's settings
MODEL_FILTER = "AffectScope checkpoints (*.pt);;All files (*)"


def default_runs_folder() -> Path:
    """Where runs go unless the user picks a folder: ~/AffectScope/training."""
    return Path.home() / "AffectScope" / "training"


def fresh_run_folder(parent: Path) -> Path:
    """A not yet existing `parent/run-YYYYmmdd-HHMMSS[-n]` (train refuses a folder holding a run)."""
    base = parent / time.strftime("run-%Y%m%d-%H%M%S")
    folder, n = base, 1
    while folder.exists():
        folder, n = Path(f"{base}-{n}"), n + 1
    return folder


def _cell(value: float | None, integer: bool = False) -> str:
    if value is None or math.isnan(value):
        return "n/a"
    return f"{int(value)}" if integer else f"{value:.3f}"


# The "pretrained start" checkbox's text for each kind of shipped weights (None: none ship).
WEIGHTS_LABELS = {
    "imagenet": "Start the backbone from ImageNet weights",
    "faceapi": "Start the backbone from face-api's face-trained weights",
    None: "No offline pretrained weights for this backbone: random start",
}


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
        self._restore()
        self._update_state()

    # ---------------------------------------------------------------------------------------- layout

    def _browse_row(self, edit: QLineEdit, *buttons: tuple[str, Callable[[], None]]) -> QWidget:
        row = QWidget()
        layout = QHBoxLayout(row)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(edit, 1)
        for text, slot in buttons:
            button = QPushButton(text)
            button.clicked.connect(slot)
            layout.addWidget(button)
        return row

    def _build_data_group(self) -> QGroupBox:
        self.data_path = QLineEdit()
        self.data_path.setPlaceholderText("AffectNet folder, a CSV file, or class folders")
        self.data_format = QComboBox()
        self.data_format.addItems(DATASET_FORMATS)
        self.data_format.setToolTip("affectnet: AffectNet CSV layout; csv: generic CSV; folder: one folder "
                                    "per expression class (docs/DATA.md)")
        self.val_source = QComboBox()
        self.val_source.addItems(t.VAL_SOURCE_CHOICES)
        self.val_source.setToolTip("validation: select models on the data's own validation split (the "
                                   "default when the dataset has one); holdout: on a seeded share of the "
                                   "training rows (the paper's AffectNet protocol, which keeps the "
                                   "validation split as the test set)")
        self.val_fraction = QDoubleSpinBox(decimals=2, minimum=0.01, maximum=0.9, singleStep=0.05,
                                           value=t.TrainOptions().val_fraction)
        group = QGroupBox("Data")
        form = QFormLayout(group)
        form.addRow("Dataset", self._browse_row(self.data_path, ("Folder…", self.choose_data_folder),
                                                ("CSV…", self.choose_data_csv)))
        form.addRow("Format", self.data_format)
        form.addRow("Validation", self.val_source)
        form.addRow("Hold-out share", self.val_fraction)
        self.data_path.textChanged.connect(self._choose_validation_default)
        self.data_format.currentTextChanged.connect(self._choose_validation_default)
        self.val_source.currentTextChanged.connect(
            lambda source: self.val_fraction.setEnabled(source == "holdout"))
        return group

    @Slot()
    def _choose_validation_default(self) -> None:
        """A dataset with its own validation split (validation.csv, validation/) validates on it by
        default; others hold out a share of training (a new dataset or format resets the choice)."""
        text = self.data_path.text().strip()
        official = bool(text) and t.has_validation_split(Path(text).expanduser(),
                                                          self.data_format.currentText())
        self.val_source.setCurrentText("validation" if official else "holdout")

    def _build_model_group(self) -> QGroupBox:
        self.start_mode = QComboBox()
        for value, text in START_CHOICES:
            self.start_mode.addItem(text, value)
        self.start_mode.currentIndexChanged.connect(self._update_state)
        self.checkpoint_path = QLineEdit()
        self.checkpoint_path.setPlaceholderText("a .pt checkpoint to fine-tune")
        self.backbone = QComboBox()
        self.backbone.addItems(sorted(BACKBONES))
        self.backbone.currentIndexChanged.connect(self._update_state)
        self.input_size = QSpinBox(minimum=64, maximum=512, singleStep=16, value=ModelConfig().input_size)
        self.input_size.setToolTip("Face crop side in pixels (a multiple of 16; 112, 160 and 224 are tested)")
        self.imagenet = QCheckBox(WEIGHTS_LABELS["imagenet"])
        self.imagenet.setChecked(True)
        self.default_note = QLabel("")
        self.default_note.setWordWrap(True)
        group = QGroupBox("Start from")
        self._model_form = form = QFormLayout(group)
        form.addRow("Model", self.start_mode)
        form.addRow("", self.default_note)
        self.checkpoint_row = self._browse_row(self.checkpoint_path, ("Browse…", self.choose_checkpoint))
        form.addRow("Checkpoint", self.checkpoint_row)
        form.addRow("Backbone", self.backbone)
        form.addRow("Input size", self.input_size)
        form.addRow("", self.imagenet)
        return group

    def _build_recipe_group(self) -> QGroupBox:
        self.stages = QComboBox()
        self.stages.addItems(t.STAGE_CHOICES)
        self.stages.setCurrentText("1+2")
        self.stages.setToolTip("1: expressions; 2: valence/arousal; 1+2: stage 2 starts from stage 1's best")
        recipe = t.TrainOptions()  # the core's defaults seed the form
        self.epochs1 = QSpinBox(minimum=1, maximum=1000, value=recipe.epochs[0])
        self.epochs2 = QSpinBox(minimum=1, maximum=1000, value=recipe.epochs[1])
        self.max_steps = QSpinBox(minimum=0, maximum=10_000_000, value=0)
        self.max_steps.setSpecialValueText("no limit")
        self.max_steps.setToolTip("Stop each stage after this many steps (for quick trials)")
        self.lr = QDoubleSpinBox(decimals=6, minimum=0.0, maximum=1.0, singleStep=1e-5, value=0.0)
        self.lr.setSpecialValueText("auto")  # 0 = None: the core picks by the starting point
        self.lr.setToolTip(f"Learning rate; {LR_AUTO_HELP}")
        self.batch_size = QSpinBox(minimum=1, maximum=4096, value=recipe.batch_size)
        self.device = QComboBox()
        self.device.addItems(available_devices())
        self.workers = QSpinBox(minimum=0, maximum=64, value=min(recipe.workers, os.cpu_count() or 1))
        self.workers.setToolTip("Data-loading processes (0: load in the training thread)")
        self.runs_folder = QLineEdit(str(default_runs_folder()))
        self.runs_folder.setToolTip("Each run writes its checkpoints to a new run-DATE-TIME folder here")
        self.evaluate_box = QCheckBox("Evaluate before and after")
        self.evaluate_box.setChecked(True)
        epochs = QWidget()
        row = QHBoxLayout(epochs)
        row.setContentsMargins(0, 0, 0, 0)
        for label, spin in (("stage 1", self.epochs1), ("stage 2", self.epochs2)):
            row.addWidget(QLabel(label))
            row.addWidget(spin)
        group = QGroupBox("Recipe")
        form = QFormLayout(group)
        form.addRow("Stages", self.stages)
        form.addRow("Epochs", epochs)
        form.addRow("Steps per stage", self.max_steps)
        form.addRow("Learning rate", self.lr)
        form.addRow("Batch size", self.batch_size)
        form.addRow("Device", self.device)
        form.addRow("Loader processes", self.workers)
        form.addRow("Runs folder", self._browse_row(self.runs_folder, ("Browse…", self.choose_runs_folder)))
        form.addRow("", self.evaluate_box)
        return group

    def _build_plots(self) -> pg.GraphicsLayoutWidget:
        plots = pg.GraphicsLayoutWidget()
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
        self.save_button.clicked.connect(self.save_checkpoint)
        self.export_button = QPushButton("Export ONNX…")
        self.export_button.clicked.connect(self.export_onnx)
        self.use_button = QPushButton("Use this model in the Live tab")
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
        self.start_button.clicked.connect(self.start)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop after the current step; the weights so far are kept")
        self.cancel_button.clicked.connect(self.cancel)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress_label = QLabel("Idle.")
        self.progress_label.setWordWrap(True)
        self.form = QWidget()
        form_layout = QVBoxLayout(self.form)
        for group in (self._build_data_group(), self._build_model_group(), self._build_recipe_group()):
            form_layout.addWidget(group)
        form_layout.addStretch(1)
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

    # -------------------------------------------------------------------------------------- settings

    def _restore(self) -> None:
        s = self.settings
        self.data_path.setText(keys.value_str(s, KEY + "data"))
        self.data_format.setCurrentText(keys.value_str(s, KEY + "format", "affectnet"))
        mode = keys.value_str(s, KEY + "start", START_DEFAULT)
        self.start_mode.setCurrentIndex(max(0, self.start_mode.findData(mode)))
        self.checkpoint_path.setText(keys.value_str(s, KEY + "checkpoint"))
        self.backbone.setCurrentText(keys.value_str(s, KEY + "backbone", ModelConfig().backbone))
        self.input_size.setValue(int(keys.value_float(s, KEY + "input_size", ModelConfig().input_size)))
        self.runs_folder.setText(keys.value_str(s, KEY + "runs_folder", str(default_runs_folder())))

    def _save_settings(self) -> None:
        s = self.settings
        s.setValue(KEY + "data", self.data_path.text().strip())
        s.setValue(KEY + "format", self.data_format.currentText())
        s.setValue(KEY + "start", self.start_mode.currentData())
        s.setValue(KEY + "checkpoint", self.checkpoint_path.text().strip())
        s.setValue(KEY + "backbone", self.backbone.currentText())
        s.setValue(KEY + "input_size", self.input_size.value())
        s.setValue(KEY + "runs_folder", self.runs_folder.text().strip())

    # ----------------------------------------------------------------------------------- file choice

    @Slot()
    def choose_data_folder(self) -> None:
        """Ask for the dataset folder (a user action)."""
        folder = QFileDialog.getExistingDirectory(self, "Dataset folder", self.data_path.text())
        if folder:
            self.data_path.setText(folder)

    @Slot()
    def choose_data_csv(self) -> None:
        """Ask for the dataset CSV file (a user action)."""
        path, _ = QFileDialog.getOpenFileName(self, "Dataset CSV", self.data_path.text(),
                                              "CSV (*.csv);;All files (*)")
        if path:
            self.data_path.setText(path)

    @Slot()
    def choose_checkpoint(self) -> None:
        """Ask for the checkpoint to fine-tune (a user action)."""
        path, _ = QFileDialog.getOpenFileName(self, "Start checkpoint", self.checkpoint_path.text(),
                                              MODEL_FILTER)
        if path:
            self.checkpoint_path.setText(path)

    @Slot()
    def choose_runs_folder(self) -> None:
        """Ask for the folder the runs are written to (a user action)."""
        folder = QFileDialog.getExistingDirectory(self, "Runs folder", self.runs_folder.text())
        if folder:
            self.runs_folder.setText(folder)

    # ------------------------------------------------------------------------------------------ runs

    def _new_model_config(self) -> ModelConfig:
        backbone = self.backbone.currentText()
        weights = shipped_weights(backbone) if self.imagenet.isChecked() else None
        return ModelConfig(backbone=backbone, input_size=self.input_size.value(), backbone_weights=weights)

    def _start_model(self) -> tuple[Path | None, ModelConfig | None]:
        """(start checkpoint, new model config) as the form says; ValueError when unusable."""
        mode = self.start_mode.currentData()
        if mode == START_CHECKPOINT:
            text = self.checkpoint_path.text().strip()
            if not text:
                raise ValueError("choose the checkpoint to start from, or another start model")
            return Path(text).expanduser(), None
        if mode == START_NEW:
            return None, self._new_model_config()
        bundled = resolve_model_path(None)
        return (bundled, None) if bundled is not None else (None, ModelConfig(
            backbone_weights=shipped_weights(ModelConfig().backbone)))

    def options(self) -> t.TrainOptions:
        """The run the form describes (in a fresh run folder); ValueError naming what to fix."""
        data = self.data_path.text().strip()
        if not data:
            raise ValueError("choose a dataset folder or CSV file first")
        start, config = self._start_model()
        runs = Path(self.runs_folder.text().strip() or default_runs_folder()).expanduser()
        options = t.TrainOptions(
            data=data, format=self.data_format.currentText(), val_source=self.val_source.currentText(),
            val_fraction=self.val_fraction.value(), start_checkpoint=start, model_config=config,
            stages=self.stages.currentText(), epochs=(self.epochs1.value(), self.epochs2.value()),
            lr=self.lr.value() or None, batch_size=self.batch_size.value(), device=self.device.currentText(),
            workers=self.workers.value(), out_dir=fresh_run_folder(runs),
            max_steps=self.max_steps.value() or None,
        )
        options.validate()
        return options

    @Slot()
    def start(self) -> None:
        """Start a run with the form's options; a form error is reported and nothing starts."""
        if self.train_job.running:
            return
        try:
            options = self.options()
        except ValueError as exc:
            self.status_message.emit(f"Cannot start training: {exc}")
            return
        self._save_settings()
        self._reset_run()
        evaluate = self.evaluate_box.isChecked()
        self.progress.setRange(0, 0)
        self.progress_label.setText(f"Starting; writing to {options.out_dir}")
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
            self.progress.setRange(0, max(1, event.steps_per_epoch))
            self.progress.setValue(0)
        elif isinstance(event, t.StepDone):
            self._on_step(event)
        elif isinstance(event, t.EpochDone):
            self._on_epoch(event)
        elif isinstance(event, t.CheckpointWritten):
            self._latest_checkpoint = event.path
        elif isinstance(event, t.StageDone):
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
        self.progress.setValue(event.step)
        self.progress_label.setText(
            f"Stage {event.stage}, epoch {event.epoch + 1}, step {event.step}/{event.steps_per_epoch}: "
            f"loss {ys[-1]:.4f}, {event.images_per_s:.1f} images/s")

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
        self.progress.setRange(0, 1)
        self.progress.setValue(1 if outcome == FINISHED else 0)
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
        if isinstance(result, ExportReport):
            verdict = "parity PASS" if result.passed else "parity FAIL: do not use this file"
            self.status_message.emit(f"Exported ONNX to {result.path} (max difference to torch "
                                     f"{result.max_abs_diff:.1e}, {verdict})")
        else:
            self.status_message.emit(f"Saved the checkpoint to {result}")

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
        mode = self.start_mode.currentData()
        self.form.setEnabled(not running)
        self._model_form.setRowVisible(self.checkpoint_row, mode == START_CHECKPOINT)
        for widget in (self.backbone, self.input_size, self.imagenet):
            widget.setEnabled(mode == START_NEW)
        shipped = shipped_weights(self.backbone.currentText())
        self.imagenet.setEnabled(mode == START_NEW and shipped is not None)
        self.imagenet.setText(WEIGHTS_LABELS[shipped])
        bundled = resolve_model_path(None)
        self._model_form.setRowVisible(self.default_note, mode == START_DEFAULT)
        self.default_note.setText(f"Fine-tunes {bundled}" if bundled is not None else
                                  "No trained default model ships yet: a new model of the default "
                                  "architecture is trained.")
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

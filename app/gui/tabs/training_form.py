"""The Training tab's form: the data, the start model and the recipe of a run, as a `TrainOptions`.

Every field starts from the core's defaults (`model.train.TrainOptions`, `model.config.ModelConfig`); the
data, start model and runs folder are remembered between sessions.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QSettings, Slot
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
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.core.model_paths import resolve_model_path
from app.gui import settings as keys
from app.gui.workers.device_check import offer_devices
from model import train as t
from model.config import BACKBONE_NAMES, DATASET_FORMATS, LR_AUTO_HELP, ModelConfig, shipped_weights
from model.data.layout import has_validation_split
from model.runtimes import DEFAULT_DEVICE
from model.train.options import TrainOptions

START_DEFAULT, START_CHECKPOINT, START_NEW = "default", "checkpoint", "new"
START_CHOICES = (
    (START_DEFAULT, "Bundled default model"),
    (START_CHECKPOINT, "Checkpoint file"),
    (START_NEW, "New model"),
)
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


# The "pretrained start" checkbox's text for each kind of shipped weights (None: none ship).
WEIGHTS_LABELS = {
    "imagenet": "Start the backbone from ImageNet weights",
    "faceapi": "Start the backbone from face-api's face-trained weights",
    None: "No offline pretrained weights for this backbone: random start",
}


class TrainingForm(QWidget):
    """The three groups of a run's settings; `options()` is the run they describe."""

    def __init__(self, settings: QSettings, parent: QWidget | None = None) -> None:
        """Build the groups and fill them from `settings`."""
        super().__init__(parent)
        self.settings = settings
        layout = QVBoxLayout(self)
        for group in (self._build_data_group(), self._build_model_group(), self._build_recipe_group()):
            layout.addWidget(group)
        layout.addStretch(1)
        self.restore()
        self.update_state()

    def _browse_row(self, edit: QLineEdit, *buttons: tuple[str, Callable[[], None], str]) -> QWidget:
        row = QWidget()
        layout = QHBoxLayout(row)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(edit, 1)
        for text, slot, tooltip in buttons:
            button = QPushButton(text)
            button.setToolTip(tooltip)
            button.clicked.connect(slot)
            layout.addWidget(button)
        return row

    def _build_data_group(self) -> QGroupBox:
        self.data_path = QLineEdit()
        self.data_path.setToolTip("An AffectNet folder (training.csv, validation.csv), a CSV with "
                                  "image paths and "
                                  "labels, or one folder per class (docs/DATA.md)")
        self.data_path.setPlaceholderText("AffectNet folder, a CSV file, or class folders")
        self.data_format = QComboBox()
        self.data_format.setToolTip("affectnet: AffectNet's CSV layout; csv: a generic CSV (path, "
                                    "expression, "
                                    "valence, arousal); folder: one sub-folder per class")
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
                                           value=TrainOptions().val_fraction)
        self.val_fraction.setToolTip("Share of the training rows held out to pick the best epoch (holdout)")
        group = QGroupBox("Data")
        form = QFormLayout(group)
        form.addRow("Dataset", self._browse_row(
            self.data_path, ("Folder…", self.choose_data_folder, "Choose a dataset folder"),
            ("CSV…", self.choose_data_csv, "Choose a dataset CSV file")))
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
        official = bool(text) and has_validation_split(Path(text).expanduser(),
                                                          self.data_format.currentText())
        self.val_source.setCurrentText("validation" if official else "holdout")

    def _build_model_group(self) -> QGroupBox:
        self.start_mode = QComboBox()
        self.start_mode.setToolTip("Fine-tune the bundled model, fine-tune another checkpoint, or "
                                   "train a new "
                                   "model with the backbone chosen below")
        for value, text in START_CHOICES:
            self.start_mode.addItem(text, value)
        self.start_mode.currentIndexChanged.connect(self.update_state)
        self.checkpoint_path = QLineEdit()
        self.checkpoint_path.setToolTip("The .pt checkpoint to fine-tune (any AffectScope checkpoint)")
        self.checkpoint_path.setPlaceholderText("a .pt checkpoint to fine-tune")
        self.backbone = QComboBox()
        self.backbone.setToolTip("The CNN whose four stages feed the attention layers of a new model")
        self.backbone.addItems(BACKBONE_NAMES)
        self.backbone.currentIndexChanged.connect(self.update_state)
        self.input_size = QSpinBox(minimum=64, maximum=512, singleStep=16, value=ModelConfig().input_size)
        self.input_size.setToolTip("Face crop side in pixels (a multiple of 16; 112, 160 and 224 are tested)")
        self.imagenet = QCheckBox(WEIGHTS_LABELS["imagenet"])
        self.imagenet.setChecked(True)
        self.imagenet.setToolTip("A new model's backbone starts from the pretrained weights that ship with "
                                 "the app for it (faster, better results); unticked: random weights")
        self.default_note = QLabel("")
        self.default_note.setWordWrap(True)
        group = QGroupBox("Start from")
        self._model_form = form = QFormLayout(group)
        form.addRow("Model", self.start_mode)
        form.addRow("", self.default_note)
        self.checkpoint_row = self._browse_row(
            self.checkpoint_path, ("Browse…", self.choose_checkpoint, "Choose the checkpoint to fine-tune"))
        form.addRow("Checkpoint", self.checkpoint_row)
        form.addRow("Backbone", self.backbone)
        form.addRow("Input size", self.input_size)
        form.addRow("", self.imagenet)
        return group

    def _build_recipe_group(self) -> QGroupBox:
        self.stages = QComboBox()
        self.stages.addItems(t.STAGE_CHOICES)
        self.stages.setCurrentText(TrainOptions().stages)
        self.stages.setToolTip("1: expressions; 2: valence/arousal; 1+2: stage 2 starts from stage 1's best")
        recipe = TrainOptions()  # the core's defaults seed the form
        self.epochs1 = QSpinBox(minimum=1, maximum=1000, value=recipe.epochs[0])
        self.epochs1.setToolTip("Epochs of stage 1 (expressions)")
        self.epochs2 = QSpinBox(minimum=1, maximum=1000, value=recipe.epochs[1])
        self.epochs2.setToolTip("Epochs of stage 2 (valence/arousal)")
        self.max_steps = QSpinBox(minimum=0, maximum=10_000_000, value=0)
        self.max_steps.setSpecialValueText("no limit")
        self.max_steps.setToolTip("Stop each stage after this many steps (for quick trials)")
        self.lr = QDoubleSpinBox(decimals=6, minimum=0.0, maximum=1.0, singleStep=1e-5, value=0.0)
        self.lr.setSpecialValueText("auto")  # 0 = None: the core picks by the starting point
        self.lr.setToolTip(f"Learning rate; {LR_AUTO_HELP}")
        self.batch_size = QSpinBox(minimum=1, maximum=4096, value=recipe.batch_size)
        self.batch_size.setToolTip("Images per optimiser step; lower it when memory runs short")
        self.device = QComboBox()
        self.device.setToolTip("Where to train: cpu, or cuda (an NVIDIA GPU) when this torch sees one")
        self.device.addItem(DEFAULT_DEVICE)  # the others once the device check has answered
        self.workers = QSpinBox(minimum=0, maximum=64, value=min(recipe.workers, os.cpu_count() or 1))
        self.workers.setToolTip("Data-loading processes (0: load in the training thread)")
        self.runs_folder = QLineEdit(str(default_runs_folder()))
        self.runs_folder.setToolTip("Each run writes its checkpoints to a new run-DATE-TIME folder here")
        self.evaluate_box = QCheckBox("Evaluate before and after")
        self.evaluate_box.setToolTip("Measure the start weights and the result on the same validation images "
                                     "(the table on the right)")
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
        form.addRow("Runs folder", self._browse_row(
            self.runs_folder, ("Browse…", self.choose_runs_folder, "Choose where the runs are written")))
        form.addRow("", self.evaluate_box)
        return group

    # -------------------------------------------------------------------------------------- settings

    def set_devices(self, devices: tuple[str, ...]) -> None:
        """Offer the training devices this machine has (`model.runtimes.available_devices`)."""
        offer_devices(self.device, devices)

    def restore(self) -> None:
        """Fill the form from the remembered settings (the core's defaults where none are)."""
        s = self.settings
        self.data_path.setText(keys.value_str(s, KEY + "data"))
        self.data_format.setCurrentText(keys.value_str(s, KEY + "format", TrainOptions().format))
        mode = keys.value_str(s, KEY + "start", START_DEFAULT)
        self.start_mode.setCurrentIndex(max(0, self.start_mode.findData(mode)))
        self.checkpoint_path.setText(keys.value_str(s, KEY + "checkpoint"))
        self.backbone.setCurrentText(keys.value_str(s, KEY + "backbone", ModelConfig().backbone))
        self.input_size.setValue(int(keys.value_float(s, KEY + "input_size", ModelConfig().input_size)))
        self.runs_folder.setText(keys.value_str(s, KEY + "runs_folder", str(default_runs_folder())))

    def save_settings(self) -> None:
        """Remember the form's choices for the next session."""
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

    def options(self) -> TrainOptions:
        """The run the form describes (in a fresh run folder); ValueError naming what to fix."""
        data = self.data_path.text().strip()
        if not data:
            raise ValueError("choose a dataset folder or CSV file first")
        start, config = self._start_model()
        runs = Path(self.runs_folder.text().strip() or default_runs_folder()).expanduser()
        options = TrainOptions(
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
    def update_state(self) -> None:
        """Show and enable the rows that fit the chosen start model."""
        mode = self.start_mode.currentData()
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

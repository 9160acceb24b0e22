"""The Training tab: a short run on synthetic faces that completes (curves, before/after table, results)
and one that is cancelled (idle again, a valid checkpoint left); form errors are reported, not raised."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch

from app.core.training_report import METRIC_ROWS
from app.gui.tabs.training import TrainingTab
from app.gui.tabs.training_form import START_CHECKPOINT, START_NEW
from model.checkpoint import load_checkpoint
from model.data.synthetic_dataset import generate_dataset

RUN_TIMEOUT_MS = 120_000
N_IMAGES = 24  # 18 training / 6 validation images with the 0.25 hold-out below


@pytest.fixture(autouse=True)
def one_torch_thread():
    """Train with one torch thread: on the shared 2-core test machine two OpenMP threads made a step of
    this tiny model ~7x slower (measured 5 s against 0.7 s); the behaviour tested does not depend on it."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def synthetic_faces(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """24 synthetic 64 px faces with expression and V/A labels, in the AffectNet layout."""
    folder = tmp_path_factory.mktemp("synthetic")
    generate_dataset(folder, N_IMAGES, seed=0, size=64)
    return folder


def make_tab(qtbot, settings, data: Path, runs: Path) -> tuple[TrainingTab, list[str]]:
    """A Training tab set up for a tiny run: batch 4, 1 epoch per stage, no loader processes."""
    tab = TrainingTab(settings)
    qtbot.addWidget(tab)
    messages: list[str] = []
    tab.status_message.connect(messages.append)
    tab.form.data_path.setText(str(data))
    tab.form.data_format.setCurrentText("affectnet")
    tab.form.val_fraction.setValue(0.25)
    tab.form.batch_size.setValue(4)
    tab.form.epochs1.setValue(1)
    tab.form.epochs2.setValue(1)
    tab.form.workers.setValue(0)
    tab.form.device.setCurrentText("cpu")
    tab.form.runs_folder.setText(str(runs))
    return tab, messages


def table_text(tab: TrainingTab, title: str, column: int) -> str:
    """The metric table's text in row `title`, column 0 (before), 1 (after) or 2 (change)."""
    row = [t for t, _ in METRIC_ROWS].index(title)
    return tab.metric_table.item(row, column).text()


def test_short_run_shows_curves_metrics_and_hands_over_the_model(qtbot, gui_settings, synthetic_faces,
                                                                 tmp_path):
    tab, messages = make_tab(qtbot, gui_settings, synthetic_faces, tmp_path / "runs")
    tab.form.start_mode.setCurrentIndex(tab.form.start_mode.findData(START_NEW))
    tab.form.backbone.setCurrentText("resnet18")
    tab.form.input_size.setValue(64)
    tab.form.max_steps.setValue(2)
    ready: list[str] = []
    tab.model_ready.connect(ready.append)
    bar: list[int] = []
    tab.progress.valueChanged.connect(bar.append)
    with qtbot.waitSignal(tab.train_job.ended, timeout=RUN_TIMEOUT_MS) as ended:
        tab.start()
        assert tab.running and not tab.start_button.isEnabled() and not tab.form.isEnabled()
    assert ended.args == ["finished"], messages
    # one bar for the whole run (2 stages x 2 steps): a quarter per step, never back, full at the end
    steps = [v for v in bar if v > 0]
    assert steps == sorted(steps) and steps[0] == 250 and 500 in steps and steps[-1] == 1000
    assert "of the run" in tab.progress.format()

    # curves: 2 steps per stage, one validation point per epoch (stage 1, then stage 2)
    for stage in (1, 2):
        x, y = tab.loss_curves[stage].getData()
        assert len(x) == 2 and np.all(np.isfinite(y))
    assert list(tab.loss_curves[2].getData()[0]) == [3.0, 4.0]
    epochs, accuracy = tab.val_curves["accuracy"].getData()
    assert list(epochs) == [1.0, 2.0] and np.all((accuracy >= 0) & (accuracy <= 1))
    _, ccc_v = tab.val_curves["ccc_v"].getData()
    assert len(ccc_v) == 2 and math.isfinite(ccc_v[-1])

    # the headline figures are the table's first rows (in view without scrolling)
    assert [tab.metric_table.verticalHeaderItem(r).text() for r in range(2)] == ["accuracy", "macro-F1"]
    # before/after on the same 6 validation images
    assert table_text(tab, "images", 0) == table_text(tab, "images", 1) == "6"
    for title in ("accuracy", "CCC valence", "RMSE arousal"):
        before, after = float(table_text(tab, title, 0)), float(table_text(tab, title, 1))
        assert float(table_text(tab, title, 2)) == pytest.approx(after - before, abs=2e-3)

    # the result: a loadable checkpoint in the run folder, saved, exported and handed to the Live tab
    result = Path(tab.result_checkpoint)
    assert result.parent.parent == tmp_path / "runs" and result.name == "stage2_best.pt"
    assert load_checkpoint(result).config.input_size == 64
    assert tab.save_button.isEnabled() and tab.use_button.isEnabled() and tab.start_button.isEnabled()
    tab.use_in_live_tab()
    assert ready == [str(result)]
    copy = tmp_path / "kept" / "model.pt"
    copy.parent.mkdir()
    with qtbot.waitSignal(tab.file_job.ended, timeout=RUN_TIMEOUT_MS) as saved:
        tab.save_checkpoint_to(copy)
    assert saved.args == ["finished"] and copy.read_bytes() == result.read_bytes()
    onnx_path = tmp_path / "kept" / "model.onnx"
    with qtbot.waitSignal(tab.file_job.ended, timeout=RUN_TIMEOUT_MS) as exported:
        tab.export_onnx_to(onnx_path)
    assert exported.args == ["finished"] and onnx_path.stat().st_size > 0
    assert any("parity PASS" in m for m in messages)

    # a second run starts from fresh axes, however the user zoomed the last one
    tab.loss_plot.setXRange(100, 200)
    assert not tab.loss_plot.getViewBox().autoRangeEnabled()[0]
    tab.form.evaluate_box.setChecked(False)
    with qtbot.waitSignal(tab.train_job.ended, timeout=RUN_TIMEOUT_MS):
        tab.start()
    view = tab.loss_plot.getViewBox()
    assert all(view.autoRangeEnabled())
    view.updateAutoRange()  # what the next paint does (the tab is not on screen here)
    assert view.viewRange()[0][1] < 100  # the new run's 4 steps, not the zoomed 100-200


def test_cancel_returns_to_idle_with_a_valid_checkpoint(qtbot, gui_settings, synthetic_faces, tiny_models,
                                                         tmp_path):
    tab, messages = make_tab(qtbot, gui_settings, synthetic_faces, tmp_path / "runs")
    tab.form.start_mode.setCurrentIndex(tab.form.start_mode.findData(START_CHECKPOINT))
    tab.form.checkpoint_path.setText(str(tiny_models["a"]))
    tab.form.epochs1.setValue(5)
    tab.form.evaluate_box.setChecked(False)
    tab.start()
    qtbot.waitUntil(lambda: tab.steps_done >= 1, timeout=RUN_TIMEOUT_MS)
    with qtbot.waitSignal(tab.train_job.ended, timeout=RUN_TIMEOUT_MS) as ended:
        tab.cancel()
    assert ended.args == ["cancelled"]
    assert tab.steps_done < 5 * 4  # stopped well before the 5 epochs of 4 steps
    assert not tab.running and tab.start_button.isEnabled() and not tab.cancel_button.isEnabled()
    assert tab.form.isEnabled() and tab.use_button.isEnabled()
    kept = load_checkpoint(tab.result_checkpoint)
    assert kept.config.input_size == 64
    assert any("Training cancelled" in m and tab.result_checkpoint in m for m in messages)
    assert table_text(tab, "accuracy", 0) == ""  # no evaluation was asked for


def test_form_errors_are_reported_without_starting(qtbot, gui_settings, tmp_path):
    tab, messages = make_tab(qtbot, gui_settings, tmp_path / "no_such_data", tmp_path / "runs")
    tab.start()
    assert not tab.running
    assert messages and "Cannot start training" in messages[-1] and "no_such_data" in messages[-1]
    tab.form.data_path.setText("")
    tab.start()
    assert "choose a dataset" in messages[-1]
    tab.use_in_live_tab()
    assert "No trained model yet" in messages[-1]


def test_new_model_starts_from_the_weights_its_backbone_ships(qtbot, gui_settings, tmp_path):
    tab, _ = make_tab(qtbot, gui_settings, tmp_path / "data", tmp_path / "runs")
    tab.form.start_mode.setCurrentIndex(tab.form.start_mode.findData(START_NEW))
    expected = {
        "efficientnet_lite0": ("imagenet", "ImageNet"),
        "faceapi_features": ("faceapi", "face-api"),
        "resnet18": (None, "random start"),
    }
    for backbone, (weights, label) in expected.items():
        tab.form.backbone.setCurrentText(backbone)
        assert label in tab.form.imagenet.text() and tab.form.imagenet.isEnabled() == (weights is not None)
        assert tab.form._start_model()[1].backbone_weights == weights


def test_the_form_starts_from_the_cores_recipe_and_a_new_model_gets_its_learning_rate(qtbot, gui_settings,
                                                                                       tmp_path):
    from model.config import FINE_TUNE_LR, NEW_MODEL_LR
    from model.train import TrainOptions
    from model.train.run import _Run

    tab = TrainingTab(gui_settings)
    qtbot.addWidget(tab)
    core = TrainOptions()
    assert (tab.form.epochs1.value(), tab.form.epochs2.value()) == core.epochs
    assert tab.form.batch_size.value() == core.batch_size and tab.form.lr.text() == "auto"
    (tmp_path / "data").mkdir()
    tab.form.data_path.setText(str(tmp_path / "data"))
    tab.form.runs_folder.setText(str(tmp_path / "runs"))
    tab.form.start_mode.setCurrentIndex(tab.form.start_mode.findData(START_NEW))
    options = tab.form.options()
    assert options.lr is None and options.epochs == core.epochs  # the core picks the rate

    class Starting:  # the two starting points of _Run.learning_rates
        def __init__(self, fine_tuning: bool) -> None:
            self.options, self.fine_tuning = options, fine_tuning

    assert _Run.learning_rates(Starting(False)) == (NEW_MODEL_LR, NEW_MODEL_LR)  # new model: 1e-3
    assert _Run.learning_rates(Starting(True))[1] == FINE_TUNE_LR
    tab.form.lr.setValue(5e-4)
    assert tab.form.options().lr == 5e-4  # a rate the user typed is used as typed


def test_a_dataset_with_its_own_validation_split_validates_on_it_by_default(qtbot, gui_settings, tmp_path):
    tab = TrainingTab(gui_settings)
    qtbot.addWidget(tab)
    official, plain = tmp_path / "affectnet", tmp_path / "plain"
    official.mkdir()
    plain.mkdir()
    (official / "training.csv").write_text("")
    (official / "validation.csv").write_text("")
    (plain / "training.csv").write_text("")
    tab.form.data_format.setCurrentText("affectnet")
    tab.form.data_path.setText(str(official))
    assert tab.form.val_source.currentText() == "validation" and not tab.form.val_fraction.isEnabled()
    assert tab.form.options().val_source == "validation"
    tab.form.data_path.setText(str(plain))
    assert tab.form.val_source.currentText() == "holdout" and tab.form.val_fraction.isEnabled()

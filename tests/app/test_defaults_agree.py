"""Every setting a user can change has one default: the command line, the GUI and the core agree.

And no choice list or default tuple is retyped: a literal list of names written in two modules is how
the old defaults drifted apart (epochs 2,4 in the core and 8,12 in the Training tab).
"""

from __future__ import annotations

import ast
import dataclasses
from collections import defaultdict
from pathlib import Path

import pytest

from app.cli import build_parser
from app.core.baseline import NeutralBaselines
from app.core.detection import LIVE_MAX_FACES, MIN_CONFIDENCE, FaceDetector
from app.core.pipeline import PipelineSettings
from app.core.settings import (
    LIVE_DETECTOR,
    SMOOTHER_KINDS,
    BaselineSettings,
    DetectionSettings,
    LslSettings,
    ModelSettings,
    SmoothingSettings,
)
from app.core.smoothing import FaceSmoothers
from model.config import DATASET_FORMATS, RNN_CELLS, SPLITS
from model.distill.options import DistillOptions
from model.evaluate_options import EvaluateOptions
from model.runtimes import DEFAULT_DEVICE, DEFAULT_RUNTIME, DEVICES, RUNTIMES
from model.train.options import CLASS_BALANCE_CHOICES, STAGE_CHOICES, VAL_SOURCE_CHOICES, TrainOptions

ROOT = Path(__file__).resolve().parents[2]


def parse(*argv: str):
    return build_parser().parse_args(list(argv))


def action(command: str, flag: str):
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command").choices[command]
    return next(a for a in sub._actions if flag in a.option_strings)


def test_train_with_no_options_is_the_cores_recipe():
    from app.commands.train import _options

    args = parse("train", "--data", "some/folder")
    built, core = _options(args), TrainOptions(data="some/folder")
    for f in dataclasses.fields(TrainOptions):
        if f.name not in ("start_checkpoint", "model_config"):  # the CLI resolves the default model
            assert getattr(built, f.name) == getattr(core, f.name), f.name
    assert action("train", "--format").choices == DATASET_FORMATS
    assert action("train", "--stages").choices == STAGE_CHOICES
    assert action("train", "--val-source").choices == VAL_SOURCE_CHOICES
    assert action("train", "--class-balance").choices == CLASS_BALANCE_CHOICES
    assert action("train", "--device").choices == DEVICES and action("train", "--rnn").choices == RNN_CELLS
    assert f"default {core.epochs[0]},{core.epochs[1]}" in action("train", "--epochs").help
    assert f"default {core.batch_size}" in action("train", "--batch-size").help


def test_evaluate_and_distill_with_no_options_are_their_cores_defaults():
    from app.commands.distill import _options as distill_options

    args = parse("evaluate", "--data", "d", "--report", "r.json")
    d = EvaluateOptions()
    assert (args.format, args.split, args.batch_size, args.device, args.workers) == (
        d.format, d.split, d.batch_size, d.device, d.workers)
    assert action("evaluate", "--split").choices == SPLITS
    assert distill_options(parse("distill")) == DistillOptions()


@pytest.mark.parametrize("command", ["analyze", "stream"])
def test_analysis_and_streaming_commands_use_the_core_settings(command):
    argv = [command, "x.jpg", "--out", "o.csv"] if command == "analyze" else [command, "--source", "demo"]
    args = parse(*argv)
    assert (args.runtime, args.device) == (DEFAULT_RUNTIME, DEFAULT_DEVICE) == (
        ModelSettings().runtime, ModelSettings().device)
    assert action(command, "--runtime").choices == RUNTIMES and action(command, "--device").choices == DEVICES
    if command == "analyze":
        d = DetectionSettings()
        assert (args.detector, args.min_confidence, args.max_faces) == (d.detector, d.min_confidence,
                                                                        d.max_faces)
    else:
        lsl = LslSettings()
        assert (args.lsl_name, args.lsl_slots) == (lsl.stream_name, lsl.face_slots)


def test_the_live_core_reads_the_same_defaults():
    p = PipelineSettings()
    live = (LIVE_DETECTOR, MIN_CONFIDENCE, LIVE_MAX_FACES)
    assert (p.detector_model, p.min_confidence, p.max_faces) == live
    assert LIVE_MAX_FACES >= 8 and DetectionSettings().min_confidence == MIN_CONFIDENCE
    assert FaceSmoothers().kind == SmoothingSettings().kind
    assert NeutralBaselines().duration_s == BaselineSettings().seconds
    defaults = {p.name: p.default for p in __import__("inspect").signature(FaceDetector).parameters.values()}
    assert (defaults["min_confidence"], defaults["max_faces"]) == (MIN_CONFIDENCE, LIVE_MAX_FACES)
    plan = p.plan()  # the live default finds faces near and far: the same sweep as a video file's frames
    assert plan == DetectionSettings().plan(still=False) and plan.min_face_px > 0 and plan.full_in_sweep


def test_the_gui_forms_start_from_the_core_defaults(qtbot, tmp_path):
    from app.gui.main_window import MainWindow
    from app.gui.settings import open_settings

    window = MainWindow(open_settings(tmp_path / "fresh.ini"))  # a user who never changed anything
    qtbot.addWidget(window)
    live, training = window.live_tab, window.training_tab
    smooth, panel = SmoothingSettings(), live.smoothing
    assert panel.current() == (smooth.kind, {})
    assert (panel.alpha.value(), panel.min_cutoff.value(), panel.beta.value(), panel.d_cutoff.value()) == (
        smooth.alpha, smooth.min_cutoff, smooth.beta, smooth.d_cutoff)
    assert [panel.kind.itemData(i) for i in range(panel.kind.count())] == list(SMOOTHER_KINDS)
    assert live.calibration.seconds.value() == BaselineSettings().seconds
    model = ModelSettings()
    assert live.models.choice() == (model.path, model.runtime, model.device)
    lsl = LslSettings()
    assert (live.lsl.name.text(), live.lsl.slots.value(), live.lsl_link.enabled) == (
        lsl.stream_name, lsl.face_slots, lsl.enabled)
    training.form.data_path.setText(str(tmp_path))
    built, core = training.form.options(), TrainOptions(data=str(tmp_path))
    for name in ("format", "val_source", "val_fraction", "stages", "epochs", "lr", "batch_size", "device"):
        assert getattr(built, name) == getattr(core, name), name
    window.close_without_asking()


def _literal_lists() -> dict[tuple, list[str]]:
    """Every literal tuple/list of two or more strings in the app and model sources, by value."""
    found: dict[tuple, list[str]] = defaultdict(list)
    for path in sorted([*ROOT.glob("app/**/*.py"), *ROOT.glob("model/**/*.py")]):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Tuple | ast.List) and len(node.elts) >= 2 and all(
                    isinstance(e, ast.Constant) and isinstance(e.value, str) for e in node.elts):
                found[tuple(e.value for e in node.elts)].append(f"{path.relative_to(ROOT)}:{node.lineno}")
    return found


def test_no_choice_list_is_written_twice():
    twice = {value: places for value, places in _literal_lists().items() if len(places) > 1}
    assert not twice, f"write these once and import them: {twice}"

"""`python main.py train` and `python main.py evaluate` end to end on a tiny synthetic dataset."""

from __future__ import annotations

import csv
import json

import cv2
import numpy as np
import pytest
import torch

from app.cli import main
from app.core import model_paths
from model.calibration import TEMPERATURE_KEY, apply_temperature
from model.checkpoint import load_checkpoint
from model.data.synthetic_dataset import generate_dataset
from model.predictor import load_predictor


@pytest.fixture(autouse=True)
def one_torch_thread():
    """One intra-op thread: several processes share this 2-core machine, and two threads each thrash."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def faces(tmp_path_factory):
    """20 training and 8 validation synthetic faces at 64 px in the AffectNet layout."""
    root = tmp_path_factory.mktemp("synth")
    generate_dataset(root, 20, seed=3, split="training", size=64)
    generate_dataset(root, 8, seed=3, split="validation", size=64)
    return root


NEW_MODEL = ["--backbone", "mobilenetv3_large_100", "--input-size", "64", "--backbone-weights", "none"]


def test_train_then_evaluate_from_the_command_line(faces, tmp_path, capsys):
    out = tmp_path / "run"
    code = main(
        [
            "train",
            "--data",
            str(faces),
            *NEW_MODEL,
            "--epochs",
            "1",
            "--batch-size",
            "4",
            "--max-steps",
            "1",
            "--workers",
            "0",
            "--out",
            str(out),
            "--name",
            "cli tiny",
        ]
    )
    printed = capsys.readouterr()
    assert code == 0, printed.err
    assert "18 training / 2 validation images (holdout)" in printed.out
    assert "stage 1 done (max_steps)" in printed.out and "stage 2 done (max_steps)" in printed.out
    assert f"model: {out / 'stage2_best.pt'}" in printed.out
    trained = load_checkpoint(out / "stage2_best.pt")
    assert trained.metadata["name"] == "cli tiny" and trained.config.input_size == 64

    report = tmp_path / "eval" / "report.json"
    predictions = tmp_path / "eval" / "pred.csv"
    code = main(
        [
            "evaluate",
            "--model",
            str(out / "stage2_best.pt"),
            "--data",
            str(faces),
            "--report",
            str(report),
            "--predictions",
            str(predictions),
            "--batch-size",
            "3",
        ]
    )
    printed = capsys.readouterr()
    assert code == 0, printed.err
    loaded = json.loads(report.read_text())
    assert loaded["model"]["name"] == "cli tiny" and loaded["data"]["split"] == "validation"
    assert loaded["n_images"] == loaded["n_valence_arousal"] == loaded["n_expression"] == 8
    assert report.with_suffix(".md").is_file()
    with open(predictions, newline="") as fh:
        assert len(list(csv.DictReader(fh))) == 8
    assert "ccc_v" in printed.out
    calibration = loaded["expression"]["calibration"]  # the expression probabilities' calibration
    assert calibration["n"] == 8 and 0.0 <= calibration["ece"] <= 1.0 and calibration["temperature"] > 0
    diagram = report.with_name("report_reliability.png")
    assert f"reliability diagram {diagram}" in printed.out
    image = cv2.imread(str(diagram))
    assert image is not None and image.shape == (520, 520, 3)
    assert "Calibration: expected calibration error" in report.with_suffix(".md").read_text()

    # the fitted temperature goes into a copy of the checkpoint, and the app's Predictor applies it
    calibrated = tmp_path / "calibrated.pt"
    args = ["evaluate", "--model", str(out / "stage2_best.pt"), "--data", str(faces), "--report",
            str(tmp_path / "eval2" / "report.json"), "--save-calibrated", str(calibrated)]
    assert main(args) == 0
    temperature = load_checkpoint(calibrated).metadata[TEMPERATURE_KEY]
    assert temperature == pytest.approx(calibration["temperature"], rel=1e-9)
    assert f"expression temperature {temperature:.3f}" in capsys.readouterr().out
    plain, fitted = load_predictor(out / "stage2_best.pt"), load_predictor(calibrated)
    assert plain.temperature == 1.0 and fitted.temperature == pytest.approx(temperature)
    crops = [np.full((64, 64, 3), 90 + 40 * k, np.uint8) for k in range(3)]
    expected = apply_temperature(np.log(plain.predict(crops).probabilities.astype(np.float64)), temperature)
    np.testing.assert_allclose(fitted.predict(crops).probabilities, expected, atol=1e-5)  # float32 softmax


def test_train_resume_and_ablation_flags(faces, tmp_path, capsys):
    out = tmp_path / "run"
    args = [
        "train",
        "--data",
        str(faces),
        *NEW_MODEL,
        "--stages",
        "1",
        "--epochs",
        "2",
        "--batch-size",
        "4",
        "--max-steps",
        "1",
        "--workers",
        "0",
        "--out",
        str(out),
        "--last-stage-only",
        "--rnn",
        "lstm",
    ]
    assert main(args) == 0
    config = load_checkpoint(out / "stage1_best.pt").config
    assert (config.bi_rnn, config.rnn_type) == (False, "lstm")
    assert main(args) == 2 and "--resume" in capsys.readouterr().err
    assert main([*args, "--resume"]) == 2 and "already finished" in capsys.readouterr().err


def test_evaluate_runs_the_untrained_model_when_asked_by_name(faces, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(model_paths, "DEFAULT_MODEL_PATH", tmp_path / "no-starter.pt")
    report = tmp_path / "report.json"
    args = ["evaluate", "--data", str(faces), "--report", str(report), "--batch-size", "8"]
    assert main(args) == 2 and "default model is missing" in capsys.readouterr().err
    assert main([*args, "--model", "untrained"]) == 0
    assert "untrained" in capsys.readouterr().out
    assert json.loads(report.read_text())["model"]["untrained"] is True


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["train", "--data", "/no/such/dir"], "does not exist"),
        (["train", "--data", "{faces}", "--model", "/no/such.pt"], "does not exist"),
        (["train", "--data", "{faces}", "--model", "x.pt", "--backbone", "resnet18"], "one or the other"),
        (["train", "--data", "{faces}", *NEW_MODEL, "--batch-size", "0"], "batch_size must be > 0"),
        (["train", "--data", "{faces}", *NEW_MODEL, "--time-budget-min", "0"], "must be > 0"),
        (
            ["train", "--data", "{faces}", "--backbone", "resnet18", "--backbone-weights", "faceapi"],
            "--backbone-weights faceapi needs --backbone faceapi_features",
        ),
        (["evaluate", "--data", "{faces}", "--model", "/no/such.pt", "--report", "r.json"], "does not exist"),
        (["evaluate", "--data", "/no/such/dir", "--report", "r.json"], "does not exist"),
    ],
)
def test_bad_arguments_exit_2_with_a_message(faces, argv, message, capsys):
    assert main([a.replace("{faces}", str(faces)) for a in argv]) == 2
    assert message in capsys.readouterr().err


def test_bad_epochs_value_is_a_usage_error(capsys):
    with pytest.raises(SystemExit):
        main(["train", "--data", "x", "--epochs", "2,0"])
    assert "--epochs takes N or N1,N2" in capsys.readouterr().err

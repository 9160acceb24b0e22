"""`python main.py export`: writes the ONNX file, prints parity, exit codes for success and failure."""

from __future__ import annotations

import json
from pathlib import Path

import onnx
import pytest

from app.cli import main
from app.core import model_paths
from model import export
from model.checkpoint import save_checkpoint
from model.config import ModelConfig
from model.network import build_model


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    path = tmp_path_factory.mktemp("cli") / "small.pt"
    model = build_model(ModelConfig(backbone="resnet18", input_size=64))
    return save_checkpoint(path, model, {"name": "cli model", "va_source": "derived"})


def test_export_without_model_uses_the_default_model(checkpoint, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(model_paths, "DEFAULT_MODEL_PATH", checkpoint)
    out = tmp_path / "exported" / "model.onnx"
    assert main(["export", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "cli model" in printed and "batch 1" in printed and "batch 3" in printed and "PASS" in printed
    props = {p.key: p.value for p in onnx.load(str(out)).metadata_props}
    assert json.loads(props["checkpoint_metadata"])["name"] == "cli model"
    assert json.loads(props["model_config"])["input_size"] == 64
    assert [p.name for p in out.parent.iterdir()] == ["model.onnx"]


def test_parity_failure_exits_non_zero(checkpoint, tmp_path, monkeypatch, capsys):
    def bad_export(model, out_path, metadata=None, opset=export.DEFAULT_OPSET):
        Path(out_path).write_bytes(b"onnx")
        diffs = {name: 0.5 for name in export.OUTPUT_NAMES}
        return export.ExportReport(Path(out_path), opset, 4, {1: diffs, 3: diffs})

    monkeypatch.setattr(export, "export_onnx", bad_export)
    assert (
        main(["export", "--model", str(checkpoint), "--out", str(tmp_path / "m.onnx"), "--opset", "18"]) == 1
    )
    captured = capsys.readouterr()
    assert "FAIL" in captured.out and "opset 18" in captured.out
    assert "differs from torch by 5.00e-01" in captured.err


@pytest.mark.parametrize("name", ["missing.pt", "model.onnx"])
def test_unusable_model_argument_exits_2_naming_the_file(tmp_path, capsys, name):
    given = tmp_path / name
    if name.endswith(".onnx"):
        given.write_bytes(b"x")
    assert main(["export", "--model", str(given), "--out", str(tmp_path / "out.onnx")]) == 2
    assert str(given) in capsys.readouterr().err
    assert not (tmp_path / "out.onnx").exists()


def test_out_is_required(capsys):
    with pytest.raises(SystemExit):
        main(["export"])
    assert "--out" in capsys.readouterr().err

"""`python main.py attention`: the per-stage table and JSON, and clear refusals."""

from __future__ import annotations

import json

from app.cli import main
from model.checkpoint import save_checkpoint
from model.config import ModelConfig
from model.network import build_model


def test_attention_prints_every_stage_and_writes_json(tmp_path, capsys):
    model = build_model(ModelConfig(backbone="resnet18", backbone_weights=None, input_size=64))
    checkpoint = save_checkpoint(tmp_path / "m.pt", model, {"name": "attention test", "va_source": "derived"})
    out = tmp_path / "attention.json"

    code = main(["attention", "--model", str(checkpoint), "--n", "5", "--size", "64", "--json", str(out)])

    printed = capsys.readouterr().out
    assert code == 0
    assert "attention test" in printed and "| 2 | 8x8 |" in printed and "| 3 | 4x4 |" in printed
    stages = json.loads(out.read_text())["stages"]
    assert [s["stage"] for s in stages] == [0, 1, 2, 3] and all(s["pooled_ratio"] > 0 for s in stages)


def test_attention_refuses_a_bad_count_and_a_missing_model(tmp_path, capsys):
    assert main(["attention", "--n", "0"]) == 2
    assert "--n >= 1" in capsys.readouterr().err
    assert main(["attention", "--model", str(tmp_path / "missing.pt")]) == 2
    assert "missing.pt" in capsys.readouterr().err

"""`python main.py bench --model-only --quick`: the table, the JSON file and the headline ratios."""

from __future__ import annotations

import json

import pytest
import torch

from app.cli import main


@pytest.fixture
def restore_threads():
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


def test_quick_model_bench_writes_table_and_json(tmp_path, capsys, restore_threads):
    out = tmp_path / "bench" / "model.json"
    args = ["bench", "--model-only", "--quick", "--repeats", "1", "--threads", "1", "--json", str(out)]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "2Att-2Mt efficientnet_lite0" in printed and "efficientnet_b0 (reference)" in printed
    assert "default / reference" in printed
    report = json.loads(out.read_text())
    machine = report["machine"]
    assert machine["cpu_count"] >= 1 and machine["onnxruntime"]
    assert machine["torch_threads"] == machine["onnxruntime_threads"] == 1
    cases = {
        (r["model"], r["backbone"], r["input_size"], r["batch"], r["runtime"]) for r in report["results"]
    }
    assert cases == {
        ("efficientnet_b0 (reference)", "efficientnet_b0", 224, 1, "torch"),
        ("efficientnet_b0 (reference)", "efficientnet_b0", 224, 1, "onnx"),
        *{("2att2mt", "efficientnet_lite0", 112, b, rt) for b in (1, 8) for rt in ("torch", "onnx")},
    }
    for r in report["results"]:
        assert 0 < r["median_ms_per_face"] <= r["p95_ms_per_face"]
        assert r["median_ms_per_batch"] == pytest.approx(r["median_ms_per_face"] * r["batch"])
    h = report["headline"]
    for rt in ("torch", "onnx"):
        assert h["default_vs_reference"][rt] == pytest.approx(
            h["default"]["ms_per_face"][rt] / h["reference"]["ms_per_face"][rt]
        )
    assert h["onnx_speedup_default"] == pytest.approx(
        h["default"]["ms_per_face"]["torch"] / h["default"]["ms_per_face"]["onnx"]
    )
    assert isinstance(h["goals"]["onnx_speedup_met"], bool)


def test_bench_needs_a_mode(capsys):
    with pytest.raises(SystemExit):
        main(["bench"])
    assert "--model-only" in capsys.readouterr().err


def test_bad_counts_exit_2(capsys, restore_threads):
    assert main(["bench", "--model-only", "--repeats", "0"]) == 2
    assert main(["bench", "--model-only", "--threads", "0"]) == 2
    assert "must be >= 1" in capsys.readouterr().err


def test_quick_training_bench_reports_both_stages(tmp_path, capsys, restore_threads):
    out = tmp_path / "training.json"
    args = ["bench", "--training", "--quick", "--threads", "1", "--workers", "0", "--json", str(out)]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "training throughput: efficientnet_lite0 64 px, batch 8, cpu, 1 torch threads" in printed
    report = json.loads(out.read_text())
    assert [r["stage"] for r in report["stages"]] == [1, 2]
    for r in report["stages"]:
        assert r["steps_timed"] == 2 and r["images_per_s"] == pytest.approx(8 / r["seconds_per_step"])

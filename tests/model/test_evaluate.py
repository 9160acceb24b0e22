"""The evaluation report: metrics that can be recomputed from the predictions file, and its layout."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
import torch

from model import metrics
from model.config import CLASS_NAMES
from model.evaluate import PAPER_ROW, REFERENCE_ROWS, evaluate, write_predictions, write_report
from model.network import build_model
from tests.model.test_train import TINY_CONFIG, TinyFaces, one_torch_thread  # noqa: F401 (autouse fixture)


@pytest.fixture(scope="module")
def result():
    """A fresh tiny model evaluated on 12 images, 3 without V/A and 2 without an expression label."""
    data = TinyFaces(12, seed=2)
    data.va[[1, 5, 9]] = np.nan
    data.expression[[0, 7]] = -1
    torch.manual_seed(0)
    model = build_model(TINY_CONFIG)
    return evaluate(
        model,
        data,
        batch_size=5,
        model_info={"name": "tiny"},
        data_info={"path": "mem", "split": "validation"},
    )


def test_report_metrics_recomputed_from_the_predictions_file(result, tmp_path):
    path = write_predictions(result.predictions, tmp_path / "pred.csv")
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 12 and rows[0]["path"] == "face000.png"  # one row per image, in dataset order
    report = result.report
    with_va = [r for r in rows if r["valence_true"] != ""]
    y = np.array([[float(r["valence_true"]), float(r["arousal_true"])] for r in with_va])
    p = np.array([[float(r["valence_pred"]), float(r["arousal_pred"])] for r in with_va])
    recomputed = metrics.regression_report(y, p)
    assert report["n_valence_arousal"] == len(with_va) == 9
    for dim in ("valence", "arousal"):
        for name in ("ccc", "pcc", "rmse", "mse", "sagr"):
            assert report["valence_arousal"][dim][name] == pytest.approx(recomputed[dim][name], abs=1e-7)

    labelled = [r for r in rows if r["expression_true"] != ""]
    true = [CLASS_NAMES.index(r["expression_true"]) for r in labelled]
    pred = [CLASS_NAMES.index(r["expression_pred"]) for r in labelled]
    assert report["n_expression"] == len(labelled) == 10
    assert report["expression"]["accuracy"] == pytest.approx(metrics.accuracy(true, pred))
    assert report["expression"]["macro_f1"] == pytest.approx(metrics.macro_f1(true, pred))
    assert report["expression"]["confusion_matrix"] == metrics.confusion_matrix(true, pred).tolist()
    probs = np.array([[float(r[f"p_{c}"]) for c in CLASS_NAMES] for r in rows])
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-4)
    assert [CLASS_NAMES[k] for k in probs.argmax(axis=1)] == [r["expression_pred"] for r in rows]


def test_report_files_json_and_markdown_with_reference_rows(result, tmp_path):
    json_path, md_path = write_report(result.report, tmp_path / "out" / "report.json")
    assert md_path == tmp_path / "out" / "report.md"
    loaded = json.loads(json_path.read_text())
    assert loaded["data"]["skip_counts"] == {"missing_image": 2}
    assert loaded["reference"]["paper"]["ccc_v"] is None
    assert set(loaded["summary"]) >= {"ccc_v", "ccc_a", "rmse_v", "rmse_a", "accuracy", "macro_f1"}
    text = md_path.read_text()
    va_table = text.split("## Valence and arousal")[1].split("## Expressions")[0]
    measured = next(line for line in va_table.splitlines() if line.startswith("| **tiny**"))
    assert f"{loaded['valence_arousal']['valence']['ccc']:.3f}" in measured
    paper = next(line for line in va_table.splitlines() if PAPER_ROW["system"] in line)
    assert paper.count("n/a") == 4
    for row in REFERENCE_ROWS:
        assert row["system"] in va_table and f"{row['ccc_v']:.3f}" in va_table
    assert "missing_image 2" in text
    assert "| true \\ pred |" in text  # the confusion matrix

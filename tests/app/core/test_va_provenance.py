"""The V/A provenance line: what a model's valence/arousal were learnt from, from its checkpoint."""

from __future__ import annotations

from app.core.model_store import open_predictor
from app.core.va_provenance import FEW_VA_ROWS, va_provenance
from model.config import ModelConfig
from model.train import TrainOptions
from model.train.state import checkpoint_metadata


def _fine_tuned(va_rows: int) -> dict:
    """The metadata `model.train` writes for a stage-2 checkpoint trained on `va_rows` V/A rows."""
    options = TrainOptions(data="lab/affectnet", stages="1+2")
    counts = {"training_rows": va_rows + 3, "expression_rows": va_rows + 3, "va_rows": va_rows}
    return checkpoint_metadata(options, {"name": "starter"}, ModelConfig(), 1, 2, 3,
                               {"ccc_v": 0.412, "ccc_a": 0.305, "accuracy": 0.5}, counts)


def test_a_short_fine_tune_says_how_little_it_learnt_from():
    line = va_provenance(_fine_tuned(55))
    assert line.short == "V/A trained on 55 rows" and line.caution
    assert "55 rows with V/A labels of lab/affectnet" in line.detail and "stage 2, epoch 4" in line.detail
    assert "CCC valence 0.41, arousal 0.30" in line.detail and "indicative" in line.detail


def test_a_large_training_set_carries_no_caution():
    line = va_provenance(_fine_tuned(FEW_VA_ROWS * 300))
    assert not line.caution and "indicative" not in line.detail


def test_the_shipped_model_says_its_va_are_derived():
    line = va_provenance(open_predictor(None, "torch", "cpu").metadata)
    assert line.short == "V/A derived" and line.caution and "not trained on V/A labels" in line.detail


def test_untrained_and_unrecorded_models():
    assert va_provenance({"untrained": True, "va_source": "derived"}).short == "untrained model"
    unknown = va_provenance({"untrained": False, "va_source": "measured", "training": {}})
    assert unknown.short == "V/A trained (no record)" and not unknown.caution

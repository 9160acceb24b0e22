"""The heteroscedastic V/A head: its loss, its outputs through checkpoint, ONNX and Predictor, the figures
that judge it, and that it learns a larger SD where the labels are noisier."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy.stats import spearmanr
from torch.utils.data import Dataset

from model.checkpoint import load_checkpoint, save_checkpoint
from model.config import ModelConfig
from model.export import OUTPUT_NAMES, UNCERTAINTY_OUTPUT, export_onnx
from model.losses import va_nll_loss
from model.network import VA_STD_FLOOR, build_model
from model.predictor import load_predictor
from model.uncertainty import risk_at_coverage, spearman, uncertainty_report

SIZE = 64
META = {"name": "uncertainty test model", "va_source": "measured", "untrained": True}


@pytest.fixture(autouse=True)
def one_torch_thread():
    """One intra-op thread: the 2-core machine is shared with other test processes."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


# --- the figures ---------------------------------------------------------------------------------------


def test_spearman_matches_scipy_with_ties_and_is_nan_when_undefined():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 6, 200).astype(float)  # many ties
    y = x + rng.normal(0, 2, 200)
    assert spearman(x, y) == pytest.approx(spearmanr(x, y).statistic, abs=1e-12)
    assert math.isnan(spearman(np.ones(5), np.arange(5.0)))
    assert math.isnan(spearman(np.arange(2.0), np.arange(2.0)))


def test_risk_at_coverage_keeps_the_rows_the_model_is_surest_of():
    err = np.array([0.1, 0.2, 0.9, 1.0, 0.3])
    std = np.array([0.05, 0.1, 0.8, 0.9, 0.2])  # ranks the errors exactly
    assert risk_at_coverage(err, std, 0.6) == pytest.approx(math.sqrt((0.01 + 0.04 + 0.09) / 3))
    assert risk_at_coverage(err, std, 1.0) == pytest.approx(math.sqrt(np.mean(err**2)))


def test_an_sd_that_is_the_true_noise_ranks_the_errors_and_one_without_information_does_not():
    rng = np.random.default_rng(1)
    n = 4000
    sd = rng.uniform(0.02, 0.5, (n, 2))  # (n,2) the true per-row noise
    truth = np.zeros((n, 2))
    prediction = rng.normal(0.0, sd)  # (n,2) errors drawn with that SD
    good = uncertainty_report(truth, prediction, sd)
    flat = uncertainty_report(truth, prediction, np.full((n, 2), 0.2))
    for d, name in enumerate(("valence", "arousal")):
        assert good[name]["spearman"] > 0.3 and good[name]["rmse_drop"] > 0.15
        assert math.isnan(flat[name]["spearman"])  # a constant SD says nothing
        assert good[name]["rmse"] == pytest.approx(math.sqrt(np.mean(prediction[:, d] ** 2)))


# --- the loss ------------------------------------------------------------------------------------------


def test_nll_is_smallest_where_the_sd_equals_the_residual_and_never_moves_the_mean():
    va_pred = torch.tensor([[0.1, -0.2], [0.5, 0.0]], requires_grad=True)
    va_true = torch.tensor([[0.4, -0.2 + 0.05], [float("nan"), 0.3]])  # one V label missing
    residual = (va_pred.detach() - va_true).abs()
    va_std = residual.nan_to_num(0.5).clone().requires_grad_(True)  # sigma = |residual|: d/dsigma = 0
    nll, rows = va_nll_loss(va_pred, va_std, va_true)
    assert rows.tolist() == [1, 2]
    # hand value: log s + r^2 / (2 s^2) = log s + 1/2 at s = r, averaged over the labelled rows
    expected_v = math.log(0.3) + 0.5
    expected_a = (math.log(0.05) + 0.5 + math.log(0.3) + 0.5) / 2
    assert nll.tolist() == pytest.approx([expected_v, expected_a], abs=1e-5)
    nll.sum().backward()
    assert va_pred.grad is None or torch.all(va_pred.grad == 0)  # the MSE alone trains the mean
    labelled = torch.isfinite(va_true)
    assert torch.allclose(va_std.grad[labelled], torch.zeros(3), atol=1e-5)
    assert va_std.grad[1, 0].item() == 0  # the unlabelled row gets no gradient


# --- the network, checkpoint, ONNX and Predictor --------------------------------------------------------


@pytest.fixture(scope="module")
def head_model():
    torch.manual_seed(0)
    return build_model(ModelConfig(backbone="resnet18", input_size=SIZE, va_uncertainty=True)).eval()


def test_the_head_predicts_a_positive_sd_per_dimension(head_model):
    x = torch.randn(3, 3, SIZE, SIZE)
    with torch.no_grad():
        out = head_model(x)
    assert out["valence_arousal_std"].shape == (3, 2)
    assert bool((out["valence_arousal_std"] >= VA_STD_FLOOR).all())


def test_a_model_without_the_head_gains_one_for_fine_tuning():
    model = build_model(ModelConfig(backbone="resnet18", input_size=SIZE))
    assert "valence_arousal_std" not in model(torch.randn(1, 3, SIZE, SIZE))
    model.add_uncertainty_head()
    assert model.config.va_uncertainty
    assert model(torch.randn(1, 3, SIZE, SIZE))["valence_arousal_std"].shape == (1, 2)


def test_checkpoint_onnx_and_predictor_carry_the_sd(head_model, tmp_path, monkeypatch):
    monkeypatch.setenv("AFFECTSCOPE_CACHE_DIR", str(tmp_path / "cache"))
    path = save_checkpoint(tmp_path / "head.pt", head_model, META)
    loaded = load_checkpoint(path).model
    x = torch.randn(2, 3, SIZE, SIZE)
    with torch.no_grad():
        assert torch.equal(loaded(x)["valence_arousal_std"], head_model(x)["valence_arousal_std"])
    report = export_onnx(head_model, tmp_path / "head.onnx", META)
    assert report.passed and all(UNCERTAINTY_OUTPUT in per for per in report.parity.values())
    crops = [np.random.default_rng(k).integers(0, 256, (70, 70, 3), dtype=np.uint8) for k in range(3)]
    by_torch = load_predictor(path, runtime="torch")
    by_onnx = load_predictor(tmp_path / "head.onnx", runtime="onnx")
    a, b = by_torch.predict(crops), by_onnx.predict(crops)
    assert by_torch.has_uncertainty and by_onnx.has_uncertainty
    assert a.valence_arousal_std.shape == (3, 2)
    assert np.allclose(a.valence_arousal_std, b.valence_arousal_std, atol=report.tolerance)


def test_a_model_without_the_head_reports_no_uncertainty_rather_than_zeros(tmp_path, monkeypatch):
    monkeypatch.setenv("AFFECTSCOPE_CACHE_DIR", str(tmp_path / "cache"))
    plain = build_model(ModelConfig(backbone="resnet18", input_size=SIZE))
    path = save_checkpoint(tmp_path / "plain.pt", plain, META)
    crops = [np.zeros((64, 64, 3), np.uint8)]
    for runtime in ("torch", "onnx"):
        predictor = load_predictor(path, runtime=runtime)
        assert not predictor.has_uncertainty
        assert predictor.predict(crops).valence_arousal_std is None
    report = export_onnx(plain, tmp_path / "p.onnx", META)
    assert set(report.parity[1]) == set(OUTPUT_NAMES)


# --- it learns where the labels are noisy --------------------------------------------------------------


class NoisyFaces(Dataset):
    """Half the images are washed out (low contrast) and their V/A labels carry N(0, 0.4^2) noise; the
    other half are sharp and labelled exactly. The V/A is a constant, so the mean is learned in a few
    steps and what is left is the label noise itself."""

    def __init__(self, n: int, seed: int) -> None:
        g = torch.Generator().manual_seed(seed)
        images = torch.randn(n, 3, SIZE, SIZE, generator=g)  # (N,3,S,S)
        self.noisy = torch.arange(n) % 2 == 1  # (N,)
        images[self.noisy] *= 0.05  # washed out
        self.images = images
        va = torch.tensor([0.3, -0.2]).repeat(n, 1)  # (N,2)
        va[self.noisy] += 0.4 * torch.randn(int(self.noisy.sum()), 2, generator=g)
        self.va = va.clamp(-1, 1)

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int) -> dict:
        return {"image": self.images[i], "expression": torch.tensor(0),
                "soft_target": torch.full((8,), math.nan), "valence_arousal": self.va[i],
                "path": f"face{i:03d}.png"}

    def expression_labels(self) -> np.ndarray:
        return np.zeros(len(self), np.int64)

    def valence_arousal_labels(self) -> np.ndarray:
        return self.va.numpy().copy()

    def soft_target_labels(self) -> np.ndarray:
        return np.full((len(self), 8), np.nan, np.float32)


def test_training_with_the_head_gives_noisy_label_faces_a_larger_sd(tmp_path):
    from model.train import TrainOptions, train

    options = TrainOptions(
        train_dataset=NoisyFaces(64, seed=0), val_dataset=NoisyFaces(16, seed=1),
        model_config=ModelConfig(backbone="resnet18", input_size=SIZE, dropout=0.0),
        va_uncertainty=True, stages="2", epochs=(1, 12), batch_size=16, workers=0, out_dir=tmp_path,
        lambda_stage=0.0, lambda_consistency=0.0, seed=0, early_stop_patience=100,
    )
    for _ in train(options):
        pass
    model = load_checkpoint(tmp_path / "stage2_last.pt").model
    test = NoisyFaces(32, seed=2)
    with torch.no_grad():
        std = model(test.images)["valence_arousal_std"]  # (32,2)
    noisy, clean = std[test.noisy].median(dim=0).values, std[~test.noisy].median(dim=0).values
    assert bool((noisy > 2 * clean).all()), (noisy, clean)

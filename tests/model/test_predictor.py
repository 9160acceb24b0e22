"""Predictor: one interface over torch and onnxruntime, config and labels read from the model file."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
import torch
from onnx import TensorProto, helper

from model import export, predictor
from model.checkpoint import save_checkpoint, sha256_file
from model.config import ModelConfig
from model.network import build_model
from model.predictor import Prediction, PredictorError, load_predictor

SIZE = 64
# Non-default labels and normalisation: the ONNX predictor can only know them by reading the file.
CLASS_NAMES = ("calm", "joy", "grief", "awe", "dread", "disgust", "rage", "scorn")
CONFIG = dict(
    backbone="resnet18", input_size=SIZE, class_names=CLASS_NAMES, mean=(0.3, 0.4, 0.5), std=(0.2, 0.3, 0.4)
)
META = {"name": "predictor test model", "va_source": "derived", "untrained": True}


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("pred") / "model.pt"
    return save_checkpoint(path, build_model(ModelConfig(**CONFIG)), META)


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        root = tmp_path_factory.mktemp("cache")
        mp.setenv("AFFECTSCOPE_CACHE_DIR", str(root))
        yield root / "onnx"


@pytest.fixture(scope="module")
def torch_predictor(checkpoint):
    return load_predictor(checkpoint, runtime="torch")


@pytest.fixture(scope="module")
def onnx_predictor(checkpoint, cache_dir):
    return load_predictor(checkpoint, runtime="onnx")


@pytest.fixture(scope="module")
def crops():
    rng = np.random.default_rng(0)
    return [
        rng.integers(0, 256, size=shape, dtype=np.uint8) for shape in [(80, 80, 3), (64, 64, 3), (50, 70, 3)]
    ]


def _check_prediction(pred: Prediction, batch: int) -> None:
    assert len(pred) == batch
    assert pred.valence_arousal.shape == (batch, 2) and pred.valence_arousal.dtype == np.float32
    assert np.all(np.abs(pred.valence_arousal) <= 1)
    assert pred.probabilities.shape == (batch, 8)
    np.testing.assert_allclose(pred.probabilities.sum(axis=1), 1.0, atol=1e-5)
    assert [m.shape for m in pred.spatial_attention] == [
        (batch, 16, 16),
        (batch, 8, 8),
        (batch, 4, 4),
        (batch, 2, 2),
    ]
    for m in pred.spatial_attention:
        np.testing.assert_allclose(m.sum(axis=(1, 2)), 1.0, atol=1e-5)
    assert pred.layer_attention.shape == (batch, 4)
    np.testing.assert_allclose(pred.layer_attention.sum(axis=1), 1.0, atol=1e-5)
    assert pred.class_names == CLASS_NAMES
    assert list(pred.expressions) == [CLASS_NAMES[i] for i in pred.probabilities.argmax(axis=1)]


@pytest.mark.parametrize("name", ["torch_predictor", "onnx_predictor"])
def test_predict_returns_the_documented_outputs(name, crops, request):
    pred = request.getfixturevalue(name).predict(crops)
    _check_prediction(pred, len(crops))


@pytest.mark.parametrize("name", ["torch_predictor", "onnx_predictor"])
def test_empty_batch_gives_an_empty_prediction(name, request):
    _check_prediction(request.getfixturevalue(name).predict([]), 0)


def test_torch_and_onnx_runtimes_agree(torch_predictor, onnx_predictor, crops):
    a, b = torch_predictor.predict(crops), onnx_predictor.predict(crops)
    np.testing.assert_allclose(a.valence_arousal, b.valence_arousal, atol=1e-4, rtol=0)
    np.testing.assert_allclose(a.probabilities, b.probabilities, atol=1e-4, rtol=0)
    np.testing.assert_allclose(a.layer_attention, b.layer_attention, atol=1e-4, rtol=0)
    for ma, mb in zip(a.spatial_attention, b.spatial_attention, strict=True):
        np.testing.assert_allclose(ma, mb, atol=1e-4, rtol=0)


def test_predictors_describe_their_model(torch_predictor, onnx_predictor, checkpoint):
    for p, runtime in ((torch_predictor, "torch"), (onnx_predictor, "onnx")):
        assert (p.name, p.va_source, p.untrained) == (META["name"], "derived", True)
        assert (p.runtime, p.device) == (runtime, "cpu")
        assert p.sha256 == sha256_file(checkpoint)
        assert p.config.class_names == CLASS_NAMES and p.config.mean == (0.3, 0.4, 0.5)


def test_onnx_file_alone_gives_config_labels_and_metadata(onnx_predictor, cache_dir, crops):
    (cached,) = cache_dir.iterdir()
    p = load_predictor(cached, runtime="onnx")
    assert p.config == onnx_predictor.config and p.metadata == onnx_predictor.metadata
    assert p.sha256 == sha256_file(cached)
    np.testing.assert_array_equal(
        p.predict(crops).valence_arousal, onnx_predictor.predict(crops).valence_arousal
    )


def test_checkpoint_export_is_cached_by_sha256(checkpoint, onnx_predictor, cache_dir, monkeypatch):
    (cached,) = cache_dir.iterdir()
    assert cached.name.startswith(sha256_file(checkpoint))

    def no_export(*args, **kwargs):
        raise AssertionError("the cached export should have been reused")

    monkeypatch.setattr(export, "export_onnx", no_export)
    assert load_predictor(checkpoint, runtime="onnx").sha256 == onnx_predictor.sha256


def test_predict_runs_one_forward_pass_per_batch(torch_predictor, crops, monkeypatch):
    model = torch_predictor._backend.model
    batches = []
    original = model.forward
    monkeypatch.setattr(model, "forward", lambda x: batches.append(x.shape[0]) or original(x))
    torch_predictor.predict(crops)
    assert batches == [len(crops)]


def test_in_memory_model_uses_the_given_metadata():
    model = build_model(ModelConfig(backbone="resnet18", input_size=SIZE))
    p = load_predictor(model, metadata={"name": "scratch", "untrained": True})
    assert (p.name, p.untrained, p.sha256, p.va_source) == ("scratch", True, None, "measured")
    assert p.predict([np.zeros((40, 40, 3), np.uint8)]).valence_arousal.shape == (1, 2)


def test_bad_crops_are_rejected_with_their_index(torch_predictor):
    with pytest.raises(ValueError, match="face crop 1"):
        torch_predictor.predict([np.zeros((8, 8, 3), np.uint8), np.zeros((8, 8), np.uint8)])


def test_cuda_request_without_gpu_is_a_clear_error(checkpoint, cache_dir, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(PredictorError, match="no CUDA GPU"):
        load_predictor(checkpoint, runtime="torch", device="cuda")
    monkeypatch.setattr(predictor.ort, "get_available_providers", lambda: ["CPUExecutionProvider"])
    with pytest.raises(PredictorError, match="CUDAExecutionProvider"):
        load_predictor(checkpoint, runtime="onnx", device="cuda")


def test_bad_sources_and_options_are_refused(checkpoint, tmp_path):
    with pytest.raises(PredictorError, match="unknown runtime"):
        load_predictor(checkpoint, runtime="tensorrt")
    with pytest.raises(PredictorError, match="unknown device"):
        load_predictor(checkpoint, device="tpu")
    missing = tmp_path / "missing.onnx"
    with pytest.raises(PredictorError, match=str(missing)):
        load_predictor(missing, runtime="onnx")
    foreign = tmp_path / "foreign.onnx"
    graph = helper.make_graph(
        [helper.make_node("Identity", ["image"], ["out"])],
        "foreign",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, SIZE, SIZE])],
        [helper.make_tensor_value_info("out", TensorProto.FLOAT, [1, 3, SIZE, SIZE])],
    )
    onnx.save(helper.make_model(graph), str(foreign))
    with pytest.raises(PredictorError, match="not an AffectScope ONNX export"):
        load_predictor(foreign, runtime="onnx")
    with pytest.raises(PredictorError, match="runtime 'onnx'"):
        load_predictor(foreign, runtime="torch")

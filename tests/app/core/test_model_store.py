"""Default model resolution: a named file, else the starter checkpoint, else an untrained model said so."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from app.core import model_paths, model_store
from model.assets import asset_path
from model.checkpoint import save_checkpoint
from model.config import ModelConfig
from model.network import build_model


@pytest.fixture
def no_starter(tmp_path, monkeypatch):
    monkeypatch.setattr(model_paths, "DEFAULT_MODEL_PATH", tmp_path / "absent" / "starter.pt")


@pytest.fixture(scope="module")
def small_checkpoint(tmp_path_factory):
    path = tmp_path_factory.mktemp("store") / "small.pt"
    return save_checkpoint(
        path, build_model(ModelConfig(backbone="resnet18", input_size=64)), {"name": "small"}
    )


def test_default_path_is_the_starter_file_in_the_shipped_assets():
    assert model_paths.DEFAULT_MODEL_PATH == asset_path("models", "starter.pt")
    assert model_paths.DEFAULT_MODEL_PATH.is_file()


def test_resolution_order(no_starter, small_checkpoint, monkeypatch):
    assert model_paths.resolve_model_path("untrained") is None  # random weights only when asked by name
    assert model_paths.resolve_model_path(small_checkpoint) == small_checkpoint
    with pytest.raises(model_paths.ModelNotFound, match="default model is missing.*reinstall"):
        model_paths.resolve_model_path(None)
    monkeypatch.setattr(model_paths, "DEFAULT_MODEL_PATH", small_checkpoint)
    assert model_paths.resolve_model_path(None) == small_checkpoint


def test_missing_file_is_a_clear_error(tmp_path):
    missing = tmp_path / "nowhere.pt"
    with pytest.raises(FileNotFoundError, match=str(missing)):
        model_paths.resolve_model_path(missing)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        model_store.open_predictor(missing)


def test_a_folder_names_the_model_files_inside_it(tmp_path, small_checkpoint):
    run = tmp_path / "run"
    run.mkdir()
    with pytest.raises(model_paths.ModelNotFound, match="folder without .pt or .onnx"):
        model_paths.resolve_model_path(run)
    for name in ("stage1_last.pt", "stage2_best.pt"):
        (run / name).write_bytes(small_checkpoint.read_bytes())
    with pytest.raises(model_paths.ModelNotFound, match=r"is a folder, not a model file.*stage2_best\.pt"):
        model_paths.resolve_model_path(run)


def test_untrained_model_is_labelled_reproducible_and_leaves_the_rng_alone():
    torch.manual_seed(123)
    expected_next = torch.rand(1)
    torch.manual_seed(123)
    first = model_store.untrained_model(ModelConfig(backbone="resnet18", input_size=64))
    assert torch.equal(torch.rand(1), expected_next)
    second = model_store.untrained_model(ModelConfig(backbone="resnet18", input_size=64))
    assert first.metadata["untrained"] is True
    assert first.metadata["name"] == "untrained 2Att-2Mt (random weights)"
    assert first.sha256 is None and first.path is None
    for a, b in zip(first.model.state_dict().values(), second.model.state_dict().values(), strict=True):
        assert torch.equal(a, b)


def test_the_untrained_model_is_opened_by_name_only(no_starter):
    predictor = model_store.open_predictor("untrained", runtime="torch")
    assert predictor.untrained is True
    assert predictor.name == "untrained 2Att-2Mt (random weights)"
    assert predictor.config == ModelConfig()
    assert model_store.open_model("untrained").metadata["untrained"] is True
    assert predictor.predict([np.full((90, 90, 3), 128, np.uint8)]).valence_arousal.shape == (1, 2)
    with pytest.raises(model_paths.ModelNotFound, match="--model untrained"):
        model_store.open_predictor()


def test_a_checkpoint_path_opens_that_model(small_checkpoint):
    predictor = model_store.open_predictor(small_checkpoint)
    assert (predictor.name, predictor.untrained) == ("small", False)
    assert model_store.open_model(small_checkpoint).config.backbone == "resnet18"


def test_open_model_needs_a_checkpoint_not_an_onnx_file(tmp_path):
    onnx_file = tmp_path / "model.onnx"
    onnx_file.write_bytes(b"not used")
    with pytest.raises(ValueError, match=".pt checkpoint"):
        model_store.open_model(onnx_file)

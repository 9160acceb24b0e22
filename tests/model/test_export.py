"""ONNX export: one self-contained file, symbolic batch, named outputs, metadata, parity with torch."""

from __future__ import annotations

import json

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from model.config import ModelConfig
from model.export import OUTPUT_NAMES, PARITY_TOLERANCE, export_onnx
from model.network import build_model

SIZE = 64


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    torch.manual_seed(0)
    model = build_model(ModelConfig(backbone="resnet18", input_size=SIZE)).train()
    out = tmp_path_factory.mktemp("onnx") / "model.onnx"
    report = export_onnx(model, out, {"name": "exported", "va_source": "derived", "untrained": True})
    return model, report


def test_export_writes_one_self_contained_file(exported):
    _, report = exported
    assert [p.name for p in report.path.parent.iterdir()] == ["model.onnx"]
    proto = onnx.load(str(report.path), load_external_data=False)
    assert all(t.data_location != onnx.TensorProto.EXTERNAL for t in proto.graph.initializer)
    onnx.checker.check_model(proto, full_check=True)
    assert report.size_bytes == report.path.stat().st_size


def test_inputs_and_outputs_are_named_with_a_symbolic_batch_axis(exported):
    _, report = exported
    session = ort.InferenceSession(str(report.path), providers=["CPUExecutionProvider"])
    (image,) = session.get_inputs()
    assert image.name == "image" and image.shape == ["batch", 3, SIZE, SIZE]
    outputs = {o.name: o.shape for o in session.get_outputs()}
    assert tuple(outputs) == OUTPUT_NAMES
    assert outputs["valence_arousal"] == ["batch", 2]
    assert outputs["expression_logits"] == ["batch", 8]
    assert outputs["spatial_attention_1"] == ["batch", 16, 16]
    assert outputs["spatial_attention_4"] == ["batch", 2, 2]
    assert outputs["layer_attention"] == ["batch", 4]
    for batch in (1, 5):
        got = session.run(None, {"image": np.zeros((batch, 3, SIZE, SIZE), np.float32)})
        assert [g.shape[0] for g in got] == [batch] * len(OUTPUT_NAMES)


def test_metadata_carries_config_class_names_and_model_metadata(exported):
    model, report = exported
    props = {p.key: p.value for p in onnx.load(str(report.path)).metadata_props}
    config = ModelConfig.from_dict(json.loads(props["model_config"]))
    assert config == model.config
    assert (config.input_size, config.mean, config.std) == (SIZE, model.config.mean, model.config.std)
    assert json.loads(props["class_names"]) == list(model.config.class_names)
    meta = json.loads(props["checkpoint_metadata"])
    assert (meta["name"], meta["va_source"], meta["untrained"]) == ("exported", "derived", True)
    assert props["affectscope_format"] == "affectscope-2att2mt"
    steps = json.loads(props["preprocessing"])
    assert (steps["input_size"], steps["mean"], steps["std"]) == (SIZE, list(config.mean), list(config.std))


def test_parity_with_torch_for_batch_1_and_3(exported):
    _, report = exported
    assert sorted(report.parity) == [1, 3]
    for per_output in report.parity.values():
        assert set(per_output) == set(OUTPUT_NAMES)
    assert report.passed and report.max_abs_diff <= PARITY_TOLERANCE
    table = report.parity_table()
    assert "valence_arousal" in table and "batch 3" in table and "PASS" in table


def test_export_leaves_the_callers_model_untouched(exported):
    model, _ = exported
    assert model.training
    assert next(model.parameters()).device.type == "cpu"


def test_failed_parity_is_reported(exported):
    _, report = exported
    strict = type(report)(report.path, report.opset, report.size_bytes, report.parity, tolerance=-1.0)
    assert not strict.passed and "FAIL" in strict.parity_table()


def test_ablation_model_keeps_a_symbolic_batch_axis(tmp_path):
    config = ModelConfig(backbone="resnet18", input_size=SIZE, first_level_attention=False, bi_rnn=False)
    report = export_onnx(build_model(config), tmp_path / "ablation.onnx")
    assert report.passed, report.parity_table()


@pytest.mark.parametrize("backbone", ["faceapi_features", "efficientnet_lite0"])
def test_tensorflow_same_padding_backbones_export_at_odd_map_sizes(backbone, tmp_path):
    # 112 px gives a 7x7 map before the last stride-2 stage: padding must survive the export
    report = export_onnx(build_model(ModelConfig(backbone=backbone, input_size=112)), tmp_path / "m.onnx")
    assert report.passed, report.parity_table()


def test_a_changed_output_shape_fails_parity_instead_of_crashing(exported, monkeypatch, tmp_path):
    model, _ = exported
    session_run = ort.InferenceSession.run

    def shrunk(self, names, feed):
        return [out[..., :1] if out.ndim == 3 else out for out in session_run(self, names, feed)]

    monkeypatch.setattr(ort.InferenceSession, "run", shrunk)
    report = export_onnx(model, tmp_path / "shrunk.onnx", {"name": "x"})
    assert not report.passed and "inf" in report.parity_table()


def test_non_model_is_rejected(tmp_path):
    with pytest.raises(TypeError, match="TwoAttTwoMt"):
        export_onnx(torch.nn.Linear(2, 2), tmp_path / "x.onnx")

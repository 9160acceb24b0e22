"""2Att-2Mt forward contract: shapes, ranges, attention normalisation, ablations and gradient flow."""

from __future__ import annotations

import functools

import pytest
import torch

from model.config import ModelConfig
from model.network import build_model

SIZE = 64
BATCH = 3


def _outputs(**overrides):
    """Config and outputs of a fresh eval-mode model; one forward pass per distinct configuration."""
    return _cached_outputs(tuple(sorted(overrides.items())))


@functools.cache
def _cached_outputs(overrides: tuple):
    overrides = dict(overrides)
    torch.manual_seed(0)
    config = ModelConfig(backbone="resnet18", input_size=SIZE, **overrides)
    model = build_model(config).eval()
    with torch.no_grad():
        out = model(torch.randn(BATCH, 3, SIZE, SIZE) * 3)  # wide inputs push the heads towards saturation
    return config, out


ABLATIONS = [
    {},
    {"first_level_attention": False},
    {"bi_rnn": False},
    {"second_level_attention": False},
    {"separate_va_heads": True},
    {"rnn_type": "lstm"},
    {"va_uses_expression": False},
]


@pytest.mark.parametrize(
    "overrides", ABLATIONS, ids=lambda o: ",".join(f"{k}={v}" for k, v in o.items()) or "full"
)
def test_outputs_have_contract_shapes_and_ranges(overrides):
    config, out = _outputs(**overrides)
    assert out["valence_arousal"].shape == (BATCH, 2)
    assert out["expression_logits"].shape == (BATCH, config.num_classes)
    assert out["layer_attention"].shape == (BATCH, 4)
    va = out["valence_arousal"]
    assert torch.isfinite(va).all() and (va.abs() <= 1).all()
    maps = out["spatial_attention"]
    # strides 4, 8, 16, 32 of a 64 px input
    assert [tuple(m.shape) for m in maps] == [(BATCH, 16, 16), (BATCH, 8, 8), (BATCH, 4, 4), (BATCH, 2, 2)]
    for m in maps:
        assert (m >= 0).all()
        torch.testing.assert_close(m.sum(dim=(1, 2)), torch.ones(BATCH))
    beta = out["layer_attention"]
    assert (beta >= 0).all()
    torch.testing.assert_close(beta.sum(dim=1), torch.ones(BATCH))


def test_first_level_attention_learns_non_uniform_maps_and_its_ablation_is_uniform():
    _, full = _outputs()
    _, gap = _outputs(first_level_attention=False)
    assert not torch.allclose(
        full["spatial_attention"][0], torch.full_like(full["spatial_attention"][0], 1 / 256)
    )
    for m in gap["spatial_attention"]:
        torch.testing.assert_close(m, torch.full_like(m, 1.0 / (m.shape[1] * m.shape[2])))


def test_layer_attention_ablations_give_their_documented_weights():
    _, last_only = _outputs(bi_rnn=False)
    _, mean_layers = _outputs(second_level_attention=False)
    torch.testing.assert_close(last_only["layer_attention"], torch.tensor([[0.0, 0.0, 0.0, 1.0]] * BATCH))
    torch.testing.assert_close(mean_layers["layer_attention"], torch.full((BATCH, 4), 0.25))
    _, full = _outputs()
    assert not torch.allclose(full["layer_attention"], torch.full((BATCH, 4), 0.25))


def test_separate_va_heads_build_two_heads_one_output_each():
    model = build_model(ModelConfig(backbone="resnet18", input_size=SIZE, separate_va_heads=True))
    assert [head.out_features for head in model.va_out] == [1, 1]


def test_outputs_do_not_depend_on_other_faces_in_the_batch():
    model = build_model(ModelConfig(backbone="resnet18", input_size=SIZE)).eval()
    x = torch.randn(BATCH, 3, SIZE, SIZE)
    with torch.no_grad():
        together = model(x)["valence_arousal"]
        alone = model(x[1:2])["valence_arousal"]
    torch.testing.assert_close(together[1:2], alone, atol=1e-5, rtol=1e-4)


def test_gradients_reach_every_parameter_group():
    torch.manual_seed(0)
    model = build_model(ModelConfig(backbone="resnet18", input_size=SIZE)).train()
    out = model(torch.randn(4, 3, SIZE, SIZE))
    loss = out["valence_arousal"].pow(2).sum() + torch.nn.functional.cross_entropy(
        out["expression_logits"], torch.tensor([0, 1, 2, 3])
    )
    loss.backward()
    groups = {
        "backbone": model.backbone,
        "stage attention": model.stage_attention,
        "rnn": model.rnn,
        "layer attention": model.layer_attention,
        "expression head": model.expression_head,
        "va head": torch.nn.ModuleList([model.va_hidden, model.va_out]),
    }
    for name, module in groups.items():
        params = list(module.parameters())
        assert params, name
        missing = [n for n, p in module.named_parameters() if p.grad is None]
        assert not missing, f"{name}: no gradient for {missing[:3]}"
        assert any(p.grad.abs().sum() > 0 for p in params), f"{name}: all gradients are zero"
    # every stage's attention scorer is trained, not only the last stage's
    for i, stage in enumerate(model.stage_attention):
        assert stage.score.weight.grad.abs().sum() > 0, f"stage {i + 1} attention gets no gradient"

"""Stage probes: one classifier per stage vector, whose loss reaches every stage's first-level attention."""

from __future__ import annotations

import torch

from model.config import ModelConfig
from model.losses import stage1_loss, stage_probe_loss
from model.network import build_model
from model.train.stage_probes import ProbedNetwork, build_probes

SIZE = 64


def _net(**overrides) -> tuple[ProbedNetwork, ModelConfig]:
    torch.manual_seed(0)
    config = ModelConfig(backbone="mobilenetv3_large_100", input_size=SIZE, dropout=0.0, **overrides)
    model = build_model(config)
    return ProbedNetwork(model, build_probes(model)), config


def _batch(n: int) -> dict[str, torch.Tensor]:
    return {
        "expression": torch.arange(n) % 8,
        "soft_target": torch.full((n, 8), float("nan")),
    }


def test_probes_classify_each_stage_vector_and_leave_the_network_outputs_alone():
    net, config = _net()
    x = torch.randn(3, 3, SIZE, SIZE)
    net.eval()
    with torch.no_grad():
        out = net(x)
        plain = net.model(x)
    assert out["layer_features"].shape == (3, 4, config.feature_dim)
    assert out["stage_logits"].shape == (3, 4, 8)
    for i, head in enumerate(net.probes.heads):  # probe l reads stage l's vector and nothing else
        assert torch.allclose(out["stage_logits"][:, i], head(out["layer_features"][:, i]))
    for key in ("valence_arousal", "expression_logits", "layer_attention", "layer_features"):
        assert torch.equal(out[key], plain[key])


def _attention_grad_norms(loss_of) -> list[float]:
    """Gradient norm reaching each stage's attention scores (w_l) from `loss_of(outputs)`."""
    net, _ = _net()
    net.train()
    out = net(torch.randn(4, 3, SIZE, SIZE))
    loss_of(out).backward()
    return [float(a.score.weight.grad.norm()) for a in net.model.stage_attention]


def test_probe_loss_reaches_every_stages_attention_directly():
    """The probes' loss gives every stage's attention map its own gradient, even where the head's loss
    reaches it only through the Bi-RNN and the layer attention."""
    batch = _batch(4)
    probe = _attention_grad_norms(lambda out: stage_probe_loss(out["stage_logits"], batch).total)
    assert all(g > 0 for g in probe)
    # Each probe trains its own stage's attention: stage 1's probe alone reaches no other stage's map.
    only_first = _attention_grad_norms(
        lambda out: stage1_loss({"expression_logits": out["stage_logits"][:, 0]}, batch).total
    )
    assert only_first[0] > 0 and only_first[1:] == [0.0, 0.0, 0.0]


def test_probes_of_the_last_stage_only_ablation_still_see_all_four_stages():
    net, _ = _net(bi_rnn=False)
    out = net(torch.randn(2, 3, SIZE, SIZE))
    assert out["stage_logits"].shape == (2, 4, 8)

"""Losses: hand values, agreement with the metrics and torch's own CE, masking of unlabelled rows."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from model.losses import (
    attention_consistency_loss,
    ccc_loss,
    class_weights_from_counts,
    soft_cross_entropy,
    stage1_loss,
    stage2_loss,
    stage_probe_loss,
)
from model.metrics import ccc

NAN = float("nan")


def test_ccc_loss_hand_value_and_agreement_with_metric() -> None:
    # y = [1,2,3,4], p = [2,2,3,5]: CCC = 5/6 (worked out in test_metrics.py)
    loss = ccc_loss(torch.tensor([2.0, 2.0, 3.0, 5.0]), torch.tensor([1.0, 2.0, 3.0, 4.0]))
    assert loss.item() == pytest.approx(1 / 6, abs=1e-6)
    rng = np.random.default_rng(0)
    y, p = rng.normal(size=16), rng.normal(size=16)
    assert ccc_loss(torch.tensor(p), torch.tensor(y)).item() == pytest.approx(1 - ccc(y, p), abs=1e-6)


def test_ccc_loss_of_identical_vectors_is_zero_even_when_constant() -> None:
    x = torch.tensor([0.3, -0.2, 0.9, 0.1])
    assert ccc_loss(x, x.clone()).item() == pytest.approx(0.0, abs=1e-6)
    const = torch.full((4,), 0.5, requires_grad=True)
    loss = ccc_loss(const, torch.full((4,), 0.5))
    loss.backward()
    assert loss.item() == pytest.approx(0.0, abs=1e-6)  # CCC 1 for equal constants, as in model.metrics.ccc
    assert torch.isfinite(const.grad).all()


def test_ccc_loss_mask_ignores_nan_rows_and_needs_two_rows() -> None:
    pred = torch.tensor([2.0, 9.0, 2.0, 3.0, 5.0], requires_grad=True)
    target = torch.tensor([1.0, NAN, 2.0, 3.0, 4.0])
    mask = torch.isfinite(target)
    loss = ccc_loss(pred, target, mask)
    loss.backward()
    assert loss.item() == pytest.approx(1 / 6, abs=1e-6)
    assert torch.isfinite(pred.grad).all() and pred.grad[1] == 0
    one_row = torch.tensor([False, False, True, False, False])
    assert ccc_loss(pred, target, one_row).item() == 0.0
    with pytest.raises(ValueError, match=r"two \(B,\) tensors"):
        ccc_loss(pred, target[:3])


def test_soft_cross_entropy_equals_cross_entropy_for_one_hot_targets() -> None:
    logits = torch.randn(5, 8, generator=torch.Generator().manual_seed(0))
    labels = torch.tensor([0, 3, 7, 1, 1])
    one_hot = F.one_hot(labels, 8).float()
    assert soft_cross_entropy(logits, one_hot).item() == pytest.approx(F.cross_entropy(logits, labels).item())


def test_soft_cross_entropy_hand_value_and_kl_gradient() -> None:
    # equal logits, target (1/2, 1/2): CE = -(1/2 log 1/2 + 1/2 log 1/2) = log 2
    assert soft_cross_entropy(torch.zeros(1, 2), torch.tensor([[0.5, 0.5]])).item() == pytest.approx(
        math.log(2)
    )
    logits = torch.tensor([[1.0, 0.0, -1.0]], requires_grad=True)
    q = torch.tensor([[0.2, 0.5, 0.3]])
    soft_cross_entropy(logits, q).backward()
    assert torch.allclose(logits.grad, torch.softmax(logits.detach(), dim=1) - q)  # KL's gradient
    with pytest.raises(ValueError, match=r"two \(B,C\) tensors"):
        soft_cross_entropy(torch.zeros(2, 8), torch.zeros(2, 7))


def test_class_weights_are_inverse_frequency_with_mean_one_and_zero_for_empty_classes() -> None:
    # 1/n = [1/10, 1/30, -, 1/20], mean over present = 11/180 -> [18/11, 6/11, 0, 9/11]
    weights = class_weights_from_counts([10, 30, 0, 20])
    assert weights.dtype == torch.float32
    assert torch.allclose(weights, torch.tensor([18 / 11, 6 / 11, 0.0, 9 / 11]))
    assert torch.equal(class_weights_from_counts([7, 7, 7]), torch.ones(3))
    with pytest.raises(ValueError, match=">= 0"):
        class_weights_from_counts([3, -1])
    with pytest.raises(ValueError, match="every class count is 0"):
        class_weights_from_counts([0, 0])


def _batch(expression: list[int], soft: list[list[float]], va: list[list[float]]) -> dict[str, torch.Tensor]:
    """A batch dict as the datasets produce it (docs/ARCHITECTURE.md)."""
    return {
        "expression": torch.tensor(expression, dtype=torch.int64),
        "soft_target": torch.tensor(soft, dtype=torch.float32),
        "valence_arousal": torch.tensor(va, dtype=torch.float32),
    }


def _outputs(batch_size: int, num_classes: int = 3) -> dict[str, torch.Tensor]:
    """Stand-in network outputs (leaf tensors, so their gradients can be inspected)."""
    gen = torch.Generator().manual_seed(1)
    return {
        "expression_logits": torch.randn(batch_size, num_classes, generator=gen).requires_grad_(),
        "valence_arousal": torch.tanh(torch.randn(batch_size, 2, generator=gen)).requires_grad_(),
    }


NO_SOFT = [NAN, NAN, NAN]
BATCH = _batch(
    expression=[0, -1, 2, 1],
    soft=[NO_SOFT, NO_SOFT, [0.1, 0.1, 0.8], NO_SOFT],
    va=[[0.5, 0.2], [NAN, NAN], [-0.3, NAN], [0.1, -0.6]],
)


def test_stage1_masks_unlabelled_rows_and_uses_soft_targets_where_present() -> None:
    out = _outputs(4)
    result = stage1_loss(out, BATCH, soft_weight=0.5)
    logits = out["expression_logits"]
    expected_ce = F.cross_entropy(logits[[0, 2, 3]], torch.tensor([0, 2, 1]))
    expected_soft = soft_cross_entropy(logits[[2]], BATCH["soft_target"][[2]])
    assert result.parts["ce"] == pytest.approx(expected_ce.item(), rel=1e-6)
    assert result.parts["soft_ce"] == pytest.approx(expected_soft.item(), rel=1e-6)
    assert result.total.item() == pytest.approx(expected_ce.item() + 0.5 * expected_soft.item(), rel=1e-6)
    assert result.parts["total"] == pytest.approx(result.total.item())
    result.total.backward()
    assert torch.isfinite(logits.grad).all()
    assert torch.all(logits.grad[1] == 0)  # the row with no label of any kind


def test_stage1_class_weights_match_torch_weighted_mean() -> None:
    out = _outputs(4)
    weights = torch.tensor([2.0, 0.5, 1.0])
    result = stage1_loss(out, BATCH, class_weights=weights, soft_weight=0.0)
    expected = F.cross_entropy(out["expression_logits"], BATCH["expression"], weight=weights, ignore_index=-1)
    assert result.parts["ce"] == pytest.approx(expected.item(), rel=1e-6)


def test_batch_without_any_label_gives_zero_terms_and_finite_gradients() -> None:
    empty = _batch(expression=[-1, -1], soft=[NO_SOFT, NO_SOFT], va=[[NAN, NAN], [NAN, NAN]])
    out = _outputs(2)
    result = stage2_loss(out, empty, lambda_ccc=1.0, class_weights=torch.tensor([1.0, 0.0, 2.0]))
    assert result.parts == {name: 0.0 for name in result.parts}
    result.total.backward()
    for tensor in out.values():
        assert torch.isfinite(tensor.grad).all()


def test_stage2_masks_valence_and_arousal_separately_and_sums_the_terms() -> None:
    out = _outputs(4)
    result = stage2_loss(out, BATCH, lambda_ccc=0.3, lambda_c=0.5)
    va = out["valence_arousal"]
    target = BATCH["valence_arousal"]
    mse_v = ((va[[0, 2, 3], 0] - target[[0, 2, 3], 0]) ** 2).mean()  # rows with valence
    mse_a = ((va[[0, 3], 1] - target[[0, 3], 1]) ** 2).mean()  # rows with arousal
    ccc_v = ccc_loss(va[[0, 2, 3], 0], target[[0, 2, 3], 0])
    ccc_a = ccc_loss(va[[0, 3], 1], target[[0, 3], 1])
    expression = stage1_loss(out, BATCH).total
    expected = mse_v + mse_a + 0.3 * (ccc_v + ccc_a) + 0.5 * expression
    assert result.parts["mse_v"] == pytest.approx(mse_v.item(), rel=1e-6)
    assert result.parts["mse_a"] == pytest.approx(mse_a.item(), rel=1e-6)
    assert result.parts["ccc_loss_v"] == pytest.approx(ccc_v.item(), rel=1e-5)
    assert result.parts["ccc_loss_a"] == pytest.approx(ccc_a.item(), rel=1e-5)
    assert result.total.item() == pytest.approx(expected.item(), rel=1e-6)
    result.total.backward()
    assert torch.isfinite(va.grad).all()
    assert torch.all(va.grad[1] == 0) and va.grad[2, 1] == 0  # no V/A label there


def test_stage_probe_loss_is_the_stage1_term_of_each_stage_averaged() -> None:
    """Each probe is scored like the expression head (masks, class weights, soft rows); then the mean."""
    gen = torch.Generator().manual_seed(2)
    stage_logits = torch.randn(4, 3, 3, generator=gen).requires_grad_()  # (B,L,K)
    weights = torch.tensor([2.0, 0.5, 1.0])
    result = stage_probe_loss(stage_logits, BATCH, class_weights=weights, soft_weight=0.5)
    per_stage = [
        stage1_loss({"expression_logits": stage_logits[:, i]}, BATCH, weights, soft_weight=0.5).total
        for i in range(3)
    ]
    assert [result.parts[f"stage_ce_{i}"] for i in (1, 2, 3)] == pytest.approx([t.item() for t in per_stage])
    assert result.total.item() == pytest.approx(sum(t.item() for t in per_stage) / 3, rel=1e-6)
    assert result.parts["stage_ce"] == pytest.approx(result.total.item())
    result.total.backward()
    assert torch.isfinite(stage_logits.grad).all()
    assert torch.all(stage_logits.grad[1] == 0)  # the row with no label of any kind
    assert torch.all(stage_logits.grad.abs().sum(2)[[0, 2, 3]] > 0)  # every labelled row, every stage


def _maps(*sides: int, seed: int = 0) -> list[torch.Tensor]:
    """Random attention maps (2,s,s), each summing to 1, as leaf tensors that collect gradients."""
    gen = torch.Generator().manual_seed(seed)
    maps = [torch.softmax(torch.randn(2, s * s, generator=gen), 1).view(2, s, s) for s in sides]
    return [m.requires_grad_() for m in maps]


def test_attention_consistency_is_the_kl_of_each_pooled_finer_map_to_the_next() -> None:
    fine, middle, coarse = _maps(8, 4, 2)
    result = attention_consistency_loss([fine, middle, coarse], from_stage=1)

    def kl(finer, coarser):  # by hand: sum each coarser cell's 2x2 block of the finer map
        b, s = finer.shape[0], coarser.shape[-1]
        target = finer.detach().reshape(b, s, 2, s, 2).sum((2, 4))
        return (target * (target.log() - coarser.detach().log())).sum((1, 2)).mean().item()

    assert result.parts["consistency_2"] == pytest.approx(kl(fine, middle), rel=1e-5)
    assert result.parts["consistency_3"] == pytest.approx(kl(middle, coarse), rel=1e-5)
    assert result.total.item() == pytest.approx((kl(fine, middle) + kl(middle, coarse)) / 2, rel=1e-5)
    result.total.backward()
    assert fine.grad is None  # the finer map is a fixed target: only the coarser maps move
    assert middle.grad.abs().sum() > 0 and coarse.grad.abs().sum() > 0


def test_attention_consistency_is_zero_when_the_maps_agree_and_from_stage_skips_pairs() -> None:
    (fine,) = _maps(8)
    agreeing = F.avg_pool2d(fine.detach()[:, None], 2)[:, 0] * 4  # (2,4,4): the pooled finer map
    assert attention_consistency_loss([fine, agreeing]).total.item() == pytest.approx(0.0, abs=1e-6)
    odd, *rest = _maps(8, 4, 2, seed=3)
    later = attention_consistency_loss([odd, *rest], from_stage=2)
    assert set(later.parts) == {"consistency", "consistency_3"}  # the first map teaches nothing
    later.total.backward()
    assert rest[0].grad is None and odd.grad is None  # teacher and unused map stay fixed
    assert rest[1].grad.abs().sum() > 0
    with pytest.raises(ValueError, match="from_stage"):
        attention_consistency_loss([odd, *rest], from_stage=3)


def test_missing_batch_key_is_named() -> None:
    batch = {key: value for key, value in BATCH.items() if key != "valence_arousal"}
    with pytest.raises(KeyError, match="valence_arousal"):
        stage2_loss(_outputs(4), batch)

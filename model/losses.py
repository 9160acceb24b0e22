"""Training losses for the two stages of MODEL_SPEC.md "Training" (torch).

Stage 1 (expression):  CE(class weights, rows with a label)  +  soft_weight * soft CE(rows with soft targets)
Stage 2 (V/A + aux):   MSE_v + MSE_a + lambda_ccc * ((1 - CCC_v) + (1 - CCC_a)) + lambda_c * stage-1 term
                       + lambda_nll * Gaussian NLL of the uncertainty head (models that have one)
Both stages, when the trainer's stage probes are on (model/train/stage_probes.py):
                       + lambda_stage * mean over stages l of the stage-1 term on the probe logits of l
Both stages, cross-scale attention consistency (model/train/run.py applies it from the stride-8 map on):
                       + lambda_consistency * mean over l of KL(pool(A_l) || A_l+1), A_l held fixed

Batch dicts follow the dataset contract of docs/ARCHITECTURE.md: `expression` (B,) int64 with -1 for
unlabelled rows, `soft_target` (B,8) with all-NaN rows where absent, `valence_arousal` (B,2) with NaN
where absent. Each term averages over the rows that carry its label; a batch with no such row gives 0
for that term (never NaN). Masking is done without data-dependent branches, so every step builds the
same graph (no host sync per term, and DistributedDataParallel sees every parameter used).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import NamedTuple

import numpy as np
import torch
import torch.nn.functional as F

CCC_EPS = 1e-8  # keeps 1 - CCC finite and equal to 0 when both vectors are the same constant


def _full(t: torch.Tensor, like: torch.Tensor | None = None) -> torch.Tensor:
    """`t` in the dtype of `like`, else at least float32: half-precision (autocast) outputs, masks and
    labels become float32, while float32 and float64 tensors keep their precision (a float64 run, as the
    distributed test makes, stays float64 end to end)."""
    if like is not None:
        return t.to(like.dtype)
    return t if t.dtype in (torch.float32, torch.float64) else t.float()


class LossOutput(NamedTuple):
    """A stage loss: `total` (scalar tensor to backpropagate) and `parts` (named floats for logging)."""

    total: torch.Tensor
    parts: dict[str, float]


def ccc_loss(
    pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor | None = None, eps: float = CCC_EPS
) -> torch.Tensor:
    """1 - CCC(pred, target) over the batch, population statistics.

    CCC = (2 cov + eps) / (var_p + var_t + (mean_p - mean_t)^2 + eps): `eps` keeps it finite and, as in
    `model.metrics.ccc`, makes identical constant vectors score 1 (loss 0) while a constant prediction
    against varying targets scores ~0.

    pred, target: (B,). `mask` (B,) bool selects the rows to use (default all); target values on
    unselected rows may be NaN. With fewer than two selected rows CCC carries no information and the
    loss is 0.
    """
    if pred.ndim != 1 or pred.shape != target.shape:
        raise ValueError(
            f"ccc_loss needs two (B,) tensors, got {tuple(pred.shape)} and {tuple(target.shape)}"
        )
    pred = _full(pred)  # (B,)
    target = torch.nan_to_num(_full(target, pred))  # (B,), NaN only allowed on unselected rows
    w = torch.ones_like(pred) if mask is None else _full(mask.to(pred.device), pred)  # (B,)
    n = w.sum()
    n_safe = n.clamp(min=1.0)
    mean_p, mean_t = (w * pred).sum() / n_safe, (w * target).sum() / n_safe
    dp, dt = w * (pred - mean_p), w * (target - mean_t)  # (B,) centred, 0 on unselected rows
    var_p, var_t, cov = (dp * dp).sum() / n_safe, (dt * dt).sum() / n_safe, (dp * dt).sum() / n_safe
    ccc = (2.0 * cov + eps) / (var_p + var_t + (mean_p - mean_t) ** 2 + eps)  # 1 for equal constants
    return (1.0 - ccc) * _full(n >= 2, ccc)


def soft_cross_entropy(
    logits: torch.Tensor, target_probs: torch.Tensor, reduction: str = "mean"
) -> torch.Tensor:
    """Cross-entropy -sum_c q_c log softmax(logits)_c against target probabilities q (distillation).

    Equals KL(q || softmax(logits)) plus the entropy of q, a constant, so it has the KL gradient; for
    one-hot q it equals the ordinary cross-entropy. logits, target_probs: (B,C); each row of q should
    sum to 1. reduction: "mean" over the batch or "none" for the (B,) per-row values.
    """
    if logits.ndim != 2 or logits.shape != target_probs.shape:
        raise ValueError(
            "soft_cross_entropy needs two (B,C) tensors, "
            f"got {tuple(logits.shape)} and {tuple(target_probs.shape)}"
        )
    if reduction not in ("mean", "none"):
        raise ValueError(f"reduction must be 'mean' or 'none', got {reduction!r}")
    logits = _full(logits)  # (B,C)
    per_row = -(_full(target_probs, logits) * F.log_softmax(logits, dim=1)).sum(dim=1)  # (B,)
    return per_row.mean() if reduction == "mean" else per_row


def class_weights_from_counts(counts: Sequence[int] | np.ndarray | torch.Tensor) -> torch.Tensor:
    """Inverse-frequency class weights w_c proportional to 1 / n_c, float32 (C,).

    Normalised so the weights of the classes that have samples average 1 (a balanced set gives all 1).
    A class with zero samples gets weight 0: it never occurs as a target, and 0 keeps it from inflating
    the others. Refuses negative counts and an all-zero count vector.
    """
    n = torch.as_tensor(counts, dtype=torch.float64).flatten()  # (C,)
    if n.numel() == 0:
        raise ValueError("class counts are empty; pass one count per class")
    if bool((n < 0).any()):
        raise ValueError(f"class counts must be >= 0, got {n.tolist()}")
    present = n > 0
    if not bool(present.any()):
        raise ValueError("every class count is 0: no labelled samples to weight")
    inv = torch.where(present, 1.0 / n.clamp(min=1.0), torch.zeros_like(n))  # (C,)
    return (inv / inv[present].mean()).float()


def _require(batch: Mapping[str, torch.Tensor], key: str) -> torch.Tensor:
    """Fetch `key` from a batch dict with an error that lists the keys it does have."""
    if key not in batch:
        raise KeyError(f"batch has no {key!r} entry (keys: {sorted(batch)}); see docs/ARCHITECTURE.md")
    return batch[key]


def _expression_terms(
    logits: torch.Tensor,
    batch: Mapping[str, torch.Tensor],
    class_weights: torch.Tensor | None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Masked hard-label CE (class-weighted mean, -1 ignored) and masked soft CE; each 0 without rows."""
    logits = _full(logits)  # (B,C)
    labels = _require(batch, "expression").to(logits.device).long()  # (B,)
    soft = _full(_require(batch, "soft_target").to(logits.device), logits)  # (B,C)

    labelled = labels >= 0  # (B,)
    per_row_ce = F.cross_entropy(logits, labels.clamp(min=0), reduction="none")  # (B,)
    weights = _full(labelled, logits)  # (B,)
    if class_weights is not None:
        weights = weights * _full(class_weights.to(logits.device), logits)[labels.clamp(min=0)]  # (B,)
    denom = weights.sum()
    ce = (weights * per_row_ce).sum() / torch.where(denom > 0, denom, torch.ones_like(denom))

    has_soft = torch.isfinite(soft).all(dim=1)  # (B,)
    soft_rows = soft_cross_entropy(
        logits, torch.nan_to_num(soft) * has_soft[:, None], reduction="none"
    )  # (B,)
    soft_ce = (soft_rows * has_soft).sum() / has_soft.sum().clamp(min=1)
    return ce, soft_ce


def va_nll_loss(
    va_pred: torch.Tensor, va_std: torch.Tensor, va_true: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Gaussian negative log-likelihood of the V/A labels under N(mean, std^2), per axis (2,).

    The mean is held fixed (detached): the term trains the standard deviation to match the residuals
    the mean head leaves, without pulling the mean towards easy rows (the MSE alone trains the mean).
    Per row: log std + (y - mean)^2 / (2 std^2), the constant 0.5 log(2 pi) left out; masked like the
    MSE (rows whose label is finite). va_pred, va_std, va_true: (B,2). Returns (nll (2,), rows (2,)).
    """
    va_std = _full(va_std)  # (B,2)
    va_true = _full(va_true.to(va_std.device), va_std)  # (B,2)
    has_va = torch.isfinite(va_true)  # (B,2)
    residual = _full(va_pred.detach(), va_std) - torch.nan_to_num(va_true)  # (B,2)
    per_row = torch.log(va_std) + residual**2 / (2.0 * va_std**2)  # (B,2)
    rows = has_va.sum(dim=0)  # (2,)
    return (per_row * has_va).sum(dim=0) / rows.clamp(min=1), rows


def stage1_loss(
    outputs: Mapping[str, torch.Tensor],
    batch: Mapping[str, torch.Tensor],
    class_weights: torch.Tensor | None = None,
    soft_weight: float = 1.0,
) -> LossOutput:
    """Expression stage: CE on labelled rows (optional class weights) + soft_weight * soft CE.

    outputs: the network's dict (uses `expression_logits` (B,8)); batch: needs `expression` and
    `soft_target`. parts: `ce`, `soft_ce`, `total`.
    """
    ce, soft_ce = _expression_terms(outputs["expression_logits"], batch, class_weights)
    total = ce + soft_weight * soft_ce
    return LossOutput(total, _to_floats({"ce": ce, "soft_ce": soft_ce, "total": total}))


def stage2_loss(
    outputs: Mapping[str, torch.Tensor],
    batch: Mapping[str, torch.Tensor],
    lambda_ccc: float = 0.0,
    lambda_c: float = 0.5,
    class_weights: torch.Tensor | None = None,
    soft_weight: float = 1.0,
    lambda_nll: float = 1.0,
) -> LossOutput:
    """V/A stage: MSE_v + MSE_a + lambda_ccc * ((1-CCC_v) + (1-CCC_a)) + lambda_c * expression term
    (+ lambda_nll * (NLL_v + NLL_a) when `outputs` has `valence_arousal_std`, see `va_nll_loss`).

    Valence and arousal are masked separately (rows whose value is finite); the expression term is the
    stage-1 loss (CE + soft_weight * soft CE). batch: needs `valence_arousal`, `expression`,
    `soft_target`. parts: `mse_v`, `mse_a`, `ccc_loss_v`, `ccc_loss_a`, `ce`, `soft_ce`, `total`
    (the CCC parts are logged even when lambda_ccc is 0), and `nll_v`, `nll_a` with the uncertainty head.
    """
    va_pred = _full(outputs["valence_arousal"])  # (B,2)
    va_true = _full(_require(batch, "valence_arousal").to(va_pred.device), va_pred)  # (B,2)
    has_va = torch.isfinite(va_true)  # (B,2)
    va_clean = torch.nan_to_num(va_true)  # (B,2)
    sq_err = (va_pred - va_clean) ** 2 * has_va  # (B,2), 0 on rows without a label
    mse = sq_err.sum(dim=0) / has_va.sum(dim=0).clamp(min=1)  # (2,)
    ccc_v = ccc_loss(va_pred[:, 0], va_clean[:, 0], has_va[:, 0])
    ccc_a = ccc_loss(va_pred[:, 1], va_clean[:, 1], has_va[:, 1])

    ce, soft_ce = _expression_terms(outputs["expression_logits"], batch, class_weights)
    expression = ce + soft_weight * soft_ce
    total = mse[0] + mse[1] + lambda_ccc * (ccc_v + ccc_a) + lambda_c * expression
    parts = {
        "mse_v": mse[0],
        "mse_a": mse[1],
        "ccc_loss_v": ccc_v,
        "ccc_loss_a": ccc_a,
        "ce": ce,
        "soft_ce": soft_ce,
    }
    if "valence_arousal_std" in outputs:
        nll, _ = va_nll_loss(va_pred, outputs["valence_arousal_std"], va_true)  # (2,)
        total = total + lambda_nll * nll.sum()
        parts.update(nll_v=nll[0], nll_a=nll[1])
    parts["total"] = total
    return LossOutput(total, _to_floats(parts))


def stage_probe_loss(
    stage_logits: torch.Tensor,
    batch: Mapping[str, torch.Tensor],
    class_weights: torch.Tensor | None = None,
    soft_weight: float = 1.0,
) -> LossOutput:
    """Deep supervision: the stage-1 expression term on each stage probe's logits, averaged over stages.

    stage_logits (B,L,K) from `model.train.stage_probes.ProbedNetwork`; batch as for `stage1_loss`.
    parts: `stage_ce` (the mean term) and `stage_ce_1`..`stage_ce_L` (each stage's term, for logging).
    """
    terms = []
    for logits in stage_logits.unbind(1):  # L x (B,K)
        ce, soft_ce = _expression_terms(logits, batch, class_weights)
        terms.append(ce + soft_weight * soft_ce)
    per_stage = torch.stack(terms)  # (L,)
    total = per_stage.mean()
    parts = {"stage_ce": total, **{f"stage_ce_{i}": t for i, t in enumerate(terms, start=1)}}
    return LossOutput(total, _to_floats(parts))


def attention_consistency_loss(maps: Sequence[torch.Tensor], from_stage: int = 1) -> LossOutput:
    """Cross-scale agreement of first-level attention: mean over the stage pairs (l, l+1), l >= from_stage
    (1-based), of KL(pooled A_l || A_l+1), the finer map A_l a fixed target (no gradient).

    maps: the network's `spatial_attention`, finest first, each (B,H_l,W_l) summing to 1. A_l is pooled
    to A_l+1's size (mean per coarser cell, renormalised to sum 1), so the loss asks the coarser map to
    put its mass where the finer one does. parts: `consistency` (the mean) and `consistency_<l+1>` per
    pair, named by its coarser stage.
    """
    if not 1 <= from_stage < len(maps):
        raise ValueError(f"from_stage must lie in 1..{len(maps) - 1} for {len(maps)} maps, got {from_stage}")
    terms = {}
    for stage in range(from_stage, len(maps)):  # 1-based: the pair (stage, stage + 1)
        fine, coarse = maps[stage - 1], maps[stage]  # (B,H,W), (B,h,w)
        target = F.adaptive_avg_pool2d(_full(fine.detach())[:, None], coarse.shape[-2:])[:, 0]  # (B,h,w)
        target = target / target.sum((1, 2), keepdim=True)  # (B,h,w), sums to 1
        coarse = _full(coarse, target)  # (B,h,w)
        log_ratio = torch.log(target.clamp_min(1e-12)) - torch.log(coarse.clamp_min(1e-12))  # (B,h,w)
        terms[f"consistency_{stage + 1}"] = (target * log_ratio).sum((1, 2)).mean()
    total = torch.stack(list(terms.values())).mean()
    return LossOutput(total, _to_floats({"consistency": total, **terms}))


def _to_floats(parts: dict[str, torch.Tensor]) -> dict[str, float]:
    """Detach scalar tensors into floats with one device-to-host copy."""
    values = torch.stack([_full(t.detach()) for t in parts.values()]).tolist()
    return dict(zip(parts, values, strict=True))

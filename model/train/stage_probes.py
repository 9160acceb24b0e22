"""Stage probes: deep supervision of each backbone stage's attention-pooled vector (training only).

In the plain 2Att-2Mt recipe the expression loss reaches a stage's first-level attention only through
the Bi-RNN and the second-level attention, which on the synthetic benchmark gives the last step ~99%
of the weight (docs/BENCHMARKS.md, "First-level attention"): the early stages' maps get little
gradient and stay broad. A probe is one linear expression classifier on one stage's vector x_l
(deeply-supervised nets, Lee et al. 2015; the auxiliary classifiers of GoogLeNet): its loss asks every
stage's attention to pool the positions that tell the expressions apart on their own.

The probes are a training device, not part of the network: they live in the trainer and resume.pt,
never in a checkpoint or an ONNX file; the network only exposes x_1..x_4 as its `layer_features`
output. `TrainOptions.lambda_stage` weighs their loss (0 turns them off).
"""

from __future__ import annotations

import torch
from torch import nn

from model.network import NUM_STAGES, TwoAttTwoMt


class StageProbes(nn.Module):
    """One linear expression classifier per stage vector x_l."""

    def __init__(self, feature_dim: int, num_classes: int, num_stages: int = NUM_STAGES) -> None:
        super().__init__()
        self.heads = nn.ModuleList(nn.Linear(feature_dim, num_classes) for _ in range(num_stages))

    def forward(self, layer_features: torch.Tensor) -> torch.Tensor:
        """layer_features (B,L,d) -> stage logits (B,L,K)."""
        return torch.stack([head(layer_features[:, i]) for i, head in enumerate(self.heads)], dim=1)


class ProbedNetwork(nn.Module):
    """The network and its stage probes as one module, so one optimiser and one DDP wrapper hold both.

    forward returns the network's outputs plus `stage_logits` (B,L,K).
    """

    def __init__(self, model: TwoAttTwoMt, probes: StageProbes) -> None:
        super().__init__()
        self.model = model
        self.probes = probes

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor | list[torch.Tensor]]:
        """x (B,3,S,S) normalised face crops -> the network's outputs and `stage_logits` (B,L,K)."""
        out = self.model(x)
        out["stage_logits"] = self.probes(out["layer_features"])  # (B,L,K)
        return out


def build_probes(model: TwoAttTwoMt) -> StageProbes:
    """Fresh probes sized for `model`'s stage vectors and classes."""
    return StageProbes(model.config.feature_dim, model.config.num_classes)

"""The 2Att-2Mt network (arXiv 1811.12139): multi-layer CNN features, first-level spatial attention,
a Bi-RNN over the layers, second-level self-attention and the two multi-task heads.

`TwoAttTwoMt.forward` returns named outputs so the GUI draws attention maps straight from them:
    valence_arousal    (B, 2)           tanh, in [-1, 1]
    expression_logits  (B, 8)           AffectNet order (config.class_names)
    spatial_attention  list of 4 maps   (B, H_l, W_l), each map sums to 1
    layer_attention    (B, 4)           sums to 1
    layer_features     (B, 4, d)        x_1..x_4, each stage's attention-pooled vector (the Bi-RNN input;
                                        model.train.stage_probes supervises it during training)
    valence_arousal_std (B, 2)          only with config.va_uncertainty: the predicted standard deviation
                                        of valence and of arousal, >= VA_STD_FLOOR
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from model.backbones import build_backbone
from model.config import ModelConfig

NUM_STAGES = 4
VA_STD_FLOOR = 0.01  # the smallest standard deviation the uncertainty head predicts (V/A units)


class SpatialAttentionPool(nn.Module):
    """First-level attention: softmax over positions of one stage, attention-weighted pooling, projection."""

    def __init__(self, in_channels: int, attention_dim: int, feature_dim: int, enabled: bool = True) -> None:
        super().__init__()
        self.enabled = enabled
        self.key = nn.Conv2d(in_channels, attention_dim, 1)  # W_l, b_l
        self.score = nn.Conv2d(attention_dim, 1, 1, bias=False)  # w_l
        self.project = nn.Linear(in_channels, feature_dim)  # P_l
        self.norm = nn.LayerNorm(feature_dim)

    def forward(self, f: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """f (B,C,H,W) -> x (B,d) position-level feature, A (B,H,W) attention map summing to 1."""
        b, _, h, w = f.shape
        if self.enabled:
            e = self.score(torch.tanh(self.key(f))).flatten(1)  # (B,H*W)
            attn = torch.softmax(e, dim=1)  # (B,H*W)
        else:  # ablation: global average pooling == uniform attention
            attn = f.new_full((b, h * w), 1.0 / (h * w))  # (B,H*W)
        v = torch.bmm(f.flatten(2), attn.unsqueeze(2)).squeeze(2)  # (B,C)
        x = F.relu(self.norm(self.project(v)))  # (B,d)
        return x, attn.view(b, h, w)


class LayerSelfAttention(nn.Module):
    """Second-level attention: additive self-attention with a learned context vector over layers."""

    def __init__(self, dim: int, attention_dim: int) -> None:
        super().__init__()
        self.proj = nn.Linear(dim, attention_dim)  # W_s, b_s
        self.context = nn.Parameter(torch.randn(attention_dim) * attention_dim**-0.5)  # u_s

    def forward(self, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """h (B,T,D) -> z (B,D), beta (B,T)."""
        u = torch.tanh(self.proj(h))  # (B,T,a)
        beta = torch.softmax(u @ self.context, dim=1)  # (B,T)
        z = (beta.unsqueeze(2) * h).sum(1)  # (B,D)
        return z, beta


class TwoAttTwoMt(nn.Module):
    """2Att-2Mt: backbone -> per-stage spatial attention -> Bi-RNN -> layer attention -> two heads."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        self.backbone = build_backbone(config.backbone, config.backbone_weights)
        channels = list(self.backbone.channels)
        self.stage_attention = nn.ModuleList(
            SpatialAttentionPool(c, config.attention_dim, config.feature_dim, config.first_level_attention)
            for c in channels
        )
        rnn_cls = nn.GRU if config.rnn_type == "gru" else nn.LSTM
        self.rnn = rnn_cls(
            config.feature_dim, config.rnn_hidden, num_layers=config.rnn_layers, batch_first=True,
            bidirectional=True,
        )
        seq_dim = 2 * config.rnn_hidden
        # Without the Bi-RNN the last stage's vector is mapped to the same width the heads expect.
        self.last_stage_proj = None if config.bi_rnn else nn.Linear(config.feature_dim, seq_dim)
        self.layer_attention = LayerSelfAttention(seq_dim, config.layer_attention_dim)
        self.dropout = nn.Dropout(config.dropout)
        self.expression_head = nn.Linear(seq_dim, config.num_classes)
        va_in = seq_dim + (config.num_classes if config.va_uses_expression else 0)
        n_va_heads = 2 if config.separate_va_heads else 1
        self.va_hidden = nn.ModuleList(nn.Linear(va_in, config.va_hidden) for _ in range(n_va_heads))
        self.va_out = nn.ModuleList(nn.Linear(config.va_hidden, 2 // n_va_heads) for _ in range(n_va_heads))
        self.va_std_out: nn.ModuleList | None = None
        if config.va_uncertainty:
            self.add_uncertainty_head()

    def add_uncertainty_head(self) -> None:
        """Give the model the heteroscedastic V/A head (fresh weights; no-op when it has one) and set
        `config.va_uncertainty`, so a checkpoint trained without it can be fine-tuned with it."""
        if self.va_std_out is not None:
            return
        n_va_heads = len(self.va_hidden)
        device = self.va_out[0].weight.device
        self.va_std_out = nn.ModuleList(
            nn.Linear(self.config.va_hidden, 2 // n_va_heads) for _ in range(n_va_heads)
        ).to(device)
        self.config.va_uncertainty = True

    def forward_features(
        self, x: torch.Tensor
    ) -> tuple[torch.Tensor, list[torch.Tensor], torch.Tensor, torch.Tensor]:
        """x (B,3,S,S) normalised -> z (B,2*rnn_hidden), 4 spatial maps (B,H_l,W_l), layer weights (B,4),
        stage vectors x_1..x_4 (B,4,d)."""
        feats = self.backbone(x)  # 4 x (B,C_l,H_l,W_l)
        pooled, maps = [], []
        for f, attn in zip(feats, self.stage_attention, strict=True):
            v, a = attn(f)  # (B,d), (B,H_l,W_l)
            pooled.append(v)
            maps.append(a)
        seq = torch.stack(pooled, dim=1)  # (B,4,d)
        b = x.shape[0]
        if not self.config.bi_rnn:  # ablation: last stage only
            z = self.last_stage_proj(seq[:, -1])  # (B,D)
            beta = F.one_hot(torch.full((b,), NUM_STAGES - 1, device=x.device), NUM_STAGES).to(x.dtype)
            return z, maps, beta, seq
        h, _ = self.rnn(seq)  # (B,4,D)
        if self.config.second_level_attention:
            z, beta = self.layer_attention(h)  # (B,D), (B,4)
        else:  # ablation: mean over layers
            z = h.mean(1)  # (B,D)
            beta = h.new_full((b, NUM_STAGES), 1.0 / NUM_STAGES)  # (B,4)
        return z, maps, beta, seq

    def forward_head(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """z (B,D) -> expression_logits (B,8), valence_arousal (B,2) in [-1,1], and the V/A standard
        deviation (B,2) when the model has the uncertainty head (else None)."""
        logits = self.expression_head(self.dropout(z))  # (B,8)
        r_in = torch.cat([z, torch.softmax(logits, dim=1)], dim=1) if self.config.va_uses_expression else z
        hidden = [self.dropout(F.relu(hid(r_in))) for hid in self.va_hidden]  # 1 or 2 x (B,va_hidden)
        va = torch.cat([out(h) for h, out in zip(hidden, self.va_out, strict=True)], dim=1)  # (B,2)
        if self.va_std_out is None:
            return logits, torch.tanh(va), None
        raw = torch.cat([out(h) for h, out in zip(hidden, self.va_std_out, strict=True)], dim=1)  # (B,2)
        return logits, torch.tanh(va), F.softplus(raw) + VA_STD_FLOOR

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor | list[torch.Tensor]]:
        """x (B,3,S,S) normalised face crops -> the named outputs listed in the module docstring."""
        z, maps, beta, seq = self.forward_features(x)
        logits, va, va_std = self.forward_head(z)
        out = {
            "valence_arousal": va,
            "expression_logits": logits,
            "spatial_attention": maps,
            "layer_attention": beta,
            "layer_features": seq,
        }
        if va_std is not None:
            out["valence_arousal_std"] = va_std  # (B,2)
        return out


def build_model(config: ModelConfig | None = None) -> TwoAttTwoMt:
    """Build a fresh 2Att-2Mt model from `config` (the default config when None)."""
    return TwoAttTwoMt(config or ModelConfig())

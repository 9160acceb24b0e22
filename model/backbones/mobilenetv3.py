"""MobileNetV3-Large 1.0 feature extractor (timm's `mobilenetv3_large_100` layout and key names).

Built from the shared MBConv blocks in `model.backbones.efficientnet`: hard-swish stem, ReLU in the early
stages and hard-swish later, squeeze-excite with a hard-sigmoid gate. `features_only` stages as timm's
out_indices (1, 2, 3, 4): channels 24, 40, 112, 960 at strides 4, 8, 16, 32. No ImageNet weights ship
offline, so it starts from random weights unless a local state-dict file is given.
"""

from __future__ import annotations

from torch import nn

from model.backbones.efficientnet import (
    BlockSpec,
    MBConvFeatures,
    NetSpec,
    SqueezeExcite,
    make_divisible,
    repeat,
)


def _mobilenetv3_se(channels: int, block_in: int) -> nn.Module:
    """MobileNetV3's squeeze-excite: a quarter of the expanded width (to 8), ReLU, hard-sigmoid gate."""
    return SqueezeExcite(channels, make_divisible(channels * 0.25), nn.ReLU, nn.Hardsigmoid)


_RE, _HS = nn.ReLU, nn.Hardswish

MOBILENETV3_LARGE_SPEC = NetSpec(
    stem=16,
    act=_HS,
    stages=(
        repeat(1, "ds", 3, 1, 1, 16, _RE),
        repeat(1, "ir", 3, 2, 4, 24, _RE) + repeat(1, "ir", 3, 1, 3, 24, _RE),
        repeat(3, "ir", 5, 2, 3, 40, _RE, se=True),
        repeat(1, "ir", 3, 2, 6, 80, _HS) + repeat(1, "ir", 3, 1, 2.5, 80, _HS)
        + repeat(2, "ir", 3, 1, 2.3, 80, _HS),
        repeat(2, "ir", 3, 1, 6, 112, _HS, se=True),
        repeat(3, "ir", 5, 2, 6, 160, _HS, se=True),
        (BlockSpec("cn", 1, 1, 1, 960, _HS),),
    ),
    se_layer=_mobilenetv3_se,
)


def mobilenetv3_large_100_features() -> MBConvFeatures:
    """MobileNetV3-Large 1.0 trunk with random weights; stage channels 24, 40, 112, 960."""
    return MBConvFeatures(MOBILENETV3_LARGE_SPEC)

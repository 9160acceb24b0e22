"""A backbone from face-api's face feature extractor (MIT, npm @vladmandic/face-api@1.7.15).

face-api's FaceExpressionNet reads faces with four dense blocks (channels 32-64-128-256, each halving the
size; model/backbones/faceapi_blocks.py). This backbone reuses those blocks, trained on faces, to give
2Att-2Mt its four stage outputs at strides 4, 8, 16 and 32 (the interface of model/backbones/__init__.py):
    F_1 = dense block 1 (64 channels, stride 4)
    F_2 = dense block 2 (128 channels, stride 8)
    F_3 = dense block 3 (256 channels, stride 16)
    F_4 = one more separable 3x3 conv, stride 2, with ReLU (256 channels, stride 32; not in face-api, so
          it starts from random weights).
Block 0 (stride 2) feeds block 1 and is not a stage output. With `weights="faceapi"` the four dense
blocks start from the vendored face-api expression weights; input normalisation is face-api's own
(x - mean RGB) / 255, i.e. mean = its mean RGB / 255 and std 1 in model.config.BACKBONE_NORMALIZATION.
"""

from __future__ import annotations

import torch
from torch import nn

from model.backbones.faceapi_blocks import (
    BLOCK_CHANNELS,
    DEFAULT_FACEAPI_MANIFEST,
    DenseBlock,
    read_tfjs_weights,
)
from model.backbones.tf_layers import SeparableConv2d


class FaceApiFeatures(nn.Module):
    """face-api's dense blocks plus one stride-2 stage: (B,3,S,S) -> 4 maps at strides 4, 8, 16, 32."""

    def __init__(self) -> None:
        super().__init__()
        channels = (3, *BLOCK_CHANNELS)
        self.blocks = nn.ModuleList(DenseBlock(channels[i], channels[i + 1], first=i == 0) for i in range(4))
        self.last = SeparableConv2d(BLOCK_CHANNELS[-1], BLOCK_CHANNELS[-1], 3, 2, bias=True)
        self.channels = [*BLOCK_CHANNELS[1:], BLOCK_CHANNELS[-1]]

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        """x (B,3,S,S) normalised -> maps of 64, 128, 256, 256 channels at S/4, S/8, S/16, S/32."""
        x = self.blocks[0](x)  # (B,32,S/2,S/2)
        f1 = self.blocks[1](x)  # (B,64,S/4,S/4)
        f2 = self.blocks[2](f1)  # (B,128,S/8,S/8)
        f3 = self.blocks[3](f2)  # (B,256,S/16,S/16)
        f4 = torch.relu(self.last(f3))  # (B,256,S/32,S/32)
        return [f1, f2, f3, f4]


def load_faceapi_weights(backbone: FaceApiFeatures) -> None:
    """Copy the vendored face-api expression model's dense blocks into `backbone` (the last stage stays)."""
    weights = read_tfjs_weights(DEFAULT_FACEAPI_MANIFEST)
    for i, block in enumerate(backbone.blocks):
        block.load_tf(weights, f"dense{i}")

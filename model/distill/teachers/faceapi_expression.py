"""Teacher 2: @vladmandic/face-api's FaceExpressionNet (112x112 RGB), rebuilt in PyTorch.

The vendored files `assets/teachers/face_api/face_expression_model.bin` + `...-weights_manifest.json`
(MIT, from npm `@vladmandic/face-api@1.7.15`) are tfjs weights: the manifest lists each tensor's name,
shape and uint8 quantisation (value = q * scale + min); the .bin file holds them back to back.

Architecture (face-api `FaceFeatureExtractor` + `FaceExpressionNet`): four dense blocks of one strided
conv (block 0: plain 3x3 conv, others: separable) and three separable 3x3 convs whose outputs are summed
densely, channels 32-64-128-256, each block halving the size (112 -> 7); 7x7 average pooling; a fully
connected layer 256 -> 7; softmax. Input: RGB padded to a square, resized to 112, minus the mean RGB
(`model.config.FACEAPI_MEAN_RGB`), divided by 255.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

from model.backbones.faceapi_blocks import (
    BLOCK_CHANNELS,
    DEFAULT_FACEAPI_MANIFEST,
    DenseBlock,
    read_tfjs_weights,
)
from model.backbones.tf_layers import copy_weight
from model.config import FACEAPI_MEAN_RGB
from model.distill.teachers.base import Teacher

# face-api's FACE_EXPRESSION_LABELS (src/faceExpressionNet/FaceExpressions.ts), the network's output order.
FACEAPI_CLASS_NAMES: tuple[str, ...] = (
    "neutral",
    "happy",
    "sad",
    "angry",
    "fearful",
    "disgusted",
    "surprised",
)
class FaceApiExpressionTeacher(Teacher):
    """face-api FaceExpressionNet: RGB face crops -> (B,7) probabilities in FACEAPI_CLASS_NAMES order.

    The expected crop is what face-api's detectors hand the net: the face box (about forehead to chin),
    zero-padded to a square and resized to 112x112.
    """

    name = "faceapi_expression"
    class_names = FACEAPI_CLASS_NAMES
    input_size = 112
    pad_square = True

    def __init__(self) -> None:
        super().__init__()
        channels = (3, *BLOCK_CHANNELS)
        self.blocks = nn.ModuleList(DenseBlock(channels[i], channels[i + 1], first=i == 0) for i in range(4))
        self.fc = nn.Linear(BLOCK_CHANNELS[-1], len(FACEAPI_CLASS_NAMES))
        self.register_buffer("mean_rgb", torch.tensor(FACEAPI_MEAN_RGB).view(1, 3, 1, 1), persistent=False)

    def load_tf(self, weights: dict[str, np.ndarray]) -> None:
        """Copy all tensors of the face-api expression model in (names as in its manifest)."""
        missing = [f"dense{i}/conv0/bias" for i in range(4) if f"dense{i}/conv0/bias" not in weights]
        missing += [n for n in ("fc/weights", "fc/bias") if n not in weights]
        if missing:
            raise ValueError(f"face-api expression weights lack {missing}; is this face_expression_model?")
        for i, block in enumerate(self.blocks):
            block.load_tf(weights, f"dense{i}")
        copy_weight(self.fc.weight, torch.from_numpy(weights["fc/weights"].T.copy()), "fc/weights")
        copy_weight(self.fc.bias, torch.from_numpy(weights["fc/bias"]), "fc/bias")

    def classify(self, images: torch.Tensor) -> torch.Tensor:
        """(B,3,112,112) RGB in 0..255 -> (B,7) probabilities."""
        x = (images - self.mean_rgb) / 255.0  # (B,3,112,112)
        for block in self.blocks:
            x = block(x)  # (B,32,56,56) -> (B,64,28,28) -> (B,128,14,14) -> (B,256,7,7)
        x = torch.nn.functional.avg_pool2d(x, kernel_size=7, stride=2)  # (B,256,1,1)
        return torch.softmax(self.fc(x.flatten(1)), dim=1)  # (B,7)


def load_faceapi_teacher(path: str | Path = DEFAULT_FACEAPI_MANIFEST) -> FaceApiExpressionTeacher:
    """Rebuild face-api's expression net from its tfjs manifest (default: the vendored copy), in eval mode."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"face-api teacher manifest not found at {path}; restore assets/teachers/face_api/"
        )
    teacher = FaceApiExpressionTeacher()
    teacher.load_tf(read_tfjs_weights(path))
    return teacher.eval()

"""Face descriptors for recognising a person again: face-api's FaceRecognitionNet rebuilt in PyTorch.

    embedder = FaceEmbedder()                      # reads the vendored weights (assets/embedding/)
    vectors = embedder.embed(crops)                # B x (S,S,3) uint8 RGB face crops -> (B,128) float32

The network (MIT, npm `@vladmandic/face-api@1.7.15`, after dlib's ResNet face recogniser): a 150x150 RGB
input minus face-api's mean RGB, divided by 255; a 7x7 stride-2 "valid" conv and a 3x3 stride-2 max-pool;
residual blocks of two 3x3 convs (stride 1, "same"), each conv followed by a per-channel scale and shift
(`ConvScale`); the first block of each wider stage convolves with stride 2 ("valid") and adds the input
average-pooled 2x2, zero-padded to the new channel count (and the conv output zero-padded by one row and
column where the two disagree in size); global average pooling; a 256 -> 128 linear map without bias.
Two crops of one person give descriptors a short Euclidean distance apart (face-api uses 0.6); the app's
threshold is measured on the shipped faces (docs/BENCHMARKS.md, "Re-identification").
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from model.assets import asset_path, restore_hint
from model.backbones.faceapi_blocks import read_tfjs_weights
from model.config import FACEAPI_MEAN_RGB
from model.preprocessing import resize_crop

EMBEDDING_MANIFEST = asset_path("embedding", "face_api", "face_recognition_model-weights_manifest.json")
INPUT_SIZE = 150  # the network's input side
DESCRIPTOR_SIZE = 128
# (weight-name prefix, in channels, out channels, first block of a stage that halves the size)
BLOCKS: tuple[tuple[str, int, int, bool], ...] = (
    ("conv32_1", 32, 32, False), ("conv32_2", 32, 32, False), ("conv32_3", 32, 32, False),
    ("conv64_down", 32, 64, True), ("conv64_1", 64, 64, False), ("conv64_2", 64, 64, False),
    ("conv64_3", 64, 64, False),
    ("conv128_down", 64, 128, True), ("conv128_1", 128, 128, False), ("conv128_2", 128, 128, False),
    ("conv256_down", 128, 256, True), ("conv256_1", 256, 256, False), ("conv256_2", 256, 256, False),
    ("conv256_down_out", 256, 256, True),
)


class ConvScale(nn.Module):
    """conv (+bias) then a per-channel scale and shift; ReLU when `relu`."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int, padding: int, relu: bool) -> None:
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, kernel, stride, padding)
        self.weight = nn.Parameter(torch.ones(cout))
        self.shift = nn.Parameter(torch.zeros(cout))
        self.relu = relu

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B,cin,H,W) -> (B,cout,H',W')."""
        out = self.conv(x) * self.weight[:, None, None] + self.shift[:, None, None]
        return F.relu(out) if self.relu else out


class ResidualBlock(nn.Module):
    """Two ConvScale layers plus the input; `down`: the first conv has stride 2 ("valid")."""

    def __init__(self, cin: int, cout: int, down: bool) -> None:
        super().__init__()
        self.down = down
        self.conv1 = ConvScale(cin, cout, 3, 2 if down else 1, 0 if down else 1, relu=True)
        self.conv2 = ConvScale(cout, cout, 3, 1, 1, relu=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B,cin,H,W) -> (B,cout,H',W'); H' = floor(H/2) when `down`."""
        out = self.conv2(self.conv1(x))
        if not self.down:
            return F.relu(out + x)
        pooled = F.avg_pool2d(x, 2, 2)  # (B,cin,H/2,W/2)
        if pooled.shape[2:] != out.shape[2:]:  # a "valid" conv lost one row and column
            out = F.pad(out, (0, pooled.shape[3] - out.shape[3], 0, pooled.shape[2] - out.shape[2]))
        if pooled.shape[1] != out.shape[1]:
            pooled = F.pad(pooled, (0, 0, 0, 0, 0, out.shape[1] - pooled.shape[1]))
        return F.relu(out + pooled)


class FaceRecognitionNet(nn.Module):
    """(B,3,150,150) normalised input -> (B,128) face descriptors."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = ConvScale(3, 32, 7, 2, 0, relu=True)
        self.blocks = nn.Sequential(*(ResidualBlock(cin, cout, down) for _, cin, cout, down in BLOCKS))
        self.fc = nn.Linear(256, DESCRIPTOR_SIZE, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B,3,150,150) -> (B,128)."""
        out = F.max_pool2d(self.stem(x), 3, 2)  # (B,32,35,35)
        out = self.blocks(out)  # (B,256,2,2)
        return self.fc(out.mean(dim=(2, 3)))


def _load(layer: ConvScale, weights: dict[str, np.ndarray], prefix: str) -> None:
    """Copy one tfjs conv + scale layer (kernel (kh,kw,in,out) -> (out,in,kh,kw))."""
    kernel = weights[f"{prefix}/conv/filters"]
    layer.conv.weight.data.copy_(torch.from_numpy(kernel.transpose(3, 2, 0, 1).copy()))
    layer.conv.bias.data.copy_(torch.from_numpy(weights[f"{prefix}/conv/bias"]))
    layer.weight.data.copy_(torch.from_numpy(weights[f"{prefix}/scale/weights"]))
    layer.shift.data.copy_(torch.from_numpy(weights[f"{prefix}/scale/biases"]))


def load_face_recognition_net(manifest: Path = EMBEDDING_MANIFEST) -> FaceRecognitionNet:
    """The network with the vendored face-api weights, in eval mode; a missing file says how to restore it."""
    if not manifest.is_file():
        raise FileNotFoundError(f"face embedding weights {manifest} are missing: "
                                f"{restore_hint('embedding', 'face_api', manifest.name)}")
    weights = read_tfjs_weights(manifest)
    net = FaceRecognitionNet()
    _load(net.stem, weights, "conv32_down")
    for block, (prefix, *_rest) in zip(net.blocks, BLOCKS, strict=True):
        _load(block.conv1, weights, f"{prefix}/conv1")
        _load(block.conv2, weights, f"{prefix}/conv2")
    net.fc.weight.data.copy_(torch.from_numpy(weights["fc"].T.copy()))  # (256,128) -> (128,256)
    return net.eval()


class FaceEmbedder:
    """Descriptors of square face crops, on the CPU (a few ms per face)."""

    def __init__(self, manifest: Path = EMBEDDING_MANIFEST) -> None:
        """Load the network (FileNotFoundError names the missing weights and how to restore them)."""
        self.net = load_face_recognition_net(manifest)
        self._mean = torch.tensor(FACEAPI_MEAN_RGB, dtype=torch.float32)[:, None, None]  # (3,1,1)

    @torch.no_grad()
    def embed(self, crops: Sequence[np.ndarray]) -> np.ndarray:
        """B x (S,S,3) uint8 RGB square crops -> (B,128) float32 descriptors (B may be 0)."""
        if not crops:
            return np.zeros((0, DESCRIPTOR_SIZE), np.float32)
        batch = np.stack([resize_crop(c, INPUT_SIZE) for c in crops])  # (B,150,150,3) uint8
        x = torch.from_numpy(batch).permute(0, 3, 1, 2).float()  # (B,3,150,150)
        x = (x - self._mean) / 255.0
        return self.net(x).numpy().astype(np.float32)  # (B,128)

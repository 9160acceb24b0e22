"""Feature extractors returning the four stage outputs F_1..F_4 (strides 4, 8, 16, 32).

Modelled on timm's `features_only` interface: every backbone is an `nn.Module` whose `forward(x)`
returns a list of 4 tensors and whose `channels` attribute lists their channel counts.
torchvision and timm do not import beside the CPU torch build used here, so the networks are written
in the project.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn


class _BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        return self.relu(self.bn2(self.conv2(out)) + identity)


class _Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, cin: int, width: int, stride: int) -> None:
        super().__init__()
        cout = width * self.expansion
        self.conv1 = nn.Conv2d(cin, width, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = nn.Conv2d(width, cout, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        return self.relu(self.bn3(self.conv3(out)) + identity)


class ResNetFeatures(nn.Module):
    """ResNet-18/50 trunk (torchvision layout and state-dict keys) returning layer1..layer4 outputs."""

    def __init__(self, block: type[nn.Module], layers: tuple[int, int, int, int]) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        cin = 64
        stages = []
        for i, (width, depth) in enumerate(zip((64, 128, 256, 512), layers, strict=True)):
            blocks = []
            for j in range(depth):
                stride = 2 if (j == 0 and i > 0) else 1
                blocks.append(block(cin, width, stride))
                cin = width * block.expansion
            stages.append(nn.Sequential(*blocks))
        self.layer1, self.layer2, self.layer3, self.layer4 = stages
        self.channels = [w * block.expansion for w in (64, 128, 256, 512)]

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))  # (B,64,S/4,S/4)
        f1 = self.layer1(x)  # (B,C1,S/4,S/4)
        f2 = self.layer2(f1)  # (B,C2,S/8,S/8)
        f3 = self.layer3(f2)  # (B,C3,S/16,S/16)
        f4 = self.layer4(f3)  # (B,C4,S/32,S/32)
        return [f1, f2, f3, f4]


def _resnet18() -> nn.Module:
    return ResNetFeatures(_BasicBlock, (2, 2, 2, 2))


def _resnet50() -> nn.Module:
    return ResNetFeatures(_Bottleneck, (3, 4, 6, 3))


BACKBONES = {
    "resnet18": _resnet18,
    "resnet50": _resnet50,
}


def load_local_weights(backbone: nn.Module, path: str | Path) -> None:
    """Load a local state-dict file into `backbone`, ignoring classifier keys; names the file on error."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"backbone weights file {path} does not exist")
    state = torch.load(path, map_location="cpu", weights_only=True)
    if isinstance(state, dict) and "state_dict" in state:
        state = state["state_dict"]
    own = backbone.state_dict()
    usable = {k: v for k, v in state.items() if k in own and own[k].shape == v.shape}
    missing = sorted(set(own) - set(usable))
    if missing:
        raise ValueError(f"backbone weights file {path} lacks {len(missing)} tensors, e.g. {missing[:3]}")
    backbone.load_state_dict(usable)


def build_backbone(name: str, weights: str | None = None) -> nn.Module:
    """Build backbone `name`; `weights` is None (random), "imagenet" (where shipped) or a local path."""
    if name not in BACKBONES:
        raise ValueError(f"unknown backbone {name!r}; choose one of {sorted(BACKBONES)}")
    backbone = BACKBONES[name]()
    if weights == "imagenet":
        raise ValueError(f"no offline ImageNet weights ship for {name}; pass a local weights file instead")
    if weights is not None:
        load_local_weights(backbone, weights)
    return backbone

"""Feature extractors returning the four stage outputs F_1..F_4 (strides 4, 8, 16, 32).

Modelled on timm's `features_only` interface: every backbone is an `nn.Module` whose `forward(x)`
returns a list of 4 tensors and whose `channels` attribute lists their channel counts.
torchvision and timm do not import beside the CPU torch build used here, so the networks are written
in the project: ResNet-18/50 here, EfficientNet-Lite0 in `model.backbones.efficientnet`, MobileNetV3-Large
in `model.backbones.mobilenetv3`, face-api's face feature extractor in `model.backbones.faceapi`. The first
three use their reference implementation's state-dict key names (torchvision for ResNets, timm for the
others), so a local weights file saved from those libraries loads directly. Nothing here downloads: "imagenet"
weights exist only for efficientnet_lite0 (from an installed package), "faceapi" weights only for
faceapi_features (the vendored face-api expression model).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

from model.backbones.efficientnet import efficientnet_lite0_features, lite0_imagenet_state_dict
from model.backbones.mobilenetv3 import mobilenetv3_large_100_features


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


def _faceapi_features() -> nn.Module:
    from model.backbones.faceapi import FaceApiFeatures  # imported on use: it reads tfjs weights

    return FaceApiFeatures()


def _load_faceapi(backbone: nn.Module) -> None:
    from model.backbones.faceapi import load_faceapi_weights

    load_faceapi_weights(backbone)


BACKBONES: dict[str, Callable[[], nn.Module]] = {
    "efficientnet_lite0": efficientnet_lite0_features,
    "mobilenetv3_large_100": mobilenetv3_large_100_features,
    "resnet18": _resnet18,
    "resnet50": _resnet50,
    "faceapi_features": _faceapi_features,
}
# Backbones whose ImageNet weights ship offline (in an installed package): name -> state-dict reader.
IMAGENET_WEIGHTS: dict[str, Callable[[], dict[str, torch.Tensor]]] = {
    "efficientnet_lite0": lite0_imagenet_state_dict,
}
# Backbones with face-trained weights that ship offline: name -> loader into the backbone.
FACE_WEIGHTS: dict[str, Callable[[nn.Module], None]] = {
    "faceapi_features": _load_faceapi,
}


def load_matching_state(backbone: nn.Module, state: dict[str, torch.Tensor], source: str | Path) -> None:
    """Load every tensor `backbone` has from `state` (extra keys such as a classifier are ignored).

    A missing tensor or a shape mismatch is an error naming `source` and the first offending keys.
    """
    own = backbone.state_dict()
    missing = sorted(k for k in own if k not in state)
    if missing:
        raise ValueError(
            f"backbone weights file {source} lacks {len(missing)} of the {len(own)} tensors this backbone "
            f"needs, e.g. {missing[:3]}; was it saved from another architecture?"
        )
    wrong = [f"{k} {tuple(state[k].shape)} != {tuple(v.shape)}" for k, v in own.items()
             if state[k].shape != v.shape]
    if wrong:
        raise ValueError(
            f"backbone weights file {source} has {len(wrong)} tensors of the wrong shape, e.g. {wrong[:3]}"
        )
    backbone.load_state_dict({k: state[k] for k in own})


def load_local_weights(backbone: nn.Module, path: str | Path) -> None:
    """Load a local state-dict file (optionally under a "state_dict" key); errors name the file."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"backbone weights file {path} does not exist")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # any unreadable file (truncated, not a torch file, pickle payload) alike
        raise ValueError(f"cannot read backbone weights file {path}: {exc}") from exc
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ValueError(f"backbone weights file {path} does not hold a state dict of tensors")
    load_matching_state(backbone, state, path)


def build_backbone(name: str, weights: str | Path | None = None) -> nn.Module:
    """Build backbone `name`; `weights`: None (random), "imagenet" (efficientnet_lite0), "faceapi"
    (faceapi_features: face-api's face-trained blocks) or a local path."""
    if name not in BACKBONES:
        raise ValueError(f"unknown backbone {name!r}; choose one of {sorted(BACKBONES)}")
    backbone = BACKBONES[name]()
    if weights == "faceapi":
        if name not in FACE_WEIGHTS:
            raise ValueError(f"'faceapi' weights exist only for {sorted(FACE_WEIGHTS)}, not {name}")
        FACE_WEIGHTS[name](backbone)
    elif weights == "imagenet":
        if name not in IMAGENET_WEIGHTS:
            raise ValueError(
                f"no offline ImageNet weights ship for {name} (only for {sorted(IMAGENET_WEIGHTS)}); "
                "pass a local weights file or None"
            )
        load_matching_state(backbone, IMAGENET_WEIGHTS[name](), f"{name} ImageNet weights")
    elif weights is not None:
        load_local_weights(backbone, weights)
    return backbone

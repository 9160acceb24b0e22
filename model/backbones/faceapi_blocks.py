"""face-api's face feature extractor (MIT, npm `@vladmandic/face-api@1.7.15`) rebuilt in PyTorch: its four
dense blocks and the reader of its tfjs weight files.

The vendored files `assets/teachers/face_api/face_expression_model.bin` + `...-weights_manifest.json` are
tfjs weights: the manifest lists each tensor's name, shape and uint8 quantisation (value = q * scale +
min); the .bin file holds them back to back. A dense block is one strided conv (block 0: plain 3x3 conv,
others: separable) and three separable 3x3 convs whose outputs are summed densely; channels 32-64-128-256,
each block halving the size. Used by the `faceapi` backbone (`model.backbones.faceapi`) and by the
expression teacher (`model.distill.teachers.faceapi_expression`).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
from torch import nn

from model.assets import asset_path
from model.backbones.tf_layers import SeparableConv2d, TFSamePad, conv_kernel, copy_weight

_ASSET_DIR = asset_path("teachers", "face_api")
DEFAULT_FACEAPI_MANIFEST = _ASSET_DIR / "face_expression_model-weights_manifest.json"
BLOCK_CHANNELS = (32, 64, 128, 256)


def read_tfjs_weights(manifest_path: Path) -> dict[str, np.ndarray]:
    """All tensors of a tfjs weights manifest (and the .bin files it names), dequantised to float32."""
    try:
        groups = json.loads(manifest_path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ValueError(f"{manifest_path}: not a readable tfjs weights manifest ({exc})") from exc
    out: dict[str, np.ndarray] = {}
    for group in groups:
        data = b"".join((manifest_path.parent / p).read_bytes() for p in group["paths"])
        offset = 0
        for spec in group["weights"]:
            shape = tuple(spec["shape"])
            count = int(np.prod(shape))
            quant = spec.get("quantization")
            dtype = np.dtype(quant["dtype"] if quant else spec["dtype"])
            nbytes = count * dtype.itemsize
            if offset + nbytes > len(data):
                raise ValueError(
                    f"{manifest_path}: weight file too short for {spec['name']} (truncated download?)"
                )
            raw = np.frombuffer(data, dtype=dtype, count=count, offset=offset)
            offset += nbytes
            if quant:
                if "scale" not in quant:
                    raise ValueError(f"{manifest_path}: {spec['name']} uses unsupported quantisation {quant}")
                raw = raw.astype(np.float32) * np.float32(quant["scale"]) + np.float32(quant["min"])
            out[spec["name"]] = raw.astype(np.float32).reshape(shape)
        if offset != len(data):
            raise ValueError(
                f"{manifest_path}: {len(data) - offset} unread bytes; manifest and .bin do not match"
            )
    return out


class DenseBlock(nn.Module):
    """face-api `denseBlock4`: strided conv c0, then separable c1..c3 on running sums; ReLU on each sum."""

    def __init__(self, in_channels: int, out_channels: int, first: bool) -> None:
        super().__init__()
        if first:
            self.conv0 = nn.Sequential(TFSamePad(3, 2), nn.Conv2d(in_channels, out_channels, 3, 2))
        else:
            self.conv0 = SeparableConv2d(in_channels, out_channels, 3, 2, bias=True)
        self.convs = nn.ModuleList(
            SeparableConv2d(out_channels, out_channels, 3, 1, bias=True) for _ in range(3)
        )

    def load_tf(self, weights: dict[str, np.ndarray], prefix: str) -> None:
        """Copy this block's tensors (`{prefix}/conv0/...` .. `{prefix}/conv3/...`) in."""
        if isinstance(self.conv0, SeparableConv2d):
            self._load_separable(self.conv0, weights, f"{prefix}/conv0")
        else:
            conv = self.conv0[1]
            copy_weight(
                conv.weight, conv_kernel(weights[f"{prefix}/conv0/filters"]), f"{prefix}/conv0/filters"
            )
            copy_weight(conv.bias, torch.from_numpy(weights[f"{prefix}/conv0/bias"]), f"{prefix}/conv0/bias")
        for i, conv in enumerate(self.convs, start=1):
            self._load_separable(conv, weights, f"{prefix}/conv{i}")

    @staticmethod
    def _load_separable(conv: SeparableConv2d, weights: dict[str, np.ndarray], name: str) -> None:
        """Load one separable conv's depthwise/pointwise/bias tensors."""
        conv.load_tf(
            weights[f"{name}/depthwise_filter"], weights[f"{name}/pointwise_filter"], weights[f"{name}/bias"]
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B,Cin,H,W) -> (B,Cout,H/2,W/2)."""
        out1 = torch.relu(self.conv0(x))  # (B,C,H/2,W/2)
        out2 = self.convs[0](out1)
        out3 = self.convs[1](torch.relu(out1 + out2))
        out4 = self.convs[2](torch.relu(out1 + out2 + out3))
        return torch.relu(out1 + out2 + out3 + out4)  # (B,C,H/2,W/2)

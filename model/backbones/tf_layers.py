"""TensorFlow layer semantics the rebuilt teachers need in PyTorch.

TensorFlow's padding="same" pads asymmetrically when the total padding is odd (the extra pixel goes
after, i.e. right/bottom); PyTorch's symmetric `padding=` cannot express that, so the rebuilt networks
pad explicitly with `TFSamePad` before each strided or odd-padded layer. Weight layouts differ too:
TensorFlow stores kernels as (kh,kw,in,out), PyTorch as (out,in,kh,kw).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


def same_padding(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """(before, after) padding of one spatial axis under TensorFlow's padding="same"."""
    out = -(-size // stride)  # ceil(size / stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


class TFSamePad(nn.Module):
    """Pads (B,C,H,W) the way TensorFlow's padding="same" does for a given kernel and stride."""

    def __init__(self, kernel: int, stride: int, value: float = 0.0) -> None:
        super().__init__()
        self.kernel = kernel
        self.stride = stride
        self.value = value

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B,C,H,W) -> (B,C,H+pad_h,W+pad_w)."""
        # Python ints even while tracing for ONNX: the padding is fixed for a fixed input size, and traced
        # shape arithmetic exported a Pad that dropped the padding of odd sizes.
        top, bottom = same_padding(int(x.shape[2]), self.kernel, self.stride)
        left, right = same_padding(int(x.shape[3]), self.kernel, self.stride)
        if top == bottom == left == right == 0:
            return x
        return F.pad(x, (left, right, top, bottom), value=self.value)


def conv_kernel(kernel: np.ndarray) -> torch.Tensor:
    """TensorFlow conv kernel (kh,kw,in,out) -> PyTorch (out,in,kh,kw)."""
    return torch.from_numpy(np.ascontiguousarray(np.transpose(kernel, (3, 2, 0, 1)), dtype=np.float32))


def depthwise_kernel(kernel: np.ndarray) -> torch.Tensor:
    """TensorFlow depthwise kernel (kh,kw,in,multiplier) -> PyTorch grouped conv (in*multiplier,1,kh,kw)."""
    kh, kw, cin, mult = kernel.shape
    out = np.transpose(kernel, (2, 3, 0, 1)).reshape(cin * mult, 1, kh, kw)
    return torch.from_numpy(np.ascontiguousarray(out, dtype=np.float32))


class SeparableConv2d(nn.Module):
    """TensorFlow's separable convolution: depthwise (stride s), then pointwise 1x1 + bias.

    `same=True` pads like TensorFlow's padding="same"; False is padding="valid".
    """

    def __init__(
        self, in_channels: int, out_channels: int, kernel: int, stride: int, bias: bool, same: bool = True
    ) -> None:
        super().__init__()
        self.pad = TFSamePad(kernel, stride) if same else nn.Identity()
        self.depthwise = nn.Conv2d(in_channels, in_channels, kernel, stride, groups=in_channels, bias=False)
        self.pointwise = nn.Conv2d(in_channels, out_channels, 1, bias=bias)

    def load_tf(self, depthwise: np.ndarray, pointwise: np.ndarray, bias: np.ndarray | None) -> None:
        """Copy TensorFlow-layout weights in; shapes are checked against this layer's."""
        copy_weight(self.depthwise.weight, depthwise_kernel(depthwise), "depthwise kernel")
        copy_weight(self.pointwise.weight, conv_kernel(pointwise), "pointwise kernel")
        if bias is not None:
            copy_weight(self.pointwise.bias, torch.from_numpy(np.asarray(bias, dtype=np.float32)), "bias")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B,Cin,H,W) -> (B,Cout,H',W') (H' = ceil(H/s) with "same" padding)."""
        return self.pointwise(self.depthwise(self.pad(x)))


def copy_weight(param: torch.Tensor, value: torch.Tensor, what: str) -> None:
    """param <- value, with an error naming the weight when the shapes differ."""
    if tuple(param.shape) != tuple(value.shape):
        raise ValueError(
            f"{what}: weight file holds shape {tuple(value.shape)}, layer needs {tuple(param.shape)}"
        )
    with torch.no_grad():
        param.copy_(value)

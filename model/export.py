"""ONNX export of a 2Att-2Mt model: one self-contained file, checked numerically against torch.

The file has one input `image` (B,3,S,S) normalised with the config's mean/std and a symbolic batch
axis, and the outputs `valence_arousal` (B,2), `expression_logits` (B,8), `spatial_attention_1..4`
(B,H_l,W_l) and `layer_attention` (B,4), plus `valence_arousal_std` (B,2) for a model with the
uncertainty head. Its metadata_props carry what a runtime needs without this
code: the ModelConfig JSON (preprocessing included), the class names and the checkpoint metadata.

The TorchScript exporter (`dynamo=False`) is used: with the GRU model the dynamo exporter freezes the
batch axis for a batch-1 example and writes weights to a separate `.onnx.data` file (DESIGN.md).
"""

from __future__ import annotations

import copy
import json
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
import torch
from torch import nn

from model.checkpoint import FORMAT_MARKER, FORMAT_VERSION, complete_metadata
from model.config import ModelConfig
from model.io import atomic_write
from model.network import TwoAttTwoMt

DEFAULT_OPSET = 17
PARITY_TOLERANCE = 1e-4  # max abs difference torch vs onnxruntime accepted on any output
PARITY_BATCHES = (1, 3)
INPUT_NAME = "image"
OUTPUT_NAMES = (
    "valence_arousal",
    "expression_logits",
    "spatial_attention_1",
    "spatial_attention_2",
    "spatial_attention_3",
    "spatial_attention_4",
    "layer_attention",
)
UNCERTAINTY_OUTPUT = "valence_arousal_std"  # the last output of a model with the uncertainty head
# metadata_props keys (all values are strings; JSON where structured)
META_FORMAT = "affectscope_format"
META_FORMAT_VERSION = "affectscope_format_version"
META_CONFIG = "model_config"
META_CLASS_NAMES = "class_names"
META_METADATA = "checkpoint_metadata"
META_PREPROCESSING = "preprocessing"  # for other tools; this app reads model_config


class ExportError(RuntimeError):
    """The exported file failed a structural check; the message names the file."""


def output_names(config: ModelConfig) -> tuple[str, ...]:
    """The ONNX outputs of a model with `config`, in file order."""
    return (*OUTPUT_NAMES, UNCERTAINTY_OUTPUT) if config.va_uncertainty else OUTPUT_NAMES


class FlatOutputs(nn.Module):
    """Wraps TwoAttTwoMt so that `forward` returns a tuple in `output_names` order (ONNX needs flat
    outputs)."""

    def __init__(self, model: TwoAttTwoMt) -> None:
        super().__init__()
        self.model = model

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """image (B,3,S,S) -> (va (B,2), logits (B,8), 4 maps (B,H_l,W_l), layer attention (B,4)
        [, V/A std (B,2)])."""
        out = self.model(image)
        maps = out["spatial_attention"]  # 4 x (B,H_l,W_l)
        flat = (out["valence_arousal"], out["expression_logits"], *maps, out["layer_attention"])
        return (*flat, out[UNCERTAINTY_OUTPUT]) if UNCERTAINTY_OUTPUT in out else flat


@dataclass(frozen=True)
class ExportReport:
    """What `export_onnx` wrote and how closely onnxruntime reproduces torch."""

    path: Path
    opset: int
    size_bytes: int
    # batch size -> output name -> max abs difference between onnxruntime and torch
    parity: dict[int, dict[str, float]] = field(default_factory=dict)
    tolerance: float = PARITY_TOLERANCE

    @property
    def max_abs_diff(self) -> float:
        """Largest difference over every output and every checked batch size."""
        return max(d for per_batch in self.parity.values() for d in per_batch.values())

    @property
    def passed(self) -> bool:
        """True when every output of every checked batch is within `tolerance`."""
        return self.max_abs_diff <= self.tolerance

    def parity_table(self) -> str:
        """Plain-text table: one row per output, one column per batch size."""
        batches = sorted(self.parity)
        header = f"{'output':<22}" + "".join(f"{'batch ' + str(b):>14}" for b in batches)
        rows = [header, "-" * len(header)]
        for name in self.parity[batches[0]]:
            rows.append(f"{name:<22}" + "".join(f"{self.parity[b][name]:>14.3e}" for b in batches))
        verdict = "PASS" if self.passed else "FAIL"
        rows.append(f"max abs diff {self.max_abs_diff:.3e} (tolerance {self.tolerance:.0e}): {verdict}")
        return "\n".join(rows)


def export_graph(
    module: nn.Module, example: torch.Tensor, out_path: str | Path, output_names: tuple[str, ...], opset: int
) -> None:
    """Trace `module` (eval, CPU) on `example` (B,...) into one self-contained ONNX file, batch symbolic.

    Input is named INPUT_NAME; every input and output gets the batch axis "batch". Used for the
    2Att-2Mt export and for timing reference networks.
    """
    dynamic = {name: {0: "batch"} for name in (INPUT_NAME, *output_names)}
    # The TorchScript exporter warns that it is deprecated and about traced Python bools (constant
    # shapes here); the parity check on batches 1 and 3 is what proves the graph right.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            module,
            (example,),
            str(out_path),
            input_names=[INPUT_NAME],
            output_names=list(output_names),
            dynamic_axes=dynamic,
            opset_version=opset,
            do_constant_folding=True,
            dynamo=False,
        )


def preprocessing_description(config: ModelConfig) -> dict[str, Any]:
    """How to turn an image into the `image` input, spelled out for tools that do not use this code."""
    return {
        "input": f"{INPUT_NAME} float32 (batch, 3, {config.input_size}, {config.input_size}), NCHW, RGB",
        "steps": "uint8 RGB crop -> bilinear antialiased resize to input_size, rounded to uint8 -> /255 "
        "-> (x - mean) / std",
        "input_size": config.input_size,
        "mean": list(config.mean),
        "std": list(config.std),
        "crop_margin": config.crop_margin,
    }


def _metadata_props(model: TwoAttTwoMt, metadata: dict[str, Any]) -> dict[str, str]:
    """The string key/values written into the ONNX file's metadata_props."""
    return {
        META_FORMAT: FORMAT_MARKER,
        META_FORMAT_VERSION: str(FORMAT_VERSION),
        META_CONFIG: json.dumps(model.config.to_dict()),
        META_CLASS_NAMES: json.dumps(list(model.config.class_names)),
        META_METADATA: json.dumps(metadata),
        META_PREPROCESSING: json.dumps(preprocessing_description(model.config)),
    }


def _parity(wrapper: FlatOutputs, path: Path, input_size: int) -> dict[int, dict[str, float]]:
    """Max abs difference per output between torch and onnxruntime for each batch in PARITY_BATCHES."""
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    names = output_names(wrapper.model.config)
    generator = torch.Generator().manual_seed(0)
    result: dict[int, dict[str, float]] = {}
    for batch in PARITY_BATCHES:
        x = torch.randn(batch, 3, input_size, input_size, generator=generator)  # (B,3,S,S)
        with torch.inference_mode():
            expected = [t.numpy() for t in wrapper(x)]
        got = session.run(list(names), {INPUT_NAME: x.numpy()})
        result[batch] = {name: _max_abs_diff(g, e) for name, g, e in zip(names, got, expected, strict=True)}
    return result


def _max_abs_diff(got: np.ndarray, expected: np.ndarray) -> float:
    """Largest |got - expected|; infinity when the shapes differ (an export that changed the output)."""
    if got.shape != expected.shape:
        return float("inf")
    return float(np.max(np.abs(got - expected)))


def export_onnx(
    model: TwoAttTwoMt,
    out_path: str | Path,
    metadata: dict[str, Any] | None = None,
    opset: int = DEFAULT_OPSET,
) -> ExportReport:
    """Export `model` to one self-contained ONNX file at `out_path` (written atomically) and check it.

    `metadata` is the checkpoint metadata (name, va_source, untrained, ...) stored in the file. The file
    passes `onnx.checker.check_model(full_check=True)`; the report holds the torch/onnxruntime parity for
    batches 1 and 3. The caller's model is not modified (a CPU copy is exported).
    """
    import onnx  # imported when exporting: it costs ~0.9 s, which every start of the app would pay

    if not isinstance(model, TwoAttTwoMt):
        raise TypeError(f"export_onnx expects a TwoAttTwoMt model, got {type(model).__name__}")
    out_path = Path(out_path)
    meta = complete_metadata(metadata, model.config)
    wrapper = FlatOutputs(copy.deepcopy(model).cpu()).eval()
    s = model.config.input_size
    example = torch.randn(2, 3, s, s, generator=torch.Generator().manual_seed(1))  # (2,3,S,S) batch >= 2
    out_path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out_path.parent, prefix=".onnx-export-") as tmp:
        raw = Path(tmp) / "raw.onnx"
        export_graph(wrapper, example, raw, output_names(model.config), opset)
        proto = onnx.load(str(raw))
        for key, value in _metadata_props(model, meta).items():
            proto.metadata_props.add(key=key, value=value)
        external = [t.name for t in proto.graph.initializer if t.data_location == onnx.TensorProto.EXTERNAL]
        if external:
            raise ExportError(f"ONNX export for {out_path} put {len(external)} tensors in external files")
        onnx.checker.check_model(proto, full_check=True)
        with atomic_write(out_path, "wb") as handle:
            handle.write(proto.SerializeToString())  # one self-contained file (no external data)
    return ExportReport(
        path=out_path, opset=opset, size_bytes=out_path.stat().st_size, parity=_parity(wrapper, out_path, s)
    )

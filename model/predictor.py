"""Batch inference on face crops with one interface over two runtimes: torch (CPU/CUDA) and onnxruntime.

`load_predictor(source, runtime, device)` takes a .pt checkpoint, an .onnx file written by
`export_onnx`, or an in-memory TwoAttTwoMt. The ONNX path reads the config, class names and metadata
from the .onnx file itself. Preprocessing always comes from `model.preprocessing.preprocess_crops`
with the loaded config, nowhere else.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import onnxruntime as ort
import torch

from model import export
from model.calibration import stored_temperature
from model.checkpoint import FORMAT_MARKER, FORMAT_VERSION, complete_metadata, load_checkpoint, sha256_file
from model.config import ModelConfig
from model.network import TwoAttTwoMt
from model.preprocessing import preprocess_crops
from model.runtimes import DEFAULT_RUNTIME, RUNTIMES

# Bump when export.py changes what it writes, so cached exports from older code are not reused.
ONNX_CACHE_TAG = f"v{FORMAT_VERSION}-opset{export.DEFAULT_OPSET}"


class PredictorError(ValueError):
    """A model source, runtime or device that cannot be used; the message says what to do."""


@dataclass(frozen=True, eq=False)  # eq on numpy fields would be ambiguous
class Prediction:
    """Outputs for one batch of B face crops (numpy, float32)."""

    valence_arousal: np.ndarray  # (B,2) in [-1, 1]
    probabilities: np.ndarray  # (B,8) softmax over class_names
    spatial_attention: tuple[np.ndarray, ...]  # 4 x (B,H_l,W_l), each map sums to 1
    layer_attention: np.ndarray  # (B,4) sums to 1
    class_names: tuple[str, ...]  # column order of `probabilities`
    expressions: tuple[str, ...]  # (B,) most probable class name per crop
    # (B,2) predicted standard deviation of valence and arousal; None: the model has no uncertainty head
    valence_arousal_std: np.ndarray | None = None

    def __len__(self) -> int:
        return int(self.valence_arousal.shape[0])


class _Runtime(Protocol):
    """A backend that maps a normalised batch (B,3,S,S) to the named outputs as numpy arrays."""

    def run(self, images: torch.Tensor) -> dict[str, np.ndarray]: ...


def _softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax, (B,K) -> (B,K)."""
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))  # (B,K)
    return (shifted / shifted.sum(axis=1, keepdims=True)).astype(np.float32)


def _torch_device(device: str) -> torch.device:
    """`device` ("cpu", "cuda", "cuda:N") as a torch.device, or a PredictorError saying what to use."""
    if device != "cpu" and not device.startswith("cuda"):
        raise PredictorError(f"unknown device {device!r}; use 'cpu' or 'cuda'")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise PredictorError(
            f"device {device!r} requested but torch sees no CUDA GPU (this torch build is "
            f"{torch.__version__}); use device 'cpu' or install a CUDA build of torch"
        )
    return torch.device(device)


def _onnx_providers(device: str) -> list[str]:
    """onnxruntime execution providers for `device`, or a PredictorError saying what to use instead."""
    if device == "cpu":
        return ["CPUExecutionProvider"]
    if not device.startswith("cuda"):
        raise PredictorError(f"unknown device {device!r}; use 'cpu' or 'cuda'")
    if "CUDAExecutionProvider" not in ort.get_available_providers():
        raise PredictorError(
            f"device {device!r} requested but this onnxruntime has no CUDAExecutionProvider "
            f"(available: {ort.get_available_providers()}); use device 'cpu' or install onnxruntime-gpu"
        )
    return ["CUDAExecutionProvider", "CPUExecutionProvider"]


class _TorchRuntime:
    """Eager torch forward pass under inference_mode on "cpu" or "cuda[:N]"."""

    def __init__(self, model: TwoAttTwoMt, device: str) -> None:
        self.device = _torch_device(device)
        self.model = model.to(self.device).eval()

    def run(self, images: torch.Tensor) -> dict[str, np.ndarray]:
        with torch.inference_mode():
            out = self.model(images.to(self.device))
        arrays = {
            "valence_arousal": out["valence_arousal"],  # (B,2)
            "expression_logits": out["expression_logits"],  # (B,8)
            "layer_attention": out["layer_attention"],  # (B,4)
        }
        for i, a in enumerate(out["spatial_attention"], start=1):
            arrays[f"spatial_attention_{i}"] = a  # (B,H_l,W_l)
        if export.UNCERTAINTY_OUTPUT in out:
            arrays[export.UNCERTAINTY_OUTPUT] = out[export.UNCERTAINTY_OUTPUT]  # (B,2)
        return {k: v.float().cpu().numpy() for k, v in arrays.items()}


class _OnnxRuntime:
    """onnxruntime session on CPUExecutionProvider, or CUDAExecutionProvider for device "cuda"."""

    def __init__(self, path: Path, device: str) -> None:
        providers = _onnx_providers(device)
        options = ort.SessionOptions()
        options.intra_op_num_threads = torch.get_num_threads()  # same thread budget as the torch runtime
        try:
            self.session = ort.InferenceSession(str(path), sess_options=options, providers=providers)
        except Exception as exc:  # onnxruntime raises its own InvalidProtobuf/Fail types, with long texts
            first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise PredictorError(
                f"{path} is not a readable ONNX model ({first_line[:200]}); pass an .onnx file written by "
                "`python main.py export`, or a .pt checkpoint"
            ) from exc
        self.metadata = dict(self.session.get_modelmeta().custom_metadata_map)
        self.names = [o.name for o in self.session.get_outputs()]  # OUTPUT_NAMES [+ UNCERTAINTY_OUTPUT]

    def run(self, images: torch.Tensor) -> dict[str, np.ndarray]:
        got = self.session.run(self.names, {export.INPUT_NAME: images.numpy()})
        return dict(zip(self.names, got, strict=True))


class Predictor:
    """Runs a 2Att-2Mt model on batches of uint8 RGB face crops; see `load_predictor`."""

    def __init__(
        self,
        backend: _Runtime,
        config: ModelConfig,
        metadata: dict[str, Any],
        runtime: str,
        device: str,
        sha256: str | None,
    ) -> None:
        self._backend = backend
        self.config = config
        self.metadata = metadata
        self.runtime = runtime
        self.device = device
        self.sha256 = sha256  # of the file the model came from; None for an in-memory model
        self.temperature = stored_temperature(metadata)  # divides the logits; 1.0: never calibrated
        probe = self._backend.run(torch.zeros(1, 3, config.input_size, config.input_size))  # (1,3,S,S)
        self._map_shapes = tuple(probe[f"spatial_attention_{i}"].shape[1:] for i in range(1, 5))

    @property
    def name(self) -> str:
        """Human-readable model name from the metadata."""
        return self.metadata["name"]

    @property
    def va_source(self) -> str:
        """Where V/A comes from: "measured" (head trained on V/A labels) or "derived" (from expressions)."""
        return self.metadata["va_source"]

    @property
    def has_uncertainty(self) -> bool:
        """True when the model predicts a V/A standard deviation (the heteroscedastic head)."""
        return self.config.va_uncertainty

    @property
    def untrained(self) -> bool:
        """True for random weights: the app labels every result of such a model as untrained."""
        return bool(self.metadata["untrained"])

    def _empty(self) -> Prediction:
        z = np.zeros
        return Prediction(
            valence_arousal=z((0, 2), np.float32),
            probabilities=z((0, self.config.num_classes), np.float32),
            spatial_attention=tuple(z((0, *shape), np.float32) for shape in self._map_shapes),
            layer_attention=z((0, 4), np.float32),
            class_names=self.config.class_names,
            expressions=(),
            valence_arousal_std=z((0, 2), np.float32) if self.has_uncertainty else None,
        )

    def predict(self, crops: Sequence[np.ndarray]) -> Prediction:
        """One forward pass over all `crops` (each uint8 RGB (H,W,3), any size); an empty list gives B=0."""
        if len(crops) == 0:
            return self._empty()
        images = preprocess_crops(crops, self.config)  # (B,3,S,S)
        out = self._backend.run(images)
        probabilities = _softmax(out["expression_logits"] / self.temperature)  # (B,8)
        names = self.config.class_names
        std = out.get(export.UNCERTAINTY_OUTPUT)
        return Prediction(
            valence_arousal=out["valence_arousal"].astype(np.float32),
            probabilities=probabilities,
            spatial_attention=tuple(out[f"spatial_attention_{i}"].astype(np.float32) for i in range(1, 5)),
            layer_attention=out["layer_attention"].astype(np.float32),
            class_names=names,
            expressions=tuple(names[int(k)] for k in probabilities.argmax(axis=1)),
            valence_arousal_std=None if std is None else std.astype(np.float32),
        )


def onnx_cache_dir() -> Path:
    """Cache of .pt -> .onnx conversions: $AFFECTSCOPE_CACHE_DIR/onnx, else ~/.cache/affectscope/onnx."""
    root = os.environ.get("AFFECTSCOPE_CACHE_DIR")
    if root:
        return Path(root) / "onnx"
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "affectscope" / "onnx"


def _onnx_file_config(path: Path, meta: dict[str, str]) -> tuple[ModelConfig, dict[str, Any]]:
    """Config and checkpoint metadata read from an .onnx file's metadata_props."""
    hint = "export it with `python main.py export --model CKPT --out FILE.onnx`"
    if meta.get(export.META_FORMAT) != FORMAT_MARKER:
        raise PredictorError(
            f"{path} is not an AffectScope ONNX export (no {export.META_FORMAT} marker); {hint}"
        )
    if int(meta.get(export.META_FORMAT_VERSION, "0")) > FORMAT_VERSION:
        raise PredictorError(f"{path} was exported by a newer AffectScope; update AffectScope to open it")
    try:
        config = ModelConfig.from_dict(json.loads(meta[export.META_CONFIG]))
        class_names = tuple(json.loads(meta[export.META_CLASS_NAMES]))
        metadata = complete_metadata(json.loads(meta[export.META_METADATA]), config)
    except (KeyError, TypeError, ValueError) as exc:
        raise PredictorError(
            f"{path}: its model metadata is missing or does not parse ({exc}); {hint}"
        ) from exc
    if class_names != config.class_names:
        raise PredictorError(f"{path}: class_names {class_names} disagree with its config; {hint}")
    return config, metadata


def _onnx_predictor(path: Path, device: str, sha256: str | None) -> Predictor:
    """A Predictor over an onnxruntime session, its config and metadata read from the file."""
    backend = _OnnxRuntime(path, device)
    config, metadata = _onnx_file_config(path, backend.metadata)
    return Predictor(backend, config, metadata, "onnx", device, sha256)


def _export_checked(model: TwoAttTwoMt, out_path: Path, metadata: dict[str, Any]) -> None:
    """Export to `out_path`, refusing (and deleting) a file that fails the torch parity check."""
    report = export.export_onnx(model, out_path, metadata)
    if not report.passed:
        out_path.unlink(missing_ok=True)
        raise PredictorError(
            f"ONNX export of {metadata['name']} differs from torch by {report.max_abs_diff:.2e} "
            f"(> {report.tolerance:.0e}); use runtime 'torch'"
        )


def resolve_runtime(runtime: str, device: str) -> str:
    """The runtime that `runtime` means on `device`: "auto" is "onnx" on "cpu" and "torch" on CUDA."""
    if runtime not in RUNTIMES:
        raise PredictorError(f"unknown runtime {runtime!r}; choose one of {RUNTIMES}")
    if runtime != "auto":
        return runtime
    return "onnx" if device == "cpu" else "torch"


def load_predictor(
    source: str | Path | TwoAttTwoMt,
    runtime: str = DEFAULT_RUNTIME,
    device: str = "cpu",
    metadata: dict[str, Any] | None = None,
) -> Predictor:
    """Open `source` (a .pt checkpoint, an .onnx export, or an in-memory TwoAttTwoMt) for inference.

    runtime "torch" runs the network eagerly on `device` ("cpu"/"cuda"); runtime "onnx" runs it in
    onnxruntime (a .pt source is exported once and cached by its sha256 under `onnx_cache_dir()`);
    "auto" picks one (`resolve_runtime`), and an .onnx source always runs in onnxruntime.
    `metadata` applies to an in-memory model only (a file carries its own); such a model is put in
    eval mode and moved to `device` in place.
    """
    if runtime == "auto" and not isinstance(source, TwoAttTwoMt) and Path(source).suffix.lower() == ".onnx":
        runtime = "onnx"
    runtime = resolve_runtime(runtime, device)
    if runtime == "torch":  # a device that cannot work fails here, before any loading or export
        _torch_device(device)
    else:
        _onnx_providers(device)
    if isinstance(source, TwoAttTwoMt):
        meta = complete_metadata(metadata, source.config)
        if runtime == "torch":
            return Predictor(_TorchRuntime(source.eval(), device), source.config, meta, runtime, device, None)
        with tempfile.TemporaryDirectory(prefix="affectscope-onnx-") as tmp:
            path = Path(tmp) / "model.onnx"
            _export_checked(source, path, meta)
            predictor = _onnx_predictor(path, device, None)  # the session holds the model in memory
        return predictor
    path = Path(source)
    if not path.is_file():
        raise PredictorError(f"model file {path} does not exist; pass a .pt checkpoint or an .onnx export")
    if path.suffix.lower() == ".onnx":
        if runtime != "onnx":
            raise PredictorError(
                f"{path} is an ONNX file; open it with runtime 'onnx' (or pass its .pt checkpoint)"
            )
        return _onnx_predictor(path, device, sha256_file(path))
    ckpt = load_checkpoint(path)
    if runtime == "torch":
        backend = _TorchRuntime(ckpt.model, device)
        return Predictor(backend, ckpt.config, ckpt.metadata, runtime, device, ckpt.sha256)
    cached = onnx_cache_dir() / f"{ckpt.sha256}-{ONNX_CACHE_TAG}.onnx"
    if not cached.is_file():  # export_onnx writes atomically, and a file failing parity is deleted
        _export_checked(ckpt.model, cached, ckpt.metadata)
    return _onnx_predictor(cached, device, ckpt.sha256)

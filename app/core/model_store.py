"""Which model the app uses: a file the user names, else the shipped default (assets/models/starter.pt).

The default model ships with AffectScope; when its file is missing the installation is broken, and
every command says how to restore it instead of quietly running random weights. A freshly initialised,
untrained 2Att-2Mt is only used when asked for by name (`--model untrained`), for trying the pipeline;
its metadata says `untrained=True`, so every view and file that shows its results can say so.
"""

from __future__ import annotations

from pathlib import Path

import torch

from model.assets import asset_path, restore_hint
from model.checkpoint import FORMAT_VERSION, LoadedCheckpoint, complete_metadata, load_checkpoint
from model.config import ModelConfig
from model.network import build_model
from model.predictor import Predictor, load_predictor
from model.runtimes import DEFAULT_RUNTIME

DEFAULT_MODEL_PATH = asset_path("models", "starter.pt")
UNTRAINED = "untrained"  # the model name that asks for random weights
UNTRAINED_NAME = "untrained 2Att-2Mt (random weights)"
UNTRAINED_SEED = 0
MODEL_SUFFIXES = (".pt", ".onnx")


class ModelNotFound(FileNotFoundError):
    """The named model file, or the shipped default model, is not there; the message says what to do."""


def default_model_path() -> Path | None:
    """The shipped default model file, or None when this installation lacks it."""
    return DEFAULT_MODEL_PATH if DEFAULT_MODEL_PATH.is_file() else None


def _folder_hint(folder: Path) -> str:
    """What to pass instead of a folder: the model files inside it, best checkpoints first."""
    found = sorted(p for p in folder.glob("*") if p.suffix.lower() in MODEL_SUFFIXES)
    found.sort(key=lambda p: ("best" not in p.name, "stage2" not in p.name))
    if not found:
        return f"{folder} is a folder without .pt or .onnx files; pass a model file"
    names = ", ".join(str(p) for p in found[:3])
    return f"{folder} is a folder, not a model file; pass one of the model files in it, e.g. {names}"


def resolve_model_path(path: str | Path | None = None) -> Path | None:
    """The model file to open: `path` (it must be a file), else the shipped default model.

    Returns None only for `path == "untrained"` (random weights asked for by name). Raises ModelNotFound
    for a missing file, a folder (naming the model files in it) or a missing default model.
    """
    if path is None:
        default = default_model_path()
        if default is None:
            raise ModelNotFound(
                f"the default model is missing: {restore_hint('models', 'starter.pt')}; or pass a trained "
                f"checkpoint with --model (or --model {UNTRAINED} for random weights, to try the pipeline)"
            )
        return default
    if str(path) == UNTRAINED:
        return None
    path = Path(path).expanduser()
    if path.is_dir():
        raise ModelNotFound(_folder_hint(path))
    if not path.is_file():
        raise ModelNotFound(
            f"model file {path} does not exist; pass a .pt checkpoint or an .onnx export, "
            "or leave the model out to use the default model"
        )
    return path


def untrained_model(config: ModelConfig | None = None) -> LoadedCheckpoint:
    """A freshly initialised 2Att-2Mt (default config, seed 0) labelled untrained; it was never a file."""
    config = config or ModelConfig()
    with torch.random.fork_rng(devices=[]):  # the caller's random state is left as it was
        torch.manual_seed(UNTRAINED_SEED)
        model = build_model(config).eval()
    metadata = complete_metadata(
        {
            "name": UNTRAINED_NAME,
            "untrained": True,
            "description": "Randomly initialised weights: its valence/arousal and expressions mean nothing.",
            "training": {"seed": UNTRAINED_SEED},
        },
        config,
    )
    return LoadedCheckpoint(model, config, metadata, FORMAT_VERSION, sha256=None, path=None)


def open_model(path: str | Path | None = None) -> LoadedCheckpoint:
    """The torch model for `path` (a .pt checkpoint, or "untrained"), else the default model."""
    resolved = resolve_model_path(path)
    if resolved is None:
        return untrained_model()
    if resolved.suffix.lower() == ".onnx":
        raise ValueError(f"{resolved} is an ONNX export; this needs the .pt checkpoint it was exported from")
    return load_checkpoint(resolved)


def open_predictor(
    path: str | Path | None = None, runtime: str = DEFAULT_RUNTIME, device: str = "cpu"
) -> Predictor:
    """A Predictor for `path` (.pt or .onnx, or "untrained"), else the default model."""
    resolved = resolve_model_path(path)
    if resolved is not None:
        return load_predictor(resolved, runtime=runtime, device=device)
    fresh = untrained_model()
    return load_predictor(fresh.model, runtime=runtime, device=device, metadata=fresh.metadata)

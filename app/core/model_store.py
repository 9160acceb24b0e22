"""Which model the app uses: a file the user names, else assets/models/starter.pt, else random weights.

Until a trained starter checkpoint ships, the default model is a freshly initialised 2Att-2Mt whose
metadata says `untrained=True`, so every view and file that shows its results can say so.
"""

from __future__ import annotations

from pathlib import Path

import torch

from model.checkpoint import FORMAT_VERSION, LoadedCheckpoint, complete_metadata, load_checkpoint
from model.config import ModelConfig
from model.network import build_model
from model.predictor import Predictor, load_predictor

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_MODEL_PATH = REPO_ROOT / "assets" / "models" / "starter.pt"
UNTRAINED_NAME = "untrained 2Att-2Mt (random weights)"
UNTRAINED_SEED = 0


def resolve_model_path(path: str | Path | None = None) -> Path | None:
    """The model file to open: `path` (it must exist), else the starter file when present, else None.

    None means "no file: use the untrained default model".
    """
    if path is not None:
        path = Path(path).expanduser()
        if not path.is_file():
            raise FileNotFoundError(
                f"model file {path} does not exist; pass a .pt checkpoint or an .onnx export, "
                "or leave the model out to use the default model"
            )
        return path
    return DEFAULT_MODEL_PATH if DEFAULT_MODEL_PATH.is_file() else None


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
    """The torch model for `path` (a .pt checkpoint), the starter model, or the untrained default model."""
    resolved = resolve_model_path(path)
    if resolved is None:
        return untrained_model()
    if resolved.suffix.lower() == ".onnx":
        raise ValueError(f"{resolved} is an ONNX export; this needs the .pt checkpoint it was exported from")
    return load_checkpoint(resolved)


def open_predictor(path: str | Path | None = None, runtime: str = "torch", device: str = "cpu") -> Predictor:
    """A Predictor for `path` (.pt or .onnx), the starter model, or the untrained default model."""
    resolved = resolve_model_path(path)
    if resolved is not None:
        return load_predictor(resolved, runtime=runtime, device=device)
    fresh = untrained_model()
    return load_predictor(fresh.model, runtime=runtime, device=device, metadata=fresh.metadata)

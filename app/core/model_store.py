"""The model the app runs: a checkpoint or ONNX export opened as a Predictor, or random weights by name.

A freshly initialised, untrained 2Att-2Mt is only used when asked for by name (`--model untrained`), for
trying the pipeline; its metadata says `untrained=True`, so every view and file that shows its results
can say so. Which file is opened is decided by `app.core.model_paths`.
"""

from __future__ import annotations

from pathlib import Path

import torch

from app.core.model_paths import resolve_model_path
from model.checkpoint import FORMAT_VERSION, LoadedCheckpoint, complete_metadata, load_checkpoint
from model.config import ModelConfig
from model.network import build_model
from model.predictor import Predictor, load_predictor
from model.runtimes import DEFAULT_RUNTIME

UNTRAINED_NAME = "untrained 2Att-2Mt (random weights)"
UNTRAINED_SEED = 0


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

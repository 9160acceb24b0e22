"""What a run saves and restores besides weights: atomic torch files, checkpoint metadata, the resume
file's checks, JSON-safe values, RNG state, seeding."""


from __future__ import annotations

import math
import random
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from model.config import ModelConfig
from model.io import atomic_write
from model.network import TwoAttTwoMt
from model.train.options import RESUME_FORMAT, TrainOptions


# --- files ---------------------------------------------------------------------------------------
def atomic_torch_save(obj: Any, path: Path) -> None:
    """torch.save through model.io.atomic_write: a kill mid-write leaves the old file as it was."""
    with atomic_write(path, "wb") as fh:
        torch.save(obj, fh)


def json_safe(value: Any) -> Any:
    """Events and metrics as plain JSON (non-finite floats become None)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value


def rng_state() -> dict[str, Any]:
    """Python, numpy and torch RNG states as weights_only-loadable values."""
    np_state = np.random.get_state()
    return {
        "python": list(random.getstate()[1]),
        "numpy_keys": torch.from_numpy(np_state[1].astype(np.int64)),
        "numpy_pos": int(np_state[2]),
        "torch": torch.get_rng_state(),
    }


def set_rng_state(state: Mapping[str, Any]) -> None:
    """Inverse of `rng_state`."""
    random.setstate((3, tuple(state["python"]), None))
    np.random.set_state(
        ("MT19937", state["numpy_keys"].numpy().astype(np.uint32), state["numpy_pos"], 0, 0.0)
    )
    torch.set_rng_state(state["torch"])


def config_and_state(model: TwoAttTwoMt) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """A model as plain data (config dict, state dict) that can be broadcast to other ranks."""
    return model.config.to_dict(), model.state_dict()


def seed_everything(seed: int) -> None:
    """Seed Python, numpy and torch (CPU and CUDA)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


# --- the run -------------------------------------------------------------------------------------
@dataclass
class StageState:
    """Progress of one stage, saved in resume.pt."""

    stage: int
    epoch: int = 0  # the epoch in progress (or next to run)
    steps_done: int = 0  # optimiser steps already taken in `epoch` (non-zero after a cancel)
    stage_step: int = 0
    best_criterion: float = -math.inf
    best_epoch: int = -1
    bad_epochs: int = 0
    optimizer: dict | None = None
    scheduler: dict | None = None
    scaler: dict | None = None


def checkpoint_metadata(
    options: TrainOptions, start_meta: Mapping[str, Any], cfg: ModelConfig, world_size: int,
    stage: int, epoch: int, metrics: Mapping[str, float], label_counts: Mapping[str, int],
) -> dict[str, Any]:
    """The metadata a run's checkpoint of `stage`/`epoch` carries (name, V/A source, the recipe, and the
    training rows with each kind of label, so the app can say what the V/A head learnt from)."""
    base_name = options.model_name or (
        f"{start_meta['name']} fine-tuned"
        if start_meta.get("name")
        else f"2Att-2Mt {cfg.backbone} {cfg.input_size}px"
    )
    va_trained = stage >= 2 or start_meta.get("va_source") == "measured"
    description = f"trained by `affectscope train`: stage {stage}, epoch {epoch + 1}"
    if not va_trained:
        description += "; the V/A head has not been trained on valence/arousal labels"
    return {
        "name": base_name,
        "va_source": "measured" if va_trained else "derived",
        "untrained": False,
        "description": description,
        "training": json_safe(
            {
                "stage": stage,
                "epoch": epoch + 1,
                "stages": options.stages,
                "metrics": dict(metrics),
                "va_trained": va_trained,
                "world_size": world_size,
                "seed": options.seed,
                "data": str(options.data) if options.data is not None else "in-memory dataset",
                "format": options.format,
                "val_source": options.val_source,
                "start_checkpoint": start_meta.get("path"),
                **dict(label_counts),
            }
        ),
    }


def check_resume_state(state: Mapping[str, Any], options: TrainOptions, path: Path) -> None:
    """ValueError unless the resume file `path` (read as `state`) can continue the run `options` describe."""
    if state.get("format") != RESUME_FORMAT:
        raise ValueError(f"{path} was written by another version of AffectScope; start a new run")
    if state["finished"]:
        raise ValueError(
            f"the run in {path.parent} already finished; its model is {state['model_path']}"
        )
    if state["stages"] != options.stages:
        raise ValueError(
            f"the run in {path.parent} trains stages {state['stages']}, not "
            f"{options.stages}; resume with the same --stages"
        )


def label_counts(view: Any) -> dict[str, int]:
    """Training rows in all, with an expression label, and with valence/arousal labels (a LabelledView)."""
    va = view.valence_arousal_labels()  # (N,2), NaN where unlabelled
    return {"training_rows": len(view), "expression_rows": int((view.expression_labels() >= 0).sum()),
            "va_rows": int(np.isfinite(va).all(axis=1).sum())}


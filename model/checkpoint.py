"""Model checkpoints: one file holding the weights, the full config, the class names and metadata.

A checkpoint is a `torch.save`d dict of plain types and tensors only:
    format          "affectscope-2att2mt" (tells our files from any other .pt file)
    format_version  int, FORMAT_VERSION when written
    state_dict      the TwoAttTwoMt parameters and buffers (CPU tensors)
    config          ModelConfig.to_dict() (architecture and preprocessing)
    class_names     the expression names, in output order
    metadata        name, va_source, untrained, description, training, created, app_version

Loading uses `torch.load(weights_only=True)` only, so a file carrying a pickle payload is refused
without running it, and the model is rebuilt from the file alone (no backbone weights are read).
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import importlib.metadata
import json
import logging
import pickle
import re
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from model.config import ModelConfig
from model.io import atomic_write
from model.network import TwoAttTwoMt, build_model

log = logging.getLogger(__name__)

FORMAT_MARKER = "affectscope-2att2mt"
FORMAT_VERSION = 1
# "measured": the V/A head regresses valence/arousal labels; "derived": V/A was derived from expressions.
VA_SOURCES = ("measured", "derived")
_REQUIRED_KEYS = ("format_version", "state_dict", "config", "class_names", "metadata")
_HOW_TO_FIX = "pass a .pt file written by AffectScope (train, or the default model in assets/models/)"


class CheckpointError(ValueError):
    """A checkpoint file that cannot be used; the message names the file and what to do."""


@dataclass(frozen=True)
class LoadedCheckpoint:
    """A model rebuilt from a checkpoint file (in eval mode) with what the file says about it."""

    model: TwoAttTwoMt
    config: ModelConfig
    metadata: dict[str, Any]
    format_version: int
    sha256: str | None  # of the file; None for a model that never was a file
    path: Path | None


def app_version() -> str:
    """Version of the installed AffectScope distribution ("unknown" when running from a bare tree)."""
    try:
        return importlib.metadata.version("affectscope")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def complete_metadata(metadata: dict[str, Any] | None, config: ModelConfig) -> dict[str, Any]:
    """Fill the metadata keys the app reads with defaults and check their types; raises ValueError."""
    out: dict[str, Any] = {
        "name": f"2Att-2Mt {config.backbone} {config.input_size}px",
        "va_source": "measured",
        "untrained": False,
        "description": "",
        "training": {},
    }
    out.update(metadata or {})
    if not isinstance(out["name"], str) or not out["name"]:
        raise ValueError(f"metadata 'name' must be a non-empty string, got {out['name']!r}")
    if out["va_source"] not in VA_SOURCES:
        raise ValueError(f"metadata 'va_source' must be one of {VA_SOURCES}, got {out['va_source']!r}")
    if not isinstance(out["untrained"], bool):
        raise ValueError(f"metadata 'untrained' must be True or False, got {out['untrained']!r}")
    if not isinstance(out["training"], dict):
        raise ValueError(f"metadata 'training' must be a dict, got {type(out['training']).__name__}")
    try:
        json.dumps(out)
    except TypeError as exc:  # plain data only: it goes into weights_only files and ONNX metadata
        raise ValueError(f"metadata must be plain JSON types (str, number, bool, list, dict): {exc}") from exc
    return out


def sha256_file(path: str | Path) -> str:
    """Hex SHA-256 of a file's bytes, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def save_checkpoint(
    path: str | Path,
    model: TwoAttTwoMt,
    metadata: dict[str, Any] | None = None,
    permissions: int | None = None,
) -> Path:
    """Write `model` with its config and metadata to `path` atomically (model.io); returns the path.

    `metadata` may set name, va_source, untrained, description, training (see `complete_metadata`);
    `created` and `app_version` are stamped here unless given. `permissions` (e.g. model.io.PRIVATE_MODE)
    sets the file mode, default as `open()` would.
    """
    if not isinstance(model, TwoAttTwoMt):
        raise TypeError(f"save_checkpoint expects a TwoAttTwoMt model, got {type(model).__name__}")
    path = Path(path)
    meta = complete_metadata(metadata, model.config)
    meta.setdefault("created", datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"))
    meta.setdefault("app_version", app_version())
    payload = {
        "format": FORMAT_MARKER,
        "format_version": FORMAT_VERSION,
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "config": model.config.to_dict(),
        "class_names": list(model.config.class_names),
        "metadata": meta,
    }
    with atomic_write(path, "wb", permissions=permissions) as fh:
        torch.save(payload, fh)
    return path


def _read_payload(path: Path) -> Any:
    """torch.load (to the CPU, weights_only=True); every failure becomes a CheckpointError naming the file."""
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist; {_HOW_TO_FIX}")
    try:
        with warnings.catch_warnings(record=True) as caught:  # torch warns about foreign pickles first
            warnings.simplefilter("always")
            try:
                return torch.load(path, map_location="cpu", weights_only=True)
            finally:
                for w in caught:  # to the log: our own message says what matters
                    log.debug("torch.load(%s): %s", path, w.message)
    except pickle.UnpicklingError as exc:
        if zipfile.is_zipfile(path):  # a well-formed torch file whose pickle names non-plain objects
            found = re.search(r"GLOBAL ([\w.]+)", str(exc))
            what = f" (it references {found.group(1)})" if found else ""
            raise CheckpointError(
                f"checkpoint {path} carries Python objects that are not plain data{what}; it was refused "
                f"without running them. Only load files you trust; {_HOW_TO_FIX}"
            ) from exc
        raise CheckpointError(f"checkpoint {path} is corrupt or not a torch file; {_HOW_TO_FIX}") from exc
    except Exception as exc:  # truncated zip, empty file, bad header: torch raises RuntimeError/EOFError
        raise CheckpointError(
            f"checkpoint {path} is corrupt or truncated ({type(exc).__name__}); "
            f"copy it again or {_HOW_TO_FIX}"
        ) from exc


def _check_payload(path: Path, payload: Any) -> None:
    """Refuse anything that is not an AffectScope checkpoint this version can read."""
    if not isinstance(payload, dict):
        raise CheckpointError(
            f"{path} holds a {type(payload).__name__}, not an AffectScope checkpoint; {_HOW_TO_FIX}"
        )
    if payload.get("format") != FORMAT_MARKER:
        if payload and all(isinstance(v, torch.Tensor) for v in payload.values()):
            kind = "a bare state_dict without config"
        else:
            kind = f"a file with format marker {payload.get('format')!r}"
        raise CheckpointError(f"{path} is {kind}, not an AffectScope checkpoint; {_HOW_TO_FIX}")
    missing = [k for k in _REQUIRED_KEYS if k not in payload]
    if missing:
        raise CheckpointError(f"checkpoint {path} lacks {missing}; it is damaged. {_HOW_TO_FIX}")
    version = payload["format_version"]
    if not isinstance(version, int) or version < 1:
        raise CheckpointError(f"checkpoint {path} has an invalid format_version {version!r}; {_HOW_TO_FIX}")
    if version > FORMAT_VERSION:
        raise CheckpointError(
            f"checkpoint {path} has format version {version}, newer than this AffectScope reads "
            f"({FORMAT_VERSION}); update AffectScope to open it"
        )


def _check_state_dict(path: Path, model: TwoAttTwoMt, state: Any) -> None:
    """Refuse a state dict whose keys or shapes do not fit the architecture the config describes."""
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError(f"checkpoint {path}: state_dict is not a dict of tensors; {_HOW_TO_FIX}")
    own = model.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    misshaped = sorted(
        f"{k} {tuple(state[k].shape)} vs {tuple(own[k].shape)}"
        for k in set(own) & set(state)
        if state[k].shape != own[k].shape
    )
    problems = [
        f"{len(items)} {label}, e.g. {items[:3]}"
        for label, items in (("missing", missing), ("unexpected", unexpected), ("mis-shaped", misshaped))
        if items
    ]
    if problems:
        raise CheckpointError(
            f"checkpoint {path}: weights do not fit the {model.config.backbone} 2Att-2Mt its config "
            f"describes "
            f"({'; '.join(problems)}); it comes from another architecture or was edited. {_HOW_TO_FIX}"
        )


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> LoadedCheckpoint:
    """Rebuild the model stored in `path` (eval mode, on `map_location`) from that file alone.

    Raises CheckpointError, naming the file and what to do, for a missing, corrupt or truncated file,
    a foreign or newer format, an unreadable config, weights from another architecture, or a file
    carrying a pickle payload (refused without executing it).
    """
    path = Path(path)
    payload = _read_payload(path)
    _check_payload(path, payload)
    try:
        # The file's own tensors are the weights: nothing else (ImageNet files, local paths) is read.
        config = dataclasses.replace(ModelConfig.from_dict(payload["config"]), backbone_weights=None)
    except (TypeError, ValueError) as exc:
        raise CheckpointError(f"checkpoint {path}: its config does not parse ({exc}); {_HOW_TO_FIX}") from exc
    if list(payload["class_names"]) != list(config.class_names):
        raise CheckpointError(
            f"checkpoint {path}: class_names {payload['class_names']} disagree with its config "
            f"{list(config.class_names)}; the file is damaged. {_HOW_TO_FIX}"
        )
    try:
        metadata = complete_metadata(payload["metadata"], config)
    except (TypeError, ValueError) as exc:
        raise CheckpointError(f"checkpoint {path}: invalid metadata ({exc}); {_HOW_TO_FIX}") from exc
    model = build_model(config)
    _check_state_dict(path, model, payload["state_dict"])
    model.load_state_dict(payload["state_dict"])
    model.to(map_location).eval()
    return LoadedCheckpoint(
        model=model,
        config=config,
        metadata=metadata,
        format_version=payload["format_version"],
        sha256=sha256_file(path),
        path=path,
    )

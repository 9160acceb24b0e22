"""Which model file the app opens: a file the user names, else the shipped default (assets/models/starter.pt).

Light (no torch): the GUI resolves paths while it starts. The default model ships with AffectScope; when
its file is missing the installation is broken, and every command says how to restore it instead of
quietly running random weights. `--model untrained` (UNTRAINED) asks for random weights by name.
"""

from __future__ import annotations

from pathlib import Path

from model.assets import asset_path, restore_hint

DEFAULT_MODEL_PATH = asset_path("models", "starter.pt")
UNTRAINED = "untrained"  # the model name that asks for random weights
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

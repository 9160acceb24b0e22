"""Where the shipped files are: the top-level `assets/` folder, installed as package `affectscope_assets`.

`asset_path("detector", "face_detection_short_range.tflite")` gives the file's path both in a source
checkout (editable install, or `python main.py` without an install) and in an installed wheel, where the
folder lives in site-packages. Nothing is downloaded: a missing file is an installation error that the
caller reports with `restore_hint`.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from pathlib import Path

ASSETS_PACKAGE = "affectscope_assets"


@cache
def assets_dir() -> Path:
    """The folder of the shipped files (the installed package, else the checkout's `assets/`)."""
    try:
        return Path(str(resources.files(ASSETS_PACKAGE)))
    except ModuleNotFoundError:  # a source checkout run without `pip install`: the folder beside model/
        return Path(__file__).resolve().parents[1] / "assets"


def asset_path(*parts: str) -> Path:
    """The path of a shipped file or folder, e.g. `asset_path("models", "starter.pt")`."""
    return assets_dir().joinpath(*parts)


def restore_hint(*parts: str) -> str:
    """What to tell a user whose shipped file `parts` is missing."""
    where = "/".join(("assets", *parts))
    return (
        f"{where} is part of AffectScope but missing from this installation ({asset_path(*parts)}); "
        "reinstall AffectScope (`pip install --force-reinstall affectscope`) or, in a source checkout, "
        f"restore it with `git checkout -- {where}`"
    )

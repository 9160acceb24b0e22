"""The shipped face pool: real face photographs that ship inside registry packages or in assets/faces/.

`assets/faces/manifest.json` lists each source file (package, version, path inside the package or the
vendored copy under assets/faces/, sha256, licence) and each face in it (pixel box and split:
"heldout" faces are never trained on, "train" faces are). Files are read from the installed packages
(scikit-image, matplotlib) or from the repository, never downloaded; a file whose sha256 differs from
the manifest is an error naming the package version to install. docs/STARTER_DATA.md describes it.
"""

from __future__ import annotations

import hashlib
import importlib.resources
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from model.assets import asset_path
from model.data.cropping import crop_square

DEFAULT_MANIFEST = asset_path("faces", "manifest.json")
SPLITS = ("heldout", "train")


@dataclass(frozen=True)
class FaceSource:
    """One image file of the pool and where it comes from."""

    key: str
    registry: str  # "PyPI" or "npm"
    package: str
    version: str
    path: str  # path inside the package
    sha256: str
    color: str  # "rgb" or "gray" (gray images are returned as 3 equal channels)
    licence: str
    restricted: bool  # True: no licence for training/redistribution (held-out evaluation only)
    import_name: str | None = None  # installed Python package holding `path`
    vendored: str | None = None  # repository-relative copy (packages that pip cannot install)
    notes: str = ""


@dataclass(frozen=True)
class PoolFace:
    """One face: its source file, index inside a stacked file (or None), box [x0,y0,x1,y1], split."""

    id: str
    source: FaceSource
    box: tuple[int, int, int, int]
    split: str
    index: int | None = None


def square_crop(image: np.ndarray, box: tuple[int, int, int, int], margin: float) -> np.ndarray:
    """(H,W,3) image -> square (L,L,3) crop around `box` [x0, y0, x1, y1] with `margin` x the box's longer
    side added on each side: the training and inference crop of `model.data.cropping.crop_square`.
    """
    if margin < 0:
        raise ValueError(f"crop margin must be >= 0, got {margin}")
    x0, y0, x1, y1 = box
    if x1 <= x0 or y1 <= y0:
        raise ValueError(f"face box {box} is empty; expected [x0, y0, x1, y1] with x1 > x0 and y1 > y0")
    return crop_square(image, (x0, y0, x1 - x0, y1 - y0), margin)


class FacePool:
    """The faces of a manifest, with cached, checksum-verified image loading."""

    def __init__(self, manifest_path: str | Path = DEFAULT_MANIFEST) -> None:
        self.manifest_path = Path(manifest_path)
        try:
            data = json.loads(self.manifest_path.read_text())
            self.sources = {k: FaceSource(key=k, **v) for k, v in data["sources"].items()}
            self._faces = [self._face(f) for f in data["faces"]]
        except (OSError, KeyError, TypeError, json.JSONDecodeError) as exc:
            raise ValueError(f"{self.manifest_path}: not a readable face-pool manifest ({exc})") from exc
        self._images: dict[str, np.ndarray] = {}

    def _face(self, entry: dict[str, Any]) -> PoolFace:
        """One manifest face entry -> PoolFace (split and source checked)."""
        if entry["split"] not in SPLITS:
            raise ValueError(f"face {entry['id']!r}: split {entry['split']!r} is not one of {SPLITS}")
        if entry["source"] not in self.sources:
            raise ValueError(f"face {entry['id']!r}: unknown source {entry['source']!r}")
        x0, y0, x1, y1 = (int(v) for v in entry["box"])
        return PoolFace(
            entry["id"], self.sources[entry["source"]], (x0, y0, x1, y1), entry["split"], entry.get("index")
        )

    def faces(self, split: str | None = None) -> list[PoolFace]:
        """All faces, or those of one split ("heldout" or "train"), in manifest order."""
        if split is not None and split not in SPLITS:
            raise ValueError(f"split must be one of {SPLITS} or None, got {split!r}")
        return [f for f in self._faces if split is None or f.split == split]

    def file_path(self, source: FaceSource) -> Path:
        """Where the source file is on this machine (installed package or repository copy)."""
        if source.vendored:  # "assets/faces/...": a path inside the shipped files
            return asset_path(*Path(source.vendored).parts[1:])
        if source.import_name is None:
            raise ValueError(
                f"face source {source.key!r} names neither an installed package nor a vendored copy"
            )
        try:
            root = importlib.resources.files(source.import_name)
        except ModuleNotFoundError as exc:
            raise FileNotFoundError(
                f"face source {source.key!r} needs the {source.registry} package "
                f"{source.package}=={source.version}; install that version with pip"
            ) from exc
        return Path(str(root.joinpath(source.path)))

    def image(self, face: PoolFace) -> np.ndarray:
        """The face's full source image as uint8 RGB (H,W,3) (stacked files: the face's item)."""
        array = self._load(face.source)
        if face.index is not None:
            array = array[face.index]
        if array.ndim == 2:
            array = np.repeat(array[:, :, None], 3, axis=2)  # (H,W,3)
        return array

    def crop(self, face: PoolFace, margin: float) -> np.ndarray:
        """Square uint8 RGB crop of the face box with `margin` (fraction of the box side) on each side."""
        return square_crop(self.image(face), face.box, margin)

    def summary(self) -> dict[str, dict[str, int]]:
        """Face counts per split and per source: {"heldout": {source: n}, "train": {...}}."""
        out: dict[str, dict[str, int]] = {s: {} for s in SPLITS}
        for f in self._faces:
            out[f.split][f.source.key] = out[f.split].get(f.source.key, 0) + 1
        return out

    def _load(self, source: FaceSource) -> np.ndarray:
        """Read, verify (sha256) and decode one source file; cached."""
        if source.key not in self._images:
            path = self.file_path(source)
            if not path.is_file():
                raise FileNotFoundError(f"face source {source.key!r}: {path} is missing")
            raw = path.read_bytes()
            digest = hashlib.sha256(raw).hexdigest()
            if digest != source.sha256:
                raise ValueError(
                    f"face source {source.key!r}: {path} has sha256 {digest}, the manifest expects "
                    f"{source.sha256} ({source.package}=={source.version}); install that version"
                )
            self._images[source.key] = _decode(path)
        return self._images[source.key]


def _decode(path: Path) -> np.ndarray:
    """PNG/JPEG -> uint8 (H,W,3) RGB or (H,W) gray; .npy of floats in [0,1] -> uint8 array."""
    if path.suffix == ".npy":
        array = np.load(path)
        if array.dtype != np.uint8:
            array = np.clip(np.round(array * 255.0), 0, 255).astype(np.uint8)
        return array
    from PIL import Image  # Pillow: installed with matplotlib and scikit-image

    with Image.open(path) as im:
        return np.asarray(im.convert("L" if im.mode in ("L", "I;16", "I") else "RGB"))

"""Datasets (AffectNet CSV, generic CSV, class folders, synthetic faces), transforms and data loaders.

The only package of `model` that imports OpenCV. See docs/DATA.md for the formats.

`from model.data import X` works for every name in `_EXPORTS`; each module is imported on first use, so
light modules (`cropping`, `image_io`, `records`) load without torch.
"""

from __future__ import annotations

from model.lazy_exports import lazy_exports

_EXPORTS = {  # public name -> the module that defines it
    "DATASET_FORMATS": "model.config",
    "SPLITS": "model.config",
    "open_dataset": "model.data.factory",
    "FaceDataset": "model.data.dataset",
    "make_loader": "model.data.loader",
    "seed_worker": "model.data.loader",
    "SKIP_REASONS": "model.data.records",
    "DatasetError": "model.data.records",
    "build_transform": "model.data.transforms",
    "has_validation_split": "model.data.layout",
}

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())

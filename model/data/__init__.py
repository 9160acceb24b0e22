"""Datasets (AffectNet CSV, generic CSV, class folders, synthetic faces), transforms and data loaders.

The only package of `model` that imports OpenCV. See docs/DATA.md for the formats.
"""

from model.data.dataset import FaceDataset
from model.data.factory import DATASET_FORMATS, SPLITS, open_dataset
from model.data.loader import make_loader, seed_worker
from model.data.records import SKIP_REASONS, DatasetError
from model.data.transforms import build_transform

__all__ = [
    "DATASET_FORMATS",
    "SKIP_REASONS",
    "SPLITS",
    "DatasetError",
    "FaceDataset",
    "build_transform",
    "make_loader",
    "open_dataset",
    "seed_worker",
]

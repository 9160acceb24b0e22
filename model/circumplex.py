"""Per-class circumplex coordinates and valence/arousal derived from class probabilities.

Each AffectNet class gets one point (valence, arousal) on Russell's circumplex: the mean valence and
arousal that AffectNet's human annotators gave the images of that class in AffectNet's official
validation set (Mollahosseini, Hasani & Mahoor, "AffectNet", IEEE Trans. Affective Computing 10(1),
2019; 3,999 images, 500 per class, 499 for contempt). docs/STARTER_DATA.md holds the table, its
standard deviations and how it was computed. The starter model's V/A targets are *derived* from its
teachers' class probabilities with `derived_va`, not measured.
"""

from __future__ import annotations

import numpy as np
import torch

from model.config import CLASS_NAMES

# (valence, arousal) per class, AffectNet validation-set means of the annotated V/A, in [-1, 1].
CIRCUMPLEX_COORDINATES: dict[str, tuple[float, float]] = {
    "neutral": (-0.025, -0.019),
    "happy": (0.672, 0.081),
    "sad": (-0.628, -0.267),
    "surprise": (0.183, 0.701),
    "fear": (-0.117, 0.760),
    "disgust": (-0.684, 0.446),
    "anger": (-0.426, 0.554),
    "contempt": (-0.510, 0.576),
}
COORDINATE_SOURCE = (
    "mean annotated valence/arousal per class over AffectNet's official validation set "
    "(Mollahosseini et al., IEEE TAC 2019); see docs/STARTER_DATA.md"
)


def class_coordinates(class_names: tuple[str, ...] = CLASS_NAMES) -> torch.Tensor:
    """(K,2) float32 (valence, arousal) of each class, in the given class order."""
    unknown = [n for n in class_names if n not in CIRCUMPLEX_COORDINATES]
    if unknown:
        raise ValueError(
            f"no circumplex coordinates for classes {unknown}; known: {list(CIRCUMPLEX_COORDINATES)}"
        )
    return torch.tensor([CIRCUMPLEX_COORDINATES[n] for n in class_names], dtype=torch.float32)  # (K,2)


def derived_va(probabilities: torch.Tensor | np.ndarray) -> torch.Tensor | np.ndarray:
    """(B,8) class probabilities in CLASS_NAMES order -> (B,2) probability-weighted mean (valence, arousal).

    Rows are normalised by their sum, so unnormalised non-negative weights are accepted; a row that
    sums to 0, or any negative or non-finite value, is an error. Returns the input's type (numpy in,
    numpy out); torch input keeps its dtype, device and autograd graph.
    """
    as_numpy = isinstance(probabilities, np.ndarray)
    p = torch.from_numpy(probabilities) if as_numpy else probabilities
    if p.ndim != 2 or p.shape[1] != len(CLASS_NAMES):
        raise ValueError(
            f"probabilities must be (B,{len(CLASS_NAMES)}) in {list(CLASS_NAMES)} order, got {tuple(p.shape)}"
        )
    if not p.is_floating_point():
        p = p.float()
    if not bool(torch.isfinite(p).all()) or bool((p < 0).any()):
        raise ValueError("probabilities must be finite and non-negative")
    total = p.sum(dim=1, keepdim=True)  # (B,1)
    if bool((total <= 0).any()):
        raise ValueError("every row of probabilities must have a positive sum")
    coords = class_coordinates().to(device=p.device, dtype=p.dtype)  # (8,2)
    va = (p / total) @ coords  # (B,2)
    return va.numpy() if as_numpy else va

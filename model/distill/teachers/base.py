"""What every teacher shares: face-crop batching, its class order, and the mapping to AffectNet-8.

A teacher is a 7-class facial-expression classifier rebuilt in PyTorch from a vendored weight file. It
takes RGB face crops (uint8 or float in 0..255) and returns probabilities in its own class order;
`to_affectnet` reorders them into `model.config.CLASS_NAMES` (contempt, which no teacher knows, gets 0).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from model.config import CLASS_NAMES

# The teachers' own label spellings -> AffectNet class names.
_AFFECTNET_SYNONYMS: dict[str, str] = {
    "neutral": "neutral",
    "happy": "happy",
    "sad": "sad",
    "surprise": "surprise",
    "surprised": "surprise",
    "fear": "fear",
    "fearful": "fear",
    "disgust": "disgust",
    "disgusted": "disgust",
    "angry": "anger",
    "anger": "anger",
    "contempt": "contempt",
}

FaceCrops = np.ndarray | torch.Tensor | Sequence[np.ndarray]


def affectnet_index(class_names: Sequence[str]) -> list[int]:
    """Position in CLASS_NAMES of each of a teacher's classes (error naming any label it cannot map)."""
    out = []
    for name in class_names:
        if name not in _AFFECTNET_SYNONYMS:
            raise ValueError(
                f"teacher class {name!r} has no AffectNet counterpart; known: {sorted(_AFFECTNET_SYNONYMS)}"
            )
        out.append(CLASS_NAMES.index(_AFFECTNET_SYNONYMS[name]))
    if len(set(out)) != len(out):
        raise ValueError(f"teacher classes {list(class_names)} map two labels onto one AffectNet class")
    return out


def to_affectnet(probabilities: torch.Tensor, class_names: Sequence[str]) -> torch.Tensor:
    """(B,K) probabilities in a teacher's class order -> (B,8) in AffectNet order; missing classes get 0."""
    if probabilities.ndim != 2 or probabilities.shape[1] != len(class_names):
        raise ValueError(
            f"probabilities must be (B,{len(class_names)}) for classes {list(class_names)}, "
            f"got {tuple(probabilities.shape)}"
        )
    out = probabilities.new_zeros(probabilities.shape[0], len(CLASS_NAMES))  # (B,8)
    out[:, affectnet_index(class_names)] = probabilities  # (B,8)
    return out


def _pad_to_square(image: torch.Tensor) -> torch.Tensor:
    """(1,3,H,W) -> (1,3,L,L), L = max(H,W), zero padding split evenly (tfjs `padToSquare`, centred)."""
    h, w = image.shape[2:]
    diff = abs(h - w)
    after = math.floor(diff * 0.5 + 0.5)  # JavaScript's Math.round, as face-api
    before = diff - after
    pad = (before, after, 0, 0) if h > w else (0, 0, before, after)
    return F.pad(image, pad)  # (1,3,L,L)


def resize_crops(crops: FaceCrops, size: int, pad_square: bool) -> torch.Tensor:
    """RGB face crops in 0..255 -> (B,3,size,size) float32 in 0..255.

    `crops`: a (B,H,W,3) numpy array or tensor (uint8 or float), or a sequence of (H,W,3) arrays of any
    sizes. Non-square crops are zero-padded to a square first when `pad_square`, otherwise stretched.
    Downscaling is antialiased bilinear (the crop a detector gives is usually larger than the input).
    """
    if isinstance(crops, np.ndarray | torch.Tensor) and crops.ndim == 4:
        items = [crops]
    elif isinstance(crops, np.ndarray | torch.Tensor):
        raise ValueError(
            f"face crops must be (B,H,W,3) or a list of (H,W,3) arrays, got shape {tuple(crops.shape)}"
        )
    else:
        items = [c[None] for c in crops]
    out = []
    for i, item in enumerate(items):
        t = item if isinstance(item, torch.Tensor) else torch.from_numpy(np.ascontiguousarray(item))
        if t.ndim != 4 or t.shape[-1] != 3 or t.shape[1] < 1 or t.shape[2] < 1:
            raise ValueError(
                f"face crop {i} must be RGB (H,W,3) with H,W >= 1, got shape {tuple(t.shape[1:])}"
            )
        if t.is_complex() or t.dtype == torch.bool:
            raise ValueError(f"face crop {i} must be uint8 or float pixel values 0..255, got {t.dtype}")
        t = t.permute(0, 3, 1, 2).to(torch.float32)  # (b,3,H,W)
        if pad_square and t.shape[2] != t.shape[3]:
            t = _pad_to_square(t)  # (b,3,L,L)
        if t.shape[2:] != (size, size):
            t = F.interpolate(t, size=(size, size), mode="bilinear", align_corners=False, antialias=True)
        out.append(t)  # (b,3,size,size)
    if not out:
        return torch.empty(0, 3, size, size)
    return torch.cat(out).clamp_(0.0, 255.0)  # (B,3,size,size)


class Teacher(nn.Module):
    """A 7-class expression classifier: RGB face crops in, probabilities in its own class order out.

    Subclasses set `name`, `class_names`, `input_size`, `pad_square` and implement `classify`, which
    receives (B,3,input_size,input_size) float RGB in 0..255 and returns (B,K) probabilities.
    """

    name: str
    class_names: tuple[str, ...]
    input_size: int
    pad_square: bool

    def classify(self, images: torch.Tensor) -> torch.Tensor:
        """(B,3,S,S) float RGB in 0..255 -> (B,K) probabilities in `class_names` order."""
        raise NotImplementedError

    def forward(self, crops: FaceCrops) -> torch.Tensor:
        """RGB face crops (see `resize_crops`) -> (B,K) probabilities in this teacher's class order."""
        images = resize_crops(crops, self.input_size, self.pad_square)  # (B,3,S,S)
        return self.classify(images.to(self.device))  # (B,K)

    @property
    def device(self) -> torch.device:
        """Device the teacher's weights live on."""
        return next(self.parameters()).device

    def predict_affectnet(self, crops: FaceCrops) -> torch.Tensor:
        """RGB face crops -> (B,8) probabilities in AffectNet order (contempt always 0)."""
        return to_affectnet(self(crops), self.class_names)  # (B,8)

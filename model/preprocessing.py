"""The one definition of how face crops become network input (size, mean, std from ModelConfig).

Used by the predictor (torch and onnxruntime paths alike) and by the evaluation transforms; the
training augmentations in model/data end with the same `normalize` call.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from model.config import ModelConfig


def normalize(images: torch.Tensor, config: ModelConfig) -> torch.Tensor:
    """images (B,3,S,S) float in [0,1] -> (B,3,S,S) normalised with the config's mean/std."""
    mean = torch.tensor(config.mean, dtype=images.dtype, device=images.device).view(1, 3, 1, 1)
    std = torch.tensor(config.std, dtype=images.dtype, device=images.device).view(1, 3, 1, 1)
    return (images - mean) / std


def preprocess_crops(crops: Sequence[np.ndarray] | np.ndarray, config: ModelConfig) -> torch.Tensor:
    """A batch of uint8 RGB face crops (each (H,W,3), any size) -> (B,3,S,S) float32 network input."""
    if len(crops) == 0:
        return torch.empty(0, 3, config.input_size, config.input_size)
    s = config.input_size
    out = []
    for i, crop in enumerate(crops):
        crop = np.asarray(crop)
        if crop.ndim != 3 or crop.shape[2] != 3 or crop.dtype != np.uint8:
            raise ValueError(f"face crop {i} must be uint8 RGB (H,W,3), got {crop.dtype} {crop.shape}")
        t = torch.from_numpy(np.ascontiguousarray(crop)).permute(2, 0, 1).unsqueeze(0)  # (1,3,H,W) uint8
        t = t.float() / 255.0  # (1,3,H,W)
        if t.shape[2:] != (s, s):
            # (1,3,S,S)
            t = F.interpolate(t, size=(s, s), mode="bilinear", align_corners=False, antialias=True)
        out.append(t)
    return normalize(torch.cat(out).clamp_(0.0, 1.0), config)  # (B,3,S,S)

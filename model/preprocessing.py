"""The one definition of how face crops become network input (size, mean, std from ModelConfig).

`resize_crop` is the only resize a face crop gets anywhere: the app's face step (live and files), the
predictor (torch and onnxruntime paths alike), evaluation and the training augmentation all use it, and
the training augmentation ends with the same `normalize`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from model.config import ModelConfig

LUMA_WEIGHTS = (0.299, 0.587, 0.114)  # ITU-R BT.601 luma from RGB, as OpenCV's RGB2GRAY


def normalize(images: torch.Tensor, config: ModelConfig) -> torch.Tensor:
    """images (B,3,S,S) float in [0,1] -> (B,3,S,S) normalised with the config's mean/std."""
    mean = torch.tensor(config.mean, dtype=images.dtype, device=images.device).view(1, 3, 1, 1)
    std = torch.tensor(config.std, dtype=images.dtype, device=images.device).view(1, 3, 1, 1)
    return (images - mean) / std


def resize_crop(crop: np.ndarray, size: int) -> np.ndarray:
    """A uint8 RGB face crop (H,W,3) -> (size,size,3) uint8: the one resize every face crop goes through.

    Bilinear with antialiasing (torch), rounded back to uint8, so the crop a user sees is the crop the
    network reads. A crop already (size,size) is returned as is.
    """
    if crop.shape[:2] == (size, size):
        return crop
    t = torch.from_numpy(np.ascontiguousarray(crop)).permute(2, 0, 1).unsqueeze(0).float()  # (1,3,H,W) 0..255
    t = F.interpolate(t, size=(size, size), mode="bilinear", align_corners=False, antialias=True)  # (1,3,S,S)
    return t.round_().clamp_(0.0, 255.0).to(torch.uint8)[0].permute(1, 2, 0).contiguous().numpy()  # (S,S,3)


def check_crop(crop: np.ndarray, index: int = 0) -> np.ndarray:
    """`crop` as a uint8 RGB (H,W,3) array; ValueError naming crop `index` otherwise."""
    crop = np.asarray(crop)
    if crop.ndim != 3 or crop.shape[2] != 3 or crop.dtype != np.uint8 or min(crop.shape[:2]) < 1:
        raise ValueError(f"face crop {index} must be uint8 RGB (H,W,3), got {crop.dtype} {crop.shape}")
    return crop


def preprocess_crops(crops: Sequence[np.ndarray] | np.ndarray, config: ModelConfig) -> torch.Tensor:
    """A batch of uint8 RGB face crops (each (H,W,3), any size) -> (B,3,S,S) float32 network input."""
    s = config.input_size
    if len(crops) == 0:
        return torch.empty(0, 3, s, s)
    batch = np.stack([resize_crop(check_crop(crop, i), s) for i, crop in enumerate(crops)])  # (B,S,S,3)
    images = torch.from_numpy(batch).permute(0, 3, 1, 2).float().div_(255.0)  # (B,3,S,S) in [0,1]
    return normalize(images, config)  # (B,3,S,S)

"""The one transform factory: square uint8 RGB face crop -> (3,S,S) float32 network input.

Evaluation is exactly the inference preprocessing (`model.preprocessing.preprocess_crops`: `resize_crop`
to S, normalise). Training resizes with the same `resize_crop`, then adds, drawn from torch's RNG (so
DataLoader's per-worker seeding makes runs repeatable): horizontal flip, a small random-resized-crop, a
rotation and colour jitter, applied as one affine warp followed by brightness/contrast/saturation changes,
and ends with the same `model.preprocessing.normalize`. Labels are never touched: a mirrored face keeps
its valence/arousal.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
import torch

from model.config import ModelConfig
from model.preprocessing import LUMA_WEIGHTS, normalize, preprocess_crops, resize_crop


@dataclass(frozen=True)
class Augmentation:
    """Strength of each training augmentation (ranges are symmetric around "no change")."""

    flip_probability: float = 0.5
    crop_scale: tuple[float, float] = (0.85, 1.0)  # fraction of the crop's area kept
    crop_ratio: tuple[float, float] = (0.9, 1.1)  # aspect ratio of the kept window
    max_rotation_deg: float = 10.0
    brightness: float = 0.2  # factor in [1 - b, 1 + b]
    contrast: float = 0.2
    saturation: float = 0.2


NO_AUGMENTATION = Augmentation(0.0, (1.0, 1.0), (1.0, 1.0), 0.0, 0.0, 0.0, 0.0)


class EvalTransform:
    """Resize to S and normalise: the same function the predictor applies at inference."""

    def __init__(self, config: ModelConfig) -> None:
        self.config = config

    def __call__(self, crop: np.ndarray) -> torch.Tensor:
        """crop (H,W,3) uint8 RGB -> (3,S,S) float32."""
        return preprocess_crops([crop], self.config)[0]  # (3,S,S)


class TrainTransform:
    """Random flip, resized crop, rotation (one affine warp) and colour jitter, then normalise."""

    def __init__(self, config: ModelConfig, augmentation: Augmentation = Augmentation()) -> None:
        self.config = config
        self.augmentation = augmentation

    def __call__(self, crop: np.ndarray) -> torch.Tensor:
        """crop (H,W,3) uint8 RGB -> (3,S,S) float32, randomly augmented."""
        s = self.config.input_size
        crop = resize_crop(crop, s)  # (S,S,3)
        warped = cv2.warpAffine(
            crop, self._affine(s), (s, s), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101
        )  # (S,S,3)
        x = torch.from_numpy(warped).permute(2, 0, 1).float().div_(255.0)  # (3,S,S)
        x = self._jitter_colour(x).clamp_(0.0, 1.0)
        return normalize(x.unsqueeze(0), self.config)[0]  # (3,S,S)

    def _affine(self, s: int) -> np.ndarray:
        """(2,3) matrix mapping a random window of the (S,S) crop, rotated and maybe mirrored, onto (S,S)."""
        aug = self.augmentation
        area = _uniform(*aug.crop_scale)
        log_ratio = _uniform(math.log(aug.crop_ratio[0]), math.log(aug.crop_ratio[1]))
        ratio = math.exp(log_ratio)
        w = min(1.0, math.sqrt(area * ratio)) * s
        h = min(1.0, math.sqrt(area / ratio)) * s
        cx = w / 2 + _uniform(0.0, s - w)
        cy = h / 2 + _uniform(0.0, s - h)
        angle = math.radians(_uniform(-aug.max_rotation_deg, aug.max_rotation_deg))
        flip = -1.0 if float(torch.rand(())) < aug.flip_probability else 1.0
        cos, sin = math.cos(angle), math.sin(angle)
        sx, sy = s / w, s / h
        # output = centre_out + diag(flip*sx, sy) @ R(angle) @ (input - window_centre), in pixel-index
        # coordinates (pixel i covers [i - 0.5, i + 0.5]), so a flip maps column i onto column S-1-i.
        linear = np.array([[flip * sx * cos, -flip * sx * sin], [sy * sin, sy * cos]])
        offset = np.full(2, s / 2 - 0.5) - linear @ np.array([cx - 0.5, cy - 0.5])
        return np.hstack([linear, offset[:, None]])  # (2,3)

    def _jitter_colour(self, x: torch.Tensor) -> torch.Tensor:
        """x (3,S,S) in [0,1] -> brightness, contrast and saturation scaled by random factors."""
        aug = self.augmentation
        x = x * _uniform(1 - aug.brightness, 1 + aug.brightness)
        weights = torch.tensor(LUMA_WEIGHTS, dtype=x.dtype).view(3, 1, 1)
        gray = (x * weights).sum(0, keepdim=True)  # (1,S,S)
        x = (x - gray.mean()) * _uniform(1 - aug.contrast, 1 + aug.contrast) + gray.mean()
        gray = (x * weights).sum(0, keepdim=True)  # (1,S,S)
        return (x - gray) * _uniform(1 - aug.saturation, 1 + aug.saturation) + gray  # (3,S,S)


def build_transform(config: ModelConfig, train: bool) -> EvalTransform | TrainTransform:
    """The training (augmenting) or evaluation transform for `config`'s input size and mean/std."""
    return TrainTransform(config) if train else EvalTransform(config)


def _uniform(low: float, high: float) -> float:
    """One draw from U(low, high) using torch's global RNG (seeded per DataLoader worker)."""
    return low + (high - low) * float(torch.rand(()))

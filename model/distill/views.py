"""Randomly augmented views of a face photograph, for distilling the starter model (torch + Pillow).

A view is what a student sees: a square face crop of side S (uint8 RGB), taken around the face box with
the crop margin the model uses, after a random geometric change (scale, shift, rotation, mirror, a
slight stretch and a smooth local warp that moves mouth corners and brows a little) and a random
photometric one (brightness, contrast, saturation, gamma, gray, blur, low resolution, noise, JPEG, and
a rectangle hiding part of the face). The teachers label every view as it is (consistent teaching), so a
change that alters the expression also alters the target. `mix_views` blends two views (mixup);
`splice_views` joins the upper part of one face to the lower part of another, so that mouths and eyes
of different people meet and the student cannot tell the expression from who the person is.

The held-out faces include 25x25 gray LFW crops and a gray photograph, hence the generous gray and
low-resolution probabilities. All randomness comes from a numpy Generator: a seed fixes every view.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from model.data.face_pool import square_crop
from model.preprocessing import LUMA_WEIGHTS

_GRAY_WEIGHTS = torch.tensor(LUMA_WEIGHTS).view(3, 1, 1)  # (3,1,1)
_WARP_GRID = 4  # control points per side of the smooth random displacement field


@dataclass(frozen=True)
class ViewAugmentation:
    """Strength and probability of each random change (a probability of 0 switches a change off)."""

    scale: tuple[float, float] = (0.85, 1.2)  # crop side relative to the margin crop (>1: zoom out)
    shift: float = 0.08  # largest centre shift, fraction of the crop side
    max_rotation_deg: float = 15.0
    flip_probability: float = 0.5
    stretch: float = 0.08  # aspect change: width x (1 + s), height / (1 + s), s in [-stretch, stretch]
    warp_probability: float = 0.4
    warp_strength: float = 0.035  # std of the local displacement, fraction of the crop side
    occlusion_probability: float = 0.2
    occlusion_area: tuple[float, float] = (0.04, 0.2)  # fraction of the view hidden by one rectangle
    brightness: float = 0.35  # factor in [1 - b, 1 + b]
    contrast: float = 0.35
    saturation: float = 0.5
    gamma: tuple[float, float] = (0.7, 1.4)
    gray_probability: float = 0.35
    blur_probability: float = 0.2
    blur_sigma: tuple[float, float] = (0.4, 1.6)  # pixels at side S
    low_resolution_probability: float = 0.35
    low_resolution_side: tuple[int, int] = (16, 48)  # downscaled to this side, then back up to S
    noise_probability: float = 0.2
    noise_std: tuple[float, float] = (2.0, 10.0)  # on the 0..255 scale
    jpeg_probability: float = 0.3
    jpeg_quality: tuple[int, int] = (15, 75)


NO_AUGMENTATION = ViewAugmentation(
    scale=(1.0, 1.0),
    shift=0.0,
    max_rotation_deg=0.0,
    flip_probability=0.0,
    stretch=0.0,
    warp_probability=0.0,
    occlusion_probability=0.0,
    brightness=0.0,
    contrast=0.0,
    saturation=0.0,
    gamma=(1.0, 1.0),
    gray_probability=0.0,
    blur_probability=0.0,
    low_resolution_probability=0.0,
    noise_probability=0.0,
    jpeg_probability=0.0,
)


class FaceSource:
    """One face prepared for many views: a square region of twice the crop side, resized to 2S once.

    image: (H,W,3) uint8 RGB; box: [x0, y0, x1, y1] pixels; margin: crop margin per side as a fraction
    of the box's longer side (the crop is `square_crop(image, box, margin)`); size: the view side S.
    """

    def __init__(self, image: np.ndarray, box: tuple[int, int, int, int], margin: float, size: int) -> None:
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise ValueError(f"face image must be uint8 RGB (H,W,3), got {image.dtype} {image.shape}")
        if size < 16:
            raise ValueError(f"view side must be >= 16 pixels, got {size}")
        self.size = size
        # twice the crop's side: margin2 with 1 + 2 margin2 = 2 (1 + 2 margin)
        region = square_crop(image, box, 0.5 + 2.0 * margin)  # (R,R,3), the crop is its central half
        t = torch.from_numpy(np.ascontiguousarray(region)).permute(2, 0, 1)[None].float()  # (1,3,R,R)
        self.region = F.interpolate(
            t, size=(2 * size, 2 * size), mode="bilinear", align_corners=False, antialias=True
        ).clamp_(0.0, 255.0)  # (1,3,2S,2S)

    def canonical(self) -> np.ndarray:
        """The un-augmented view: the margin crop resized to (S,S,3) uint8."""
        return render_view(self, np.random.default_rng(0), NO_AUGMENTATION)


def _affine(rng: np.random.Generator, aug: ViewAugmentation) -> torch.Tensor:
    """(1,2,3) map from output to source-region coordinates (both in [-1, 1], region = twice the crop)."""
    scale = math.exp(rng.uniform(math.log(aug.scale[0]), math.log(aug.scale[1])))
    angle = math.radians(rng.uniform(-aug.max_rotation_deg, aug.max_rotation_deg))
    stretch = 1.0 + rng.uniform(-aug.stretch, aug.stretch)
    flip = -1.0 if rng.random() < aug.flip_probability else 1.0
    shift = rng.uniform(-aug.shift, aug.shift, size=2)  # fraction of the crop side = region units / 1
    cos, sin = math.cos(angle), math.sin(angle)
    sx, sy = 0.5 * scale * flip * stretch, 0.5 * scale / stretch  # the crop is half the region
    linear = [[cos * sx, -sin * sy], [sin * sx, cos * sy]]
    return torch.tensor([[linear[0] + [shift[0]], linear[1] + [shift[1]]]], dtype=torch.float32)  # (1,2,3)


def _warp_field(rng: np.random.Generator, size: int, strength: float) -> torch.Tensor:
    """(1,S,S,2) smooth random displacement in region coordinates (std `strength` crop sides)."""
    coarse = torch.from_numpy(rng.standard_normal((1, 2, _WARP_GRID, _WARP_GRID)).astype(np.float32))
    coarse = coarse * strength  # (1,2,G,G)
    field = F.interpolate(coarse, size=(size, size), mode="bicubic", align_corners=True)  # (1,2,S,S)
    return field.permute(0, 2, 3, 1)  # (1,S,S,2)


def _gray(x: torch.Tensor) -> torch.Tensor:
    """(3,S,S) -> (1,S,S) luma."""
    return (x * _GRAY_WEIGHTS.to(x.dtype)).sum(0, keepdim=True)


def _occlude(x: torch.Tensor, rng: np.random.Generator, aug: ViewAugmentation) -> torch.Tensor:
    """Hide one random rectangle of (3,S,S) in [0,1] under a flat random colour."""
    s = x.shape[-1]
    area = rng.uniform(*aug.occlusion_area) * s * s
    aspect = math.exp(rng.uniform(math.log(0.4), math.log(2.5)))
    w = int(min(s, max(2, round(math.sqrt(area * aspect)))))
    h = int(min(s, max(2, round(math.sqrt(area / aspect)))))
    x0, y0 = int(rng.integers(0, s - w + 1)), int(rng.integers(0, s - h + 1))
    x = x.clone()
    x[:, y0 : y0 + h, x0 : x0 + w] = torch.from_numpy(rng.uniform(0, 1, size=(3, 1, 1)).astype(np.float32))
    return x


def _colour(x: torch.Tensor, rng: np.random.Generator, aug: ViewAugmentation) -> torch.Tensor:
    """Brightness, contrast, saturation and gamma on (3,S,S) in [0,1]."""
    x = x * rng.uniform(1 - aug.brightness, 1 + aug.brightness)
    mean = _gray(x).mean()
    x = (x - mean) * rng.uniform(1 - aug.contrast, 1 + aug.contrast) + mean
    gray = _gray(x)  # (1,S,S)
    x = (x - gray) * rng.uniform(1 - aug.saturation, 1 + aug.saturation) + gray
    return x.clamp(0.0, 1.0) ** rng.uniform(*aug.gamma)


def _blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """Separable Gaussian blur of (3,S,S)."""
    radius = max(1, math.ceil(3 * sigma))
    t = torch.arange(-radius, radius + 1, dtype=x.dtype)
    k = torch.exp(-(t**2) / (2 * sigma**2))
    k = k / k.sum()  # (K,)
    y = F.pad(x[None], (radius, radius, radius, radius), mode="replicate")  # (1,3,S+2r,S+2r)
    y = F.conv2d(y, k.view(1, 1, 1, -1).expand(3, 1, 1, -1), groups=3)  # (1,3,S+2r,S)
    y = F.conv2d(y, k.view(1, 1, -1, 1).expand(3, 1, -1, 1), groups=3)  # (1,3,S,S)
    return y[0]


def _low_resolution(x: torch.Tensor, side: int) -> torch.Tensor:
    """(3,S,S) -> shrunk to (side,side) with antialiasing, then enlarged back to S (bilinear)."""
    s = x.shape[-1]
    small = F.interpolate(x[None], size=(side, side), mode="bilinear", align_corners=False, antialias=True)
    return F.interpolate(small, size=(s, s), mode="bilinear", align_corners=False)[0]  # (3,S,S)


def _jpeg(view: np.ndarray, quality: int) -> np.ndarray:
    """(S,S,3) uint8 -> JPEG-encoded at `quality` and decoded again."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(view).save(buffer, format="JPEG", quality=int(quality))
    buffer.seek(0)
    with Image.open(buffer) as im:
        return np.asarray(im.convert("RGB")).copy()


def _to_uint8(x: torch.Tensor) -> np.ndarray:
    """(3,S,S) float in [0,1] -> (S,S,3) uint8."""
    return (x.clamp(0.0, 1.0) * 255.0).round().to(torch.uint8).permute(1, 2, 0).numpy()


def render_view_pair(
    source: FaceSource, rng: np.random.Generator, aug: ViewAugmentation
) -> tuple[np.ndarray, np.ndarray]:
    """One random view of `source` before and after the sensor degradations: (clean, degraded), each
    (S,S,3) uint8 RGB. Both share the geometry, occlusion and colour; only the degraded one is blurred,
    downscaled, noisy and JPEG-compressed (parts outside the photograph are black)."""
    s = source.size
    grid = F.affine_grid(_affine(rng, aug), [1, 3, s, s], align_corners=False)  # (1,S,S,2)
    if rng.random() < aug.warp_probability:
        grid = grid + _warp_field(rng, s, aug.warp_strength)
    x = F.grid_sample(source.region, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    x = x[0] / 255.0  # (3,S,S) in [0,1]
    if rng.random() < aug.occlusion_probability:
        x = _occlude(x, rng, aug)
    x = _colour(x, rng, aug)
    if rng.random() < aug.gray_probability:
        x = _gray(x).expand(3, -1, -1)  # (3,S,S)
    clean = _to_uint8(x)
    if rng.random() < aug.blur_probability:
        x = _blur(x, rng.uniform(*aug.blur_sigma))
    if rng.random() < aug.low_resolution_probability:
        lo, hi = aug.low_resolution_side
        x = _low_resolution(x, int(rng.integers(lo, min(hi, s) + 1)))
    if rng.random() < aug.noise_probability:
        noise = rng.standard_normal(x.shape).astype(np.float32) * rng.uniform(*aug.noise_std) / 255.0
        x = x + torch.from_numpy(noise)
    view = _to_uint8(x)
    if rng.random() < aug.jpeg_probability:
        view = _jpeg(view, int(rng.integers(aug.jpeg_quality[0], aug.jpeg_quality[1] + 1)))
    return np.ascontiguousarray(clean), np.ascontiguousarray(view)


def render_view(source: FaceSource, rng: np.random.Generator, aug: ViewAugmentation) -> np.ndarray:
    """One random view of `source`: (S,S,3) uint8 RGB, degraded (`render_view_pair`'s second view)."""
    return render_view_pair(source, rng, aug)[1]


def mix_views(a: np.ndarray, b: np.ndarray, weight: float) -> np.ndarray:
    """Pixel blend weight * a + (1 - weight) * b of two (S,S,3) uint8 views (mixup), as uint8."""
    if a.shape != b.shape:
        raise ValueError(f"views to mix must have one shape, got {a.shape} and {b.shape}")
    if not 0.0 <= weight <= 1.0:
        raise ValueError(f"mixing weight must lie in [0, 1], got {weight}")
    mixed = weight * a.astype(np.float32) + (1.0 - weight) * b.astype(np.float32)  # (S,S,3)
    return np.clip(np.round(mixed), 0, 255).astype(np.uint8)


def splice_views(upper: np.ndarray, lower: np.ndarray, row: float, feather: int = 3) -> np.ndarray:
    """Rows above `row` (fraction of the height) from `upper`, below it from `lower`, blended over
    `feather` pixels either side; two (S,S,3) uint8 views -> (S,S,3) uint8."""
    if upper.shape != lower.shape:
        raise ValueError(f"views to splice must have one shape, got {upper.shape} and {lower.shape}")
    if not 0.0 < row < 1.0:
        raise ValueError(f"splice row must lie strictly between 0 and 1, got {row}")
    s = upper.shape[0]
    y = np.arange(s, dtype=np.float32)  # (S,)
    w = np.clip((y - row * s) / (2.0 * max(feather, 1)) + 0.5, 0.0, 1.0)[:, None, None]  # (S,1,1) 0: upper
    spliced = (1.0 - w) * upper.astype(np.float32) + w * lower.astype(np.float32)  # (S,S,3)
    return np.clip(np.round(spliced), 0, 255).astype(np.uint8)

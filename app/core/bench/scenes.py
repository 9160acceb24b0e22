"""Scenes with known face boxes, made from the shipped real faces, for the detection benchmark and tests.

Faces: the 22 faces of the six face-api demo photographs (assets/faces/, MIT), each cut out as a head
(its manifest box, found by BlazeFace, with a margin) and blended in through a feathered ellipse so no
square edge or neighbour's face comes along. Backgrounds: the face-free photographs of
assets/backgrounds/ (CC0 / public domain), stretched to the frame, or a plain gradient.

- `group_scene`: a 1280x720 or 1920x1080 frame with 1-12 faces of chosen widths (16-400 px), each
  rotated in-plane up to `max_rotation` degrees, some cut by the frame edge, then optionally blurred,
  dimmed or brightened and JPEG-compressed.
- `closeup_scene`: one face filling 50-100% of a small square image (48-400 px), grey or colour, as
  pre-cropped dataset images and webcam close-ups are.

Ground truth per face: an upright box of the face box's size (eyebrows to chin, as BlazeFace frames
it) around the rotated face's centre, clipped to the frame; `width` is its unclipped width.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cache

import cv2
import numpy as np

from model.assets import asset_path
from model.data.face_pool import FacePool

WIDTH_BUCKETS: tuple[tuple[float, float], ...] = ((16, 24), (24, 40), (40, 64), (64, 128), (128, 10_000))
BACKGROUNDS = ("coffee.jpg", "chelsea.jpg", "rocket.jpg")
HEAD_MARGIN = 0.55  # sprite side = (1 + 2 * margin) x face box side


@dataclass(frozen=True)
class FaceSprite:
    """A head cut out of a photograph: RGB (L,L,3), its blending mask (L,L) in [0, 1], the face box
    (x, y, w, h) inside it, and where it came from."""

    image: np.ndarray
    mask: np.ndarray
    box: tuple[float, float, float, float]
    face_id: str


@dataclass(frozen=True)
class TruthFace:
    """One face of a scene: its upright box (x, y, w, h) clipped to the frame, its unclipped width in
    pixels, the shipped face it shows, and whether the frame edge cuts it."""

    box: tuple[float, float, float, float]
    width: float
    face_id: str
    cut: bool = False
    angle: float = 0.0  # in-plane rotation, degrees


@dataclass(frozen=True)
class Scene:
    """A frame (H,W,3) uint8 RGB with its true faces and a name saying how it was made."""

    image: np.ndarray
    faces: tuple[TruthFace, ...]
    kind: str  # "group" or "closeup"
    tags: dict = field(default_factory=dict)


def width_bucket(width: float) -> str:
    """The label of the width bucket `width` falls in ("16-24" ... "128+"), "" below 16 px."""
    for low, high in WIDTH_BUCKETS:
        if low <= width < high:
            return f"{low}+" if high >= 10_000 else f"{low}-{high}"
    return ""


@cache
def face_sprites() -> tuple[FaceSprite, ...]:
    """The shipped faces (face-api demo photographs) as head sprites; loaded once."""
    pool = FacePool()
    sprites = []
    for face in pool.faces("train"):
        image = pool.image(face)  # (H,W,3) RGB
        x0, y0, x1, y1 = face.box
        side = max(x1 - x0, y1 - y0)
        cx, cy = (x0 + x1) / 2.0, (y0 + y1) / 2.0
        half = side * (0.5 + HEAD_MARGIN)
        left, top = int(round(cx - half)), int(round(cy - half))
        size = int(round(2 * half))
        padded = cv2.copyMakeBorder(image, size, size, size, size, cv2.BORDER_REFLECT)
        crop = padded[top + size : top + 2 * size, left + size : left + 2 * size]
        box = (x0 - left, y0 - top, float(x1 - x0), float(y1 - y0))
        sprites.append(FaceSprite(np.ascontiguousarray(crop), _head_mask(size, box), box, face.id))
    return tuple(sprites)


def _head_mask(size: int, box: tuple[float, float, float, float]) -> np.ndarray:
    """A feathered ellipse over the head: the face box widened, reaching up to the hairline."""
    x, y, w, h = box
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    cx, cy = x + w / 2.0, y + h * 0.42
    rx, ry = 0.78 * w, 0.95 * h
    r = np.sqrt(((xx - cx) / rx) ** 2 + ((yy - cy) / ry) ** 2)  # (L,L), 1 on the ellipse
    return np.clip((1.0 - r) / 0.18, 0.0, 1.0)


@cache
def _background_photos() -> tuple[np.ndarray, ...]:
    """The shipped face-free photographs, RGB."""
    out = []
    for name in BACKGROUNDS:
        bgr = cv2.imread(str(asset_path("backgrounds", name)), cv2.IMREAD_COLOR)
        if bgr is None:
            raise FileNotFoundError(f"background photo {asset_path('backgrounds', name)} is missing")
        out.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    return tuple(out)


def background(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    """A (height,width,3) background: one of the shipped photographs (mirrored at random) or a gradient."""
    choice = int(rng.integers(0, len(BACKGROUNDS) + 1))
    if choice == len(BACKGROUNDS):
        top, bottom = rng.uniform(40, 200, 3), rng.uniform(40, 200, 3)
        t = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None, None]  # (H,1,1)
        return np.broadcast_to(top * (1 - t) + bottom * t, (height, width, 3)).astype(np.uint8).copy()
    photo = _background_photos()[choice]
    if rng.random() < 0.5:
        photo = photo[:, ::-1]
    return cv2.resize(photo, (width, height), interpolation=cv2.INTER_LINEAR)


def paste_face(frame: np.ndarray, sprite: FaceSprite, width: float, cx: float, cy: float,
               angle: float) -> None:
    """Blend `sprite` into `frame` (in place) so its face is `width` px wide, centred at (cx, cy),
    rotated by `angle` degrees (counter-clockwise)."""
    scale = width / sprite.box[2]
    fx, fy = sprite.box[0] + sprite.box[2] / 2.0, sprite.box[1] + sprite.box[3] / 2.0
    m = cv2.getRotationMatrix2D((fx, fy), angle, scale)  # sprite -> frame, about the face centre
    m[0, 2] += cx - fx
    m[1, 2] += cy - fy
    h, w = frame.shape[:2]
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    head = cv2.warpAffine(sprite.image, m, (w, h), flags=interpolation, borderMode=cv2.BORDER_CONSTANT)
    alpha = cv2.warpAffine(sprite.mask, m, (w, h), flags=cv2.INTER_LINEAR, borderValue=0.0)[..., None]
    np.copyto(frame, (frame * (1.0 - alpha) + head * alpha).astype(np.uint8))


def _truth(cx: float, cy: float, width: float, sprite: FaceSprite, frame_w: int, frame_h: int,
           angle: float = 0.0) -> TruthFace:
    """The upright face box of a pasted face, clipped to the frame."""
    height = width * sprite.box[3] / sprite.box[2]
    x0, y0, x1, y1 = cx - width / 2, cy - height / 2, cx + width / 2, cy + height / 2
    cut = x0 < 0 or y0 < 0 or x1 > frame_w or y1 > frame_h
    x0, y0, x1, y1 = max(0.0, x0), max(0.0, y0), min(float(frame_w), x1), min(float(frame_h), y1)
    return TruthFace((x0, y0, x1 - x0, y1 - y0), width, sprite.face_id, cut, angle)


def degrade(
    image: np.ndarray, blur: float = 0.0, light: float = 1.0, jpeg_quality: int | None = None
) -> np.ndarray:
    """Gaussian blur (sigma px), a brightness factor (dim < 1 < bright, clipped) and JPEG compression."""
    out = image
    if blur > 0:
        out = cv2.GaussianBlur(out, (0, 0), blur)
    if light != 1.0:
        out = np.clip(out.astype(np.float32) * light, 0, 255).astype(np.uint8)
    if jpeg_quality is not None:
        ok, data = cv2.imencode(".jpg", cv2.cvtColor(out, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY,
                                                                               int(jpeg_quality)])
        out = cv2.cvtColor(cv2.imdecode(data, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    return out


def group_scene(
    rng: np.random.Generator,
    size: tuple[int, int] = (1280, 720),
    widths: list[float] | None = None,
    n_faces: int | None = None,
    max_rotation: float = 30.0,
    cut_share: float = 0.15,
    blur: float = 0.0,
    light: float = 1.0,
    jpeg_quality: int | None = None,
) -> Scene:
    """A frame of `size` (width, height) with faces of `widths` px (or `n_faces` of random widths,
    16-400 px, log-uniform), placed without overlapping, a share `cut_share` of them cut by the edge."""
    frame_w, frame_h = size
    if widths is None:
        n = int(n_faces if n_faces is not None else rng.integers(1, 13))
        widths = list(np.exp(rng.uniform(math.log(16), math.log(400), n)))
    frame = background(rng, frame_w, frame_h)
    sprites = face_sprites()
    taken: list[tuple[float, float, float]] = []  # (cx, cy, radius) of placed heads
    faces = []
    for width in sorted(widths, reverse=True):
        radius = 1.2 * width  # the head with its blending margin
        for _ in range(200):
            if rng.random() < cut_share:  # centre near a side edge: up to 30% of the face outside
                offset = rng.uniform(0.2, 0.45) * width
                cx = float(offset if rng.random() < 0.5 else frame_w - offset)
                cy = float(rng.uniform(radius, max(radius + 1, frame_h - radius)))
            else:
                cx = float(rng.uniform(radius, max(radius + 1, frame_w - radius)))
                cy = float(rng.uniform(radius, max(radius + 1, frame_h - radius)))
            if all(math.hypot(cx - x, cy - y) > radius + r for x, y, r in taken):
                break
        else:
            continue  # no room left for a face this size
        sprite = sprites[int(rng.integers(0, len(sprites)))]
        angle = float(rng.uniform(-max_rotation, max_rotation))
        paste_face(frame, sprite, width, cx, cy, angle)
        taken.append((cx, cy, radius))
        faces.append(_truth(cx, cy, width, sprite, frame_w, frame_h, angle))
    image = degrade(frame, blur, light, jpeg_quality)
    tags = {"size": f"{frame_w}x{frame_h}", "blur": blur, "light": light, "jpeg": jpeg_quality}
    return Scene(image, tuple(faces), "group", tags)


def closeup_scene(
    rng: np.random.Generator, side: int, fill: float, gray: bool = False, jpeg_quality: int | None = None
) -> Scene:
    """One face filling `fill` (0.5-1.0) of a `side` x `side` image: the face box's width is
    fill x side, as a pre-cropped dataset image or a webcam close-up shows it."""
    sprite = face_sprites()[int(rng.integers(0, len(face_sprites())))]
    scale = fill * side / sprite.box[2]
    fx, fy = sprite.box[0] + sprite.box[2] / 2.0, sprite.box[1] + sprite.box[3] / 2.0
    m = np.float32([[scale, 0, side / 2.0 - fx * scale], [0, scale, side / 2.0 - fy * scale]])
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    image = cv2.warpAffine(sprite.image, m, (side, side), flags=interpolation, borderMode=cv2.BORDER_REFLECT)
    if gray:
        image = np.repeat(cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)[..., None], 3, axis=2)
    image = degrade(image, jpeg_quality=jpeg_quality)
    truth = _truth(side / 2.0, side / 2.0, fill * side, sprite, side, side)
    return Scene(image, (truth,), "closeup", {"side": side, "fill": fill, "gray": gray})

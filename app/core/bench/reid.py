"""How often the face descriptor says "same person" rightly and wrongly, on the shipped faces.

`python main.py bench --reid`: each shipped face (app/core/bench/scenes.py: 22 people of the face-api
demo photographs) is cut square around its face box and rendered as the gallery's reference (160 px,
as taken) and again under CONDITIONS (smaller, darker or brighter, tilted, blurred, JPEG-compressed: how
the same person looks when they come back). Genuine pairs: a reference and a rendering of the same
face; impostor pairs: a reference and a rendering of another face. For each threshold: the true match
rate (genuine pairs closer than it) and the false match rate (impostor pairs closer than it).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import cv2
import numpy as np

from app.core.bench.scenes import FaceSprite, degrade, face_sprites
from app.core.cropping import crop_square
from app.core.reid import CROP_MARGIN, REID_THRESHOLD

REFERENCE_PX = 160
# (name, side px, light, rotation degrees, blur sigma, JPEG quality)
CONDITIONS: tuple[tuple[str, int, float, float, float, int | None], ...] = (
    ("as taken, 100 px", 100, 1.0, 0.0, 0.0, None),
    ("60 px", 60, 1.0, 0.0, 0.0, None),
    ("40 px", 40, 1.0, 0.0, 0.0, None),
    ("dim", 120, 0.55, 0.0, 0.0, None),
    ("bright", 120, 1.5, 0.0, 0.0, None),
    ("tilted 12 deg", 120, 1.0, 12.0, 0.0, None),
    ("blurred", 120, 1.0, 0.0, 1.5, None),
    ("JPEG q30", 120, 1.0, 0.0, 0.0, 30),
)
THRESHOLDS = (0.35, 0.40, 0.45, 0.50, 0.55, 0.60)


def render_face(sprite: FaceSprite, side: int, light: float = 1.0, angle: float = 0.0, blur: float = 0.0,
                jpeg: int | None = None) -> np.ndarray:
    """The face of `sprite` as a (side,side,3) uint8 RGB crop with CROP_MARGIN around its box."""
    x, y, w, h = sprite.box
    image = sprite.image
    if angle:
        m = cv2.getRotationMatrix2D((x + w / 2, y + h / 2), angle, 1.0)
        image = cv2.warpAffine(image, m, (image.shape[1], image.shape[0]), borderMode=cv2.BORDER_REFLECT)
    crop = crop_square(image, (int(x), int(y), int(w), int(h)), margin=CROP_MARGIN)
    crop = cv2.resize(crop, (side, side), interpolation=cv2.INTER_AREA)
    return degrade(crop, blur=blur, light=light, jpeg_quality=jpeg)


def run_reid_benchmark(embedder=None, sprites: Sequence[FaceSprite] | None = None) -> dict[str, Any]:
    """Genuine and impostor distances of the shipped faces, and the match rates per threshold."""
    if embedder is None:
        from model.face_embedding import FaceEmbedder

        embedder = FaceEmbedder()
    sprites = list(sprites or face_sprites())
    references = embedder.embed([render_face(s, REFERENCE_PX) for s in sprites])  # (N,128)
    genuine: dict[str, list[float]] = {}
    impostor: list[float] = []
    for name, side, light, angle, blur, jpeg in CONDITIONS:
        probes = embedder.embed([render_face(s, side, light, angle, blur, jpeg) for s in sprites])  # (N,128)
        distances = np.linalg.norm(references[:, None] - probes[None], axis=2)  # (N,N)
        genuine[name] = [float(d) for d in np.diag(distances)]
        impostor += [float(d) for d in distances[~np.eye(len(sprites), dtype=bool)]]
    all_genuine = np.array([d for ds in genuine.values() for d in ds])
    impostors = np.array(impostor)
    rates = [{"threshold": t, "true_match_rate": float(np.mean(all_genuine < t)),
              "false_match_rate": float(np.mean(impostors < t))} for t in THRESHOLDS]
    return {
        "people": len(sprites), "genuine_pairs": int(all_genuine.size), "impostor_pairs": int(impostors.size),
        "threshold_in_use": REID_THRESHOLD, "rates": rates,
        "per_condition": {name: {"true_match_rate": float(np.mean(np.array(ds) < REID_THRESHOLD)),
                                 "max_distance": float(max(ds))} for name, ds in genuine.items()},
        "impostor_min_distance": float(impostors.min()),
    }


def markdown_table(report: dict[str, Any]) -> str:
    """The match rates per threshold, and per condition at the threshold in use."""
    lines = ["| threshold | true match rate | false match rate |", "|---|---|---|"]
    for r in report["rates"]:
        mark = " (in use)" if abs(r["threshold"] - report["threshold_in_use"]) < 1e-9 else ""
        lines.append(f"| {r['threshold']:.2f}{mark} | {r['true_match_rate']:.3f} | "
                     f"{r['false_match_rate']:.4f} |")
    lines += ["", "| condition | true match rate | largest genuine distance |", "|---|---|---|"]
    for name, c in report["per_condition"].items():
        lines.append(f"| {name} | {c['true_match_rate']:.3f} | {c['max_distance']:.3f} |")
    lines.append(f"\nsmallest impostor distance: {report['impostor_min_distance']:.3f} "
                 f"({report['people']} people, {report['genuine_pairs']} genuine and "
                 f"{report['impostor_pairs']} impostor pairs)")
    return "\n".join(lines)

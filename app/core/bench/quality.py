"""Where a face image becomes too poor for the model: the thresholds of the quality verdict, measured.

`python main.py bench --quality`: each of the 22 shipped faces (app/core/bench/scenes.py) is pasted on
a plain grey 480x480 frame, once clean at REFERENCE_WIDTH px (the reference reading) and again along
each SWEEP: smaller, blurred, dimmer, brighter, tilted in-plane. The model (the default one unless
given) reads every rendering from the crop the app would take around the true face box; for each
level the benchmark reports the quality measure (app/core/face_quality.py, median over the faces),
how far the model's reading moved from its reading of the clean face (mean over the faces of the
larger of |dV| and |dA|), and how often the expression stayed the same.

A sweep's threshold is the measure halfway between the last level whose mean move is within
QUALITY_TOLERANCE and the first level beyond it; `QualitySettings` holds these values. The tilt sweep
also checks the roll estimate against the true angle, and the clean faces give the frontal nose-tip
place (`face_quality.NOSE_DROP`) and the yaw read on frontal faces (should be about 0).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from app.core.bench.scenes import FaceSprite, _truth, degrade, face_sprites, paste_face
from app.core.face_quality import face_quality, head_pose
from app.core.face_step import model_crops
from app.core.settings import QUALITY_TOLERANCE, QualitySettings

FRAME_SIDE = 480
REFERENCE_WIDTH = 112.0
GREY = 128


@dataclass(frozen=True)
class Sweep:
    """One way a face gets worse: its levels (mildest first), what each level does, the measure that
    says so, and whether the verdict's threshold is a minimum ("min") or a maximum ("max")."""

    name: str
    levels: tuple[float, ...]
    unit: str
    measure: str  # a FaceQuality field
    bound: str  # "min" or "max"; "none": a robustness sweep, no threshold
    render: Callable[[float], dict[str, float]]  # level -> width, blur, light, angle


SWEEPS = (
    Sweep(
        "smaller", (80, 64, 48, 40, 32, 24, 16), "px wide", "width_px", "min", lambda level: {"width": level}
    ),
    Sweep(
        "blurred",
        (0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0),
        "px blur sigma",
        "sharpness",
        "min",
        lambda level: {"blur": level},
    ),
    Sweep(
        "dimmer",
        (0.8, 0.6, 0.45, 0.35, 0.25, 0.18, 0.12),
        "x light",
        "brightness",
        "min",
        lambda level: {"light": level},
    ),
    Sweep(
        "brighter",
        (1.2, 1.4, 1.6, 1.9, 2.3, 2.8, 3.5),
        "x light",
        "brightness",
        "max",
        lambda level: {"light": level},
    ),
    Sweep(
        "tilted",
        (5, 10, 15, 20, 25, 30, 40, 50),
        "degrees",
        "roll_deg",
        "max",
        lambda level: {"angle": level},
    ),
    # robustness only (issue 19 part 6): how often ordinary video damage flips the expression
    Sweep("JPEG", (90, 70, 50, 40, 30, 20), "quality", "sharpness", "none", lambda level: {"jpeg": level}),
    Sweep("noisy", (2, 4, 8, 12, 16), "grey levels SD", "sharpness", "none", lambda level: {"noise": level}),
)


def render(
    sprite: FaceSprite,
    width: float = REFERENCE_WIDTH,
    blur: float = 0.0,
    light: float = 1.0,
    angle: float = 0.0,
    jpeg: int | None = None,
    noise: float = 0.0,
) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """A (480,480,3) grey frame with the face `width` px wide in the middle, turned by `angle` degrees,
    blurred, lit, given Gaussian noise (SD in grey levels, seeded) and JPEG-compressed; and the face's
    true upright box (x, y, w, h)."""
    frame = np.full((FRAME_SIDE, FRAME_SIDE, 3), GREY, np.uint8)
    centre = FRAME_SIDE / 2.0
    paste_face(frame, sprite, width, centre, centre, angle)
    truth = _truth(centre, centre, width, sprite, FRAME_SIDE, FRAME_SIDE, angle)
    box = tuple(int(round(v)) for v in truth.box)
    frame = degrade(frame, blur=blur, light=light)
    if noise > 0:
        grain = np.random.default_rng(0).normal(0.0, noise, frame.shape)
        frame = np.clip(frame + grain, 0, 255).astype(np.uint8)
    return degrade(frame, jpeg_quality=jpeg), box


def _readings(
    predictor: Any, frames: Sequence[np.ndarray], boxes: Sequence[tuple[int, int, int, int]], detector: Any
) -> tuple[np.ndarray, list[str], list[Any]]:
    """(n,2) V/A, n expressions and n FaceQuality of one rendering per face."""
    crops = [model_crops(frame, [box], predictor)[0] for frame, box in zip(frames, boxes, strict=True)]
    prediction = predictor.predict(crops)
    qualities = []
    for frame, box, crop in zip(frames, boxes, crops, strict=True):
        found = detector.detect(frame)
        keypoints = max(found, key=lambda d: d.score).keypoints if found else ()
        qualities.append(face_quality(crop, box, keypoints))
    return np.asarray(prediction.valence_arousal, np.float64), list(prediction.expressions), qualities


def _threshold(levels: list[dict[str, Any]], bound: str) -> float | None:
    """The measure halfway between the last level within the tolerance and the first beyond it (None
    when every level stays within it, or for a robustness-only sweep)."""
    if bound == "none":
        return None
    for previous, level in zip(levels, levels[1:], strict=False):
        if level["mean_move"] > QUALITY_TOLERANCE:
            return (previous["measure"] + level["measure"]) / 2.0
    if levels and levels[0]["mean_move"] > QUALITY_TOLERANCE:
        return levels[0]["measure"]
    return None


def run_quality_benchmark(
    predictor: Any = None, sprites: Sequence[FaceSprite] | None = None
) -> dict[str, Any]:
    """Every sweep's levels and thresholds, the roll check and the frontal pose figures (module doc)."""
    from app.core.detection import FaceDetector

    if predictor is None:
        from app.core.model_store import open_predictor

        predictor = open_predictor()
    sprites = list(sprites or face_sprites())
    report: dict[str, Any] = {
        "faces": len(sprites),
        "tolerance": QUALITY_TOLERANCE,
        "reference_width_px": REFERENCE_WIDTH,
        "model": predictor.name,
        "sweeps": {},
    }
    with FaceDetector("full", min_confidence=0.3) as detector:
        clean = [render(s) for s in sprites]
        reference, expressions, qualities = _readings(
            predictor, [f for f, _ in clean], [b for _, b in clean], detector
        )
        frontal = [head_pose(detector.detect(f)[0].keypoints) for f, _ in clean if detector.detect(f)]
        drops = []
        for frame, _ in clean:
            found = detector.detect(frame)
            if found:
                right_eye, left_eye, nose, mouth = (np.asarray(k) for k in found[0].keypoints[:4])
                middle = (right_eye + left_eye) / 2.0
                drops.append(float((nose[1] - middle[1]) / max(1e-6, mouth[1] - middle[1])))
        report["clean"] = {
            "sharpness_median": float(np.median([q.sharpness for q in qualities])),
            "brightness_median": float(np.median([q.brightness for q in qualities])),
            "nose_drop_median": float(np.median(drops)) if drops else None,
            "yaw_abs_median_deg": float(np.median([abs(p[1]) for p in frontal if p])) if frontal else None,
            "pitch_abs_median_deg": float(np.median([abs(p[2]) for p in frontal if p])) if frontal else None,
            "detected": len(frontal),
        }
        for sweep in SWEEPS:
            levels = []
            for level in sweep.levels:
                rendered = [render(s, **{"width": REFERENCE_WIDTH, **sweep.render(level)}) for s in sprites]
                va, names, measures = _readings(
                    predictor, [f for f, _ in rendered], [b for _, b in rendered], detector
                )
                moves = np.abs(va - reference).max(axis=1)  # (n,) the larger of |dV| and |dA|
                # the measure as the verdict reads it (the tilt: the face's whole |roll|, its own lean too)
                values = [abs(v) for v in (getattr(q, sweep.measure) for q in measures) if v is not None]
                entry = {
                    "level": level,
                    "measure": float(np.median(values)) if values else float("nan"),
                    "mean_move": float(moves.mean()),
                    "share_moved": float((moves > QUALITY_TOLERANCE).mean()),
                    "same_expression": float(
                        np.mean([a == b for a, b in zip(names, expressions, strict=True)])
                    ),
                    "verdict_low": float(np.mean([q.verdict == "low" for q in measures])),
                }
                if sweep.name == "tilted":  # turned counter-clockwise by `level`, a face's roll drops by it
                    pairs = [
                        (q.roll_deg, c.roll_deg)
                        for q, c in zip(measures, qualities, strict=True)
                        if q.roll_deg is not None and c.roll_deg is not None
                    ]
                    entry["roll_error_deg"] = (
                        float(np.mean([abs(r - r0 + level) for r, r0 in pairs])) if pairs else None
                    )
                levels.append(entry)
            report["sweeps"][sweep.name] = {
                "unit": sweep.unit,
                "measure": sweep.measure,
                "bound": sweep.bound,
                "levels": levels,
                "threshold": _threshold(levels, sweep.bound),
            }
    defaults = QualitySettings()
    report["settings"] = {
        "min_width_px": defaults.min_width_px,
        "min_sharpness": defaults.min_sharpness,
        "min_brightness": defaults.min_brightness,
        "max_brightness": defaults.max_brightness,
        "max_roll_deg": defaults.max_roll_deg,
    }  # what the app uses, to compare with the thresholds found
    return report


def markdown_table(report: dict[str, Any]) -> str:
    """The sweeps as Markdown tables, with the thresholds found and those in QualitySettings."""
    lines = [
        f"{report['faces']} shipped faces, model {report['model']}; reference: clean, "
        f"{report['reference_width_px']:.0f} px wide; a level is too much when the mean move of the "
        f"reading (max of |dV|, |dA|) exceeds {report['tolerance']}.",
        "",
        f"Clean faces: sharpness median {report['clean']['sharpness_median']:.0f}, brightness median "
        f"{report['clean']['brightness_median']:.0f}; frontal nose drop median "
        f"{report['clean']['nose_drop_median']:.3f}; |yaw| median "
        f"{report['clean']['yaw_abs_median_deg']:.1f} "
        f"deg, |pitch| median {report['clean']['pitch_abs_median_deg']:.1f} deg "
        f"({report['clean']['detected']} faces with keypoints).",
    ]
    for name, sweep in report["sweeps"].items():
        lines += [
            "",
            (
                f"**{name}** (robustness only; the {sweep['measure']} shown for reference)"
                if sweep["bound"] == "none"
                else f"**{name}** ({sweep['measure']}, threshold a {sweep['bound']}imum): "
                + (f"{sweep['threshold']:.1f}" if sweep["threshold"] is not None else "not reached")
            ),
            "",
            f"| {sweep['unit']} | {sweep['measure']} (median) | mean move | share moved > tol | "
            "same expression | verdict low |",
            "|---|---|---|---|---|---|",
        ]
        for level in sweep["levels"]:
            extra = (
                f" (roll error {level['roll_error_deg']:.1f} deg)"
                if level.get("roll_error_deg") is not None
                else ""
            )
            lines.append(
                f"| {level['level']:g} | {level['measure']:.1f}{extra} | {level['mean_move']:.3f} | "
                f"{level['share_moved']:.2f} | {level['same_expression']:.2f} | {level['verdict_low']:.2f} |"
            )
    lines += ["", "QualitySettings: " + ", ".join(f"{k} {v:g}" for k, v in report["settings"].items())]
    return "\n".join(lines)

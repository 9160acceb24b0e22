"""Does a model-agnostic uncertainty rank the model's errors? Test-time augmentation, measured.

`python main.py bench --uncertainty`: N synthetic faces with known valence/arousal
(model/data/synthetic.py, one per class in turn) are read by the model (the default one unless given)
from the crop the app takes, as is and in VIEWS (mirrored, shifted by a twentieth of the crop). The
spread (sample SD over the views) is the candidate uncertainty; the figures are those issue 19 sets:
the Spearman correlation of the spread with the absolute error (goal >= 0.3), and how much the RMSE
drops when the 20% of rows with the largest spread are left out (goal >= 15%).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from app.core.cropping import crop_faces
from model.config import VA_DIMENSIONS

N_FACES = 400
FACE_SIDE = 160
SHIFT_SHARE = 1 / 20  # of the crop side
KEEP = 0.8  # the coverage the risk figure keeps


def views(crop: np.ndarray) -> list[np.ndarray]:
    """The crop (S,S,3), mirrored, and shifted left, right, up and down (6 views)."""
    shift = max(1, round(crop.shape[0] * SHIFT_SHARE))
    out = [crop, crop[:, ::-1].copy()]
    for dx, dy in ((shift, 0), (-shift, 0), (0, shift), (0, -shift)):
        out.append(np.roll(np.roll(crop, dx, axis=1), dy, axis=0))
    return out


def spearman(x: np.ndarray, y: np.ndarray) -> float:
    """Spearman's rank correlation of two (n,) arrays (ties broken by order: continuous data)."""
    rx, ry = np.argsort(np.argsort(x)).astype(float), np.argsort(np.argsort(y)).astype(float)
    return float(np.corrcoef(rx, ry)[0, 1])


def run_uncertainty_benchmark(predictor: Any = None, n_faces: int = N_FACES, seed: int = 0) -> dict[str, Any]:
    """The spread's Spearman correlation with the error and the RMSE at KEEP coverage, per dimension."""
    from model.data.synthetic import render_face
    from model.preprocessing import resize_crop

    if predictor is None:
        from app.core.model_store import open_predictor

        predictor = open_predictor()
    rng = np.random.default_rng(seed)
    config = predictor.config
    faces = [render_face(rng, k % 8, FACE_SIDE) for k in range(n_faces)]
    readings = []
    for face in faces:
        crop = resize_crop(crop_faces(face.image, [face.box], config.crop_margin)[0], config.input_size)
        readings.append(predictor.predict(views(crop)).valence_arousal)
    va = np.asarray(readings, np.float64)  # (n,views,2)
    truth = np.asarray([[f.valence, f.arousal] for f in faces])  # (n,2)
    error = np.abs(va[:, 0] - truth)  # (n,2) of the reading the app reports
    spread = va.std(axis=1, ddof=1)  # (n,2)
    report: dict[str, Any] = {"model": predictor.name, "faces": n_faces, "views": va.shape[1], "keep": KEEP}
    for d, name in enumerate(VA_DIMENSIONS):
        kept = spread[:, d] <= np.quantile(spread[:, d], KEEP)
        rmse_all = float(np.sqrt((error[:, d] ** 2).mean()))
        rmse_kept = float(np.sqrt((error[kept, d] ** 2).mean()))
        report[name] = {
            "rmse": rmse_all,
            "rmse_kept": rmse_kept,
            "rmse_drop": 1.0 - rmse_kept / rmse_all,
            "spearman": spearman(spread[:, d], error[:, d]),
            "spread_median": float(np.median(spread[:, d])),
        }
    return report


def markdown_table(report: dict[str, Any]) -> str:
    """The figures as a Markdown table."""
    lines = [
        f"{report['faces']} synthetic faces, model {report['model']}, {report['views']} views per face",
        "",
        "| | RMSE | spread median | Spearman(spread, abs error) | RMSE without the 20% most spread | drop |",
        "|---|---|---|---|---|---|",
    ]
    for name in VA_DIMENSIONS:
        r = report[name]
        lines.append(
            f"| {name} | {r['rmse']:.3f} | {r['spread_median']:.3f} | {r['spearman']:.3f} (goal >= 0.3) | "
            f"{r['rmse_kept']:.3f} | {100 * r['rmse_drop']:.1f}% (goal >= 15%) |"
        )
    return "\n".join(lines)

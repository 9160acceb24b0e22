"""Does a predicted V/A uncertainty rank the errors? The heteroscedastic head, measured; test-time
augmentation, measured as the model-agnostic alternative.

`python main.py bench --uncertainty` runs three measurements (the figures issue 19 sets: the Spearman
correlation of the predicted SD with the absolute error, goal >= 0.3; the RMSE drop when the 20% least
certain rows are left out, goal >= 15%):

- fixture: the synthetic faces in the AffectNet layout with known per-sample label noise
  (model/data/label_noise.py: 30% of the faces blurred and washed out, their V/A labels with
  N(0, 0.3^2) noise), a new model trained with `--va-uncertainty` for a few minutes, evaluated on the
  validation split (a separate seed stream) by `model.evaluate`, plus the median SD on the noisy and
  clean rows;
- held-out: the default model's head on the 103 held-out real faces against the V/A derived from the
  teacher ensemble, as they are and degraded (blur, low resolution, JPEG): the SD must rise with the
  degradation;
- tta: the spread of 6 mirrored and shifted readings of the default model on synthetic faces.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from app.core.bench.scenes import degrade as degrade_image
from app.core.cropping import crop_faces
from model.config import VA_DIMENSIONS, ModelConfig
from model.uncertainty import KEEP, uncertainty_report

N_FACES = 400
FACE_SIDE = 160
SHIFT_SHARE = 1 / 20  # of the crop side
FIXTURE_TRAIN, FIXTURE_VAL = 3000, 800
DEGRADED_SIDE = 28  # px: the held-out crops are shrunk to this side, blurred and JPEG-compressed
DEGRADED_BLUR, DEGRADED_JPEG = 0.8, 30  # then blurred (sigma px) and JPEG-compressed at this quality


def views(crop: np.ndarray) -> list[np.ndarray]:
    """The crop (S,S,3), mirrored, and shifted left, right, up and down (6 views)."""
    shift = max(1, round(crop.shape[0] * SHIFT_SHARE))
    out = [crop, crop[:, ::-1].copy()]
    for dx, dy in ((shift, 0), (-shift, 0), (0, shift), (0, -shift)):
        out.append(np.roll(np.roll(crop, dx, axis=1), dy, axis=0))
    return out


def tta_report(predictor: Any, n_faces: int = N_FACES, seed: int = 0) -> dict[str, Any]:
    """Test-time augmentation: the spread's Spearman correlation with the error and the RMSE at KEEP
    coverage, per dimension, on `n_faces` synthetic faces with known V/A."""
    from model.data.synthetic import render_face
    from model.preprocessing import resize_crop

    rng = np.random.default_rng(seed)
    config = predictor.config
    faces = [render_face(rng, k % 8, FACE_SIDE) for k in range(n_faces)]
    readings = []
    for face in faces:
        crop = resize_crop(crop_faces(face.image, [face.box], config.crop_margin)[0], config.input_size)
        readings.append(predictor.predict(views(crop)).valence_arousal)
    va = np.asarray(readings, np.float64)  # (n,views,2)
    truth = np.asarray([[f.valence, f.arousal] for f in faces])  # (n,2)
    spread = va.std(axis=1, ddof=1)  # (n,2)
    return {"faces": n_faces, "views": va.shape[1], **uncertainty_report(truth, va[:, 0], spread)}


def fixture_report(
    work_dir: Path,
    minutes: float,
    n_train: int = FIXTURE_TRAIN,
    n_val: int = FIXTURE_VAL,
    seed: int = 0,
    say: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Write the noisy-label fixture, train a model with the uncertainty head on it for `minutes`, and
    evaluate it on the validation split; the report adds the median SD on noisy and on clean rows."""
    from model.checkpoint import load_checkpoint
    from model.data import open_dataset
    from model.data.label_noise import LabelNoise
    from model.data.synthetic_dataset import generate_dataset, label_noise_path, read_label_noise
    from model.evaluate import evaluate
    from model.train import EpochDone, RunFinished, StageDone, TrainOptions, train

    noise = LabelNoise()
    data = work_dir / "fixture"
    for split, n in (("training", n_train), ("validation", n_val)):
        generate_dataset(data, n, seed=seed, split=split, overwrite=True, label_noise=noise)
    say(f"fixture: {n_train} training / {n_val} validation faces in {data}, a share {noise.share:g} "
        f"degraded with label noise SD {noise.sd:g}")
    config = ModelConfig(backbone="faceapi_features", backbone_weights="faceapi")
    options = TrainOptions(
        data=data, model_config=config, va_uncertainty=True, out_dir=work_dir / "train",
        time_budget_s=minutes * 60.0, workers=1, seed=seed, model_name="uncertainty-fixture",
    )
    best, started = None, time.monotonic()
    for event in train(options):
        if isinstance(event, EpochDone):
            say(f"  stage {event.stage} epoch {event.epoch}: {event.metrics}")
        elif isinstance(event, StageDone):
            best = event.best_path
        elif isinstance(event, RunFinished):
            break
    model = load_checkpoint(best).model
    dataset = open_dataset(data, "affectnet", "validation", model.config)
    result = evaluate(model, dataset, workers=1)
    predictions = result.predictions
    sd_of = read_label_noise(label_noise_path(data, "validation"))
    label_sd = np.array([sd_of[_relative(p, data)] for p in predictions.paths])  # (N,) 0 on clean rows
    noisy = label_sd > 0  # (N,)
    std = predictions.valence_arousal_std  # (N,2)
    report = dict(result.report["uncertainty"])
    # The ceiling on this fixture: the known label-noise SD itself taken as the uncertainty.
    oracle = uncertainty_report(
        predictions.valence_arousal_true, predictions.valence_arousal_pred, np.repeat(label_sd[:, None], 2, 1)
    )
    report.update(
        oracle={name: oracle[name] for name in VA_DIMENSIONS},
        calibration=(result.report.get("expression") or {}).get("calibration"),
        train_minutes=(time.monotonic() - started) / 60.0,
        n_noisy=int(noisy.sum()),
        n_clean=int((~noisy).sum()),
        label_noise_sd=noise.sd,
        summary=result.report["summary"],
        std_median_noisy=[float(np.median(std[noisy, d])) for d in range(2)],
        std_median_clean=[float(np.median(std[~noisy, d])) for d in range(2)],
    )
    return report


def _relative(path: str, root: Path) -> str:
    """An image path of the dataset as the fixture's CSV writes it (relative to `root`, POSIX)."""
    return Path(path).resolve().relative_to(root.resolve()).as_posix()


def degrade(crop: np.ndarray) -> np.ndarray:
    """A held-out crop as a poor camera gives it: shrunk to DEGRADED_SIDE, blurred, JPEG at
    DEGRADED_JPEG, and brought back to its size."""
    side = crop.shape[0]
    small = cv2.resize(crop, (DEGRADED_SIDE, DEGRADED_SIDE), interpolation=cv2.INTER_AREA)
    small = degrade_image(small, blur=DEGRADED_BLUR, jpeg_quality=DEGRADED_JPEG)
    return np.ascontiguousarray(cv2.resize(small, (side, side), interpolation=cv2.INTER_LINEAR))


def heldout_report(predictor: Any, crops: list[np.ndarray], truth: np.ndarray) -> dict[str, Any] | None:
    """The model's SD on the held-out real `crops` against |its V/A - `truth`| (N,2), the V/A derived from
    the teacher ensemble, and the median SD on the same faces degraded; None when the model has no
    uncertainty head."""
    if not predictor.has_uncertainty:
        return None
    clean = predictor.predict(crops)
    poor = predictor.predict([degrade(c) for c in crops])
    report = uncertainty_report(truth, clean.valence_arousal, clean.valence_arousal_std)
    report.update(
        faces=len(crops),
        std_median_degraded=[float(np.median(poor.valence_arousal_std[:, d])) for d in range(2)],
        share_higher_when_degraded=[
            float(np.mean(poor.valence_arousal_std[:, d] > clean.valence_arousal_std[:, d])) for d in range(2)
        ],
    )
    return report


def run_uncertainty_benchmark(
    predictor: Any,
    minutes: float,
    heldout: tuple[list[np.ndarray], np.ndarray],
    say: Callable[[str], None] = print,
) -> dict[str, Any]:
    """The three measurements of the module docstring; `predictor` is the default model's, `heldout` the
    held-out crops and their ensemble-derived V/A (N,2)."""
    with tempfile.TemporaryDirectory(prefix="affectscope-uncertainty-") as tmp:
        fixture = fixture_report(Path(tmp), minutes, say=say)
    return {
        "model": predictor.name,
        "keep": KEEP,
        "fixture": fixture,
        "heldout": heldout_report(predictor, *heldout),
        "tta": tta_report(predictor),
    }


def markdown_table(report: dict[str, Any]) -> str:
    """The figures as a Markdown table: one row per measurement and dimension."""
    lines = [
        f"model {report['model']}; goals: Spearman >= 0.3, RMSE drop at {report['keep']:.0%} coverage >= 15%",
        "",
        "| measurement | dimension | rows | RMSE | median SD | Spearman(SD, abs error) | RMSE of the "
        f"{report['keep']:.0%} most certain | drop |",
        "|---|---|---|---|---|---|---|---|",
    ]
    names = {
        "fixture": "head, noisy-label synthetic fixture",
        "heldout": "head (default model), held-out real faces",
        "tta": "test-time augmentation spread (default model), synthetic faces",
    }
    for key, title in names.items():
        part = report.get(key)
        if not part:
            lines.append(f"| {title} | - | - | - | - | the model has no uncertainty head | - | - |")
            continue
        for name in VA_DIMENSIONS:
            r = part[name]
            lines.append(
                f"| {title} | {name} | {r['n']} | {r['rmse']:.3f} | {r['std_median']:.3f} | "
                f"{r['spearman']:.3f} | {r['rmse_kept']:.3f} | {100 * r['rmse_drop']:.1f}% |"
            )
    fixture = report["fixture"]
    for name in VA_DIMENSIONS:
        r = fixture["oracle"][name]
        lines.append(
            f"| ceiling: the known label-noise SD as the uncertainty | {name} | {r['n']} | {r['rmse']:.3f} "
            f"| {r['std_median']:.3f} | {r['spearman']:.3f} | {r['rmse_kept']:.3f} "
            f"| {100 * r['rmse_drop']:.1f}% |"
        )
    calibration = fixture.get("calibration")
    if calibration:
        lines += ["", f"fixture expressions: ECE {calibration['ece']:.3f}, after temperature scaling "
                      f"(cross-fitted) {calibration['ece_after']:.3f} (T {calibration['temperature']:.2f})"]
    lines += [
        "",
        f"fixture: median SD on noisy rows (label noise SD {fixture['label_noise_sd']:g}) "
        f"{fixture['std_median_noisy'][0]:.3f} / {fixture['std_median_noisy'][1]:.3f}, on clean rows "
        f"{fixture['std_median_clean'][0]:.3f} / {fixture['std_median_clean'][1]:.3f} (V / A); trained "
        f"{fixture['train_minutes']:.1f} min; {fixture['summary']}",
    ]
    held = report.get("heldout")
    if held:
        lines.append(
            f"held-out: median SD as they are {held['valence']['std_median']:.3f} / "
            f"{held['arousal']['std_median']:.3f}, degraded ({DEGRADED_SIDE} px, JPEG {DEGRADED_JPEG}) "
            f"{held['std_median_degraded'][0]:.3f} / {held['std_median_degraded'][1]:.3f}; higher on "
            f"{held['share_higher_when_degraded'][0]:.0%} / {held['share_higher_when_degraded'][1]:.0%} of "
            "the faces"
        )
    return "\n".join(lines)

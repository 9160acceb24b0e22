"""How well a distilled model agrees with its teachers on the held-out real faces, and how fast it runs.

`heldout_outputs` runs the student (through `model.predictor`, the app's inference path: the crops
are resized by `model.preprocessing.resize_crop`, as the app's face step does) and the teachers on the
same crops; `agreement_report` turns the outputs into
plain numbers (JSON-able): top-1 agreement with the ensemble over all faces and over the faces where
the teachers agree, a per-class table, the majority-class baseline, the same for each teacher alone,
and the correlation of valence/arousal with the V/A derived from the ensemble's probabilities, plus
the student's V/A head against the V/A derived from its own probabilities. `measure_latency` times the
predictor on one face at a time.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from model import metrics
from model.circumplex import derived_va
from model.config import CLASS_NAMES
from model.distill.teachers import FacePool, PoolFace, TeacherEnsemble
from model.predictor import Predictor

STUDENT = "student"
BASELINE = "majority-class baseline"


@dataclass
class HeldoutOutputs:
    """Per-face outputs on the held-out faces (AffectNet class order)."""

    face_ids: list[str]
    ensemble: np.ndarray  # (N,8) teacher-ensemble probabilities
    per_teacher: dict[str, np.ndarray]  # teacher -> (N,8)
    student_probabilities: np.ndarray  # (N,8)
    student_valence_arousal: np.ndarray  # (N,2) the V/A head


def heldout_crops(pool: FacePool, faces: Sequence[PoolFace], margin: float) -> list[np.ndarray]:
    """Native-resolution square uint8 RGB crops of `faces` with `margin` (the predictor resizes them)."""
    return [pool.crop(face, margin) for face in faces]


def heldout_outputs(
    predictor: Predictor, ensemble: TeacherEnsemble, face_ids: Sequence[str], crops: Sequence[np.ndarray]
) -> HeldoutOutputs:
    """Run the student and every teacher on the same crops."""
    if not crops:
        raise ValueError("no held-out crops to evaluate on")
    prediction = predictor.predict(list(crops))
    with torch.no_grad():
        per_teacher = {k: v.cpu().numpy() for k, v in ensemble.per_teacher(list(crops)).items()}  # (N,8) each
    mean = np.mean(np.stack(list(per_teacher.values())), axis=0)  # (N,8)
    return HeldoutOutputs(
        list(face_ids), mean, per_teacher, prediction.probabilities, prediction.valence_arousal
    )


def _va_scores(truth: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    """Pearson r, CCC and RMSE of valence and of arousal: (N,2) against (N,2)."""
    out = {}
    for k, dim in enumerate(("v", "a")):
        out[f"pearson_{dim}"] = metrics.pcc(truth[:, k], pred[:, k])
        out[f"ccc_{dim}"] = metrics.ccc(truth[:, k], pred[:, k])
        out[f"rmse_{dim}"] = metrics.rmse(truth[:, k], pred[:, k])
    return out


def _agreement_row(top: np.ndarray, reference: np.ndarray, agree_mask: np.ndarray) -> dict[str, Any]:
    """Top-1 agreement of `top` with `reference`: all faces, faces where teachers agree, per class."""
    hit = top == reference  # (N,)
    per_class = {
        name: [int(hit[reference == k].sum()), int((reference == k).sum())]
        for k, name in enumerate(CLASS_NAMES)
        if (reference == k).any()
    }
    return {
        "agreement": float(hit.mean()),
        "agreement_teachers_agree": float(hit[agree_mask].mean()) if agree_mask.any() else None,
        "per_class": per_class,  # ensemble class -> [agreeing faces, faces]
    }


def agreement_report(outputs: HeldoutOutputs) -> dict[str, Any]:
    """All held-out numbers as plain JSON types; see the module docstring."""
    ens_top = outputs.ensemble.argmax(axis=1)  # (N,)
    ens_va = derived_va(outputs.ensemble.astype(np.float64))  # (N,2)
    tops = {name: p.argmax(axis=1) for name, p in outputs.per_teacher.items()}
    agree = np.all(np.stack(list(tops.values())) == next(iter(tops.values())), axis=0)  # (N,)
    counts = np.bincount(ens_top, minlength=len(CLASS_NAMES))
    majority = int(counts.argmax())
    majority_agree = np.bincount(ens_top[agree], minlength=len(CLASS_NAMES)).argmax() if agree.any() else 0

    rows: dict[str, dict[str, Any]] = {}
    student = _agreement_row(outputs.student_probabilities.argmax(axis=1), ens_top, agree)
    student["va"] = _va_scores(ens_va, outputs.student_valence_arousal.astype(np.float64))
    own = derived_va(outputs.student_probabilities.astype(np.float64))  # (N,2)
    student["va_head_vs_own_derived"] = _va_scores(own, outputs.student_valence_arousal.astype(np.float64))
    rows[STUDENT] = student
    for name, probabilities in outputs.per_teacher.items():
        row = _agreement_row(tops[name], ens_top, agree)
        row["va"] = _va_scores(ens_va, derived_va(probabilities.astype(np.float64)))
        rows[name] = row
    baseline = _agreement_row(np.full_like(ens_top, majority), ens_top, agree)
    baseline["agreement_teachers_agree"] = (
        float((ens_top[agree] == majority_agree).mean()) if agree.any() else None
    )
    rows[BASELINE] = baseline
    names = list(outputs.per_teacher)
    return {
        "n_faces": len(ens_top),
        "n_teachers_agree": int(agree.sum()),
        "teachers_agree_fraction": float(agree.mean()),
        "teacher_pair": names,
        "ensemble_class_counts": {CLASS_NAMES[k]: int(c) for k, c in enumerate(counts) if c},
        "majority_class": CLASS_NAMES[majority],
        "majority_class_teachers_agree": CLASS_NAMES[int(majority_agree)],
        "rows": rows,
        "faces": [
            {
                "id": fid,
                "ensemble": CLASS_NAMES[int(ens_top[i])],
                "student": CLASS_NAMES[int(outputs.student_probabilities[i].argmax())],
                **{name: CLASS_NAMES[int(tops[name][i])] for name in names},
                "student_va": [round(float(v), 4) for v in outputs.student_valence_arousal[i]],
                "ensemble_va": [round(float(v), 4) for v in ens_va[i]],
            }
            for i, fid in enumerate(outputs.face_ids)
        ],
    }


def measure_latency(predictor: Predictor, crops: Sequence[np.ndarray], repeats: int) -> dict[str, Any]:
    """Milliseconds per `predictor.predict([crop])` (one face, preprocessing included) after 3 warm-ups.

    Reports median, 10th and 90th percentile over `repeats` calls cycling through `crops`, with the
    runtime, torch's thread count and the machine's load average (the CPU may be shared).
    """
    if repeats < 1 or not crops:
        raise ValueError(f"latency needs repeats >= 1 and at least one crop, got {repeats}, {len(crops)}")
    for crop in list(crops)[:3]:
        predictor.predict([crop])
    times = []
    for i in range(repeats):
        crop = crops[i % len(crops)]
        start = time.perf_counter()
        predictor.predict([crop])
        times.append((time.perf_counter() - start) * 1000.0)
    ms = np.asarray(times)
    return {
        "runtime": predictor.runtime,
        "device": predictor.device,
        "input_size": predictor.config.input_size,
        "median_ms": float(np.median(ms)),
        "p10_ms": float(np.percentile(ms, 10)),
        "p90_ms": float(np.percentile(ms, 90)),
        "repeats": repeats,
        "torch_threads": torch.get_num_threads(),
        "load_average_1min": float(os.getloadavg()[0]),
        "cpu_count": os.cpu_count(),
    }


def summary_numbers(report: Mapping[str, Any]) -> dict[str, Any]:
    """The headline numbers of `agreement_report` (for checkpoint metadata and logs)."""
    student = report["rows"][STUDENT]
    return {
        "n_faces": report["n_faces"],
        "n_teachers_agree": report["n_teachers_agree"],
        "agreement": round(student["agreement"], 4),
        "agreement_teachers_agree": None
        if student["agreement_teachers_agree"] is None
        else round(student["agreement_teachers_agree"], 4),
        "majority_baseline": round(report["rows"][BASELINE]["agreement"], 4),
        "majority_baseline_teachers_agree": report["rows"][BASELINE]["agreement_teachers_agree"],
        "pearson_v": round(student["va"]["pearson_v"], 4),
        "pearson_a": round(student["va"]["pearson_a"], 4),
        "va_head_vs_own_derived_pearson_v": round(student["va_head_vs_own_derived"]["pearson_v"], 4),
        "va_head_vs_own_derived_pearson_a": round(student["va_head_vs_own_derived"]["pearson_a"], 4),
    }

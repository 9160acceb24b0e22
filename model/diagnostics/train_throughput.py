"""Training throughput: images per second of the default recipe's optimiser steps on this machine.

`measure_training_throughput` writes a small synthetic AffectNet-layout set (model/data/
synthetic_dataset.py) into a work folder and runs the real trainer (`model.train.train`, DataLoader
workers, transforms, both stages) for a few steps per stage. The time between optimiser steps after the
first `warmup` steps of a stage gives the rate; validation and checkpoint writing are not counted.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from model.config import ModelConfig
from model.data.synthetic_dataset import generate_dataset
from model.train import StageStarted, StepDone, TrainOptions, train


@dataclass(frozen=True)
class StageThroughput:
    """Rate of one stage's timed steps."""

    stage: int
    steps_timed: int
    seconds_per_step: float
    images_per_s: float


def measure_training_throughput(
    work_dir: str | Path,
    steps: int = 12,
    warmup: int = 2,
    batch_size: int = 64,
    input_size: int = 112,
    backbone: str = "efficientnet_lite0",
    workers: int = 1,
    device: str = "cpu",
) -> dict[str, Any]:
    """Time `steps` optimiser steps per stage (the first `warmup` untimed) of a new model on synthetic faces.

    Returns {"stages": [StageThroughput as dict, ...], "settings": {...}}. Raises ValueError for
    steps <= warmup or a batch size below 1.
    """
    if steps <= warmup or warmup < 1 or batch_size < 1:
        raise ValueError(
            f"need steps > warmup >= 1 and batch_size >= 1 (got {steps}, {warmup}, {batch_size})"
        )
    work_dir = Path(work_dir)
    n = int(batch_size * (steps + 1) / 0.9) + 1  # one epoch covers every step after the 10% holdout
    generate_dataset(work_dir / "synth", n, seed=0, size=input_size, overwrite=True)
    options = TrainOptions(
        data=work_dir / "synth",
        model_config=ModelConfig(backbone=backbone, input_size=input_size),
        epochs=(1, 1),
        batch_size=batch_size,
        max_steps=steps,
        workers=workers,
        device=device,
        out_dir=work_dir / "run",
    )
    stamps: dict[int, list[float]] = {}
    stage = 0
    for event in train(options):
        if isinstance(event, StageStarted):
            stage = event.stage
            stamps[stage] = []
        elif isinstance(event, StepDone):
            stamps[stage].append(time.perf_counter())
    results = []
    for stage, times in stamps.items():
        timed = times[warmup - 1 :]  # intervals after the warmup steps
        per_step = (timed[-1] - timed[0]) / (len(timed) - 1)
        results.append(StageThroughput(stage, len(timed) - 1, per_step, batch_size / per_step))
    return {
        "stages": [asdict(r) for r in results],
        "settings": {
            "backbone": backbone,
            "input_size": input_size,
            "batch_size": batch_size,
            "workers": workers,
            "device": device,
            "steps": steps,
            "warmup": warmup,
        },
    }

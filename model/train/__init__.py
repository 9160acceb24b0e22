"""Two-stage training of 2Att-2Mt (MODEL_SPEC.md "Training"): `train(options, cancel)` yields events.

    options.py        TrainOptions, the one source of every training default, and the choice lists
    events.py         the progress events (RunStarted ... RunFinished / Cancelled)
    splits.py         the training and model-selection sets, label checks, class balance
    state.py          atomic torch files, RNG state, seeding
    run.py            `train` and the run that advances stage by stage (files written: see its docstring)
    epoch.py          the optimisation steps of one epoch
    distributed.py    torchrun / DDP helpers (one process or many)
    stage_probes.py   the deep-supervision probes that live in the trainer, never in a checkpoint

`from model.train import X` works for every public name below; it may not import `model.distill`.
"""

from model.train.events import (
    Cancelled,
    CheckpointWritten,
    EpochDone,
    RunFinished,
    RunStarted,
    StageDone,
    StageStarted,
    StepDone,
    TrainEvent,
)
from model.train.options import (
    CLASS_BALANCE_CHOICES,
    STAGE_CHOICES,
    STAGE_CRITERION,
    VAL_SOURCE_CHOICES,
    TrainOptions,
)
from model.train.run import train
from model.train.splits import LabelledView, has_validation_split, open_train_val
from model.train.state import atomic_torch_save, seed_everything

__all__ = [
    "CLASS_BALANCE_CHOICES",
    "STAGE_CHOICES",
    "STAGE_CRITERION",
    "VAL_SOURCE_CHOICES",
    "Cancelled",
    "CheckpointWritten",
    "EpochDone",
    "LabelledView",
    "RunFinished",
    "RunStarted",
    "StageDone",
    "StageStarted",
    "StepDone",
    "TrainEvent",
    "TrainOptions",
    "atomic_torch_save",
    "has_validation_split",
    "open_train_val",
    "seed_everything",
    "train",
]

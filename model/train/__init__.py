"""Two-stage training of 2Att-2Mt (MODEL_SPEC.md "Training"): `train(options, cancel)` yields events.

    options.py        TrainOptions, the one source of every training default, and the choice lists
    events.py         the progress events (RunStarted ... RunFinished / Cancelled)
    splits.py         the training and model-selection sets, label checks, class balance
    state.py          atomic torch files, RNG state, seeding
    run.py            `train` and the run that advances stage by stage (files written: see its docstring)
    epoch.py          the optimisation steps of one epoch
    distributed.py    torchrun / DDP helpers (one process or many)
    stage_probes.py   the deep-supervision probes that live in the trainer, never in a checkpoint

`from model.train import X` works for every public name listed in `_EXPORTS`; each is imported on first
use, so `model.train.options` (the defaults the command line shows) loads without torch. This package
may not import `model.distill` or `model.diagnostics`.
"""

from __future__ import annotations

from model.lazy_exports import lazy_exports

_EXPORTS = {  # public name -> the module that defines it
    "Cancelled": "model.train.events",
    "CheckpointWritten": "model.train.events",
    "EpochDone": "model.train.events",
    "RunFinished": "model.train.events",
    "RunStarted": "model.train.events",
    "StageDone": "model.train.events",
    "StageStarted": "model.train.events",
    "StepDone": "model.train.events",
    "TrainEvent": "model.train.events",
    "CLASS_BALANCE_CHOICES": "model.train.options",
    "STAGE_CHOICES": "model.train.options",
    "STAGE_CRITERION": "model.train.options",
    "VAL_SOURCE_CHOICES": "model.train.options",
    "TrainOptions": "model.train.options",
    "train": "model.train.run",
    "LabelledView": "model.train.splits",
    "has_validation_split": "model.data.layout",
    "open_train_val": "model.train.splits",
    "atomic_torch_save": "model.train.state",
    "seed_everything": "model.train.state",
}


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())

"""Two-stage training of 2Att-2Mt (MODEL_SPEC.md "Training") as a generator of progress events.

`train(options, cancel)` yields frozen event dataclasses (RunStarted, StageStarted, StepDone, EpochDone,
CheckpointWritten, StageDone, RunFinished or Cancelled); the CLI shows them with tqdm and the GUI
training tab plots them. The same code runs on one CPU, one GPU, or many GPUs/nodes under torchrun
(model/train/distributed.py).

Stages: 1 = expression (cross-entropy, class weights or a balanced sampler; soft cross-entropy on rows
with soft targets), selected by validation accuracy; 2 = valence/arousal
(MSE_v + MSE_a + lambda_ccc (1-CCC terms) + lambda_c CE), selected by mean(CCC_v, CCC_a), started from
the best stage-1 weights. "2" alone from a fresh model is the paper's one-stage ablation. Both stages add
lambda_stage times the stage probes' expression loss (model/train/stage_probes.py: deep supervision of each
stage's attention-pooled vector; the probes live in the trainer and resume.pt, never in a checkpoint)
and lambda_consistency times the cross-scale attention consistency loss (model/losses.py).

Files in `out_dir` (rank 0 writes them, each atomically: temp file + rename):
    stage{k}_last.pt   model checkpoint after the latest epoch (or at cancellation)
    stage{k}_best.pt   best checkpoint of stage k by its criterion
    resume.pt          optimiser, scheduler, early-stopping and RNG state for `resume=True`
    options.json       the options of the run;  train_log.jsonl  one JSON line per epoch/stage/run event
Every file loads with torch.load(weights_only=True).

Length: about 520 lines, nearly all `_Run`: set-up, files and the stage loop read as one sequence; its
parts (options, events, sets, state, the epoch's steps) are the other modules of model/train/.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import threading
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from model.checkpoint import load_checkpoint, save_checkpoint
from model.config import FINE_TUNE_BACKBONE_LR, FINE_TUNE_LR, NEW_MODEL_LR, ModelConfig
from model.data import make_loader
from model.evaluate import IndexedDataset, collect_predictions, compute_metrics, headline
from model.io import append_line, remove_stale_temp_files, write_text_atomic
from model.losses import (
    class_weights_from_counts,
)
from model.network import TwoAttTwoMt, build_model
from model.train import distributed as ddp
from model.train.epoch import EpochTrainer
from model.train.events import (
    Cancelled,
    CheckpointWritten,
    EpochDone,
    RunFinished,
    RunStarted,
    StageDone,
    StageStarted,
    TrainEvent,
)
from model.train.options import LOG_FILE, RESUME_FILE, RESUME_FORMAT, STAGE_CRITERION, TrainOptions
from model.train.splits import balanced_weights, check_labels, class_counts, open_train_val
from model.train.stage_probes import ProbedNetwork, build_probes
from model.train.state import (
    StageState,
    atomic_torch_save,
    check_resume_state,
    checkpoint_metadata,
    config_and_state,
    json_safe,
    label_counts,
    rng_state,
    seed_everything,
    set_rng_state,
)

log = logging.getLogger(__name__)


class _Run:
    """One training run: holds the model, data and state that the event generator advances."""

    def __init__(self, options: TrainOptions, cancel: threading.Event | None, ctx: ddp.DistContext) -> None:
        self.options = options
        self.cancel = cancel
        self.ctx = ctx
        self.device = ddp.process_device(options.device, ctx)
        self.amp = options.amp and self.device.type == "cuda"
        self.out_dir = Path(options.out_dir).expanduser()
        self.started = time.monotonic()
        self.stages = options.stage_list()
        self.resume_state = self._read_resume() if options.resume else None
        self.resumed = self.resume_state is not None
        if not self.resumed:
            self._agree(self._refuse_existing_run)
        if ctx.is_main:  # only rank 0 writes here; a kill mid-write left its temporary file behind
            remove_stale_temp_files(self.out_dir)
        seed_everything(options.seed)  # identical initial weights on every rank
        self.model, self.start_meta, self.fine_tuning = self._build_model()
        if options.va_uncertainty:
            self.model.add_uncertainty_head()  # same seed on every rank: the same fresh head
        self.probes = None if options.lambda_stage == 0 else build_probes(self.model)
        self._restore_probes()
        # What the optimiser and DDP hold: the network, with the probes when they are on.
        self.net: nn.Module = self.model if self.probes is None else ProbedNetwork(self.model, self.probes)
        self.net.to(self.device)
        seed_everything(options.seed + 1 + ctx.rank)  # different dropout and augmentation per rank
        if ctx.is_distributed:
            ddp.synchronize_batchnorm(self.model, self.device)
        self.ddp_model: nn.Module = self.net  # DDP-wrapped per stage (the trainable set changes)
        self.train_view, self.val_view = open_train_val(options, self.model.config)
        self.label_counts = label_counts(self.train_view)
        for stage in self.stages:
            check_labels(stage, self.train_view, "training")
            check_labels(stage, self.val_view, "validation")
        self.elapsed_before = float(self.resume_state["elapsed_s"]) if self.resume_state else 0.0
        self.best_paths: dict[int, str] = {}
        self.completed: list[int] = []
        self.final_metrics: dict[str, float] = {}  # validation summary of the latest best checkpoint
        if self.resume_state is not None:
            self.best_paths = {int(k): v for k, v in self.resume_state["best_paths"].items()}
            self.completed = list(self.resume_state["completed"])
            self.final_metrics = dict(self.resume_state["final_metrics"])
            if ctx.is_main:
                set_rng_state(self.resume_state["rng"])
        self._best_states: dict[int, dict[str, torch.Tensor]] = {}  # best weights per stage, in memory
        self._val_loader: torch.utils.data.DataLoader | None = None
        # A time budget stops while there is still time for one more step, the closing validation with
        # its checkpoints (longest seen), and the two resume-state writes that end a stage and the run.
        self.step_seconds = 0.0
        self.close_seconds = 0.0
        self.resume_save_seconds = 0.0

    # ---- set-up -------------------------------------------------------------------------------
    def _agree(self, check) -> Any:
        """Run `check()` on rank 0 only and give its result, or its ValueError, to every rank."""
        result, error = None, None
        if self.ctx.is_main:
            try:
                result = check()
            except ValueError as exc:
                error = str(exc)
        result, error = self._broadcast((result, error))
        if error is not None:
            raise ValueError(error)
        return result

    def _refuse_existing_run(self) -> None:
        if (self.out_dir / RESUME_FILE).exists():
            raise ValueError(
                f"{self.out_dir} already holds a training run ({RESUME_FILE}); pass --resume to "
                "continue it, or choose another --out"
            )

    def _read_resume_file(self) -> dict[str, Any]:
        path = self.out_dir / RESUME_FILE
        if not path.is_file():
            raise ValueError(f"nothing to resume: {path} does not exist (start without --resume)")
        return torch.load(path, map_location="cpu", weights_only=True)

    def _read_resume(self) -> dict[str, Any]:
        path = self.out_dir / RESUME_FILE
        state = self._agree(self._read_resume_file)
        check_resume_state(state, self.options, path)
        return state

    def _broadcast(self, obj: Any) -> Any:
        """Rank 0's `obj` on every rank (files are read once, so out_dir need not be shared)."""
        if not self.ctx.is_distributed:
            return obj
        box = [obj]
        torch.distributed.broadcast_object_list(box, src=0)
        return box[0]

    def _build_model(self) -> tuple[TwoAttTwoMt, dict[str, Any], bool]:
        """The model to train, the metadata it started with, and whether it fine-tunes a checkpoint."""
        opts = self.options
        if self.resume_state is not None:
            weights_file = self.out_dir / self.resume_state["weights"]
            config_dict, state = self._agree(lambda: config_and_state(load_checkpoint(weights_file).model))
            model = build_model(ModelConfig.from_dict(config_dict))
            model.load_state_dict(state)
            return model, dict(self.resume_state["start_meta"]), bool(self.resume_state["fine_tuning"])
        if opts.start_checkpoint is not None:
            loaded = load_checkpoint(opts.start_checkpoint)
            meta = dict(loaded.metadata)
            meta["path"] = str(opts.start_checkpoint)
            meta["sha256"] = loaded.sha256
            return loaded.model, meta, True
        return build_model(opts.model_config or ModelConfig()), {}, False

    def _restore_probes(self) -> None:
        """On resume, the probes' weights from resume.pt; refuse a run whose probe setting differs."""
        if self.resume_state is None:
            return
        saved = self.resume_state.get("probes")
        if (saved is None) != (self.probes is None):
            was = "with" if saved is not None else "without"
            raise ValueError(
                f"the run in {self.out_dir} was trained {was} stage probes; resume it with "
                f"--lambda-stage {'> 0' if saved is not None else '0'} as it started"
            )
        if saved is not None:
            self.probes.load_state_dict(saved)

    def _set_trainable(self, stage: int) -> None:
        """Stage 1 leaves the V/A head (and its uncertainty head) out: its loss never reaches them;
        stage 2 trains every weight."""
        heads = [self.model.va_hidden, self.model.va_out, self.model.va_std_out]
        va_head = {id(p) for m in heads if m is not None for p in m.parameters()}
        for p in self.model.parameters():
            p.requires_grad_(stage == 2 or id(p) not in va_head)

    def learning_rates(self) -> tuple[float, float]:
        """(backbone lr, lr of the rest): the options' values, else the defaults for the starting point."""
        auto = FINE_TUNE_LR if self.fine_tuning else NEW_MODEL_LR
        lr = self.options.lr if self.options.lr is not None else auto
        if self.options.backbone_lr is not None:
            return self.options.backbone_lr, lr
        return (FINE_TUNE_BACKBONE_LR if self.fine_tuning else lr), lr

    def _optimizer(self) -> torch.optim.Optimizer:
        backbone = [p for p in self.model.backbone.parameters() if p.requires_grad]
        ids = {id(p) for p in backbone}
        rest = [p for p in self.net.parameters() if p.requires_grad and id(p) not in ids]  # probes too
        backbone_lr, lr = self.learning_rates()
        groups = [{"params": backbone, "lr": backbone_lr}, {"params": rest, "lr": lr}]
        return torch.optim.Adam(groups, lr=lr, weight_decay=self.options.weight_decay)

    def _train_loader(self, stage: int) -> tuple[torch.utils.data.DataLoader, ddp.ShardedSampler]:
        weights = None
        if self.options.class_balance == "sampler" and (self.train_view.expression_labels() >= 0).any():
            weights = balanced_weights(self.train_view, self.model.config.num_classes)
        sampler = ddp.ShardedSampler(
            len(self.train_view),
            self.ctx.rank,
            self.ctx.world_size,
            shuffle=True,
            seed=self.options.seed * 1000 + stage,
            weights=weights,
        )
        loader = make_loader(self.train_view, self.options.batch_size, True, self.options.workers, sampler)
        return loader, sampler

    def _class_weights(self) -> torch.Tensor | None:
        if self.options.class_balance != "weights":
            return None
        counts = class_counts(self.train_view, self.model.config.num_classes)
        if counts.sum() == 0:
            return None
        return class_weights_from_counts(counts).to(self.device)

    # ---- output files (rank 0) ---------------------------------------------------------------
    def _metadata(self, stage: int, epoch: int, metrics: Mapping[str, float]) -> dict[str, Any]:
        return checkpoint_metadata(self.options, self.start_meta, self.model.config, self.ctx.world_size,
                                   stage, epoch, metrics, self.label_counts)

    def _save_model(self, name: str, stage: int, epoch: int, metrics: Mapping[str, float]) -> str:
        path = self.out_dir / name
        if self.ctx.is_main:
            save_checkpoint(path, self.model, self._metadata(stage, epoch, metrics))
        return str(path)

    def _save_resume(self, st: StageState | None, weights: str, finished: bool = False) -> None:
        if not self.ctx.is_main:
            return
        state = {
            "format": RESUME_FORMAT,
            "stages": self.options.stages,
            "finished": finished,
            "model_path": self.best_paths.get(self.stages[-1], ""),
            "weights": weights,
            "completed": list(self.completed),
            "best_paths": {str(k): v for k, v in self.best_paths.items()},
            "final_metrics": json_safe(self.final_metrics),
            "stage_state": None if st is None else dataclasses.asdict(st),
            "start_meta": json_safe(self.start_meta),
            "fine_tuning": self.fine_tuning,
            "elapsed_s": self.elapsed(),
            "rng": rng_state(),
            "probes": None if self.probes is None else self.probes.state_dict(),
        }
        started = time.monotonic()
        atomic_torch_save(state, self.out_dir / RESUME_FILE)
        self.resume_save_seconds = time.monotonic() - started

    def _log(self, event: TrainEvent) -> None:
        log.info("%s", event)
        if self.ctx.is_main:
            line = {"event": type(event).__name__, "time": time.time(), **dataclasses.asdict(event)}
            append_line(self.out_dir / LOG_FILE, json.dumps(json_safe(line)))

    # ---- the loop ---------------------------------------------------------------------------
    def elapsed(self) -> float:
        """Training seconds of this run, including the time before a resume."""
        return self.elapsed_before + time.monotonic() - self.started

    def _stage_deadline(self, stage: int) -> float | None:
        """Elapsed-seconds mark at which `stage` stops: its epoch share of the remaining time budget."""
        if self.options.time_budget_s is None:
            return None
        remaining = [s for s in self.stages if s >= stage]
        share = self.options.epochs[stage - 1] / sum(self.options.epochs[s - 1] for s in remaining)
        return self.elapsed() + max(self.options.time_budget_s - self.elapsed(), 0.0) * share

    def _closing_reserve(self) -> float:
        """Seconds to keep free before a deadline (see the timing attributes set in __init__)."""
        return self.step_seconds + self.close_seconds + 2.0 * self.resume_save_seconds

    def _stop_request(self, deadline: float | None) -> str | None:
        """Why to stop before the next step ("cancelled", "time_budget" or None), agreed on by every rank."""
        code = 0
        if self.cancel is not None and self.cancel.is_set():
            code = 2
        elif deadline is not None and self.elapsed() + self._closing_reserve() >= deadline:
            code = 1
        code = ddp.max_over_ranks(code, self.ctx, self.device)  # cancel (2) outranks the deadline (1)
        return {0: None, 1: "time_budget", 2: "cancelled"}[code]

    def validate(self) -> dict[str, Any]:
        """Metrics of the current weights on the whole model-selection set (gathered across ranks)."""
        if self._val_loader is None:
            sampler = ddp.ShardedSampler(
                len(self.val_view), self.ctx.rank, self.ctx.world_size, shuffle=False, pad=False
            )
            self._val_loader = make_loader(
                IndexedDataset(self.val_view), self.options.batch_size, False, self.options.workers, sampler
            )
        preds = collect_predictions(self.model, self._val_loader, self.device, amp=self.amp)
        index, arrays = ddp.gather_arrays(preds.index, preds.as_arrays(), self.ctx)
        return compute_metrics(type(preds).from_arrays(index, arrays), self.model.config.class_names)

    def events(self) -> Iterator[TrainEvent]:
        """Run every stage not yet completed, yielding progress events."""
        if self.ctx.is_main:
            self.out_dir.mkdir(parents=True, exist_ok=True)
            options_json = json.dumps(json_safe(self.options.to_json()), indent=2)
            write_text_atomic(self.out_dir / "options.json", options_json)
        started = RunStarted(
            out_dir=str(self.out_dir),
            device=str(self.device),
            world_size=self.ctx.world_size,
            stages=self.stages,
            n_train=len(self.train_view),
            n_val=len(self.val_view),
            val_source="injected" if self.options.val_dataset is not None else self.options.val_source,
            skip_counts={"training": self.train_view.skip_counts, "validation": self.val_view.skip_counts},
            model_name=self._metadata(self.stages[0], 0, {})["name"],
            config=self.model.config.to_dict(),
            start_checkpoint=None
            if self.options.start_checkpoint is None
            else str(self.options.start_checkpoint),
            resumed=self.resumed,
        )
        self._log(started)
        yield started
        for stage in self.stages:
            if stage in self.completed:
                continue
            cancelled = yield from self._run_stage(stage)
            if cancelled:
                return
        model_path = self.best_paths[self.stages[-1]]
        self._save_resume(None, Path(model_path).name, finished=True)
        finished = RunFinished(model_path, dict(self.best_paths), dict(self.final_metrics), self.elapsed())
        self._log(finished)
        yield finished

    def _initial_stage_state(self, stage: int) -> StageState:
        saved = self.resume_state["stage_state"] if self.resume_state is not None else None
        if saved is not None and saved["stage"] == stage:
            self.resume_state = None  # consumed: later stages start fresh
            return StageState(**saved)
        self.resume_state = None
        previous = [s for s in self.completed if s < stage]
        if previous:  # stage 2 starts from the best weights of stage 1 (kept in memory on every rank)
            self.model.load_state_dict(self._best_state_of(previous[-1]))
        return StageState(stage)

    def _best_state_of(self, stage: int) -> Mapping[str, torch.Tensor]:
        """Best weights of a completed stage: from memory, or (after a resume) from its best checkpoint."""
        if stage in self._best_states:
            return self._best_states[stage]
        return self._agree(lambda: load_checkpoint(self.best_paths[stage]).model.state_dict())

    def _run_stage(self, stage: int) -> Iterator[TrainEvent]:
        """Train one stage; its return value (the generator's) is True when the run was cancelled."""
        opts = self.options
        st = self._initial_stage_state(stage)
        self._set_trainable(stage)
        self.ddp_model = ddp.wrap_ddp(self.net, self.ctx, self.device)
        loader, sampler = self._train_loader(stage)
        if len(loader) == 0:
            raise ValueError(
                f"{len(self.train_view)} training images give no full batch of {opts.batch_size} "
                "per process; lower --batch-size"
            )
        optimizer = self._optimizer()
        scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
            optimizer, mode="max", factor=0.1, patience=opts.plateau_patience
        )
        scaler = torch.amp.GradScaler(self.device.type, enabled=self.amp)
        if st.optimizer is not None:
            optimizer.load_state_dict(st.optimizer)
            scheduler.load_state_dict(st.scheduler)
            scaler.load_state_dict(st.scaler)
        trainer = EpochTrainer(self, stage, st, loader, sampler, optimizer, scaler, self._class_weights())
        epochs = opts.epochs[stage - 1]
        yield StageStarted(
            stage,
            epochs,
            st.epoch,
            len(loader),
            optimizer.param_groups[1]["lr"],
            optimizer.param_groups[0]["lr"],
            STAGE_CRITERION[stage],
        )
        deadline = self._stage_deadline(stage)
        reason = "completed"
        while st.epoch < epochs:
            stop = yield from trainer.run_epoch(deadline)
            if stop is None and self._stop_request(None) == "cancelled":
                stop = "cancelled"  # cancelled during the epoch's last step: stop now, validate on resume
            if stop == "cancelled":
                yield from self._cancel(st, optimizer, scheduler, scaler)
                return True
            if stop is not None and trainer.steps_this_epoch == 0 and st.best_epoch >= 0:  # nothing new
                reason = stop
                break
            yield from self._end_epoch(st, trainer, optimizer, scheduler, scaler)
            if stop is None:  # an epoch that ran to its end may still have used up the budget
                stop = self._stop_request(deadline)
            if stop == "cancelled":
                yield Cancelled(stage, st.epoch, 0, self.best_paths.get(stage, ""))
                return True
            if stop is not None:
                reason = stop
                break
            if st.bad_epochs >= opts.early_stop_patience:
                reason = "early_stop"
                break
        self.completed.append(stage)
        best_path = self.best_paths[stage]
        self._save_resume(None, Path(best_path).name)
        done = StageDone(stage, best_path, st.best_criterion, st.best_epoch, st.epoch, st.stage_step, reason)
        self._log(done)
        yield done
        return False

    def _keep_optimizer_state(self, st: StageState, optimizer, scheduler, scaler) -> None:
        st.optimizer, st.scheduler, st.scaler = (
            optimizer.state_dict(),
            scheduler.state_dict(),
            scaler.state_dict(),
        )

    def _cancel(self, st: StageState, optimizer, scheduler, scaler) -> Iterator[TrainEvent]:
        """Write the current weights and the resume state mid-epoch, then announce the cancellation."""
        path = self._save_model(f"stage{st.stage}_last.pt", st.stage, st.epoch, {})
        self._keep_optimizer_state(st, optimizer, scheduler, scaler)
        self._save_resume(st, Path(path).name)
        yield CheckpointWritten(path, st.stage, st.epoch, False)
        cancelled = Cancelled(st.stage, st.epoch, st.steps_done, path)
        self._log(cancelled)
        yield cancelled

    def _end_epoch(
        self, st: StageState, trainer: EpochTrainer, optimizer, scheduler, scaler
    ) -> Iterator[TrainEvent]:
        """Validate, step the plateau scheduler, track the best, write checkpoints and resume state."""
        closing_started = time.monotonic()
        stage = st.stage
        train_losses = ddp.mean_over_ranks(trainer.mean_losses(), self.ctx, self.device)
        summary = headline(self.validate())
        criterion = summary.get(STAGE_CRITERION[stage], math.nan)
        scheduler.step(criterion)
        is_best = criterion > st.best_criterion
        if is_best:
            st.best_criterion, st.best_epoch, st.bad_epochs = criterion, st.epoch, 0
            self._best_states[stage] = {
                k: v.detach().cpu().clone() for k, v in self.model.state_dict().items()
            }
        else:
            st.bad_epochs += 1
        ddp.check_replicas_in_sync(self.ddp_model, self.ctx, self.device)
        done_epoch = st.epoch
        last = self._save_model(f"stage{stage}_last.pt", stage, done_epoch, summary)
        best = self._save_model(f"stage{stage}_best.pt", stage, done_epoch, summary) if is_best else None
        if best is not None:
            self.best_paths[stage] = best
            self.final_metrics = summary
        st.epoch, st.steps_done = done_epoch + 1, 0
        self._keep_optimizer_state(st, optimizer, scheduler, scaler)
        self._save_resume(st, Path(last).name)
        self.close_seconds = max(self.close_seconds, time.monotonic() - closing_started)
        event = EpochDone(
            stage,
            done_epoch,
            train_losses,
            summary,
            criterion,
            is_best,
            optimizer.param_groups[1]["lr"],
            trainer.epoch_seconds(),
        )
        self._log(event)
        yield event
        yield CheckpointWritten(last, stage, done_epoch, False)
        if best is not None:
            yield CheckpointWritten(best, stage, done_epoch, True)


def train(options: TrainOptions, cancel: threading.Event | None = None) -> Iterator[TrainEvent]:
    """Run the training `options` describe, yielding progress events; see the module docstring.

    `cancel` is checked between steps: when set, the current weights and the resume state are written
    and a `Cancelled` event ends the run. Under torchrun every rank runs this generator; only rank 0
    writes files. Raises ValueError (bad options or data) before the first event.
    """
    options.validate()
    ctx = ddp.init_distributed(options.device)
    try:
        yield from _Run(options, cancel, ctx).events()
    finally:
        ddp.shutdown_distributed(ctx)

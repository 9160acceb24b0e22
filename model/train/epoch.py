"""The optimisation steps of one stage, epoch by epoch (a helper of `model.train.run._Run`)."""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

import torch

from model.losses import (
    attention_consistency_loss,
    stage1_loss,
    stage2_loss,
    stage_probe_loss,
)
from model.train import distributed as ddp
from model.train.events import StepDone, TrainEvent
from model.train.options import CONSISTENCY_FROM_STAGE
from model.train.state import StageState

if TYPE_CHECKING:
    from model.train.run import _Run


class EpochTrainer:
    """The optimisation steps of one stage, epoch by epoch (a helper of `_Run`)."""

    def __init__(
        self,
        run: _Run,
        stage: int,
        st: StageState,
        loader,
        sampler: ddp.ShardedSampler,
        optimizer: torch.optim.Optimizer,
        scaler: torch.amp.GradScaler,
        class_weights: torch.Tensor | None,
    ) -> None:
        self.run, self.stage, self.st = run, stage, st
        self.loader, self.sampler = loader, sampler
        self.optimizer, self.scaler, self.class_weights = optimizer, scaler, class_weights
        self.steps_this_epoch = 0
        self.loss_sums: dict[str, float] = {}
        self.started = time.monotonic()

    def mean_losses(self) -> dict[str, float]:
        """Mean of each loss part over this epoch's steps (this process)."""
        return {k: v / max(self.steps_this_epoch, 1) for k, v in self.loss_sums.items()}

    def epoch_seconds(self) -> float:
        """Seconds since the epoch started (training and validation)."""
        return time.monotonic() - self.started

    def step(self, batch: Mapping[str, Any]) -> dict[str, float]:
        """One optimiser step on `batch`; returns the loss parts."""
        run = self.run
        images = batch["image"].to(run.device, non_blocking=True)  # (B,3,S,S)
        with torch.autocast(run.device.type, dtype=torch.float16, enabled=run.amp):
            outputs = run.ddp_model(images)
        opts = run.options
        if self.stage == 1:
            loss = stage1_loss(outputs, batch, self.class_weights, opts.soft_weight)
        else:
            loss = stage2_loss(
                outputs,
                batch,
                opts.lambda_ccc,
                opts.lambda_c,
                self.class_weights,
                opts.soft_weight,
                opts.lambda_nll,
            )
        total, parts = loss.total, loss.parts
        if "stage_logits" in outputs:
            probe = stage_probe_loss(outputs["stage_logits"], batch, self.class_weights, opts.soft_weight)
            total = total + opts.lambda_stage * probe.total
            parts = {**parts, **probe.parts, "total": float(total.detach())}
        if opts.lambda_consistency > 0:
            maps = outputs["spatial_attention"]  # 4 x (B,H_l,W_l)
            agree = attention_consistency_loss(maps, CONSISTENCY_FROM_STAGE)
            total = total + opts.lambda_consistency * agree.total
            parts = {**parts, **agree.parts, "total": float(total.detach())}
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(total).backward()
        self.scaler.step(self.optimizer)
        self.scaler.update()
        return parts

    def run_epoch(self, deadline: float | None) -> Iterator[TrainEvent]:
        """Steps until the epoch ends or a stop; the generator returns None or the stop reason."""
        run, st = self.run, self.st
        self.steps_this_epoch, self.loss_sums, self.started = 0, {}, time.monotonic()
        self.sampler.set_epoch(st.epoch, skip=st.steps_done * run.options.batch_size)
        run.ddp_model.train()
        steps_per_epoch = st.steps_done + len(self.loader)
        seen, last = 0, time.monotonic()
        for batch in self.loader:
            stop = run._stop_request(deadline)
            if stop is not None:
                return stop
            parts = self.step(batch)
            run.step_seconds, last = time.monotonic() - last, time.monotonic()
            st.steps_done += 1
            st.stage_step += 1
            self.steps_this_epoch += 1
            seen += len(batch["image"]) * run.ctx.world_size
            for k, v in parts.items():
                self.loss_sums[k] = self.loss_sums.get(k, 0.0) + v
            rate = seen / max(time.monotonic() - self.started, 1e-9)
            yield StepDone(
                self.stage,
                st.epoch,
                st.steps_done,
                steps_per_epoch,
                st.stage_step,
                parts,
                self.optimizer.param_groups[1]["lr"],
                rate,
            )
            if run.options.max_steps is not None and st.stage_step >= run.options.max_steps:
                return "max_steps"
        return None

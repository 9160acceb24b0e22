"""Data-parallel training with 2 gloo processes on CPU against one process on the combined batches.

The ranks run what `python main.py train` runs under torchrun (RANK/WORLD_SIZE/LOCAL_RANK set), each
seeing half of every batch, with BatchNorm synchronised across ranks (GlooSyncBatchNorm) and dropout 0.

Everything runs in float64. Why: Adam divides each gradient by its own running magnitude
(g / (sqrt(v) + eps), eps = 1e-8), so in float32 a weight whose true gradient is ~0 (common in
BatchNorm networks) moves by up to a full learning rate on rounding noise of ~1e-7 relative; how that
noise falls depends on the CPU's kernels (AVX2 vs AVX-512, reduction order), and after four steps two
machines disagreed by 3e-3. In float64 the rounding noise is ~1e-16 of the gradient scale, far below
Adam's eps, so nothing is amplified and every step's loss is checked to 1e-9 relative. Any real DDP
bug is many orders larger (a gradient sum instead of a mean doubles the first update). The ranks' own
weights are compared bit for bit after every epoch by `check_replicas_in_sync` (shown below to fire).
"""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.multiprocessing as mp
from torch import nn

from model.checkpoint import load_checkpoint
from model.losses import stage2_loss
from model.network import build_model
from model.train import RunFinished, RunStarted, StepDone, seed_everything, train
from model.train import distributed as ddp
from tests.model.test_train import TINY_CONFIG, TinyFaces, one_torch_thread, tiny_options  # noqa: F401

WORLD = 2
PER_RANK_BATCH = 2


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _combined_batch() -> dict:
    """The first 4 items of the tiny training set, collated."""
    data = TinyFaces(8)
    items = [data[i] for i in range(WORLD * PER_RANK_BATCH)]
    return {
        k: torch.stack([it[k] for it in items])
        for k in ("image", "expression", "soft_target", "valence_arousal")
    }


def _gradients(model: nn.Module, batch: dict) -> dict[str, torch.Tensor]:
    """One stage-2 backward pass in training mode; the gradient of every parameter."""
    model.train()
    stage2_loss(model(batch["image"]), batch).total.backward()
    return {n: p.grad.detach().clone() for n, p in ddp.unwrap(model).named_parameters()}


def _rank_main(rank: int, port: int, root: str) -> None:
    """One torchrun-like process: a DDP gradient, a whole training run, and a divergence probe."""
    os.environ.update(
        RANK=str(rank),
        WORLD_SIZE=str(WORLD),
        LOCAL_RANK=str(rank),
        MASTER_ADDR="127.0.0.1",
        MASTER_PORT=str(port),
        GLOO_SOCKET_IFNAME="lo",
    )
    torch.set_num_threads(1)
    torch.set_default_dtype(torch.float64)  # see the module docstring
    torch.distributed.init_process_group("gloo", rank=rank, world_size=WORLD)  # train() reuses it
    ctx, cpu = ddp.DistContext(rank, WORLD, rank, "gloo"), torch.device("cpu")
    try:
        seed_everything(0)
        model = ddp.synchronize_batchnorm(build_model(TINY_CONFIG), cpu)
        half = {k: v[rank::WORLD] for k, v in _combined_batch().items()}
        grads = _gradients(ddp.wrap_ddp(model, ctx, cpu), half)
        if rank == 0:
            torch.save(grads, Path(root) / "ddp_grads.pt")

        events = list(
            train(tiny_options(Path(root) / f"rank{rank}", batch_size=PER_RANK_BATCH, epochs=(1, 1)))
        )

        probe = nn.Linear(3, 2)
        with torch.no_grad():
            probe.weight.fill_(0.5)
            probe.weight[0, 0] += 1e-6 * rank
        try:
            ddp.check_replicas_in_sync(probe, ctx, cpu)
            divergence_detected = False
        except RuntimeError:
            divergence_detected = True
        summary = {
            "events": [type(e).__name__ for e in events],
            "world_size": events[0].world_size if isinstance(events[0], RunStarted) else None,
            "finished": isinstance(events[-1], RunFinished),
            "step_losses": [e.losses["total"] for e in events if isinstance(e, StepDone)],
            "divergence_detected": divergence_detected,
        }
        (Path(root) / f"summary{rank}.json").write_text(json.dumps(summary))
    finally:
        torch.distributed.destroy_process_group()


@pytest.fixture
def float64_default():
    """float64 as torch's default dtype for one test (the reference runs as the ranks do)."""
    before = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(before)


def test_two_gloo_ranks_train_like_one_process_on_the_combined_batches(tmp_path, float64_default):
    mp.spawn(_rank_main, args=(_free_port(), str(tmp_path)), nprocs=WORLD, join=True)
    ranks = [json.loads((tmp_path / f"summary{r}.json").read_text()) for r in range(WORLD)]
    assert ranks[0]["events"] == ranks[1]["events"]  # every rank steps through the same run
    assert all(s["finished"] and s["world_size"] == WORLD and s["divergence_detected"] for s in ranks)
    assert not (tmp_path / "rank1").exists()  # only rank 0 writes

    # 1. The first step's gradient equals the one-process gradient on the combined batch.
    seed_everything(0)
    one_grads = _gradients(build_model(TINY_CONFIG), _combined_batch())
    ddp_grads = torch.load(tmp_path / "ddp_grads.pt", weights_only=True)
    # float64: a reduction over a different split of the batch changes the result by a few ulps of the
    # largest gradient (eps 2.2e-16, times the number of terms summed, far below 1e-10).
    scale = max(float(g.abs().max()) for g in one_grads.values())
    for name, g in one_grads.items():
        err = float((ddp_grads[name] - g).abs().max())
        assert err <= 1e-10 * scale, f"{name}: gradient differs by {err:.2e}"

    # 2. A whole run: the same losses step by step and the same model at the end, to float tolerance.
    single = list(train(tiny_options(tmp_path / "single", batch_size=WORLD * PER_RANK_BATCH, epochs=(1, 1))))
    one_losses = [e.losses["total"] for e in single if isinstance(e, StepDone)]
    ddp_losses = np.mean([s["step_losses"] for s in ranks], axis=0)  # equal halves: mean of the rank means
    assert len(one_losses) == len(ddp_losses) == 4
    # float64 noise (~1e-16) stays far below Adam's eps (1e-8), so no step amplifies it: 1e-9 relative
    # leaves seven orders of magnitude to float64 rounding and is still 1e8x below a real DDP bug.
    np.testing.assert_allclose(ddp_losses, one_losses, rtol=1e-9)
    images = TinyFaces(8, seed=1).images  # (8,3,64,64) validation images
    with torch.no_grad():
        out_ddp = load_checkpoint(tmp_path / "rank0" / "stage2_last.pt").model(images)
        out_one = load_checkpoint(tmp_path / "single" / "stage2_last.pt").model(images)
        start = load_checkpoint(tmp_path / "single" / "stage1_last.pt").model(images)
    for key in ("valence_arousal", "expression_logits"):
        gap = float((out_ddp[key] - out_one[key]).abs().max())
        moved = float((out_one[key] - start[key]).abs().max())
        assert gap < 1e-6 * moved, (
            f"{key}: DDP and one-process outputs differ by {gap:.2e} (stage 2 moved {moved:.2e})"
        )


def test_sharded_sampler_gives_each_rank_half_of_every_combined_batch():
    """Batch k of rank 0 and rank 1 together is batch k of one process with twice the batch size."""
    single = list(ddp.ShardedSampler(10, 0, 1, seed=3))
    shards = [list(ddp.ShardedSampler(10, r, WORLD, seed=3)) for r in range(WORLD)]
    b = PER_RANK_BATCH
    for k in range(len(shards[0]) // b):
        combined = sorted(shards[0][k * b : (k + 1) * b] + shards[1][k * b : (k + 1) * b])
        assert combined == sorted(single[k * WORLD * b : (k + 1) * WORLD * b])
    evaluation = [list(ddp.ShardedSampler(5, r, WORLD, shuffle=False, pad=False)) for r in range(WORLD)]
    assert sorted(evaluation[0] + evaluation[1]) == list(range(5))  # every item exactly once
    skipped = ddp.ShardedSampler(10, 0, 1, seed=3)
    skipped.set_epoch(0, skip=4)
    assert list(skipped) == single[4:] and len(skipped) == 6
    balanced = ddp.ShardedSampler(1000, weights=np.r_[np.full(900, 1 / 900), np.full(100, 1 / 100)], seed=1)
    drawn = np.array(list(balanced))
    assert 0.4 < (drawn >= 900).mean() < 0.6  # the rare 10 % are drawn half of the time

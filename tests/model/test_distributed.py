"""Data-parallel training with 2 gloo processes on CPU equals one process on the combined batches.

Both ranks run the real `train()` (as under torchrun: RANK/WORLD_SIZE/LOCAL_RANK set), each seeing half
of every batch; BatchNorm statistics are synchronised (GlooSyncBatchNorm), dropout is 0 and the tiny
data are fully labelled with balanced classes, so the two runs must agree up to float rounding. The
ranks' own weights are compared after every epoch by `check_replicas_in_sync`, which raises on any
difference (shown to fire below).
"""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import numpy as np
import torch
import torch.multiprocessing as mp
from torch import nn

from model import distributed as ddp
from model.checkpoint import load_checkpoint
from model.config import ModelConfig
from model.train import RunFinished, RunStarted, train
from tests.model.test_train import one_torch_thread, tiny_options  # noqa: F401 (autouse fixture)

WORLD = 2
PER_RANK_BATCH = 2
# ResNet-18 puts a ReLU after every BatchNorm, so no weight has an analytically zero gradient: Adam turns a
# float-rounding-sized gradient into a full lr-sized step, which would make exact comparison meaningless
# for such weights (MobileNet's linear bottlenecks have them).
CONFIG = ModelConfig(backbone="resnet18", input_size=64, dropout=0.0)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _rank_main(rank: int, port: int, root: str) -> None:
    """One torchrun-like process: train, then check that diverged replicas would be detected."""
    os.environ.update(
        RANK=str(rank),
        WORLD_SIZE=str(WORLD),
        LOCAL_RANK=str(rank),
        MASTER_ADDR="127.0.0.1",
        MASTER_PORT=str(port),
        GLOO_SOCKET_IFNAME="lo",
    )
    torch.set_num_threads(1)
    torch.distributed.init_process_group("gloo", rank=rank, world_size=WORLD)  # kept for the check below
    try:
        options = tiny_options(Path(root) / f"rank{rank}", model_config=CONFIG, batch_size=PER_RANK_BATCH, epochs=(1, 1))
        events = list(train(options))
        probe = nn.Linear(3, 2)
        torch.manual_seed(0)
        nn.init.normal_(probe.weight)
        if rank == 1:
            with torch.no_grad():
                probe.weight[0, 0] += 1e-6
        ctx = ddp.DistContext(rank, WORLD, rank, "gloo")
        try:
            ddp.check_replicas_in_sync(probe, ctx, torch.device("cpu"))
            divergence_detected = False
        except RuntimeError:
            divergence_detected = True
        summary = {
            "events": [type(e).__name__ for e in events],
            "world_size": events[0].world_size if isinstance(events[0], RunStarted) else None,
            "finished": isinstance(events[-1], RunFinished),
            "divergence_detected": divergence_detected,
        }
        (Path(root) / f"summary{rank}.json").write_text(json.dumps(summary))
    finally:
        torch.distributed.destroy_process_group()


def test_two_gloo_ranks_match_one_process_on_the_combined_batches(tmp_path):
    tmp_path = __import__("pathlib").Path("/tmp/t3/ddp"); __import__("shutil").rmtree(tmp_path, ignore_errors=True); tmp_path.mkdir()
    mp.spawn(_rank_main, args=(_free_port(), str(tmp_path)), nprocs=WORLD, join=True)
    summaries = [json.loads((tmp_path / f"summary{r}.json").read_text()) for r in range(WORLD)]
    assert summaries[0]["events"] == summaries[1]["events"]  # every rank steps through the same run
    assert all(s["finished"] and s["world_size"] == WORLD and s["divergence_detected"] for s in summaries)
    assert not (tmp_path / "rank1").exists()  # only rank 0 writes

    single = list(train(tiny_options(tmp_path / "single", model_config=CONFIG, batch_size=WORLD * PER_RANK_BATCH, epochs=(1, 1))))
    assert isinstance(single[-1], RunFinished)
    for stage in (1, 2):
        ddp_state = load_checkpoint(tmp_path / "rank0" / f"stage{stage}_last.pt").model.state_dict()
        one_state = load_checkpoint(tmp_path / "single" / f"stage{stage}_last.pt").model.state_dict()
        assert ddp_state.keys() == one_state.keys()
        worst = max(float((ddp_state[k].double() - one_state[k].double()).abs().max()) for k in one_state)
        assert worst < 2e-5, f"stage {stage}: DDP and one-process weights differ by {worst:.2e}"
    before = load_checkpoint(tmp_path / "single" / "stage1_last.pt").model.state_dict()
    after = load_checkpoint(tmp_path / "single" / "stage2_last.pt").model.state_dict()
    moved = max(float((after[k].double() - before[k].double()).abs().max()) for k in after)
    assert moved > 1e-4  # training changed the weights far more than the tolerance above


def test_sharded_sampler_gives_each_rank_half_of_every_combined_batch():
    """Batch k of rank 0 and rank 1 together is batch k of one process with twice the batch size."""
    single = list(ddp.ShardedSampler(10, 0, 1, seed=3))
    shards = [list(ddp.ShardedSampler(10, r, WORLD, seed=3)) for r in range(WORLD)]
    for k in range(len(shards[0]) // PER_RANK_BATCH):
        combined = sorted(shards[0][k * 2 : k * 2 + 2] + shards[1][k * 2 : k * 2 + 2])
        assert combined == sorted(single[k * 4 : k * 4 + 4])
    evaluation = [list(ddp.ShardedSampler(5, r, WORLD, shuffle=False, pad=False)) for r in range(WORLD)]
    assert sorted(evaluation[0] + evaluation[1]) == list(range(5))  # every item exactly once
    skipped = ddp.ShardedSampler(10, 0, 1, seed=3)
    skipped.set_epoch(0, skip=4)
    assert list(skipped) == single[4:] and len(skipped) == 6
    balanced = ddp.ShardedSampler(1000, weights=np.r_[np.full(900, 1 / 900), np.full(100, 1 / 100)], seed=1)
    drawn = np.array(list(balanced))
    assert 0.4 < (drawn >= 900).mean() < 0.6  # the rare 10 % are drawn half of the time

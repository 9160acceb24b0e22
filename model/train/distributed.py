"""Data-parallel training across processes started by `torchrun` (DistributedDataParallel).

The same `python main.py train ...` runs alone or under `torchrun --nproc_per_node N [--nnodes ...]`:
`init_distributed` reads torchrun's RANK / WORLD_SIZE / LOCAL_RANK and joins the process group (NCCL on
CUDA, gloo on CPU). Each process then trains on its own shard of every epoch (`ShardedSampler`, the
DistributedSampler layout), gradients are averaged by DDP, and only rank 0 writes checkpoints and logs.

`--batch-size` is per process (the PyTorch convention): N processes with batch B step on N*B images.

BatchNorm and exactness: with plain BatchNorm each rank would normalise with its own shard's statistics,
so N processes of batch B would not train the model that one process of batch N*B trains. Under DDP the
model's BatchNorm layers are therefore synchronised: `torch.nn.SyncBatchNorm` on CUDA, and on CPU (where
torch's SyncBatchNorm refuses to run) `GlooSyncBatchNorm`, which all-reduces the per-channel sums through
an autograd-aware all-reduce. With synchronised statistics, a run on N ranks equals a one-process run
on the combined batches up to float rounding (tests/model/test_distributed.py checks it). One caveat
remains: a loss that averages over a masked subset of rows (rows without a V/A label, class weights) is
averaged per rank and then across ranks, the standard DDP behaviour, which differs from the global mean
when ranks hold different numbers of labelled rows; likewise the optional CCC loss is a per-rank batch
statistic.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import numpy as np
import torch
import torch.distributed as dist
from torch import nn
from torch.utils.data import Sampler


@dataclass(frozen=True)
class DistContext:
    """Where this process stands in a (possibly one-process) data-parallel run."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    backend: str | None = None  # None when not distributed
    owns_group: bool = False  # True when init_distributed created the process group (and must destroy it)

    @property
    def is_distributed(self) -> bool:
        """True when more than one process trains together."""
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        """True on the process that writes checkpoints and logs (rank 0)."""
        return self.rank == 0


def _env_int(name: str, default: int) -> int:
    """An integer environment variable set by torchrun, with an error naming it when it is malformed."""
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ValueError(f"environment variable {name}={raw!r} is not an integer (set by torchrun)") from exc


def init_distributed(device: str) -> DistContext:
    """Join torchrun's process group when WORLD_SIZE > 1 (NCCL for `device` "cuda", else gloo).

    Without torchrun's variables (or with WORLD_SIZE=1) this is a one-process context and nothing is
    initialised. A process group that already exists (e.g. created by a test harness) is reused and left
    for its creator to destroy.
    """
    world_size = _env_int("WORLD_SIZE", 1)
    rank = _env_int("RANK", 0)
    local_rank = _env_int("LOCAL_RANK", rank)
    if world_size <= 1:
        return DistContext()
    if not dist.is_available():
        raise RuntimeError("WORLD_SIZE > 1 but this torch build has no torch.distributed support")
    if not 0 <= rank < world_size:
        raise ValueError(f"RANK={rank} must lie in [0, WORLD_SIZE={world_size})")
    backend = "nccl" if device == "cuda" else "gloo"
    if device == "cuda":
        torch.cuda.set_device(local_rank)
    owns = not dist.is_initialized()
    if owns:
        dist.init_process_group(backend=backend, rank=rank, world_size=world_size)
    else:
        backend = dist.get_backend()
    return DistContext(rank, world_size, local_rank, backend, owns)


def shutdown_distributed(ctx: DistContext) -> None:
    """Destroy the process group if `init_distributed` created it."""
    if ctx.owns_group and dist.is_initialized():
        dist.destroy_process_group()


def process_device(device: str, ctx: DistContext) -> torch.device:
    """The torch device of this process: "cuda:LOCAL_RANK" under DDP on CUDA, else `device`."""
    if device == "cuda":
        return torch.device("cuda", ctx.local_rank if ctx.is_distributed else torch.cuda.current_device())
    return torch.device(device)


class _DifferentiableAllReduce(torch.autograd.Function):
    """Sum over ranks whose backward sums the incoming gradients over ranks (d(sum_r x_r)/dx_r = 1)."""

    @staticmethod
    def forward(ctx, tensor: torch.Tensor) -> torch.Tensor:
        out = tensor.clone()
        dist.all_reduce(out)
        return out

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        out = grad.clone()
        dist.all_reduce(out)
        return out


def all_reduce_sum(tensor: torch.Tensor) -> torch.Tensor:
    """Differentiable sum of `tensor` over all ranks."""
    return _DifferentiableAllReduce.apply(tensor)


class GlooSyncBatchNorm(nn.BatchNorm2d):
    """BatchNorm2d whose training statistics span every rank's batch shard (works on CPU with gloo).

    Training forward: the per-channel mean and then the biased variance (two passes, as a one-process
    BatchNorm computes them) are all-reduced with `all_reduce_sum`, whose backward all-reduces the
    gradients, so the gradient equals that of one BatchNorm over the combined
    batch. Running statistics get the same update everywhere (unbiased variance, like BatchNorm2d).
    Evaluation, or a process outside a process group, behaves exactly like BatchNorm2d.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x (B,C,H,W) -> (B,C,H,W) normalised with the statistics of all ranks' batches."""
        distributed = dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1
        if not (self.training and distributed):
            return super().forward(x)
        c = x.shape[1]
        count = x.new_tensor([x.numel() / c])  # (1,) values per channel on this rank
        total = all_reduce_sum(count)  # (1,)
        mean = all_reduce_sum(x.sum(dim=(0, 2, 3))) / total  # (C,)
        centred = x - mean.view(1, c, 1, 1)  # (B,C,H,W)
        var = all_reduce_sum((centred * centred).sum(dim=(0, 2, 3))) / total  # (C,) biased
        if self.track_running_stats:
            self._update_running_stats(mean.detach(), var.detach(), float(total))
        y = centred * torch.rsqrt(var + self.eps).view(1, c, 1, 1)  # (B,C,H,W)
        if self.affine:
            y = y * self.weight.view(1, c, 1, 1) + self.bias.view(1, c, 1, 1)  # (B,C,H,W)
        return y

    @torch.no_grad()
    def _update_running_stats(self, mean: torch.Tensor, var: torch.Tensor, n: float) -> None:
        """Exponential (or, with momentum None, cumulative) moving averages, as BatchNorm2d does."""
        self.num_batches_tracked.add_(1)
        factor = self.momentum if self.momentum is not None else 1.0 / float(self.num_batches_tracked)
        unbiased = var * (n / max(n - 1.0, 1.0))  # (C,)
        self.running_mean.mul_(1.0 - factor).add_(mean, alpha=factor)
        self.running_var.mul_(1.0 - factor).add_(unbiased, alpha=factor)


def _to_gloo_sync_batchnorm(module: nn.Module, device: torch.device) -> nn.Module:
    """Replace every BatchNorm2d under `module` by a GlooSyncBatchNorm holding the same parameters."""
    if isinstance(module, nn.BatchNorm2d) and not isinstance(module, GlooSyncBatchNorm):
        sync = GlooSyncBatchNorm(
            module.num_features, module.eps, module.momentum, module.affine, module.track_running_stats
        )
        sync.load_state_dict(module.state_dict())
        sync.train(module.training)
        return sync.to(device)
    for name, child in module.named_children():
        setattr(module, name, _to_gloo_sync_batchnorm(child, device))
    return module


def synchronize_batchnorm(model: nn.Module, device: torch.device) -> nn.Module:
    """Make `model`'s BatchNorm statistics span all ranks (in place; state-dict keys are unchanged)."""
    if device.type == "cuda":
        return nn.SyncBatchNorm.convert_sync_batchnorm(model)
    return _to_gloo_sync_batchnorm(model, device)


def wrap_ddp(model: nn.Module, ctx: DistContext, device: torch.device) -> nn.Module:
    """Wrap `model` (BatchNorm already synchronised) in DistributedDataParallel; identity for one process.

    Only parameters with requires_grad at this call are synchronised, so wrap again when a stage
    changes which parameters train. `find_unused_parameters` is on because the ablation switches
    leave whole modules out of the forward pass.
    """
    if not ctx.is_distributed:
        return model
    device_ids = [device.index] if device.type == "cuda" else None
    return nn.parallel.DistributedDataParallel(model, device_ids=device_ids, find_unused_parameters=True)


def unwrap(model: nn.Module) -> nn.Module:
    """The plain model inside a DDP wrapper (or `model` itself)."""
    return model.module if isinstance(model, nn.parallel.DistributedDataParallel) else model


class ShardedSampler(Sampler[int]):
    """Per-epoch index order sharded across ranks, with DistributedSampler's layout.

    Each epoch draws one global order from (seed, epoch): a permutation (`shuffle`), a class-balanced
    draw with replacement (`weights`, one per item), or the identity. Training pads the order to a
    multiple of the world size by repeating its head; rank r takes positions r, r+W, r+2W, ... so batch k
    of every rank together is slice [k*B*W, (k+1)*B*W) of the global order, the batch a one-process run
    of batch B*W would take. Evaluation (`pad=False`) gives every item to exactly one rank.
    `set_epoch(epoch, skip)` selects the epoch and skips this rank's first `skip` items (resume).
    """

    def __init__(
        self,
        num_items: int,
        rank: int = 0,
        world_size: int = 1,
        shuffle: bool = True,
        seed: int = 0,
        weights: np.ndarray | None = None,
        pad: bool = True,
    ) -> None:
        if num_items <= 0:
            raise ValueError("the dataset is empty: nothing to sample")
        if weights is not None and len(weights) != num_items:
            raise ValueError(f"sampling weights hold {len(weights)} values for {num_items} items")
        self.num_items = num_items
        self.rank = rank
        self.world_size = world_size
        self.shuffle = shuffle
        self.seed = seed
        self.weights = None if weights is None else np.asarray(weights, dtype=np.float64)
        self.pad = pad
        self.epoch = 0
        self.skip = 0

    def set_epoch(self, epoch: int, skip: int = 0) -> None:
        """Use epoch `epoch`'s order and skip this rank's first `skip` items."""
        self.epoch = epoch
        self.skip = skip

    def _global_order(self) -> np.ndarray:
        rng = np.random.default_rng([self.seed, self.epoch])
        if self.weights is not None:
            p = self.weights / self.weights.sum()
            return rng.choice(self.num_items, size=self.num_items, replace=True, p=p)
        if self.shuffle:
            return rng.permutation(self.num_items)
        return np.arange(self.num_items)

    def _shard(self) -> np.ndarray:
        order = self._global_order()
        if self.pad and len(order) % self.world_size:
            extra = self.world_size - len(order) % self.world_size
            order = np.concatenate([order, np.resize(order, extra)])
        return order[self.rank :: self.world_size]

    def __iter__(self) -> Iterator[int]:
        return iter(self._shard()[self.skip :].tolist())

    def __len__(self) -> int:
        per_rank = (
            -(-self.num_items // self.world_size)
            if self.pad
            else len(range(self.rank, self.num_items, self.world_size))
        )
        return max(per_rank - self.skip, 0)


def max_over_ranks(value: int, ctx: DistContext, device: torch.device) -> int:
    """The largest of every rank's `value` (one process: `value`); a decision all ranks then share."""
    if not ctx.is_distributed:
        return value
    t = torch.tensor([value], dtype=torch.int64, device=device)  # (1,)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return int(t.item())


def mean_over_ranks(values: Mapping[str, float], ctx: DistContext, device: torch.device) -> dict[str, float]:
    """Average named floats (e.g. epoch losses) over ranks; the same dict for one process."""
    if not ctx.is_distributed or not values:
        return dict(values)
    keys = sorted(values)
    t = torch.tensor([float(values[k]) for k in keys], dtype=torch.float64, device=device)  # (K,)
    dist.all_reduce(t)
    return dict(zip(keys, (t / ctx.world_size).tolist(), strict=True))


def gather_arrays(
    indices: np.ndarray, arrays: Mapping[str, np.ndarray], ctx: DistContext
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Collect every rank's (dataset indices, per-item arrays) and return them in dataset order.

    Used for validation: each rank predicts its shard, and the metrics are computed on the whole set.
    """
    if not ctx.is_distributed:
        order = np.argsort(indices, kind="stable")
        return indices[order], {k: v[order] for k, v in arrays.items()}
    parts: list = [None] * ctx.world_size
    dist.all_gather_object(parts, (indices, dict(arrays)))
    all_idx = np.concatenate([p[0] for p in parts])
    order = np.argsort(all_idx, kind="stable")
    merged = {k: np.concatenate([p[1][k] for p in parts])[order] for k in arrays}
    return all_idx[order], merged


def check_replicas_in_sync(model: nn.Module, ctx: DistContext, device: torch.device) -> None:
    """Raise RuntimeError when the ranks' model weights differ (DDP must keep them bit-identical).

    Compares a float64 fingerprint of all parameters and buffers (sum, sum of squares, index-weighted
    sum) across ranks; cheap enough to run after every epoch.
    """
    if not ctx.is_distributed:
        return
    acc = torch.zeros(3, dtype=torch.float64, device=device)  # (3,)
    for i, t in enumerate(unwrap(model).state_dict().values()):
        if not t.is_floating_point():
            continue
        v = t.detach().double()
        acc += torch.stack([v.sum(), (v * v).sum(), v.sum() * (i + 1)])
    gathered = [torch.zeros_like(acc) for _ in range(ctx.world_size)]
    dist.all_gather(gathered, acc)
    if any(not torch.equal(gathered[0], g) for g in gathered[1:]):
        raise RuntimeError(
            "model replicas diverged across ranks (weight fingerprints "
            f"{[g.tolist() for g in gathered]}); check that every rank runs the same code and data"
        )

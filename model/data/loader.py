"""DataLoader settings that keep a GPU fed: worker processes, pinned memory, persistent workers, seeding."""

from __future__ import annotations

import cv2
import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Sampler


def seed_worker(worker_id: int) -> None:
    """DataLoader worker_init_fn: seed numpy and OpenCV from the worker's torch seed; one cv2 thread each."""
    seed = torch.initial_seed() % 2**32  # torch already gives each worker base_seed + worker_id
    np.random.seed(seed)
    cv2.setRNGSeed(seed % 2**31)
    cv2.setNumThreads(1)  # workers are the parallelism; OpenCV's own threads would oversubscribe the CPU


def make_loader(
    dataset: Dataset, batch_size: int, train: bool, workers: int, sampler: Sampler | None = None
) -> DataLoader:
    """A DataLoader over `dataset`: shuffled with the last partial batch dropped when `train` (unless a
    `sampler` such as a DistributedSampler or a balanced sampler decides the order), `workers` processes
    kept alive between epochs, and pinned memory when CUDA is available.

    Workers are started with "spawn", not "fork": the app trains from a worker thread of a process that
    already runs Qt, MediaPipe and torch thread pools, and a forked child of such a process can deadlock on
    a lock another thread held at fork time (seen in the test suite after the GUI tests)."""
    if workers < 0:
        raise ValueError(f"workers must be >= 0, got {workers}")
    return DataLoader(
        dataset,
        batch_size=batch_size,
        shuffle=train and sampler is None,
        sampler=sampler,
        drop_last=train and len(dataset) > batch_size,
        num_workers=workers,
        pin_memory=torch.cuda.is_available(),
        persistent_workers=workers > 0,
        worker_init_fn=seed_worker if workers > 0 else None,
        multiprocessing_context="spawn" if workers > 0 else None,
    )

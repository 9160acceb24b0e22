"""The `--threads` option every compute-heavy subcommand shares."""

from __future__ import annotations


def set_torch_threads(threads: int | None) -> None:
    """Give torch `threads` intra-op threads (None: keep torch's choice); ValueError when below 1."""
    if threads is None:
        return
    if threads < 1:
        raise ValueError(f"--threads must be >= 1, got {threads}")
    import torch

    torch.set_num_threads(threads)

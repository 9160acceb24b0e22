"""Suite-wide settings: headless Qt, a small thread budget on the 2-core CI machine, shared images."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np
import pytest
import torch

# One intra-op thread: on the 2-core CI machine tests also run worker threads and subprocesses, and
# torch with 2 threads under contention was measured 5-10x slower per step than with 1.
torch.set_num_threads(1)


@pytest.fixture(scope="session")
def astronaut_rgb() -> np.ndarray:
    """scikit-image's astronaut photograph (512x512 uint8 RGB, one smiling face, public domain)."""
    from skimage import data

    return data.astronaut()

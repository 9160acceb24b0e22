"""Suite-wide settings: headless Qt, a small thread budget on the 2-core CI machine, shared images."""

from __future__ import annotations

import atexit
import gc
import os
import shutil
import tempfile

import numpy as np
import pytest
import torch

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# The suite's own cache (ONNX exports) and data folder (logs), so it never writes to the user's.
_SUITE_DIR = tempfile.mkdtemp(prefix="affectscope-tests-")
atexit.register(shutil.rmtree, _SUITE_DIR, ignore_errors=True)
os.environ["AFFECTSCOPE_CACHE_DIR"] = os.path.join(_SUITE_DIR, "cache")
os.environ["AFFECTSCOPE_DATA_DIR"] = os.path.join(_SUITE_DIR, "data")
# Lab Streaming Layer stays on this machine: discovery on loopback only, no IPv6 (DESIGN.md).
_LSL_CONFIG = os.path.join(_SUITE_DIR, "lsl_api.cfg")
with open(_LSL_CONFIG, "w", encoding="utf-8") as _cfg:
    _cfg.write("[ports]\nIPv6 = disable\n[multicast]\nResolveScope = machine\n"
               "MachineAddresses = {127.0.0.1}\n[lab]\nKnownPeers = {127.0.0.1}\n")
os.environ["LSLAPICFG"] = _LSL_CONFIG

# One intra-op thread: on the 2-core CI machine tests also run worker threads and subprocesses, and
# torch with 2 threads under contention was measured 5-10x slower per step than with 1.
torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def qt_garbage_collected_in_the_main_thread(request):
    """During a test that uses Qt, cyclic garbage is collected here, in the main thread, and not
    whenever the collector happens to run. A collection triggered in a worker thread (a model loading, a
    job) that frees a widget from an earlier test runs Qt's destructor there. That deadlocked the suite
    twice: the worker held Python's lock and waited for Qt's, and the GUI thread held Qt's and waited for
    Python's. The app does the same with pyqtgraph's GarbageCollector (app.gui.app)."""
    uses_qt = bool({"qtbot", "qapp"} & set(request.fixturenames)) or "gui" in request.path.parts
    if not uses_qt:
        yield
        return
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        gc.collect()


@pytest.fixture(scope="session")
def astronaut_rgb() -> np.ndarray:
    """scikit-image's astronaut photograph (512x512 uint8 RGB, one smiling face, public domain)."""
    from skimage import data

    return data.astronaut()


@pytest.fixture
def disk_fills_after(monkeypatch):
    """`disk_fills_after(n)`: from now on, whole-line writers (model.io.LineFile) get n more bytes onto
    the disk, the last write cut short mid-line, then ENOSPC, as a disk that fills up does."""
    import errno

    from model import io as model_io

    real = model_io._write_some

    def limit(budget: int) -> None:
        left = {"bytes": budget}

        def filling(fd: int, data: bytes) -> int:
            if left["bytes"] <= 0:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            n = real(fd, data[: left["bytes"]])
            left["bytes"] -= n
            return n

        monkeypatch.setattr(model_io, "_write_some", filling)

    return limit

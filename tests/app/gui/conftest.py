"""Shared fixtures of the GUI tests (offscreen Qt, pytest-qt).

Every GUI test automatically:
- fails when it opens a modal dialog (QDialog.exec, QMessageBox/QFileDialog/QInputDialog static
  functions): per-frame code and background errors must never block the user, and a test that needs a
  file name passes it directly;
- fails when it leaves a thread running: Python threads started during the test must be finished
  (after a grace period) and Qt's global thread pool must be idle.
Plus small inputs: a settings file in tmp, a tiny checkpoint (resnet18, 64 px), a two-face video.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import cv2
import pytest

THREAD_GRACE_S = 10.0


class ModalDialogOpened(AssertionError):
    """A test opened a modal dialog."""


def _refuse(name: str):
    def refuse(*args, **kwargs):
        raise ModalDialogOpened(f"the test opened a modal dialog ({name}); GUI code must report non-modally")

    return refuse


@pytest.fixture(autouse=True)
def no_modal_dialogs(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make every modal dialog entry point raise ModalDialogOpened (which fails the test)."""
    from PySide6.QtWidgets import QDialog, QFileDialog, QInputDialog, QMessageBox

    monkeypatch.setattr(QDialog, "exec", _refuse("QDialog.exec"))
    for name in ("information", "warning", "critical", "question", "about", "aboutQt"):
        monkeypatch.setattr(QMessageBox, name, staticmethod(_refuse(f"QMessageBox.{name}")))
    monkeypatch.setattr(QMessageBox, "exec", _refuse("QMessageBox.exec"))
    for name in ("getOpenFileName", "getOpenFileNames", "getSaveFileName", "getExistingDirectory",
                 "getOpenFileUrl", "getSaveFileUrl", "getExistingDirectoryUrl"):
        monkeypatch.setattr(QFileDialog, name, staticmethod(_refuse(f"QFileDialog.{name}")))
    monkeypatch.setattr(QFileDialog, "exec", _refuse("QFileDialog.exec"))
    for name in ("getText", "getInt", "getDouble", "getItem", "getMultiLineText"):
        monkeypatch.setattr(QInputDialog, name, staticmethod(_refuse(f"QInputDialog.{name}")))


@pytest.fixture(autouse=True)
def no_thread_left_running():
    """Fail the test when a thread it started is still alive after THREAD_GRACE_S seconds."""
    before = set(threading.enumerate())
    yield
    from PySide6.QtCore import QThreadPool

    pool = QThreadPool.globalInstance()
    pool.waitForDone(int(THREAD_GRACE_S * 1000))
    deadline = time.monotonic() + THREAD_GRACE_S
    left = []
    while True:
        left = [t for t in threading.enumerate()
                if t not in before and t.is_alive() and not isinstance(t, threading._DummyThread)]
        if not left or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert not left, f"threads left running: {[t.name for t in left]}"
    assert pool.activeThreadCount() == 0, "Qt thread pool still busy after the test"


@pytest.fixture
def gui_settings(tmp_path: Path):
    """A QSettings INI file in tmp (never the user's settings)."""
    from app.gui.settings import open_settings

    return open_settings(tmp_path / "settings.ini")


def _save_tiny_model(path: Path, name: str, va_source: str, seed: int) -> Path:
    import torch

    from model.checkpoint import save_checkpoint
    from model.config import ModelConfig
    from model.network import build_model

    torch.manual_seed(seed)
    model = build_model(ModelConfig(backbone="resnet18", input_size=64))
    return save_checkpoint(path, model, {"name": name, "va_source": va_source, "untrained": True})


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Two small untrained checkpoints: "a" (V/A measured) and "b" (V/A derived)."""
    folder = tmp_path_factory.mktemp("models")
    return {
        "a": _save_tiny_model(folder / "tiny_a.pt", "tiny A", "measured", 0),
        "b": _save_tiny_model(folder / "tiny_b.pt", "tiny B", "derived", 1),
    }


@pytest.fixture(scope="session")
def two_face_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 40 s, 10 fps, 320x240 MJPG video of the demo source's two drifting faces."""
    from app.core.sources import DemoSource

    path = tmp_path_factory.mktemp("videos") / "two_faces.avi"
    demo = DemoSource(width=320, height=240, fps=10.0, faces=2)
    demo.open()
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (320, 240))
    assert writer.isOpened()
    for i in range(400):
        writer.write(cv2.cvtColor(demo.render(i / 10.0), cv2.COLOR_RGB2BGR))
    writer.release()
    demo.close()
    return path

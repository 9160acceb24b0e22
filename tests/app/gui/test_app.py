"""Starting the application: no display, cv2's Qt variables, settings files."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.gui import app as gui_app
from app.gui.app import (
    EXIT_NO_DISPLAY,
    GuiOptions,
    clean_qt_environment,
    display_problem,
    reserve_gui_core,
    run_gui,
)


@pytest.fixture
def linux_without_display(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(gui_app.sys, "platform", "linux")
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(name, raising=False)


def test_no_display_prints_what_to_do_and_exits_2(linux_without_display, capsys) -> None:
    assert run_gui(GuiOptions()) == EXIT_NO_DISPLAY
    err = capsys.readouterr().err
    assert "no display found" in err and "xvfb-run" in err and "QT_QPA_PLATFORM=offscreen" in err
    assert "Traceback" not in err


@pytest.mark.parametrize("env", [{"DISPLAY": ":0"}, {"WAYLAND_DISPLAY": "wayland-0"},
                                 {"QT_QPA_PLATFORM": "offscreen"}])
def test_a_display_or_a_headless_platform_is_enough(linux_without_display, monkeypatch, env) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert display_problem() is None


def test_cv2_qt_paths_are_removed_before_qt_starts(monkeypatch: pytest.MonkeyPatch) -> None:
    import cv2  # noqa: F401 - the import is what sets the variables

    monkeypatch.setenv("QT_QPA_PLATFORM_PLUGIN_PATH", "/somewhere/cv2/qt/plugins")
    monkeypatch.setenv("QT_QPA_FONTDIR", "/somewhere/cv2/qt/fonts")
    clean_qt_environment()
    assert "QT_QPA_PLATFORM_PLUGIN_PATH" not in os.environ and "QT_QPA_FONTDIR" not in os.environ


def test_settings_file_round_trip(tmp_path: Path) -> None:
    from app.gui.settings import open_settings, value_bool, value_float

    settings = open_settings(tmp_path / "s.ini")
    settings.setValue("live/attention_overlay", True)
    settings.setValue("live/ema_alpha", 0.4)
    settings.sync()
    again = open_settings(tmp_path / "s.ini")
    assert value_bool(again, "live/attention_overlay", False) is True
    assert value_float(again, "live/ema_alpha", 0.3) == 0.4


def test_the_suite_fails_any_test_that_opens_a_modal_dialog(qapp) -> None:
    from PySide6.QtWidgets import QDialog, QFileDialog, QMessageBox

    from tests.app.gui.conftest import ModalDialogOpened

    with pytest.raises(ModalDialogOpened):
        QMessageBox.warning(None, "title", "text")
    with pytest.raises(ModalDialogOpened):
        QFileDialog.getOpenFileName(None, "Open")
    with pytest.raises(ModalDialogOpened):
        QDialog().exec()


@pytest.mark.parametrize("cores, expected", [(2, 1), (1, 1), (6, 4), (16, 4)])
def test_the_model_leaves_a_core_to_the_window(monkeypatch, cores, expected) -> None:
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setattr(gui_app.os, "cpu_count", lambda: cores)
    assert reserve_gui_core() == expected
    assert os.environ["OMP_NUM_THREADS"] == str(expected)  # torch reads it when it starts
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert reserve_gui_core() == 3  # the user's choice is kept


def _python(code: str, **env: str) -> str:
    environment = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"} | env
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env=environment, cwd=Path(__file__).resolve().parents[3])
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_the_window_imports_no_model_stack_so_it_shows_at_once() -> None:
    """torch, onnx(runtime) and MediaPipe load behind the shown window (start-up, docs/BENCHMARKS.md)."""
    loaded = _python("import sys, app.gui.main_window, app.gui.app; heavy = ('torch', 'onnx', 'onnxruntime', "
                     "'mediapipe'); print(sorted(m for m in heavy if m in sys.modules))")
    assert loaded == "[]"


def test_torch_imported_after_the_reservation_uses_its_thread_count() -> None:
    counts = _python("from app.gui.app import reserve_gui_core; n = reserve_gui_core(); "
                     "import torch; print(n, torch.get_num_threads())")
    reserved, used = counts.split()
    assert reserved == used

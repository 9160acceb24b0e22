"""The main window: tabs, menus and shortcuts, status bar, log, About, remembered geometry."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from PySide6.QtGui import QKeySequence

from app.core.logs import log_dir
from app.gui.about import MODEL_CARD, AboutDialog
from app.gui.main_window import MainWindow
from model.runtimes import DEVICES, available_devices

WAIT_MS = 90_000


@pytest.fixture
def make_window(qtbot, gui_settings, tiny_models, two_face_video):
    """A factory of main windows on the two-face video with tiny model "a"; all closed at the end."""
    windows: list[MainWindow] = []

    def make() -> MainWindow:
        gui_settings.setValue("model/path", str(tiny_models["a"]))
        gui_settings.setValue("live/source", f"video:{two_face_video}")
        window = MainWindow(gui_settings)
        qtbot.addWidget(window)
        window.show()
        windows.append(window)
        return window

    yield make
    for window in windows:
        window.close_without_asking()  # a test's leftovers never open a modal question


def _action(window: MainWindow, text: str):
    actions = window.findChildren(type(window.start_action))
    return next(a for a in actions if a.text().replace("&", "") == text)


def test_tabs_and_the_usual_shortcuts(qtbot, make_window) -> None:
    window = make_window()
    tabs = [window.tabs.tabText(i) for i in range(window.tabs.count())]
    assert tabs == ["Live", "Images", "Training", "Viewer"]
    expected = {"Open video…": "Ctrl+O", "Open session…": "Ctrl+Shift+R", "Viewer": "Ctrl+4",
                "Record / stop recording": "Ctrl+R", "Add marker": "M",
                "Start / stop": "Space", "Quit": "Ctrl+Q", "Open images…": "Ctrl+Shift+O", "User guide": "F1"}
    for text, key in expected.items():
        assert _action(window, text).shortcut() == QKeySequence(key), text
    # the remembered model loads at launch, in the background: named before anything is started
    qtbot.waitUntil(lambda: window.status.model.text().startswith("model: tiny A"), timeout=WAIT_MS)
    assert window.status.provenance.isVisible() and not window.live_tab.running


def test_a_recorded_session_driven_from_the_menus(qtbot, make_window, tmp_path: Path) -> None:
    window = make_window()
    live = window.live_tab
    live.recording.folder.setText(str(tmp_path))
    live.recording.save_video.setChecked(True)
    window.start_action.trigger()  # Space
    qtbot.waitUntil(lambda: live.frames_painted >= 2, timeout=WAIT_MS)
    window.record_action.trigger()  # Ctrl+R
    qtbot.waitUntil(lambda: live.recording_path != "", timeout=WAIT_MS)
    assert window.status.recording.isVisible() and "recording" in window.windowTitle()
    window.marker_action.trigger()  # M
    seen = live.packets_received
    qtbot.waitUntil(lambda: live.packets_received >= seen + 3, timeout=WAIT_MS)
    assert window.status.figures.text().startswith("fps ") and " analysed" in window.status.figures.text()
    assert window.status.model.text().startswith("model: tiny A (")
    provenance = window.status.provenance
    assert provenance.isVisible() and provenance.text() == "untrained model"
    assert "no meaning" in provenance.toolTip()
    csv_path = Path(live.recording_path)
    window.record_action.trigger()  # Ctrl+R again stops
    qtbot.waitUntil(lambda: live.last_summary is not None, timeout=WAIT_MS)
    assert not window.status.recording.isVisible()
    with csv_path.open(newline="", encoding="utf-8") as f:
        assert any(row["marker"] == "marker" for row in csv.DictReader(f))
    log = window.log_view.toPlainText()
    assert "recording to" in log and "Marker 'marker' added" in log
    # the finished recording is first in File > Recent sessions and opens in the Viewer tab
    viewer = window.viewer_tab
    viewer.recent_menu.aboutToShow.emit()
    first = viewer.recent_menu.actions()[0]
    assert Path(first.text()) == csv_path.resolve()
    first.trigger()
    qtbot.waitUntil(lambda: viewer.view is not None and not viewer.load_job.running, timeout=WAIT_MS)
    assert window.tabs.currentWidget() is viewer
    assert viewer.va_figure.marker_texts() == ["marker"]
    assert viewer.video is not None and viewer.video.path == csv_path.with_suffix(".avi")  # "Save video"
    window.close()  # Ctrl+Q: stops the pipeline; the thread fixture checks nothing is left


def test_messages_from_the_tabs_are_logged_not_modal(make_window) -> None:
    window = make_window()
    window.images_tab.status_message.emit("3 files could not be read")
    assert window.status.currentMessage() == "3 files could not be read"
    assert window.log_view.toPlainText().endswith("3 files could not be read")


def test_a_trained_model_is_handed_to_the_live_tab(make_window, tiny_models) -> None:
    window = make_window()
    window.tabs.setCurrentWidget(window.training_tab)
    window.training_tab.model_ready.emit(str(tiny_models["b"]))
    assert window.tabs.currentWidget() is window.live_tab
    assert window.live_tab.models.choice()[0] == str(tiny_models["b"])


def test_about_shows_the_model_card_and_licences_without_blocking(make_window) -> None:
    window = make_window()
    window.show_about()
    dialog = window.about_dialog
    assert isinstance(dialog, AboutDialog) and dialog.isVisible() and not dialog.isModal()
    card = dialog.text_of("Model card")
    if MODEL_CARD.is_file():  # the bundled model's card, as written
        first_line = MODEL_CARD.read_text(encoding="utf-8").splitlines()[0].lstrip("# ").strip()
        assert first_line in card
    else:  # no trained model ships: the window says what that means
        assert "No trained model is bundled" in card and "untrained model" in card
    assert "MIT License" in dialog.text_of("Licences")
    assert str(log_dir()) in dialog.text_of("About")  # where to find the log when something went wrong


def test_window_geometry_and_tab_are_remembered(make_window, monkeypatch) -> None:
    window = make_window()
    window.resize(1111, 777)
    window.tabs.setCurrentIndex(2)
    saved = window.saveGeometry()
    window.close()
    restored = []  # the platform may clamp the size to its screen, so check what is handed back
    monkeypatch.setattr(MainWindow, "restoreGeometry", lambda self, geometry: restored.append(geometry))
    again = make_window()
    assert restored == [saved]
    assert again.tabs.currentIndex() == 2


def test_model_menu_and_model_controls_agree(make_window) -> None:
    window = make_window()
    onnx = next(a for a in window.runtime_group.actions() if a.text() == "onnx")
    onnx.trigger()
    assert window.live_tab.models.choice()[1] == "onnx"
    window.live_tab.models.runtime.setCurrentText("torch")
    assert [a.text() for a in window.runtime_group.actions() if a.isChecked()] == ["torch"]


def _items(combo) -> list[str]:
    return [combo.itemText(i) for i in range(combo.count())]


def test_the_devices_are_checked_behind_the_window_and_offered_everywhere(qtbot, make_window) -> None:
    window = make_window()
    found: list[tuple] = []
    window.device_check.found.connect(found.append)
    qtbot.waitUntil(lambda: not window.device_check.job.running and window._background_started,
                    timeout=WAIT_MS)
    devices = available_devices()
    cuda = next(a for a in window.device_group.actions() if a.text() == "cuda")
    assert cuda.isEnabled() == ("cuda" in devices)
    assert _items(window.live_tab.models.device) == list(devices)
    assert _items(window.training_tab.form.device) == list(devices)


def test_a_remembered_gpu_this_machine_lacks_gives_way_to_the_cpu(make_window) -> None:
    window = make_window()
    window.set_devices(DEVICES)  # as on a machine with a GPU: the remembered cuda is shown
    window.live_tab.models.device.setCurrentText("cuda")
    window.set_devices(("cpu",))
    assert window.live_tab.models.choice()[2] == "cpu"
    assert "No CUDA GPU" in window.log_view.toPlainText()
    cuda = next(a for a in window.device_group.actions() if a.text() == "cuda")
    assert not cuda.isEnabled() and "No CUDA GPU" in cuda.statusTip()


def test_typing_a_marker_does_not_trigger_the_bare_key_shortcuts(qtbot, make_window) -> None:
    window = make_window()
    live = window.live_tab
    live.start_button.click()
    qtbot.waitUntil(lambda: live.pipeline.state.value == "running", timeout=WAIT_MS)
    markers: list[str] = []
    live.recording.marker_requested.connect(markers.append)
    field = live.recording.marker_text
    field.setFocus()
    qtbot.waitUntil(field.hasFocus)
    qtbot.keyClicks(field, "first marker")  # a Space and an M: neither Start/stop nor Add marker
    assert field.text() == "first marker"
    assert live.running and markers == []
    qtbot.keyClick(field, "\r")  # Return adds the typed marker
    assert markers == ["first marker"] and field.text() == ""
    field.setText("second")
    live.start_button.setFocus()
    qtbot.waitUntil(live.start_button.hasFocus)
    qtbot.keyClick(live.start_button, "m")  # M outside a text field adds the field's text
    assert markers == ["first marker", "second"]
    live.stop()


def test_closing_with_unexported_results_asks_first(qtbot, make_window, tmp_path: Path) -> None:
    face = Path(__file__).resolve().parents[3] / "assets" / "demo" / "astronaut_head.jpg"
    window = make_window()
    images = window.images_tab
    images.add_paths([str(face)])
    qtbot.waitUntil(lambda: not images.running and len(images.results.rows) > 0, timeout=WAIT_MS)
    asked: list[list[str]] = []
    window.confirm_close = lambda lost: asked.append(lost) or False  # the user presses Cancel
    window.close()
    assert window.isVisible() and "1 result row(s) in the Images tab were not exported" in asked[0][0]
    images.export_csv_to(tmp_path / "out.csv")
    qtbot.waitUntil(lambda: images.unexported_rows() == 0, timeout=WAIT_MS)
    assert window.work_lost_on_close() == []  # exported: nothing to ask about
    images.add_paths([str(face)])
    qtbot.waitUntil(lambda: not images.running and images.unexported_rows() == 1, timeout=WAIT_MS)
    window.confirm_close = lambda lost: True  # the user presses Close
    window.close()
    assert not window.isVisible()


def test_the_user_guide_explains_the_panels_and_the_tasks(make_window) -> None:
    window = make_window()
    _action(window, "User guide").trigger()  # F1
    guide = window.guide_dialog
    assert guide.isVisible() and not guide.isModal()
    text = guide.view.toPlainText()
    for topic in ("The Live tab", "Attention", "Recording a session", "Calibrating a neutral face",
                  "V/A derived", "Fine-tuning", "Export ONNX", "PNG or SVG", "log folder"):
        assert topic in text, topic


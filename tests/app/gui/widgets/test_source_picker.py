"""The source list: cameras checked in the background, only those that open are offered."""

from __future__ import annotations

import threading

from app.core.sources import CameraInfo
from app.gui.widgets import source_picker
from app.gui.widgets.source_picker import NO_CAMERA, SourcePicker
from app.gui.widgets.video_view import VideoView


def entries(picker: SourcePicker) -> list[str]:
    return [picker.combo.itemData(i) for i in range(picker.combo.count())]


def test_only_cameras_that_open_stay_and_the_check_runs_off_the_gui_thread(qtbot, monkeypatch):
    probes: list[threading.Thread] = []

    def fake_list(max_index: int = 8, probe: bool = True) -> list[CameraInfo]:
        if not probe:
            return [CameraInfo(0, "Integrated (IR)", None), CameraInfo(2, "USB Cam", None)]
        probes.append(threading.current_thread())
        return [CameraInfo(0, "Integrated (IR)", False), CameraInfo(2, "USB Cam", True)]

    monkeypatch.setattr(source_picker, "list_cameras", fake_list)
    picker = SourcePicker()
    qtbot.addWidget(picker)
    assert entries(picker) == ["demo", "camera:0", "camera:2"]  # at once, from the OS list
    qtbot.waitUntil(lambda: not picker.probe_job.running, timeout=5000)
    assert entries(picker) == ["demo", "camera:2"] and picker.camera_note.text() == ""
    assert probes and probes[0] is not threading.main_thread() and picker.refresh_button.isEnabled()


def test_no_camera_means_no_probe_and_a_clear_note(qtbot, monkeypatch):
    calls: list[bool] = []
    monkeypatch.setattr(source_picker, "list_cameras",
                        lambda max_index=8, probe=True: calls.append(probe) or [])
    picker = SourcePicker()
    qtbot.addWidget(picker)
    assert entries(picker) == ["demo"] and picker.camera_note.text() == NO_CAMERA
    assert calls == [False] and not picker.probe_job.running


def test_a_long_error_in_the_video_pane_wraps_inside_it(qtbot):
    view = VideoView()
    qtbot.addWidget(view)
    view.resize(400, 300)
    view.show()
    qtbot.waitExposed(view)
    view.show_message("Could not open camera 0 (Integrated Camera): no camera at this index, or it is in use "
                      "by another program, or access was denied. Check the cable and permissions.")
    assert 0 < view.message.textItem.textWidth() <= view.width()
    assert view.message.textItem.boundingRect().width() <= view.width()

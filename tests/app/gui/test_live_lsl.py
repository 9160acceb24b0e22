"""The Live tab as an LSL device (loopback only, tests/conftest.py): the Stream toggle puts a labelled
outlet on the network whose samples match the painted packets and whose status shows the consumer;
Find lists another program's marker stream, Listen writes its markers into the CSV and the timelines;
the user's markers and the recording's start/stop go out on NAME-Markers."""

from __future__ import annotations

import csv
import uuid
from pathlib import Path

import pylsl

from app.core.lsl import SLOT_CHANNELS
from app.gui import settings as keys
from app.gui.tabs.live import LiveTab
from tests.app.gui.test_live_tab import WAIT_MS, make_tab, start_and_wait_for_faces  # noqa: F401

EXPECTED_CHANNELS = 1 + 2 * len(SLOT_CHANNELS)


def _open_inlet(name: str) -> pylsl.StreamInlet:
    found = pylsl.resolve_byprop("name", name, timeout=10.0)
    assert found, f"stream {name} not found on loopback"
    inlet = pylsl.StreamInlet(found[0], max_buflen=60)
    inlet.open_stream(timeout=10.0)
    return inlet


def _enable_lsl(tab: LiveTab, name: str) -> None:
    tab.lsl.name.setText(name)
    tab.lsl.slots.setValue(2)
    tab.lsl.stream_box.click()
    assert tab.lsl_link.enabled and not tab.lsl.name.isEnabled()  # a running outlet keeps its name


def test_live_tab_streams_labelled_samples_and_reports_its_consumer(qtbot, make_tab) -> None:  # noqa: F811
    tab = make_tab()
    name = f"AffectScope-gui-{uuid.uuid4().hex[:6]}"
    _enable_lsl(tab, name)
    inlet = _open_inlet(name)
    assert inlet.info().channel_count() == EXPECTED_CHANNELS
    packets = []
    tab.bridge.packet_ready.connect(packets.append)
    start_and_wait_for_faces(qtbot, tab)
    qtbot.waitUntil(lambda: "consumer connected" in tab.lsl.outlet_status.text(), timeout=WAIT_MS)
    samples, stamps = inlet.pull_chunk(timeout=5.0, max_samples=200)
    tab.stop()
    qtbot.wait(200)  # the packets still queued for the GUI thread arrive
    assert len(samples) >= 3
    by_frame = {p.frame_index: p for p in packets}
    for sample in samples:
        packet = by_frame[int(sample[0])]
        assert sample[1] == (1.0 if packet.faces else 0.0)  # slot 1 present
        if packet.faces:
            ids = {f.face_id for f in packet.faces}
            assert int(sample[2]) in ids
    assert all(b > a for a, b in zip(stamps, stamps[1:], strict=False))
    tab.lsl.stream_box.click()
    assert not tab.lsl_link.enabled and tab.lsl.outlet_status.text() == "LSL off"


def test_markers_from_another_program_reach_the_csv_and_the_timelines(qtbot, make_tab,  # noqa: F811
                                                                      tmp_path: Path) -> None:
    marker_name = f"PsychoPy-gui-{uuid.uuid4().hex[:6]}"
    sender = pylsl.StreamOutlet(pylsl.StreamInfo(marker_name, "Markers", 1, 0, pylsl.cf_string,
                                                 f"src-{marker_name}"))
    tab = make_tab()
    name = f"AffectScope-gui-{uuid.uuid4().hex[:6]}"
    _enable_lsl(tab, name)
    own_markers = _open_inlet(f"{name}-Markers")
    tab.lsl.find_button.click()
    qtbot.waitUntil(lambda: tab.lsl.marker_streams.findText(marker_name, flags=_contains()) >= 0,
                    timeout=WAIT_MS)
    tab.lsl.marker_streams.setCurrentIndex(tab.lsl.marker_streams.findText(marker_name, flags=_contains()))
    tab.lsl.listen_box.click()
    assert tab.lsl_link.listening_to is not None and tab.lsl_link.listening_to.name == marker_name
    assert not tab.lsl.find_button.isEnabled()  # the choice is fixed while listening
    qtbot.waitUntil(lambda: tab.lsl.inlet_status.text() == f"{marker_name}: connected", timeout=WAIT_MS)

    tab.recording.folder.setText(str(tmp_path))
    start_and_wait_for_faces(qtbot, tab, painted=1)
    tab.recording.record_button.click()
    qtbot.waitUntil(lambda: tab.recording_path != "", timeout=WAIT_MS)
    sender.push_sample(["stimulus 1"])
    tab.recording.marker_text.setText("typed note")
    tab.recording.request_marker()
    qtbot.waitUntil(lambda: any("stimulus 1" in text for _, text in tab.timelines.shown_markers()),
                    timeout=WAIT_MS)
    csv_path = Path(tab.recording_path)
    tab.recording.record_button.click()
    qtbot.waitUntil(lambda: tab.recording_path == "", timeout=WAIT_MS)
    tab.stop()

    with csv_path.open(newline="") as handle:
        markers = [row["marker"] for row in csv.DictReader(handle) if row["marker"]]
    assert any("stimulus 1" in m for m in markers) and any("typed note" in m for m in markers)
    sent = []
    while (sample := own_markers.pull_sample(timeout=2.0)[0]) is not None:
        sent.append(sample[0])
    assert sent[0].startswith("recording to") and "typed note" in sent
    assert any(text.startswith("recording stopped") for text in sent)
    tab.lsl.listen_box.click()
    assert tab.lsl_link.listening_to is None and tab.lsl.inlet_status.text() == "not listening"


def test_the_lsl_choices_are_remembered(qtbot, make_tab, gui_settings) -> None:  # noqa: F811
    tab = make_tab()
    name = f"AffectScope-gui-{uuid.uuid4().hex[:6]}"
    _enable_lsl(tab, name)
    tab.save_settings()
    assert keys.value_bool(gui_settings, keys.LSL_ENABLED, False)
    assert keys.value_str(gui_settings, keys.LSL_STREAM_NAME) == name
    again = make_tab()  # the second tab finds LSL on and opens the outlet under the saved name
    assert again.lsl_link.enabled and again.lsl_link.settings.stream_name == name
    assert again.lsl.slots.value() == 2


def _contains():
    from PySide6.QtCore import Qt

    return Qt.MatchFlag.MatchContains

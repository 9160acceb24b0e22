"""The Live tab driven like a user would: a generated two-face video stands in for the webcam."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from app.core.attention_scale import attention_display
from app.core.packets import FramePacket, PipelineState
from app.core.pipeline import LivePipeline, PipelineSettings
from app.gui import settings as keys
from app.gui.tabs.live import NOT_CALIBRATED_AFTER_SWITCH, PANEL_GROUPS, LiveTab
from tests.app.gui.widgets.fake_packets import make_face, make_packet

WAIT_MS = 90_000  # generous: the 2-core CI machine is shared


def patient_pipeline(**kwargs) -> LivePipeline:
    """A LivePipeline whose tracker keeps face ids across long gaps, so a CPU slowed down by other jobs
    (a few frames per second) still sees the same two faces from frame to frame."""
    return LivePipeline(settings=PipelineSettings(track_timeout_s=30.0, track_iou=0.1), **kwargs)


@pytest.fixture
def make_tab(qtbot, gui_settings, tiny_models, two_face_video):
    """A factory of Live tabs on the two-face video with tiny model "a"; every tab is shut down."""
    tabs: list[LiveTab] = []

    def make(model: str = "a") -> LiveTab:
        gui_settings.setValue("model/path", str(tiny_models[model]))
        gui_settings.setValue("live/source", f"video:{two_face_video}")
        tab = LiveTab(gui_settings, pipeline_factory=patient_pipeline)
        qtbot.addWidget(tab)
        tab.resize(1300, 850)
        tab.show()
        tabs.append(tab)
        return tab

    yield make
    for tab in tabs:
        tab.shutdown()


def start_and_wait_for_faces(qtbot, tab: LiveTab, painted: int = 3) -> None:
    """Start the source and wait until `painted` packets with faces were painted."""
    tab.start_button.click()
    qtbot.waitUntil(lambda: tab.painted_packet is not None and len(tab.painted_packet.faces) > 0
                    and tab.frames_painted >= painted, timeout=WAIT_MS)


def stop_and_settle(qtbot, tab: LiveTab) -> FramePacket:
    """Stop the pipeline, deliver the packets still queued and paint the last one; returns it."""
    tab.stop()
    qtbot.wait(50)  # queued packet signals reach the GUI thread
    for _ in PANEL_GROUPS:  # one panel group per display tick: video, circumplex, attention, details
        tab.paint()
    assert all(shown is tab.latest for shown in tab.shown_packets().values())
    return tab.latest


def test_live_run_draws_each_face_from_the_latest_packet(qtbot, make_tab) -> None:
    tab = make_tab()
    start_and_wait_for_faces(qtbot, tab)
    trail_before, timeline_before = tab.circumplex.trail_segments(), tab.timelines.point_count()
    received = tab.packets_received
    qtbot.waitUntil(lambda: tab.packets_received >= received + 4, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: tab.painted_packet is tab.latest, timeout=WAIT_MS)
    assert tab.circumplex.trail_segments() > trail_before  # trails grow
    assert tab.timelines.point_count() > timeline_before  # timelines grow
    packet = stop_and_settle(qtbot, tab)
    assert len(packet.faces) == 2  # the video shows two faces

    points = tab.circumplex.current_points()
    assert set(points) == {f.face_id for f in packet.faces}
    for face in packet.faces:
        assert points[face.face_id] == pytest.approx((face.valence_smoothed, face.arousal_smoothed), abs=1e-6)

    face = next(f for f in packet.faces if f.face_id == tab.selected_face())
    for layer, item in enumerate(tab.attention.maps):
        np.testing.assert_allclose(item.image, attention_display(face.spatial_attention[layer]), atol=1e-7)
        assert item.levels is not None and tuple(np.ravel(item.levels)) == (0.0, 1.0)
        assert item.mapRectToParent(item.boundingRect()).width() == face.crop.shape[1]  # over the crop
    np.testing.assert_allclose(tab.attention.weights, face.layer_attention, atol=1e-7)
    for layer, title in enumerate(tab.attention.titles):  # each map says how much its layer counts
        assert f"w {face.layer_attention[layer]:.2f}" in title.text
    np.testing.assert_allclose(tab.expressions.values(), face.probabilities, atol=1e-7)
    labels = [label.toPlainText() for label in tab.video.labels if label.isVisible()]
    for f in packet.faces:  # each face labelled with its id, expression and smoothed V/A (and when low, why)
        text = f"#{f.face_id} {f.expression}  V {f.valence_smoothed:+.2f}  A {f.arousal_smoothed:+.2f}"
        if f.quality is not None and f.quality.reasons:
            text += f"  (low: {', '.join(f.quality.reasons)})"
        assert text in labels
    assert tab.start_button.text() == "Start"


def test_selecting_another_face_shows_its_attention(qtbot, make_tab) -> None:
    tab = make_tab()
    start_and_wait_for_faces(qtbot, tab)
    packet = stop_and_settle(qtbot, tab)
    other = next(f for f in packet.faces if f.face_id != tab.selected_face())
    tab.face_choice.setCurrentIndex(tab.face_choice.findData(other.face_id))
    for _ in range(3):  # the video (its face list), then the newly chosen face's attention and details
        tab.paint()
    assert tab.selected_face() == other.face_id
    np.testing.assert_allclose(tab.attention.maps[3].image, attention_display(other.spatial_attention[3]))
    np.testing.assert_allclose(tab.expressions.values(), other.probabilities, atol=1e-7)


def test_recording_writes_every_packet_and_shows_the_summary(qtbot, make_tab, tmp_path: Path) -> None:
    tab = make_tab()
    tab.recording.folder.setText(str(tmp_path))
    tab.recording.participant.setText("P07")
    packets: list[FramePacket] = []
    tab.bridge.packet_ready.connect(packets.append)
    start_and_wait_for_faces(qtbot, tab, painted=1)
    tab.recording.record_button.click()
    qtbot.waitUntil(lambda: tab.recording_path != "", timeout=WAIT_MS)
    assert tab.recording.indicator.isVisible()
    assert tab.recording.csv_path.full_text() == tab.recording_path
    csv_path = Path(tab.recording_path)
    assert csv_path.parent == tmp_path and csv_path.name.startswith("P07_")
    tab.recording.marker_text.setText("stimulus on")
    tab.recording.marker_button.click()
    seen = tab.packets_received
    qtbot.waitUntil(lambda: tab.packets_received >= seen + 4, timeout=WAIT_MS)
    tab.recording.record_button.click()
    qtbot.waitUntil(lambda: tab.last_summary is not None, timeout=WAIT_MS)
    assert not tab.recording.indicator.isVisible()
    stop_and_settle(qtbot, tab)

    with csv_path.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert rows and {r["participant"] for r in rows} == {"P07"}
    by_frame = {p.frame_index: p for p in packets}
    for row in rows:  # every row is a face of a packet the GUI received, with its values
        packet = by_frame[int(row["frame"])]
        if row["status"] == "no_face":
            assert not packet.faces
            continue
        face = next(f for f in packet.faces if f.face_id == int(row["face_id"]))
        assert float(row["valence"]) == pytest.approx(face.valence, abs=1e-6)
        assert float(row["arousal"]) == pytest.approx(face.arousal, abs=1e-6)
    assert any(r["marker"] == "stimulus on" for r in rows)
    summary = json.loads(csv_path.with_name(f"{csv_path.stem}.summary.json").read_text())
    assert summary == tab.last_summary
    assert {f["face_id"] for f in summary["faces"]} == {int(r["face_id"]) for r in rows if r["face_id"]}
    text = tab.summary_view.toPlainText()
    assert "Session summary" in text and "dominant expression" in text
    assert tab.lower_tabs.currentWidget() is tab.summary_view  # shown without a dialog


def test_calibration_counts_down_then_draws_the_baseline(qtbot, make_tab) -> None:
    tab = make_tab()
    start_and_wait_for_faces(qtbot, tab)
    tab.calibration.seconds.setValue(1.0)
    tab.calibration.calibrate_button.click()
    assert "neutral face" in tab.calibration.countdown.text()
    qtbot.waitUntil(lambda: tab.painted_packet is not None and tab.painted_packet.faces
                    and all(f.valence_corrected is not None for f in tab.painted_packet.faces),
                    timeout=WAIT_MS)
    packet = stop_and_settle(qtbot, tab)
    assert "calibrated" in tab.calibration.countdown.text()
    x, y = tab.circumplex.baselines.getData()
    expected = sorted((f.valence_smoothed - f.valence_corrected, f.arousal_smoothed - f.arousal_corrected)
                      for f in packet.faces if f.valence_corrected is not None)
    np.testing.assert_allclose(sorted(zip(x, y, strict=True)), np.clip(expected, -1, 1), atol=1e-6)


def test_switching_model_while_running_relabels_everything(qtbot, make_tab) -> None:
    tab = make_tab("a")
    start_and_wait_for_faces(qtbot, tab, painted=1)
    assert tab.model_name == "tiny A" and tab.va_source == "measured"
    assert "V/A derived" not in (tab.circumplex.getPlotItem().titleLabel.text or "")
    path_b = tab.settings.value("model/path").replace("tiny_a", "tiny_b")
    tab.models.path.setText(path_b)
    tab.models.apply_button.click()
    qtbot.waitUntil(lambda: tab.painted_packet is not None
                    and tab.painted_packet.stats.model_name == "tiny B", timeout=WAIT_MS)
    assert tab.painted_packet.va_source == "derived"
    assert "V/A derived" in tab.circumplex.getPlotItem().titleLabel.text
    assert "V/A derived" in tab.timelines.plots["valence"].titleLabel.text
    assert "untrained model" in tab.models.info.text() and "no meaning" in tab.models.info.text()
    tab.stop()
    assert tab.settings.value("model/path") == path_b  # remembered for the next run


def test_a_model_switch_says_the_calibration_was_cleared(qtbot, make_tab) -> None:
    tab = make_tab("a")
    start_and_wait_for_faces(qtbot, tab, painted=1)
    tab.calibration.seconds.setValue(0.5)
    tab.calibration.calibrate_button.click()
    qtbot.waitUntil(lambda: "calibrated: neutral at" in tab.calibration.countdown.text(), timeout=WAIT_MS)
    tab.models.path.setText(tab.settings.value("model/path").replace("tiny_a", "tiny_b"))
    tab.models.apply_button.click()
    qtbot.waitUntil(lambda: tab.painted_packet is not None
                    and tab.painted_packet.stats.model_name == "tiny B", timeout=WAIT_MS)
    qtbot.waitUntil(lambda: tab.calibration.countdown.text() == NOT_CALIBRATED_AFTER_SWITCH, timeout=WAIT_MS)
    seen = tab.frames_painted
    qtbot.waitUntil(lambda: tab.frames_painted >= seen + 3, timeout=WAIT_MS)
    assert tab.calibration.countdown.text() == NOT_CALIBRATED_AFTER_SWITCH  # not painted over
    assert all(f.valence_corrected is None for f in tab.painted_packet.faces)
    tab.stop()


def test_missing_camera_is_explained_in_the_window(qtbot, make_tab) -> None:
    tab = make_tab()
    messages: list[str] = []
    tab.status_message.connect(messages.append)
    tab.set_source_spec("camera:9")
    tab.start_button.click()
    qtbot.waitUntil(lambda: tab.pipeline.state is PipelineState.FAULTED, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: tab.start_button.text() == "Start", timeout=WAIT_MS)
    assert "camera 9" in tab.video.message.toPlainText().lower()
    assert any("Could not open camera 9" in m for m in messages)
    assert tab.source_picker.isEnabled()


def test_missing_model_file_is_refused_with_a_message(qtbot, make_tab, tmp_path: Path) -> None:
    tab = make_tab()
    messages: list[str] = []
    tab.status_message.connect(messages.append)
    before = tab.models.choice()
    tab.apply_model(str(tmp_path / "nope.pt"), "torch", "cpu")
    assert any("nope.pt does not exist" in m for m in messages)
    assert tab.models.choice() == before


def test_choices_are_remembered_between_runs(qtbot, make_tab) -> None:
    tab = make_tab()
    tab.smoothing.set_current("one_euro", {"min_cutoff": 0.7, "beta": 2.5, "d_cutoff": 1.5})
    tab.recording.participant.setText("P11")
    tab.overlay_box.setChecked(True)
    tab.shutdown()
    again = make_tab()
    assert again.smoothing.current() == ("one_euro", {"min_cutoff": 0.7, "beta": 2.5, "d_cutoff": 1.5})
    assert again.recording.participant.text() == "P11"
    assert again.overlay_box.isChecked() and again.video.show_attention
    assert again.source_picker.spec().startswith("video:")


def test_each_display_tick_draws_one_panel_group_video_first(make_tab) -> None:
    tab = make_tab()
    packets = [make_packet(t / 10, make_face(1, 0.1 * t)) for t in range(6)]
    tab.on_packet(packets[0])
    for group in PANEL_GROUPS:  # one group per tick, in priority order
        tab.paint()
        assert [g for g, shown in tab.shown_packets().items() if shown is packets[0]] == \
            list(PANEL_GROUPS[: PANEL_GROUPS.index(group) + 1])
    tab.paint()  # nothing left to draw
    assert tab.frames_painted == 1
    for packet in packets[1:]:  # a packet every tick: the video never skips one
        tab.on_packet(packet)
        tab.paint()
    assert tab.frames_painted == len(packets) and tab.painted_packet is packets[-1]
    for _ in PANEL_GROUPS:
        tab.paint()
    assert all(shown is packets[-1] for shown in tab.shown_packets().values())


def test_a_long_recording_path_does_not_move_the_controls(qtbot, make_tab, tmp_path: Path) -> None:
    tab = make_tab()
    group = tab.recording
    deep = tmp_path / ("a-rather-long-folder-name-for-sessions" * 2) / "participant-P01-first-block"
    deep.mkdir(parents=True)
    group.folder.setText(str(deep))
    start_and_wait_for_faces(qtbot, tab, painted=1)
    qtbot.wait(50)
    before = (group.height(), tab.calibration.mapTo(tab, tab.calibration.rect().topLeft()).y())
    group.record_button.click()
    qtbot.waitUntil(lambda: tab.recording_path != "", timeout=WAIT_MS)
    qtbot.wait(50)  # the layout settles
    after = (group.height(), tab.calibration.mapTo(tab, tab.calibration.rect().topLeft()).y())
    assert after == before  # the group keeps its height; the calibration group below stays put
    assert group.csv_path.full_text() == tab.recording_path == group.csv_path.toolTip()
    assert "…" in group.csv_path.text()  # elided in the middle, on one line
    group.record_button.click()
    qtbot.waitUntil(lambda: tab.recording_path == "", timeout=WAIT_MS)
    tab.stop()


def test_a_new_recording_does_not_show_the_previous_summary(qtbot, make_tab, tmp_path: Path) -> None:
    tab = make_tab()
    tab.recording.folder.setText(str(tmp_path))
    start_and_wait_for_faces(qtbot, tab, painted=1)
    for take in ("first", "second"):
        tab.recording.participant.setText(take)
        tab.recording.record_button.click()
        qtbot.waitUntil(lambda: tab.recording_path != "", timeout=WAIT_MS)
        assert tab.last_summary is None and tab.summary_view.toPlainText() == ""  # nothing stale
        assert Path(tab.recording_path).name in tab.summary_view.placeholderText()
        seen = tab.packets_received
        qtbot.waitUntil(lambda: tab.packets_received >= seen + 2, timeout=WAIT_MS)  # noqa: B023
        tab.recording.record_button.click()
        qtbot.waitUntil(lambda: tab.last_summary is not None, timeout=WAIT_MS)
        assert tab.last_summary["participant"] == take
        assert f"Participant: {take}" in tab.summary_view.toPlainText()
    tab.stop()


def test_a_short_video_loops_when_asked(qtbot, make_tab, tmp_path: Path, astronaut_rgb) -> None:
    from tests.app.core.videos import moving_face_frames, write_video

    clip = write_video(tmp_path / "short.avi", moving_face_frames(astronaut_rgb, 6), fps=10.0)
    tab = make_tab()
    tab.set_source_spec(f"video:{clip}")
    tab.loop_box.setChecked(True)
    tab.start_button.click()
    assert not tab.loop_box.isEnabled()  # fixed while the source runs
    qtbot.waitUntil(lambda: tab.packets_received > 14, timeout=WAIT_MS)  # past the clip's 6 frames twice
    assert tab.running
    tab.stop()
    tab.save_settings()
    assert keys.value_bool(tab.settings, keys.LIVE_LOOP_VIDEO, False)


def test_a_face_is_named_in_the_faces_group_and_its_label_is_shown(qtbot, make_tab) -> None:
    tab = make_tab()
    start_and_wait_for_faces(qtbot, tab)
    qtbot.waitUntil(lambda: len(tab.painted_packet.faces) == 2, timeout=WAIT_MS)
    chosen = tab.selected_face()
    assert tab.faces_box.face == chosen and tab.faces_box.name.isEnabled()
    tab.faces_box.name.setText("P07")
    tab.faces_box.name.editingFinished.emit()
    qtbot.waitUntil(lambda: any(f.face_id == chosen and f.label == "P07" for f in tab.painted_packet.faces),
                    timeout=WAIT_MS)
    qtbot.waitUntil(lambda: tab.face_choice.currentText() == f"#{chosen} P07", timeout=WAIT_MS)
    # both faces are in view: merging them is refused with a reason, nothing changes
    other = next(f.face_id for f in tab.painted_packet.faces if f.face_id != chosen)
    messages: list[str] = []
    tab.status_message.connect(messages.append)
    tab.merge_faces(other, chosen)
    assert any("were not merged" in m and "tracked now" in m for m in messages)
    stop_and_settle(qtbot, tab)

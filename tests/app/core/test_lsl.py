"""Lab Streaming Layer, loopback only (tests/conftest.py points LSLAPICFG at a machine-scope config):
an inlet gets one labelled sample per processed frame stamped with its capture time; markers from
another program land in the CSV row of the first frame captured at or after their times."""

from __future__ import annotations

import csv
import math
import time
import uuid

import pylsl
import pytest

from app.core.lsl import (
    SLOT_CHANNELS,
    AffectOutlet,
    MarkerInlet,
    MarkerOutlet,
    channel_labels,
    list_marker_streams,
)
from app.core.packets import PipelineEvent
from app.core.pipeline import LivePipeline
from app.core.settings import LslSettings
from app.core.sources import DemoSource
from tests.app.core.test_pipeline import Collector, FakePredictor, wait_for


def _pipeline(collector: Collector) -> LivePipeline:
    return LivePipeline(collector.packet, collector.event, predictor_factory=lambda p, r, d: FakePredictor())


def _inlet(name: str) -> pylsl.StreamInlet:
    found = pylsl.resolve_byprop("name", name, timeout=5.0)
    assert found, f"stream {name} not found on loopback"
    inlet = pylsl.StreamInlet(found[0], max_buflen=60)
    inlet.open_stream(timeout=5.0)
    return inlet


def _channel_labels(inlet: pylsl.StreamInlet) -> list[str]:
    channel = inlet.info(timeout=5.0).desc().child("channels").child("channel")
    labels = []
    while not channel.empty():
        labels.append(channel.child_value("label"))
        channel = channel.next_sibling()
    return labels


def test_an_inlet_receives_one_labelled_sample_per_frame_at_its_capture_time():
    name = f"AffectScope-test-{uuid.uuid4().hex[:6]}"
    collector = Collector()
    pipeline = _pipeline(collector)
    outlet = AffectOutlet(LslSettings(enabled=True, stream_name=name, face_slots=3))
    inlet = _inlet(name)
    assert inlet.info().channel_count() == 1 + 3 * len(SLOT_CHANNELS)
    assert _channel_labels(inlet) == channel_labels(3)
    pipeline.add_publisher(outlet.publish)
    pipeline.start(DemoSource(320, 240, fps=30, faces=2))
    wait_for(lambda: outlet.samples >= 20 and outlet.consumers())
    pipeline.stop()
    offset = outlet._offset
    packets = {p.frame_index: p for p in collector.packets}
    samples, stamps = inlet.pull_chunk(timeout=2.0, max_samples=1000)
    assert len(samples) == outlet.samples == len(packets)
    assert all(b > a for a, b in zip(stamps, stamps[1:], strict=False))
    for sample, stamp in zip(samples, stamps, strict=True):
        packet = packets[int(sample[0])]
        assert stamp == pytest.approx(packet.captured_at + offset, abs=1e-6)  # capture time, LSL clock
        faces = sorted(packet.faces, key=lambda f: f.face_id)
        per = len(SLOT_CHANNELS)
        slots = [sample[1 + i * per : 1 + (i + 1) * per] for i in range(3)]
        present = [s for s in slots if s[0] == 1.0]
        assert len(present) == len(faces) == 2 and all(s[0] == 0.0 and math.isnan(s[2]) for s in slots
                                                        if s[0] != 1.0)
        for face in faces:
            (slot,) = [s for s in present if int(s[1]) == face.face_id]
            assert slot[2] == pytest.approx(face.valence, abs=1e-6)  # float32 channel
            assert slot[8:16] == pytest.approx(list(face.probabilities), abs=1e-6)
            assert slot[16:20] == [float(v) for v in face.box]
            assert slot[20] == float(face.quality.verdict == "good")  # the quality verdict, 1 or 0
            for got, std in zip(slot[21:23], (face.valence_std, face.arousal_std), strict=True):
                assert math.isnan(got) if std is None else got == pytest.approx(std, abs=1e-6)


def test_markers_from_another_program_land_on_the_first_frame_captured_at_their_times(tmp_path):
    marker_name = f"PsychoPy-test-{uuid.uuid4().hex[:6]}"
    sender = pylsl.StreamOutlet(pylsl.StreamInfo(marker_name, "Markers", 1, 0, pylsl.cf_string,
                                                 f"src-{marker_name}"))
    (choice,) = [c for c in list_marker_streams(3.0) if c.name == marker_name]
    assert choice.type == "Markers" and choice.host
    collector = Collector()
    pipeline = _pipeline(collector)
    name = f"AffectScope-test-{uuid.uuid4().hex[:6]}"
    outlet = AffectOutlet(LslSettings(enabled=True, stream_name=name))
    pipeline.add_publisher(outlet.publish)
    inlet = MarkerInlet(choice, pipeline.add_marker_at)
    pipeline.start(DemoSource(320, 240, fps=30, faces=1))
    sent = {}
    try:
        wait_for(lambda: len(collector.packets) >= 5)
        csv_path = pipeline.start_recording(tmp_path / "session.csv")
        assert inlet.connected.wait(20.0)
        for k in range(3):  # stamped a little in the future, on the sender's LSL clock
            stamp = pylsl.local_clock() + 0.3
            text = f"stimulus {k}"
            sender.push_sample([text], stamp)
            sent[text] = stamp
            time.sleep(0.25)
        wait_for(lambda: inlet.received == 3)
        time.sleep(0.6)
        pipeline.stop_recording()
    finally:
        pipeline.stop()
        inlet.close()
    with csv_path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    offset = outlet._offset
    captured = {p.frame_index: p.captured_at + offset for p in collector.packets}  # LSL clock
    recorded = {int(r["frame"]): r["marker"] for r in rows}
    for text, stamp in sent.items():
        (frame,) = [f for f, m in recorded.items() if text in m]
        first_after = min(f for f in recorded if captured[f] >= stamp)  # the first frame to show it
        assert frame == first_after, (text, frame, first_after)
        assert captured[frame] - stamp < 0.2  # within a few frame intervals of 33 ms


def test_the_marker_outlet_sends_user_markers_and_recording_start_and_stop():
    settings = LslSettings(enabled=True, stream_name=f"AffectScope-test-{uuid.uuid4().hex[:6]}")
    outlet = MarkerOutlet(settings)
    inlet = _inlet(f"{settings.stream_name}-Markers")
    assert inlet.info().type() == "Markers"
    outlet.send("baseline start")
    outlet.on_event(PipelineEvent("recording", "recording to /tmp/s.csv"))
    outlet.on_event(PipelineEvent("info", "not a marker"))
    got = [inlet.pull_sample(timeout=3.0)[0] for _ in range(2)]
    assert got == [["baseline start"], ["recording to /tmp/s.csv"]]


def test_the_lsl_benchmark_receives_every_published_sample_after_its_capture():
    from app.core.bench.lsl import run_lsl_benchmark
    from tests.app.core.test_pipeline import FakePredictor

    report = run_lsl_benchmark(FakePredictor(delay_s=0.01), block_s=1.5, blocks=2)
    assert report["samples_published"] > 10
    assert report["samples_received"] == report["samples_published"]  # nothing lost on loopback
    # received after capture, and well within the block: the stamps are capture times on this clock
    assert 0.0 < report["latency_ms_p50"] <= report["latency_ms_p95"] < 1500.0
    assert report["fps_off"] > 0 and report["fps_on"] > 0

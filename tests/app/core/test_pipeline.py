"""The live pipeline with the real face detector and a fake predictor (same interface as model.predictor)."""

from __future__ import annotations

import csv
import threading
import time

import cv2
import numpy as np
import pytest

from app.core.baseline import BaselineState
from app.core.packets import FramePacket, PipelineEvent, PipelineState
from app.core.pipeline import LivePipeline, PipelineError, PipelineSettings
from app.core.settings import LIVE_DETECTOR
from app.core.sources import CameraSource, DemoSource, FrameSource, ImageSource, VideoFileSource
from model.config import CLASS_NAMES, ModelConfig
from model.predictor import Prediction
from tests.app.core.videos import moving_face_frames, two_faces, write_video


class FakePredictor:
    """Answers like model.predictor.Predictor: V/A from each crop's brightness, optionally slowly."""

    def __init__(self, name: str = "fake", runtime: str = "torch", device: str = "cpu", delay_s: float = 0.0):
        self.config = ModelConfig()
        self.name, self.runtime, self.device = name, runtime, device
        self.va_source, self.untrained, self.sha256 = "measured", False, "0" * 64
        self.delay_s = delay_s
        self.batches: list[int] = []

    def predict(self, crops: list[np.ndarray]) -> Prediction:
        time.sleep(self.delay_s)
        b = len(crops)
        self.batches.append(b)
        brightness = np.array([c.mean() / 255.0 for c in crops], np.float32)  # (B,)
        probabilities = np.full((b, 8), 0.02, np.float32)  # (B,8)
        probabilities[:, 1] = 0.86
        return Prediction(
            valence_arousal=np.stack([brightness * 2 - 1, 0.5 - brightness], axis=1),  # (B,2)
            probabilities=probabilities,
            spatial_attention=tuple(np.full((b, s, s), 1.0 / s**2, np.float32) for s in (28, 14, 7, 4)),
            layer_attention=np.full((b, 4), 0.25, np.float32),
            class_names=CLASS_NAMES,
            expressions=("happy",) * b,
        )


class FlakyCamera(FrameSource):
    """A live source that delivers `fail_after` frames at 30 fps, then loses its camera."""

    kind = "camera"
    is_live = True

    def __init__(self, frame: np.ndarray, fail_after: int) -> None:
        super().__init__()
        self.name = "camera 7 (Fake Cam)"
        self.frame, self.fail_after = frame, fail_after
        self.reads = 0
        self.closed = False

    def open(self) -> None:
        self.height, self.width = self.frame.shape[:2]
        self.fps = 30.0

    def read(self):
        time.sleep(1 / 30)
        self.reads += 1
        if self.reads > self.fail_after:
            self.end_reason = f"{self.name} stopped delivering frames (unplugged)"
            return False, None, self.reads / 30
        return True, self.frame, self.reads / 30

    def close(self) -> None:
        self.closed = True


class Collector:
    """Records packets and events from the pipeline's threads."""

    def __init__(self) -> None:
        self.packets: list[FramePacket] = []
        self.events: list[PipelineEvent] = []

    def packet(self, packet: FramePacket) -> None:
        self.packets.append(packet)

    def event(self, event: PipelineEvent) -> None:
        self.events.append(event)

    def messages(self, kind: str) -> list[str]:
        return [e.message for e in self.events if e.kind == kind]


def wait_for(condition, timeout: float = 10.0) -> None:
    """Poll `condition` until true; fail the test after `timeout` seconds."""
    end = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < end, "timed out waiting for the pipeline"
        time.sleep(0.01)


def make_pipeline(collector: Collector, predictor: FakePredictor | None = None, **settings) -> LivePipeline:
    predictor = predictor or FakePredictor()
    return LivePipeline(collector.packet, collector.event, PipelineSettings(**settings),
                        predictor_factory=lambda path, runtime, device: predictor)


def pipeline_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("affectscope-")]


def test_moving_face_keeps_its_id_until_the_video_ends(tmp_path, astronaut_rgb):
    video = write_video(tmp_path / "moving.avi", moving_face_frames(astronaut_rgb, 40, step=3))
    collector, predictor = Collector(), FakePredictor()
    pipeline = make_pipeline(collector, predictor)
    pipeline.start(VideoFileSource(video))
    wait_for(lambda: pipeline.state is PipelineState.STOPPED and not pipeline.threads_alive())
    packets = collector.packets
    assert len(packets) >= 10
    assert all(len(p.faces) == 1 for p in packets)
    assert len({p.faces[0].face_id for p in packets}) == 1
    indices = [p.frame_index for p in packets]
    assert indices == sorted(set(indices)) and indices[-1] == 39
    face = packets[-1].faces[0]
    assert face.crop.shape == (112, 112, 3)  # the square crop at the model's input size
    assert face.expression == "happy" and face.valence_corrected is None
    assert set(predictor.batches) == {1}
    assert packets[-1].stats.detect_ms > 0 and packets[-1].stats.model_name == "fake"
    assert any("finished" in m for m in collector.messages("info"))
    assert [e.state for e in collector.events if e.kind == "state"] == [
        PipelineState.STARTING, PipelineState.RUNNING, PipelineState.STOPPED]


def test_two_faces_go_through_the_model_as_one_batch(tmp_path, astronaut_rgb):
    cv2.imwrite(str(tmp_path / "two.png"), cv2.cvtColor(two_faces(astronaut_rgb), cv2.COLOR_RGB2BGR))
    collector, predictor = Collector(), FakePredictor()
    pipeline = make_pipeline(collector, predictor)
    pipeline.start(ImageSource(tmp_path / "two.png"))
    wait_for(lambda: pipeline.state is PipelineState.STOPPED and not pipeline.threads_alive())
    (packet,) = collector.packets
    assert len(packet.faces) == 2 and len({f.face_id for f in packet.faces}) == 2
    assert predictor.batches == [2]


def test_slow_model_drops_and_counts_frames_without_slowing_capture(tmp_path, astronaut_rgb):
    frames = moving_face_frames(astronaut_rgb, 45, size=(160, 120), side=80)
    video = write_video(tmp_path / "slow.avi", frames)
    collector = Collector()
    pipeline = make_pipeline(collector, FakePredictor(delay_s=0.1))
    pipeline.start(VideoFileSource(video))
    wait_for(lambda: pipeline.state is PipelineState.STOPPED and not pipeline.threads_alive())
    last = collector.packets[-1].stats
    assert last.dropped_frames >= 20
    assert len(collector.packets) + last.dropped_frames == 45  # every frame processed or counted
    assert last.capture_fps > 15  # capture kept the file's 30 fps although the model manages < 10
    assert last.processing_fps < 10.5


def test_camera_lost_mid_run_faults_and_a_restart_works(astronaut_rgb):
    collector = Collector()
    pipeline = make_pipeline(collector)
    camera = FlakyCamera(astronaut_rgb, fail_after=5)
    pipeline.start(camera)
    wait_for(lambda: pipeline.state is PipelineState.FAULTED and not pipeline.threads_alive(), timeout=5)
    (error,) = collector.messages("error")
    assert "camera 7 (Fake Cam)" in error and "unplugged" in error
    assert pipeline.fault == error and camera.closed
    assert 1 <= len(collector.packets) <= 5
    pipeline.stop()
    assert pipeline.state is PipelineState.FAULTED  # the fault stays visible until the next start

    pipeline.start(FlakyCamera(astronaut_rgb, fail_after=10_000))
    wait_for(lambda: len(collector.packets) >= 8 and pipeline.state is PipelineState.RUNNING)
    pipeline.stop()
    assert pipeline.state is PipelineState.STOPPED and pipeline_threads() == []


def test_camera_that_cannot_be_opened_gives_an_error_event():
    collector = Collector()
    pipeline = make_pipeline(collector)
    pipeline.start(CameraSource(97))
    wait_for(lambda: pipeline.state is PipelineState.FAULTED and not pipeline.threads_alive(), timeout=5)
    assert any("Could not open camera 97" in m for m in collector.messages("error"))
    assert collector.packets == []


def test_start_stop_leaves_no_threads_running():
    collector = Collector()
    pipeline = make_pipeline(collector)
    pipeline.start(DemoSource(320, 240, fps=30))
    with pytest.raises(PipelineError, match="stop it"):
        pipeline.start(DemoSource())
    wait_for(lambda: len(collector.packets) >= 3)
    assert pipeline.state is PipelineState.RUNNING
    started = time.monotonic()
    pipeline.stop()
    assert time.monotonic() - started < 2.0
    assert pipeline.state is PipelineState.STOPPED and not pipeline.threads_alive()
    assert pipeline_threads() == []
    pipeline.stop()  # a second stop is harmless
    assert pipeline.state is PipelineState.STOPPED


def test_model_switch_at_run_time_keeps_the_old_model_when_the_new_one_fails():
    def factory(path, runtime, device):
        if path == "broken.pt":
            raise ValueError("checkpoint is damaged")
        return FakePredictor(str(path or "default"), runtime, device)

    collector = Collector()
    pipeline = LivePipeline(collector.packet, collector.event, predictor_factory=factory)
    pipeline.start(DemoSource(320, 240, fps=30, faces=1))
    wait_for(lambda: len(collector.packets) >= 2)
    assert collector.packets[-1].stats.model_name == "default"
    pipeline.set_model("second.pt", runtime="onnx", device="cpu")
    wait_for(lambda: collector.packets[-1].stats.model_name == "second.pt")
    assert collector.packets[-1].stats.runtime == "onnx"
    pipeline.set_model("broken.pt")
    wait_for(lambda: any("broken.pt" in m for m in collector.messages("error")))
    seen = len(collector.packets)
    wait_for(lambda: len(collector.packets) >= seen + 2)
    assert collector.packets[-1].stats.model_name == "second.pt"
    assert pipeline.state is PipelineState.RUNNING
    pipeline.stop()


def test_a_slow_model_is_prepared_in_the_background_while_frames_keep_flowing():
    """Switching model or runtime (an ONNX export takes seconds) must not stall the live view."""
    release = threading.Event()

    def factory(path, runtime, device):
        if path == "slow.pt":
            assert release.wait(10.0)
        return FakePredictor(str(path or "default"), runtime, device)

    collector = Collector()
    pipeline = LivePipeline(collector.packet, collector.event, predictor_factory=factory)
    pipeline.start(DemoSource(320, 240, fps=30, faces=1))
    wait_for(lambda: len(collector.packets) >= 2)
    pipeline.set_model("slow.pt", runtime="onnx")
    wait_for(lambda: any("preparing slow.pt" in m for m in collector.messages("info")))
    seen = len(collector.packets)
    wait_for(lambda: len(collector.packets) >= seen + 10)  # about 1/3 s of frames while it loads
    assert collector.packets[-1].stats.model_name == "default"
    release.set()
    wait_for(lambda: collector.packets[-1].stats.model_name == "slow.pt")
    pipeline.stop()


def test_a_model_switch_clears_the_calibration_and_says_so():
    """A neutral baseline is one model's reading of a neutral face: it must not correct another's."""
    collector = Collector()
    pipeline = LivePipeline(collector.packet, collector.event,
                            predictor_factory=lambda path, r, d: FakePredictor(str(path or "default"), r, d))
    pipeline.start(DemoSource(320, 240, fps=30, faces=1))
    wait_for(lambda: len(collector.packets) >= 2)
    pipeline.start_baseline(0.2)
    wait_for(lambda: any(f.valence_corrected is not None for f in collector.packets[-1].faces))
    pipeline.set_model("second.pt")
    wait_for(lambda: collector.packets[-1].stats.model_name == "second.pt")
    seen = len(collector.packets)
    wait_for(lambda: len(collector.packets) >= seen + 2)
    pipeline.stop()
    (cleared,) = [e for e in collector.events if e.kind == "baseline" and "cleared" in e.detail]
    assert "recorded with default" in cleared.message and "calibrate again for second.pt" in cleared.message
    after = [f for p in collector.packets if p.stats.model_name == "second.pt" for f in p.faces]
    assert after and all(f.valence_corrected is None for f in after)
    assert all(pipeline.baseline_status(f.face_id).state is BaselineState.IDLE for f in after)


def test_detector_settings_change_while_running():
    collector = Collector()
    pipeline = make_pipeline(collector)
    pipeline.start(DemoSource(320, 240, fps=30, faces=2))
    wait_for(lambda: len(collector.packets) >= 1 and len(collector.packets[-1].faces) == 2)
    assert collector.packets[-1].faces_in_view == 2
    pipeline.set_detector(max_faces=1)
    wait_for(lambda: len(collector.packets[-1].faces) == 1)
    assert collector.packets[-1].faces_in_view == 2  # the face limit cut one: the GUI says so
    with pytest.raises(ValueError, match="unknown detector model"):
        pipeline.set_detector(model="tiny")
    with pytest.raises(ValueError, match="max_faces"):
        pipeline.set_detector(max_faces=0)
    pipeline.stop()
    assert pipeline.settings.max_faces == 1 and pipeline.settings.detector_model == LIVE_DETECTOR


def test_smoothing_baseline_markers_and_recording(tmp_path):
    collector = Collector()
    pipeline = make_pipeline(collector)
    with pytest.raises(PipelineError, match="start the pipeline"):
        pipeline.start_recording(tmp_path / "early")
    pipeline.start(DemoSource(320, 240, fps=30, faces=1))
    wait_for(lambda: len(collector.packets) >= 2)
    pipeline.set_smoothing("ema", alpha=0.2)
    csv_path = pipeline.start_recording(tmp_path / "session", participant="P01")
    assert pipeline.is_recording
    pipeline.start_baseline(0.3)
    pipeline.add_marker("stimulus A")
    wait_for(lambda: any(f.valence_corrected is not None for p in collector.packets[-1:] for f in p.faces))
    summary = pipeline.stop_recording()
    pipeline.stop()
    assert summary is not None and not pipeline.is_recording
    assert any("baseline ready for face" in m for m in collector.messages("baseline"))
    faces = [f for p in collector.packets for f in p.faces]
    assert any(abs(f.valence_smoothed - f.valence) > 1e-6 for f in faces)  # the EMA is applied
    corrected = [f for f in faces if f.valence_corrected is not None]
    assert corrected[-1].valence_corrected == pytest.approx(
        corrected[-1].valence_smoothed - pipeline.baseline_status(corrected[-1].face_id).valence)

    with open(csv_path, newline="") as f:
        rows = list(csv.DictReader(f))
    by_frame = {p.frame_index: p for p in collector.packets}
    frames = sorted({int(r["frame"]) for r in rows})
    order = sorted(by_frame)
    assert frames == order[order.index(frames[0]) : order.index(frames[-1]) + 1]  # no packet missing
    assert len(rows) == sum(max(1, len(by_frame[i].faces)) for i in frames)
    assert [r["marker"] for r in rows if r["marker"]] == ["stimulus A"]
    assert rows[0]["participant"] == "P01" and rows[-1]["valence_corrected"] != ""


def test_stopping_the_pipeline_while_recording_closes_the_session_files(tmp_path):
    collector = Collector()
    pipeline = make_pipeline(collector)
    pipeline.start(DemoSource(320, 240, fps=30, faces=2))
    wait_for(lambda: len(collector.packets) >= 1)
    csv_path = pipeline.start_recording(tmp_path / "forced", participant="P02")
    seen = len(collector.packets)
    wait_for(lambda: len(collector.packets) >= seen + 3)
    pipeline.stop()
    assert not pipeline.is_recording and pipeline.stop_recording() is None
    assert csv_path.with_suffix(".summary.json").is_file()
    with open(csv_path, newline="") as f:
        rows = list(csv.DictReader(f))
    recorded = {int(r["frame"]) for r in rows}
    assert len(rows) == sum(max(1, len(p.faces)) for p in collector.packets if p.frame_index in recorded)
    assert recorded and max(recorded) == collector.packets[-1].frame_index  # the last packet is kept


def test_unwritable_recording_path_is_an_error_and_the_pipeline_keeps_running(tmp_path):
    from app.core.recorder import RecorderError

    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    collector = Collector()
    pipeline = make_pipeline(collector)
    pipeline.start(DemoSource(320, 240, fps=30, faces=1))
    wait_for(lambda: len(collector.packets) >= 1)
    with pytest.raises(RecorderError, match="a_file"):
        pipeline.start_recording(blocker / "session")
    assert any("a_file" in m for m in collector.messages("error"))
    seen = len(collector.packets)
    wait_for(lambda: len(collector.packets) >= seen + 2)
    assert pipeline.state is PipelineState.RUNNING and not pipeline.is_recording
    pipeline.stop()


def test_latest_slot_keeps_the_newest_and_counts_the_rest():
    from app.core.latest import LatestSlot

    slot: LatestSlot[int] = LatestSlot()
    for i in range(3):
        slot.put(i)
    assert slot.take(timeout=0) == 2 and slot.dropped == 2 and slot.put_count == 3
    assert slot.take(timeout=0.01) is None
    taken = []
    waiter = threading.Thread(target=lambda: taken.append(slot.take(timeout=5)))
    waiter.start()
    slot.close()
    waiter.join(1)
    assert not waiter.is_alive() and taken == [None] and slot.closed


def test_default_model_runs_in_the_pipeline(tmp_path, astronaut_rgb):
    cv2.imwrite(str(tmp_path / "astronaut.png"), cv2.cvtColor(astronaut_rgb, cv2.COLOR_RGB2BGR))
    collector = Collector()
    pipeline = LivePipeline(collector.packet, collector.event)  # the app's default model (untrained here)
    pipeline.start(ImageSource(tmp_path / "astronaut.png"))
    wait_for(lambda: pipeline.state is PipelineState.STOPPED and not pipeline.threads_alive(), timeout=60)
    (packet,) = collector.packets
    (face,) = packet.faces
    assert packet.stats.model_name == pipeline.predictor.name
    assert face.probabilities.shape == (8,) and face.probabilities.sum() == pytest.approx(1.0, abs=1e-5)
    assert face.expression in CLASS_NAMES and -1.0 <= face.valence <= 1.0
    assert [m.sum() for m in face.spatial_attention] == pytest.approx([1.0] * 4, abs=1e-4)
    assert face.layer_attention.shape == (4,) and face.crop.shape == (112, 112, 3)
    # the info event names the model, and says so when its weights are random
    (note,) = [m for m in collector.messages("info") if m.startswith("model ")]
    assert pipeline.predictor.name in note
    assert ("results are meaningless" in note) == pipeline.predictor.untrained


def test_faces_are_named_and_merged_and_the_csv_says_so(tmp_path):
    collector = Collector()
    pipeline = make_pipeline(collector)
    pipeline.start(DemoSource(320, 240, fps=30, faces=2))
    wait_for(lambda: len(collector.packets) >= 1 and len(collector.packets[-1].faces) == 2)
    first, second = sorted(f.face_id for f in collector.packets[-1].faces)
    pipeline.names.set_label(first, "  P07 ")
    wait_for(lambda: {f.face_id: f.label for f in collector.packets[-1].faces}.get(first) == "P07")
    path = pipeline.start_recording(tmp_path / "named")
    wait_for(lambda: len(collector.packets) >= 3)
    with pytest.raises(ValueError, match="tracked now"):  # both are in view: they are two people
        pipeline.merge_faces(second, first)
    with pytest.raises(ValueError, match="at most"):
        pipeline.names.set_label(first, "x" * 100)
    pipeline.stop()
    with open(path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert {r["face_label"] for r in rows if r["face_id"] == str(first)} == {"P07"}
    assert {r["face_label"] for r in rows if r["face_id"] == str(second)} == {""}
    pipeline.merge_faces(second, first)  # no worker now: the names still merge
    assert pipeline.names.label(first) == "P07" and pipeline.names.label(second) == ""

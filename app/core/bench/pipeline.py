"""End-to-end speed of the live path (detect -> track -> crop -> model -> smoothing) on this machine.

Test videos are generated from the shipped demo face (`assets/demo/astronaut_head.jpg`, cut to the face
with a margin of half the face box per side) at 640x480 and 1280x720, 30 fps, with 1 face (5/8 of the
frame height) and with 4 faces (a 2x2 grid, 7/16 of the height each), each face drifting slowly. Faces
are found with the live default (`PipelineSettings().plan()`). Two measurements per video and runtime:

- "live": the real `LivePipeline` (capture thread + inference worker) playing the video paced at its
  30 fps, like a webcam. Reports the processed frames per second (at most 30: the camera rate), the
  frames dropped because the worker was busy, and the latency from capture to packet (p50/p95).
- "sequential": the same stages called frame by frame in one worker thread with no pacing, which gives
  the capacity (frames/s the stages could sustain) and where the time goes: detection, model (crop +
  preprocessing + forward), and the rest (tracking, smoothing). It runs in a thread of its own, as the
  pipeline's inference worker does: on a busy 2-core machine torch's intra-op threads made the same
  forward pass 3-4x slower when called from the main thread than from another thread.
"""

from __future__ import annotations

import math
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from app.core.cropping import crop_square
from app.core.detection import FaceDetector
from app.core.face_finder import FaceFinder
from app.core.face_step import locate_faces, predict_located
from app.core.packets import FramePacket, PipelineEvent
from app.core.pipeline import LivePipeline, PipelineSettings
from app.core.smoothing import FaceSmoothers
from app.core.sources import DEMO_IMAGE, VideoFileSource, read_image_rgb
from app.core.tracking import FaceTracker
from model.runtimes import ENGINES

FRAME_SIZES = ((640, 480), (1280, 720))  # (width, height) of the benchmark videos
FPS = 30.0
GOAL_FPS = {1: 30.0, 4: 20.0}  # the design's targets: >= 30 fps with one face, >= 20 with four


def _render(head: np.ndarray, faces: int, t: float, width: int, height: int) -> np.ndarray:
    """One RGB frame (height,width,3) at time t with `faces` (1 or 4) heads drifting over a gradient."""
    rows = np.linspace(60, 150, height, dtype=np.float32)[:, None, None]  # (H,1,1)
    frame = np.repeat(np.repeat(rows, width, axis=1), 3, axis=2).astype(np.uint8)  # (H,W,3)
    grid = 1 if faces == 1 else 2
    side = round(height * (5 / 8 if grid == 1 else 7 / 16))
    scaled = cv2.resize(head, (side, side), interpolation=cv2.INTER_AREA)
    for i in range(faces):
        cell_w, cell_h = width / grid, height / grid
        cx = cell_w * (i % grid + 0.5) + 0.06 * cell_w * math.sin(0.9 * t + i)
        cy = cell_h * (i // grid + 0.5) + 0.06 * cell_h * math.sin(1.3 * t + 2 * i)
        x0, y0 = int(cx - side / 2), int(cy - side / 2)
        frame[y0 : y0 + side, x0 : x0 + side] = scaled
    return frame


def write_test_video(path: Path, faces: int, seconds: float,
                     size: tuple[int, int] = FRAME_SIZES[0]) -> Path:
    """Write a benchmark video (MJPG .avi, `size` = (width, height), 30 fps) with 1 or 4 faces."""
    if faces not in (1, 4):
        raise ValueError(f"the pipeline benchmark uses 1 or 4 faces, got {faces}")
    photo = read_image_rgb(DEMO_IMAGE)
    with FaceDetector(mode="image") as detector:
        found = detector.detect(photo)
    if not found:
        raise RuntimeError(f"no face found in {DEMO_IMAGE}; restore the file from the repository")
    head = crop_square(photo, found[0].box, margin=0.5)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), FPS, size)
    if not writer.isOpened():
        raise OSError(f"cannot write the benchmark video {path}")
    for i in range(int(round(seconds * FPS))):
        writer.write(cv2.cvtColor(_render(head, faces, i / FPS, *size), cv2.COLOR_RGB2BGR))
    writer.release()
    return path


def start_looping_pipeline(
    video: Path, predictor: Any, on_packet: Callable[[FramePacket], None],
    on_event: Callable[[PipelineEvent], None],
) -> LivePipeline:
    """A LivePipeline running `predictor` on `video` in a loop, as fast as it can (up to 4 faces)."""
    pipeline = LivePipeline(on_packet=on_packet, on_event=on_event,
                            settings=PipelineSettings(max_faces=4, pace_files=False),
                            runtime=predictor.runtime, device=predictor.device,
                            predictor_factory=lambda path, runtime, device: predictor)
    pipeline.start(VideoFileSource(video, loop=True))
    return pipeline


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0..100) of `values`; NaN when empty."""
    return float(np.percentile(values, q)) if values else float("nan")


@dataclass(frozen=True)
class PipelineResult:
    """One measurement: a video (faces), a runtime and a mode ("live" or "sequential")."""

    mode: str
    runtime: str
    faces: int
    frames: int  # frames processed in the measured window
    fps: float  # processed frames per second
    latency_ms_p50: float  # live: capture -> packet; sequential: one frame's stages
    latency_ms_p95: float
    detect_ms: float  # mean per frame
    model_ms: float  # mean per frame: crop + preprocessing + forward
    # mean per frame, everything else: sequential: tracking + smoothing; live: capture -> packet latency
    # minus detect and model (waiting in the one-slot holder for the worker, tracking, smoothing)
    other_ms: float
    faces_found: float  # mean faces per processed frame
    dropped_frames: int  # live only: frames the worker never took
    goal_fps: float
    frame: str = ""  # the video's frame size, "WIDTHxHEIGHT"


def measure_live(video: Path, predictor: Any, faces: int, warmup: int = 15) -> PipelineResult:
    """Play `video` through the real LivePipeline at its frame rate; figures after `warmup` packets."""
    packets: list[tuple[float, FramePacket]] = []
    errors: list[str] = []

    def on_packet(packet: FramePacket) -> None:
        packets.append((time.perf_counter(), packet))

    def on_event(event: PipelineEvent) -> None:
        if event.kind == "error":
            errors.append(event.message)

    settings = PipelineSettings(max_faces=4, pace_files=True)
    pipeline = LivePipeline(on_packet=on_packet, on_event=on_event, settings=settings,
                            runtime=predictor.runtime, device=predictor.device,
                            predictor_factory=lambda path, runtime, device: predictor)
    pipeline.start(VideoFileSource(video))
    while pipeline.threads_alive():
        time.sleep(0.05)
    pipeline.stop()
    if errors:
        raise RuntimeError(f"the pipeline failed while benchmarking {video}: {errors[0]}")
    window = packets[warmup:]
    if len(window) < 2:
        raise RuntimeError(f"too few frames were processed from {video} ({len(packets)}); use a longer video")
    elapsed = window[-1][0] - window[0][0]
    stats = [p.stats for _, p in window]
    latencies = [s.total_ms for s in stats]
    detect = float(np.mean([s.detect_ms for s in stats]))
    model = float(np.mean([s.model_ms for s in stats]))
    return PipelineResult(
        mode="live", runtime=predictor.runtime, faces=faces, frames=len(window),
        fps=(len(window) - 1) / elapsed, latency_ms_p50=percentile(latencies, 50),
        latency_ms_p95=percentile(latencies, 95), detect_ms=detect, model_ms=model,
        other_ms=float(np.mean([s.total_ms - s.detect_ms - s.model_ms for s in stats])),
        faces_found=float(np.mean([len(p.faces) for _, p in window])),
        dropped_frames=window[-1][1].stats.dropped_frames - window[0][1].stats.dropped_frames,
        goal_fps=GOAL_FPS[faces],
    )


def measure_sequential(video: Path, predictor: Any, faces: int, warmup: int = 5) -> PipelineResult:
    """Run detect -> track -> crop -> predict -> smooth on every frame in one worker thread, unpaced."""
    outcome: list[PipelineResult | BaseException] = []

    def work() -> None:
        try:
            outcome.append(_sequential(video, predictor, faces, warmup))
        except BaseException as exc:  # re-raised in the caller's thread below
            outcome.append(exc)

    thread = threading.Thread(target=work, name="affectscope-bench-sequential")
    thread.start()
    thread.join()
    if isinstance(outcome[0], BaseException):
        raise outcome[0]
    return outcome[0]


def _sequential(video: Path, predictor: Any, faces: int, warmup: int) -> PipelineResult:
    """The body of `measure_sequential` (runs in its worker thread)."""
    source = VideoFileSource(video)
    source.open()
    frames = []
    while True:
        ok, frame, timestamp = source.read()
        if not ok:
            break
        frames.append((frame, timestamp))
    source.close()
    live = PipelineSettings()  # the live default: its detection plan and tracker
    tracker = FaceTracker(live.track_iou, live.track_timeout_s, live.track_coast_s)
    smoothers = FaceSmoothers("one_euro")
    detect_ms, model_ms, total_ms, found = [], [], [], []
    with FaceFinder(live.plan()) as finder:
        for i, (frame, timestamp) in enumerate(frames):
            t0 = time.perf_counter()
            located, _ = locate_faces(finder, tracker, frame, timestamp, live.max_faces)
            t1 = time.perf_counter()
            smoothers.retain(tracker.active_ids)
            raw = predict_located(frame, located, predictor)
            t2 = time.perf_counter()
            for face in raw:
                smoothers.update(face.face_id, face.valence, face.arousal, timestamp)
            t3 = time.perf_counter()
            if i >= warmup:
                detect_ms.append((t1 - t0) * 1000.0)
                model_ms.append((t2 - t1) * 1000.0)
                total_ms.append((t3 - t0) * 1000.0)
                found.append(sum(f.detected for f in located))
    if not total_ms:
        raise RuntimeError(f"too few frames in {video} ({len(frames)}); use a longer video")
    detect, model, total = (float(np.mean(x)) for x in (detect_ms, model_ms, total_ms))
    return PipelineResult(
        mode="sequential", runtime=predictor.runtime, faces=faces, frames=len(total_ms),
        fps=1000.0 / total, latency_ms_p50=percentile(total_ms, 50),
        latency_ms_p95=percentile(total_ms, 95),
        detect_ms=detect, model_ms=model, other_ms=max(0.0, total - detect - model),
        faces_found=float(np.mean(found)), dropped_frames=0, goal_fps=GOAL_FPS[faces],
    )


def measure_switch(
    video: Path, path: Any, from_runtime: str, to_runtime: str, window_s: float = 6.0
) -> dict[str, Any]:
    """Play `video` (looping, paced) through the LivePipeline on `from_runtime`, switch the model `path`
    (None: the default model) to `to_runtime` mid-run, and report the frame rate in the `window_s`
    seconds after the switch, the frames dropped then, and how long the new runtime took to arrive.
    Run it with an empty ONNX cache (AFFECTSCOPE_CACHE_DIR) to include the one-time export."""
    from app.core.model_store import open_predictor

    times: list[tuple[float, str]] = []

    def on_packet(packet: FramePacket) -> None:
        times.append((time.perf_counter(), packet.stats.runtime))

    pipeline = LivePipeline(on_packet=on_packet, settings=PipelineSettings(max_faces=4, pace_files=True),
                            model_path=path, runtime=from_runtime,
                            predictor_factory=lambda p, r, d: open_predictor(p, runtime=r, device=d))
    pipeline.start(VideoFileSource(video, loop=True))
    while len(times) < 30:
        time.sleep(0.05)
    dropped_before = pipeline.stats.dropped_frames
    switched = time.perf_counter()
    pipeline.set_model(path, runtime=to_runtime)
    time.sleep(window_s)
    dropped = pipeline.stats.dropped_frames - dropped_before
    pipeline.stop()
    after = [(t, rt) for t, rt in times if switched <= t <= switched + window_s]
    target = "onnx" if to_runtime == "auto" else to_runtime  # auto on the CPU
    arrived = next((t - switched for t, rt in after if rt == target), float("nan"))
    worst = min((sum(1 for t, _ in after if start <= t < start + 1.0)
                 for start in np.arange(switched, switched + window_s - 1.0, 0.25)), default=0)
    return {"from": from_runtime, "to": to_runtime, "window_s": window_s,
            "fps_after_switch": len(after) / window_s, "worst_1s_fps": worst, "dropped_frames": dropped,
            "new_runtime_after_s": arrived}


def run_pipeline_benchmark(
    open_predictor: Callable[[str], Any],
    runtimes: tuple[str, ...] = ENGINES,
    seconds: float = 4.0,
    progress: Callable[[str], None] | None = None,
    sizes: tuple[tuple[int, int], ...] = FRAME_SIZES,
) -> dict[str, Any]:
    """Measure live and sequential speed with 1 and 4 faces for each runtime and frame size (the live
    default detection); returns a JSON-able report.

    `open_predictor(runtime)` returns the predictor to measure (the default model on the CPU).
    """
    results: list[PipelineResult] = []
    model: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="affectscope-bench-") as tmp:
        videos = {(f"{w}x{h}", n): write_test_video(Path(tmp) / f"faces{n}-{w}x{h}.avi", n, seconds, (w, h))
                  for w, h in sizes for n in (1, 4)}
        for runtime in runtimes:
            predictor = open_predictor(runtime)
            model = {"name": predictor.name, "untrained": predictor.untrained,
                     "input_size": predictor.config.input_size, "backbone": predictor.config.backbone}
            for (frame, faces), video in videos.items():
                for measure in (measure_sequential, measure_live):
                    if progress is not None:
                        progress(f"{measure.__name__.split('_')[1]} {runtime} {frame} {faces} face(s)")
                    results.append(replace(measure(video, predictor, faces), frame=frame))
    return {
        "benchmark": "pipeline",
        "video": {"sizes": [f"{w}x{h}" for w, h in sizes], "fps": FPS, "seconds": seconds,
                  "source": "assets/demo/astronaut_head.jpg, 1 face or a 2x2 grid of 4"},
        "detection": asdict(PipelineSettings().plan()),
        "model": model,
        "results": [asdict(r) for r in results],
    }


def markdown_table(report: dict[str, Any]) -> str:
    """The report's results as a Markdown table for docs/BENCHMARKS.md."""
    lines = ["| frame | mode | runtime | faces | fps (goal) | latency p50 / p95 ms | detect ms | model ms "
             "| other ms | faces found | dropped |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in report["results"]:
        lines.append(
            f"| {r['frame']} | {r['mode']} | {r['runtime']} | {r['faces']} | {r['fps']:.1f} "
            f"({r['goal_fps']:.0f}) | "
            f"{r['latency_ms_p50']:.1f} / {r['latency_ms_p95']:.1f} | {r['detect_ms']:.1f} | "
            f"{r['model_ms']:.1f} | {r['other_ms']:.1f} | {r['faces_found']:.2f} | {r['dropped_frames']} |")
    return "\n".join(lines) + "\n"

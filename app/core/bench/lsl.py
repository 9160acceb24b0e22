"""Lab Streaming Layer benchmark: capture-to-inlet latency, and fps with and without the outlet.

The real `LivePipeline` plays the pipeline benchmark's 4-face video (app/core/bench/pipeline.py) in a
loop, unpaced, in alternating blocks of `block_s` seconds: outlet off, outlet on, off, on, ... (so a
busy machine slows both alike; the fps are compared as a ratio of the same run). While the outlet is
on, an inlet in another process (as LabRecorder would be) reads every sample as it arrives; it stays
connected through every block. Latency = the LSL clock when the inlet got the sample minus the
sample's timestamp, which is the frame's capture time, so it spans capture, detection, the model, the
outlet and liblsl's loopback transport. The worker's cost of `publish` (building and queueing the
sample) is timed separately.
"""

from __future__ import annotations

import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from app.core.bench.pipeline import percentile, start_looping_pipeline, write_test_video
from app.core.lsl import AffectOutlet
from app.core.packets import FramePacket, PipelineEvent
from app.core.settings import LslSettings


def _read_stream(name: str, results, stop) -> None:
    """The consumer process: read stream `name` until `stop` is set; send the latencies (s) back."""
    import pylsl

    found = pylsl.resolve_byprop("name", name, timeout=30.0)
    if not found:
        results.send(None)
        return
    inlet = pylsl.StreamInlet(found[0], max_buflen=30)
    inlet.open_stream(timeout=10.0)
    results.send("open")
    latencies = []
    while not stop.is_set():
        sample, stamp = inlet.pull_sample(timeout=0.2)
        if sample is not None:
            latencies.append(pylsl.local_clock() - stamp)
    while (sample := inlet.pull_sample(timeout=0.5))[0] is not None:  # the samples still in transit
        latencies.append(pylsl.local_clock() - sample[1])
    results.send(latencies)


class _Reader:
    """A consumer in another process, as LabRecorder would be (a reader thread in this process would
    compete with the pipeline for the GIL and be measured as the outlet's cost)."""

    def __init__(self, name: str) -> None:
        import multiprocessing

        context = multiprocessing.get_context("spawn")
        self._results, child = context.Pipe(duplex=False)
        self._stop = context.Event()
        self._process = context.Process(target=_read_stream, args=(name, child, self._stop), daemon=True)
        self._process.start()
        if not self._results.poll(60.0) or self._results.recv() != "open":
            self._process.kill()
            raise RuntimeError(f"the benchmark's consumer did not find its stream {name} on this machine")

    def close(self) -> list[float]:
        """Stop the consumer; its latencies in seconds."""
        self._stop.set()
        latencies = self._results.recv() if self._results.poll(30.0) else []
        self._process.join(10.0)
        return latencies


def run_lsl_benchmark(predictor: Any, block_s: float = 10.0, blocks: int = 8,
                      progress=lambda message: None) -> dict[str, Any]:
    """Alternate `blocks` blocks (off, on, off, on, ...) of `block_s` seconds; returns the figures."""
    counts = {"packets": 0}
    errors: list[str] = []
    publish_ms: list[float] = []

    def on_packet(packet: FramePacket) -> None:
        counts["packets"] += 1

    def on_event(event: PipelineEvent) -> None:
        if event.kind == "error":
            errors.append(event.message)

    name = f"AffectScope-bench-{uuid.uuid4().hex[:6]}"
    outlet = AffectOutlet(LslSettings(enabled=True, stream_name=name))

    def timed_publish(packet: FramePacket) -> None:
        t0 = time.perf_counter()
        outlet.publish(packet)
        publish_ms.append((time.perf_counter() - t0) * 1000.0)

    reader = _Reader(name)
    fps: dict[str, list[float]] = {"off": [], "on": []}
    with tempfile.TemporaryDirectory(prefix="affectscope-lsl-bench-") as tmp:
        video = write_test_video(Path(tmp) / "lsl.avi", faces=4, seconds=10.0)
        pipeline = start_looping_pipeline(video, predictor, on_packet, on_event)
        try:
            if not pipeline.wait_ready(120.0):
                raise RuntimeError(f"the pipeline did not start: {pipeline.fault}")
            time.sleep(3.0)  # warm-up
            for block in range(blocks):
                mode = "on" if block % 2 else "off"
                if mode == "on":
                    pipeline.add_publisher(timed_publish)
                start_frames, started = counts["packets"], time.monotonic()
                time.sleep(block_s)
                fps[mode].append((counts["packets"] - start_frames) / (time.monotonic() - started))
                if mode == "on":
                    pipeline.remove_publisher(timed_publish)
                progress(f"lsl bench: block {block + 1}/{blocks} outlet {mode}: {fps[mode][-1]:.1f} fps")
                if errors:
                    raise RuntimeError(f"the pipeline failed: {errors[0]}")
        finally:
            pipeline.stop()
            latencies = reader.close()
            outlet.close()
    latency_ms = [s * 1000.0 for s in latencies]
    off, on = sum(fps["off"]) / len(fps["off"]), sum(fps["on"]) / len(fps["on"])
    return {
        "block_s": block_s,
        "blocks": blocks,
        "runtime": predictor.runtime,
        "fps_off": off,
        "fps_on": on,
        "fps_ratio_on_off": on / off if off else float("nan"),
        "samples_received": len(latency_ms),
        "latency_ms_p50": percentile(latency_ms, 50),
        "latency_ms_p95": percentile(latency_ms, 95),
        "publish_ms_p50": percentile(publish_ms, 50),
        "publish_ms_p95": percentile(publish_ms, 95),
        "samples_published": len(publish_ms),
    }


def lsl_summary(report: dict[str, Any]) -> str:
    """A Markdown table for docs/BENCHMARKS.md."""
    r = report
    return (
        "| fps outlet off | fps outlet on | on/off | capture-to-inlet p50 / p95 ms "
        "| publish p50 / p95 ms | samples published / received |\n"
        "|---|---|---|---|---|---|\n"
        f"| {r['fps_off']:.1f} | {r['fps_on']:.1f} | {r['fps_ratio_on_off']:.3f} | "
        f"{r['latency_ms_p50']:.1f} / {r['latency_ms_p95']:.1f} | "
        f"{r['publish_ms_p50']:.3f} / {r['publish_ms_p95']:.3f} | "
        f"{r['samples_published']} / {r['samples_received']} |"
    )

"""Soak test of the live path with the session recorder: does memory stay flat, is every row written?

The real `LivePipeline` (capture thread + inference worker) plays the pipeline benchmark's 4-face video
(app/core/bench/pipeline.py) in a loop, unpaced (the capture thread reads as fast as it decodes and the
one-slot holder drops what the worker cannot take, as with a fast camera), while a `SessionRecorder`
writes every packet to a CSV. Every `sample_s` seconds the process's resident memory (VmRSS) is read.

Reported: frames processed, the RSS samples, the growth from the end of the warm-up (the first
`warmup_fraction` of the run, when caches and allocator pools fill) to the end, the growth over the
second half alone (flat means ~0), and whether the CSV holds exactly one row per face per processed
frame (a `no_face` row for a frame without a face) for every frame delivered while the recording ran:
rows expected vs rows in the file, frame by frame. The last sample is taken while the pipeline still
runs; `rss_mb_after_summary` after the recording's summary was written (it reads the CSV back).
"""

from __future__ import annotations

import csv
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from app.core.bench.pipeline import start_looping_pipeline, write_test_video
from app.core.packets import FramePacket, PipelineEvent

GOAL_GROWTH_MB = 50.0  # over 100,000 frames


def rss_mb() -> float:
    """This process's resident set size in MB (Linux /proc; NaN elsewhere)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return float("nan")


def _rows_per_frame(path: Path) -> Counter:
    """Rows of a session CSV per `frame` value."""
    with path.open(newline="", encoding="utf-8") as handle:
        return Counter(int(row["frame"]) for row in csv.DictReader(handle))


def _lost_rows(delivered: dict[int, int], recorded: Counter) -> tuple[int, int]:
    """(rows expected, rows missing) over the delivered frames from the first to the last recorded one:
    every frame in that span must be in the CSV with one row per face (one no_face row without)."""
    if not recorded:
        return sum(delivered.values()), sum(delivered.values())
    first, last = min(recorded), max(recorded)
    span = {frame: rows for frame, rows in delivered.items() if first <= frame <= last}
    missing = sum(max(0, rows - recorded.get(frame, 0)) for frame, rows in span.items())
    extra = sum(max(0, n - span.get(frame, 0)) for frame, n in recorded.items())
    return sum(span.values()), missing + extra


def run_soak(
    predictor: Any,
    minutes: float,
    max_frames: int | None = None,
    sample_s: float = 10.0,
    warmup_fraction: float = 0.1,
    progress: Callable[[str], None] = lambda message: None,
) -> dict[str, Any]:
    """Run the live path with the recorder for `minutes` (or until `max_frames` processed frames)."""
    counts = {"packets": 0, "faces": 0}
    delivered: dict[int, int] = {}  # frame index -> CSV rows it should have
    errors: list[str] = []
    lock = threading.Lock()

    def on_packet(packet: FramePacket) -> None:
        with lock:
            counts["packets"] += 1
            counts["faces"] += len(packet.faces)
            delivered[packet.frame_index] = max(1, len(packet.faces))  # no face: one no_face row

    def on_event(event: PipelineEvent) -> None:
        if event.kind == "error":
            errors.append(event.message)

    with tempfile.TemporaryDirectory(prefix="affectscope-soak-") as tmp:
        video = write_test_video(Path(tmp) / "soak.avi", faces=4, seconds=10.0)
        pipeline = start_looping_pipeline(video, predictor, on_packet, on_event)
        csv_path = pipeline.start_recording(Path(tmp) / "soak.csv", participant="soak")
        samples: list[dict[str, float]] = []
        started = time.monotonic()
        deadline = started + minutes * 60.0
        next_sample = started
        while time.monotonic() < deadline and not errors:
            with lock:
                frames = counts["packets"]
            if max_frames is not None and frames >= max_frames:
                break
            now = time.monotonic()
            if now >= next_sample:
                samples.append({"elapsed_s": round(now - started, 1), "frames": frames, "rss_mb": rss_mb()})
                progress(f"soak: {now - started:6.0f} s, {frames} frames, RSS {samples[-1]['rss_mb']:.1f} MB")
                next_sample += sample_s
            time.sleep(0.2)
        elapsed = time.monotonic() - started
        samples.append({"elapsed_s": round(elapsed, 1), "frames": counts["packets"], "rss_mb": rss_mb()})
        pipeline.stop_recording()  # writes the summary, which reads the whole CSV back
        stats = pipeline.stats
        pipeline.stop()
        after_summary = rss_mb()
        recorded = _rows_per_frame(csv_path)
    rows_expected, rows_lost = _lost_rows(delivered, recorded)
    if errors:
        raise RuntimeError(f"the pipeline failed during the soak: {errors[0]}")
    warm = next((s for s in samples if s["elapsed_s"] >= warmup_fraction * elapsed), samples[0])
    half = next((s for s in samples if s["elapsed_s"] >= 0.5 * elapsed), samples[0])
    end = samples[-1]
    return {
        "minutes": round(elapsed / 60.0, 2),
        "frames": counts["packets"],
        "fps": counts["packets"] / elapsed if elapsed > 0 else 0.0,
        "faces_per_frame": counts["faces"] / max(1, counts["packets"]),
        "dropped_frames": stats.dropped_frames,
        "runtime": predictor.runtime,
        "rss_mb_start": samples[0]["rss_mb"],
        "rss_mb_after_warmup": warm["rss_mb"],
        "rss_mb_end": end["rss_mb"],
        "growth_mb_after_warmup": end["rss_mb"] - warm["rss_mb"],
        "growth_mb_second_half": end["rss_mb"] - half["rss_mb"],
        "rss_mb_after_summary": after_summary,
        "rows_expected": rows_expected,
        "rows_in_csv": sum(recorded.values()),
        "rows_lost": rows_lost,
        "goal_growth_mb": GOAL_GROWTH_MB,
        "samples": samples,
    }


def soak_summary(report: dict[str, Any]) -> str:
    """A few Markdown lines for docs/BENCHMARKS.md."""
    r = report
    return (
        "| frames | minutes | fps | faces/frame | RSS start / after warm-up / end MB "
        "| growth after warm-up MB | growth 2nd half MB | rows expected / in CSV |\n"
        "|---|---|---|---|---|---|---|---|\n"
        f"| {r['frames']} | {r['minutes']:.1f} | {r['fps']:.1f} | {r['faces_per_frame']:.2f} | "
        f"{r['rss_mb_start']:.0f} / {r['rss_mb_after_warmup']:.0f} / {r['rss_mb_end']:.0f} | "
        f"{r['growth_mb_after_warmup']:+.1f} (goal < {r['goal_growth_mb']:.0f}) | "
        f"{r['growth_mb_second_half']:+.1f} | {r['rows_expected']} / {r['rows_in_csv']} |"
    )

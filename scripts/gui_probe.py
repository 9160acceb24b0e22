"""Drive the real AffectScope window for screenshots and a responsiveness measurement.

Run it on a display (scripts/screenshots.sh runs it under xvfb-run):

    python scripts/gui_probe.py --seconds 60 --screenshots docs/screenshots --benchmarks docs/BENCHMARKS.md

It starts the application exactly as `python main.py gui --source VIDEO --record CSV` does (through
`app.gui.app.run_gui`, with a throw-away settings file), waits until the recording runs, then for
`--seconds` seconds measures
- GUI-thread stalls: a 10 ms QTimer (precise) in the GUI thread records the gap between its ticks; the
  worst and the 99th-percentile gap say how long the event loop was ever blocked (goal: never > 100 ms);
- displayed fps (new packets painted per second) against processing fps (packets the pipeline produced
  and delivered per second) (goal: displayed >= 0.9x processing).
Then it saves a screenshot of each tab, stops the recording (the summary appears in the window), saves
the Live tab once more, closes the window, prints the numbers, writes them as JSON and replaces the
"GUI responsiveness" section of the benchmarks file (other sections are left as they are).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SECTION = "## GUI responsiveness"
TICK_MS = 10


def make_video(path: Path, seconds: float, fps: float = 25.0, size: tuple[int, int] = (640, 480)) -> Path:
    """A webcam stand-in: the demo source's two drifting faces written as MJPG .avi."""
    import cv2

    from app.core.sources import DemoSource

    demo = DemoSource(width=size[0], height=size[1], fps=fps, faces=2)
    demo.open()
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, size)
    if not writer.isOpened():
        raise SystemExit(f"cannot write the test video {path}")
    for i in range(int(seconds * fps)):
        writer.write(cv2.cvtColor(demo.render(i / fps), cv2.COLOR_RGB2BGR))
    writer.release()
    demo.close()
    return path


class Probe:
    """Timers in the GUI thread that wait for the recording, measure, take screenshots and close."""

    def __init__(self, window, args: argparse.Namespace) -> None:
        from PySide6.QtCore import Qt, QTimer

        self.window = window
        self.live = window.live_tab
        self.args = args
        self.results: dict = {}
        self.gaps_ms: list[float] = []
        self.paint_ms: list[float] = []  # LiveTab.paint() per new packet (Qt's rendering comes after)
        self._last_tick = 0.0
        self._t0 = 0.0
        self._start_counts = (0, 0)
        self._processing_fps: list[float] = []
        self.ticker = QTimer(window)
        self.ticker.setTimerType(Qt.TimerType.PreciseTimer)
        self.ticker.setInterval(TICK_MS)
        self.ticker.timeout.connect(self._tick)
        self.poller = QTimer(window)
        self.poller.setInterval(100)
        self.poller.timeout.connect(self._wait_for_recording)
        self.poller.start()
        self._deadline = time.monotonic() + args.startup_timeout

    def _wait_for_recording(self) -> None:
        from PySide6.QtCore import QTimer

        if self.live.recording_path and self.live.frames_painted > 5:
            self.poller.stop()
            QTimer.singleShot(int(self.args.warmup * 1000), self._start_measuring)
        elif time.monotonic() > self._deadline:
            self.poller.stop()
            self.results["error"] = "the live run or the recording did not start in time"
            self.window.close_without_asking()  # the batch's rows are not exported: do not ask

    def _start_measuring(self) -> None:
        from PySide6.QtCore import QTimer

        self._t0 = self._last_tick = time.perf_counter()
        self._start_counts = (self.live.packets_received, self.live.frames_painted)
        self._load_before = os.getloadavg()[0]
        self.live.stats_updated.connect(self._on_stats)
        self.live.display_timer.timeout.disconnect(self.live.paint)  # time the real paint, nothing else
        self.live.display_timer.timeout.connect(self._timed_paint)
        self.ticker.start()
        QTimer.singleShot(int(self.args.seconds * 1000), self._finish_measuring)

    def _tick(self) -> None:
        now = time.perf_counter()
        self.gaps_ms.append((now - self._last_tick) * 1000.0)
        self._last_tick = now

    def _timed_paint(self) -> None:
        painted = self.live.frames_painted
        t0 = time.perf_counter()
        self.live.paint()
        if self.live.frames_painted != painted:
            self.paint_ms.append((time.perf_counter() - t0) * 1000.0)

    def _on_stats(self, stats, displayed_fps: float) -> None:
        self._processing_fps.append(stats.processing_fps)

    def _finish_measuring(self) -> None:
        self.ticker.stop()
        elapsed = time.perf_counter() - self._t0
        packets = self.live.packets_received - self._start_counts[0]
        painted = self.live.frames_painted - self._start_counts[1]
        gaps = np.asarray(self.gaps_ms)
        paints = np.asarray(self.paint_ms or [0.0])
        self.results.update({
            "seconds": round(elapsed, 2),
            "timer_interval_ms": TICK_MS,
            "timer_ticks": int(gaps.size),
            "worst_gap_ms": round(float(gaps.max()), 1),
            "p99_gap_ms": round(float(np.percentile(gaps, 99)), 1),
            "median_gap_ms": round(float(np.median(gaps)), 1),
            "gaps_over_100ms": int((gaps > 100.0).sum()),
            "processing_fps": round(packets / elapsed, 2),
            "pipeline_reported_processing_fps": round(float(np.mean(self._processing_fps or [0.0])), 2),
            "displayed_fps": round(painted / elapsed, 2),
            "displayed_over_processing": round(painted / max(packets, 1), 3),
            "paint_ms_mean": round(float(paints.mean()), 1),
            "paint_ms_p99": round(float(np.percentile(paints, 99)), 1),
            "paint_ms_max": round(float(paints.max()), 1),
            "packets": packets,
            "painted": painted,
            "recording": self.live.recording_path,
            "model": self.live.model_name,
            "load_average_1min": [round(self._load_before, 2), round(os.getloadavg()[0], 2)],
        })
        tabs = self.window.tabs
        tabs.setCurrentWidget(self.live)
        self._shoot("live.png")
        images = self.window.images_tab
        tabs.setCurrentWidget(images)
        images.add_paths(self.args.images)
        finished = lambda: not images.running and images.table.model().rowCount() > 0  # noqa: E731
        self._poll(finished, self._shoot_images, 180.0)

    def _poll(self, done, then, timeout_s: float) -> None:
        """Call `then` once `done()` is true (checked every 100 ms) or `timeout_s` has passed."""
        self._deadline = time.monotonic() + timeout_s

        def check() -> None:
            if done() or time.monotonic() > self._deadline:
                self.poller.stop()
                then()

        self.poller.timeout.disconnect()
        self.poller.timeout.connect(check)
        self.poller.start()

    def _shoot_images(self) -> None:
        images = self.window.images_tab
        images.select_row(0)
        self._shoot("images.png")
        self.window.tabs.setCurrentWidget(self.window.training_tab)
        self._shoot("training.png")
        self.window.tabs.setCurrentWidget(self.live)
        self.live.stop_recording()
        self._poll(lambda: self.live.last_summary is not None, self._shoot_summary, 60.0)

    def _shoot(self, name: str) -> None:
        from PySide6.QtWidgets import QApplication

        QApplication.processEvents()
        path = Path(self.args.screenshots) / name
        path.parent.mkdir(parents=True, exist_ok=True)
        self.window.grab().save(str(path))
        shown = path.resolve().relative_to(ROOT) if path.resolve().is_relative_to(ROOT) else path
        self.results.setdefault("screenshots", []).append(str(shown))

    def _shoot_summary(self) -> None:
        self.live.overlay_box.setChecked(True)
        self.live.paint()
        self._shoot("live_summary.png")
        self.window.close_without_asking()  # the batch's rows are not exported: do not ask


def make_images(folder: Path) -> list[Path]:
    """Three stills for the Images tab: two demo frames and the bundled astronaut photo."""
    import cv2

    from app.core.sources import DEMO_IMAGE, DemoSource

    folder.mkdir(parents=True, exist_ok=True)
    demo = DemoSource(width=640, height=480, faces=2)
    demo.open()
    paths = []
    for t in (1.0, 4.0):
        path = folder / f"demo_{t:.0f}s.jpg"
        cv2.imwrite(str(path), cv2.cvtColor(demo.render(t), cv2.COLOR_RGB2BGR))
        paths.append(path)
    demo.close()
    return [*paths, DEMO_IMAGE]


def write_section(path: Path, results: dict, args: argparse.Namespace) -> str:
    """Replace (or append) the "GUI responsiveness" section of the benchmarks file; returns the text."""
    r = results
    load = r["load_average_1min"]
    gap_verdict = "met" if r["worst_gap_ms"] <= 100.0 else "NOT met"
    fps_verdict = "met" if r["displayed_fps"] >= 0.9 * r["processing_fps"] else "NOT met"
    text = f"""{SECTION}

Measured by `scripts/screenshots.sh` (`scripts/gui_probe.py`): the real window under `xvfb-run`, a
{args.video_desc} video as the source, recording on, {r['seconds']:.0f} s after a {args.warmup:.0f} s warm-up;
{platform.machine()} CPU with {os.cpu_count()} cores, no GPU; model: {r['model']}. System load (1-min load
average before / after, other jobs included): {load[0]:.1f} / {load[1]:.1f}.

| measure | value | goal |
|---|---|---|
| 10 ms GUI-thread timer: worst gap | {r['worst_gap_ms']:.1f} ms | <= 100 ms ({gap_verdict}) |
| 10 ms GUI-thread timer: p99 gap | {r['p99_gap_ms']:.1f} ms | |
| 10 ms GUI-thread timer: median gap | {r['median_gap_ms']:.1f} ms | |
| gaps over 100 ms | {r['gaps_over_100ms']} of {r['timer_ticks']} ticks (an idle thread gets \
~{r['seconds'] * 1000 / TICK_MS:.0f}) | 0 |
| processing fps (packets delivered) | {r['processing_fps']:.2f} | |
| displayed fps (new packets painted) | {r['displayed_fps']:.2f} | >= 0.9x processing ({fps_verdict}) |
| displayed / processing | {r['displayed_over_processing']:.3f} | >= 0.9 |
| LiveTab.paint() per new packet: mean / p99 / max | {r['paint_ms_mean']:.1f} / {r['paint_ms_p99']:.1f} / \
{r['paint_ms_max']:.1f} ms | |

The display timer paints only when a new packet has arrived, so displayed fps follows processing fps
until painting itself becomes the bottleneck. A gap is the time the GUI thread could not run its timer:
its own painting (the paint() row, plus Qt's rendering of the changed widgets that follows it) and the
time it waited for a CPU core, shared with the capture and inference threads of the same process (the
model runs with all cores but one, `app.gui.app.reserve_gui_core`), the X server and any other jobs.
"""
    old = path.read_text(encoding="utf-8") if path.is_file() else "# Benchmarks\n"
    start = old.find(SECTION)
    if start >= 0:
        end = old.find("\n## ", start + len(SECTION))
        new = old[:start] + text + ("\n" + old[end + 1:] if end >= 0 else "")
    else:
        new = old.rstrip("\n") + "\n\n" + text
    path.write_text(new, encoding="utf-8")
    return text


def main() -> int:
    """Parse arguments, run the window with the probe, report."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="length of the measurement")
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds of live run before measuring")
    parser.add_argument("--video", type=Path, help="source video (default: a generated two-face video)")
    parser.add_argument("--model", type=Path, help="model file (default: the app's default model)")
    parser.add_argument("--screenshots", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("--benchmarks", type=Path, default=None, help="Markdown file to update")
    parser.add_argument("--json", type=Path, default=None, help="write the numbers here as JSON")
    parser.add_argument("--startup-timeout", type=float, default=180.0)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="affectscope-probe-"))
    if args.video is None:
        args.video = make_video(work / "two_faces.avi", args.seconds + args.warmup + 60.0)
        args.video_desc = "generated 640x480, 25 fps two-face"
    else:
        args.video_desc = f"{args.video.name}"
    args.images = make_images(work / "images")
    from app.gui.app import GuiOptions, run_gui

    probe: dict[str, Probe] = {}
    code = run_gui(
        GuiOptions(source=str(args.video), record=work / "session.csv", model=args.model,
                   settings_file=work / "settings.ini"),
        setup=lambda window: probe.setdefault("probe", Probe(window, args)),
    )
    results = probe["probe"].results if "probe" in probe else {"error": "the window did not start"}
    print(json.dumps(results, indent=2))
    if "error" in results or code != 0:
        print(f"gui_probe: failed (exit code {code}): {results.get('error', '')}", file=sys.stderr)
        return 1
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    if args.benchmarks:
        print(write_section(args.benchmarks, results, args))
    return 0


if __name__ == "__main__":
    sys.exit(main())

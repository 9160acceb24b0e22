"""`bench --viewer`: how long a long recording takes to open in the Viewer tab, and how smoothly it
scrolls and scrubs (offscreen Qt, the real tab).

    report = run_viewer_bench(minutes=60, fps=30, faces=4)    # about 432k rows
    print(markdown_table(report))

Steps, each timed on this CPU: write the generated session (long_session.py, not timed as "open");
read it alone (`load_session`); open it in a ViewerTab (from `open_session` to every figure drawn and
painted once); pan a 60-s window across the hour (each step handled and painted by the event loop, so
the time per step is what a user waits for while scrolling); zoom out to the whole hour; scrub 200
cursor steps at the whole-hour zoom (video-less: the faces, labels and cursor lines); add an exclusion
(the annotation file written, every figure drawn again). Goals (issue 17): open < 5 s; a scroll step
< 50 ms (20 redraws per second).
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication

from app.core.bench.long_session import write_long_session
from app.core.session_table import load_session
from app.gui.tabs.viewer import ViewerTab

OPEN_GOAL_S = 5.0
STEP_GOAL_MS = 50.0
WINDOW_S = 60.0  # the visible span while panning
PAN_STEPS = 60
SCRUB_STEPS = 200
OPEN_TIMEOUT_S = 300.0


def _paint(tab: ViewerTab) -> None:
    """Let the event loop do what the step asked for: deliver the range and position changes and paint
    every figure they changed, once (as one turn of the loop does on screen)."""
    QApplication.processEvents()


def _percentiles(values_ms: list[float]) -> dict[str, float]:
    ordered = sorted(values_ms)
    return {
        "median_ms": statistics.median(ordered),
        "p95_ms": ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))],
        "max_ms": ordered[-1],
    }


def run_viewer_bench(minutes: float = 60.0, fps: float = 30.0, faces: int = 4, size=(1600, 1000)) -> dict:
    """Generate a session of `minutes` x `fps` x `faces` rows and time the Viewer on it (module doc)."""
    app = QApplication.instance()
    report: dict[str, Any] = {"minutes": minutes, "fps": fps, "faces": faces, "window_px": list(size)}
    with tempfile.TemporaryDirectory() as folder:
        csv_path = Path(folder) / "long_session.csv"
        start = time.perf_counter()
        report["rows"] = write_long_session(csv_path, minutes * 60.0, fps, faces)
        report["write_s"] = time.perf_counter() - start
        report["file_mb"] = csv_path.stat().st_size / 1e6
        start = time.perf_counter()
        load_session(csv_path)
        report["read_s"] = time.perf_counter() - start
        tab = ViewerTab(QSettings(str(Path(folder) / "bench.ini"), QSettings.Format.IniFormat))
        tab.resize(*size)
        tab.show()
        QApplication.processEvents()
        start = time.perf_counter()
        tab.open_session(csv_path)
        while (tab.view is None or tab.load_job.running) and time.perf_counter() - start < OPEN_TIMEOUT_S:
            app.processEvents()
            time.sleep(0.002)
        _paint(tab)
        report["open_s"] = time.perf_counter() - start
        plot = tab.va_figure.plots["valence"]
        steps = []
        for k in range(PAN_STEPS):
            t0 = k * (minutes * 60.0 - WINDOW_S) / max(1, PAN_STEPS - 1)
            begin = time.perf_counter()
            plot.setXRange(t0, t0 + WINDOW_S, padding=0)
            _paint(tab)
            steps.append(1e3 * (time.perf_counter() - begin))
        report["pan"] = _percentiles(steps)
        begin = time.perf_counter()
        plot.setXRange(0.0, minutes * 60.0, padding=0)
        _paint(tab)
        report["zoom_out_ms"] = 1e3 * (time.perf_counter() - begin)
        scrubs = []
        for k in range(SCRUB_STEPS):
            begin = time.perf_counter()
            tab.slider.setValue(tab.slider.value() + 1 + k)
            tab._frame_timer.stop()
            tab._show_frame()
            _paint(tab)
            scrubs.append(1e3 * (time.perf_counter() - begin))
        report["scrub"] = _percentiles(scrubs)
        begin = time.perf_counter()
        tab.set_selection(600.0, 660.0)
        tab.edits.excluded.text.setText("bench")
        tab.edits.exclude_selection()
        _paint(tab)
        report["edit_s"] = time.perf_counter() - begin
        tab.shutdown()
        tab.close()
    report["open_goal_met"] = report["open_s"] < OPEN_GOAL_S
    report["pan_goal_met"] = report["pan"]["p95_ms"] < STEP_GOAL_MS
    return report


def markdown_table(report: dict) -> str:
    """The figures as a Markdown table (for docs/BENCHMARKS.md)."""
    lines = [
        f"{report['minutes']:.0f} min at {report['fps']:.0f} fps, {report['faces']} faces: "
        f"{report['rows']} rows, "
        f"{report['file_mb']:.0f} MB; window {report['window_px'][0]}x{report['window_px'][1]}",
        "",
        "| step | time |",
        "|---|---|",
        f"| read the CSV alone | {report['read_s']:.2f} s |",
        f"| open in the Viewer (read, draw, paint) | **{report['open_s']:.2f} s** "
        f"(goal < {OPEN_GOAL_S:.0f} s) |",
        f"| pan a {WINDOW_S:.0f}-s window, per step | median {report['pan']['median_ms']:.0f} ms, p95 "
        f"{report['pan']['p95_ms']:.0f} ms (goal p95 < {STEP_GOAL_MS:.0f} ms) |",
        f"| zoom out to the whole recording | {report['zoom_out_ms']:.0f} ms |",
        f"| scrub one step (cursor, faces) | median {report['scrub']['median_ms']:.0f} ms, p95 "
        f"{report['scrub']['p95_ms']:.0f} ms |",
        f"| exclude a range (save, redraw all) | {report['edit_s']:.2f} s |",
    ]
    return "\n".join(lines)

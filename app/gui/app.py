"""Starting the desktop application: environment fixes, the display check, QApplication, settings, window.

`run_gui(options)` is what `python main.py gui` calls. Before Qt starts it
- removes QT_QPA_PLATFORM_PLUGIN_PATH / QT_QPA_FONTDIR, which importing cv2 (opencv-contrib) points at
  its own Qt5 folders and which would make PySide6 load the wrong plugins;
- checks for a display: on Linux without DISPLAY / WAYLAND_DISPLAY (and no explicit non-window
  platform such as QT_QPA_PLATFORM=offscreen) it prints what to do and returns exit code 2 instead of
  letting Qt abort with a traceback.
Then it leaves a CPU core to the GUI (`reserve_gui_core`), opens the settings (QSettings), builds the
MainWindow, applies the command-line choices (source, model, recording, exit timer) and runs the event
loop.
"""

from __future__ import annotations

import gc
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

EXIT_NO_DISPLAY = 2
# Qt platforms that need no window system (the user chose them on purpose).
HEADLESS_PLATFORMS = ("offscreen", "minimal", "vnc", "eglfs", "linuxfb", "vkkhrdisplay")
NO_DISPLAY_HELP = """\
affectscope gui: no display found (DISPLAY and WAYLAND_DISPLAY are not set), so no window can be shown.
What to do:
  - run it from a desktop session, or over ssh with X forwarding (ssh -X);
  - on a server, use a virtual display:   xvfb-run -a python main.py gui ...
    (Debian/Ubuntu: sudo apt-get install xvfb xauth)
  - for automation without any window:    QT_QPA_PLATFORM=offscreen python main.py gui ...
  - for files without the GUI:            python main.py analyze PATH --out results.csv
"""


STARTUP_TICK_MS = 20  # `--startup-report` checks the status bar this often
STARTUP_REPORT_TIMEOUT_S = 120.0  # `--startup-report` gives up waiting for the model after this


@dataclass
class GuiOptions:
    """What the command line may preset; None keeps the remembered setting."""

    source: str | None = None  # "demo", a camera index, a video file, an image file or folder
    record: Path | None = None  # start recording to this CSV once the source runs
    exit_after_s: float | None = None  # close the window (cleanly) after this many seconds
    model: Path | None = None
    runtime: str | None = None
    device: str | None = None
    settings_file: Path | None = None  # an INI file instead of the user's settings
    open_session: Path | None = None  # a recording to open in the Viewer tab
    startup_report: Path | None = None  # write when the window showed and the model was named, then quit


def clean_qt_environment() -> None:
    """Drop the Qt plugin/font paths cv2 sets on import; PySide6 must use its own."""
    for name in ("QT_QPA_PLATFORM_PLUGIN_PATH", "QT_QPA_FONTDIR"):
        os.environ.pop(name, None)


def reserve_gui_core() -> int:
    """Give torch's intra-op pool all cores but one (at most 4), unless OMP_NUM_THREADS is set; call it
    before torch is imported (the window imports torch only when a model loads, after it is shown).

    It sets OMP_NUM_THREADS, which torch reads when it starts its pool. The GUI thread, the capture
    thread and the face detector need CPU while the model runs; with torch
    using every core, its threads and the GUI thread preempt each other, which stalls the window and,
    on a busy 2-core machine, made inference ~10x slower (measured: 1.3-2.5 s instead of 0.15-0.19 s per
    two-face batch of the default model). Returns the thread count in use.
    """
    if not os.environ.get("OMP_NUM_THREADS", "").strip().isdigit():
        os.environ["OMP_NUM_THREADS"] = str(max(1, min(4, (os.cpu_count() or 2) - 1)))
    return int(os.environ["OMP_NUM_THREADS"])


GC_INTERVAL_S = 1.0  # how often the GUI thread collects cyclic garbage


def collect_garbage_in_the_gui_thread():
    """Turn Python's automatic cyclic-garbage collection off and run it from a timer in the GUI thread
    instead (pyqtgraph's GarbageCollector). Otherwise a collection may start in any thread that
    allocates (the model loading, a training job) and destroy a widget there, and Qt objects must be
    destroyed in the GUI thread: done elsewhere, it crashes or deadlocks with the GUI thread. Returns
    the collector; keep a reference to it."""
    from pyqtgraph.util.garbage_collector import GarbageCollector

    return GarbageCollector(interval=GC_INTERVAL_S)


def offscreen_application():
    """A QApplication that draws without any display (QT_QPA_PLATFORM=offscreen), for the headless
    commands that render figures (`report`, `bench --viewer`); the running one when there is one."""
    from PySide6.QtWidgets import QApplication

    if QApplication.instance() is not None:
        return QApplication.instance()
    os.environ["QT_QPA_PLATFORM"] = "offscreen"
    import cv2  # noqa: F401 - imported before Qt starts so its environment changes can be undone

    clean_qt_environment()
    return QApplication(sys.argv[:1])


def display_problem() -> str | None:
    """Why no window can be shown here (the text to print), or None when a display is available."""
    if not sys.platform.startswith("linux"):
        return None
    platform = os.environ.get("QT_QPA_PLATFORM", "").split(":")[0].strip().lower()
    if platform in HEADLESS_PLATFORMS:
        return None
    if os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"):
        return None
    return NO_DISPLAY_HELP


def run_gui(options: GuiOptions, setup: Callable[[object], None] | None = None) -> int:
    """Start the application with `options`; returns the exit code.

    `setup(window)`, when given, runs after the window is shown and before the event loop starts
    (used by scripts/gui_probe.py to take screenshots and measure responsiveness).
    """
    clean_qt_environment()
    problem = display_problem()
    if problem is not None:
        print(problem, file=sys.stderr, end="")
        return EXIT_NO_DISPLAY
    import cv2  # noqa: F401 - imported before Qt starts so its environment changes can be undone

    clean_qt_environment()
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from app.core.sources import source_spec_from_arg
    from app.gui.main_window import MainWindow
    from app.gui.settings import APPLICATION, ORGANIZATION, open_settings

    reserve_gui_core()  # before anything imports torch
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setOrganizationName(ORGANIZATION)
    app.setApplicationName(APPLICATION)
    collector = collect_garbage_in_the_gui_thread()  # kept alive for the event loop's lifetime
    settings = open_settings(options.settings_file)
    window = MainWindow(settings)
    live = window.live_tab
    window.show()  # the model loads behind it (MainWindow.showEvent): the window is up before torch is
    if options.model is not None or options.runtime or options.device:
        path, runtime, device = live.models.choice()
        live.apply_model(str(options.model) if options.model is not None else path,
                         options.runtime or runtime, options.device or device)
    if options.source is not None:
        live.set_source_spec(source_spec_from_arg(options.source))
        window.tabs.setCurrentWidget(live)
        live.start()
        if options.record is not None:
            live.start_recording(options.record)
    if options.open_session is not None:
        window.review_session(str(options.open_session))
    if options.exit_after_s is not None:
        QTimer.singleShot(int(options.exit_after_s * 1000), window.close_without_asking)
    if options.startup_report is not None:
        _report_startup(window, options.startup_report)
    if setup is not None:
        setup(window)
    try:
        return int(app.exec())
    finally:
        collector.timer.stop()
        gc.enable()  # the event loop has ended: collections may run anywhere again


def _report_startup(window, path: Path) -> None:
    """`bench --startup`: write the wall-clock times at which the window showed and the status bar named
    the loaded model, and the longest the event loop stalled in between (JSON), then close the window."""
    import json
    import time

    from PySide6.QtCore import QTimer

    from model.io import write_text_atomic

    shown = time.time()
    ticks = [shown]  # when the timer ran: the gaps are what a user would feel as a frozen window
    timer = QTimer(window)

    def check() -> None:
        ticks.append(time.time())
        if window.live_tab.provenance is None and time.time() - shown < STARTUP_REPORT_TIMEOUT_S:
            return
        timer.stop()
        named = time.time() if window.live_tab.provenance is not None else None
        stall = max(b - a for a, b in zip(ticks, ticks[1:], strict=False))
        write_text_atomic(path, json.dumps({"window_shown": shown, "model_named": named,
                                            "longest_stall_s": stall, "model": window.status.model.text()}))
        window.close_without_asking()

    timer.timeout.connect(check)
    timer.start(STARTUP_TICK_MS)

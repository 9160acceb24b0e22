"""The main window: composition only. It holds the Live, Images, Training and Viewer tabs, the menus and
shortcuts, the status bar and the log, and wires the tabs' signals together; every feature lives in a
tab or a widget.

Messages: each tab's `status_message(str)` goes to the status bar (transient) and the log dock (kept),
never to a modal box. The Training tab's `model_ready(path)` switches the Live tab to that model.
"""

from __future__ import annotations

import time

from PySide6.QtCore import QByteArray, QSettings, Qt, QTimer, QUrl, Slot
from PySide6.QtGui import QAction, QActionGroup, QCloseEvent, QDesktopServices, QKeySequence, QShowEvent
from PySide6.QtWidgets import QDockWidget, QMainWindow, QMessageBox, QPlainTextEdit, QTabWidget, QWidget

from app.core.logs import log_dir
from app.core.settings import ModelSettings
from app.gui import settings as keys
from app.gui.about import AboutDialog, GuideDialog
from app.gui.tabs.images import ImagesTab
from app.gui.tabs.live import LiveTab
from app.gui.tabs.training import TrainingTab
from app.gui.tabs.viewer import ViewerTab
from app.gui.theme import DEFAULT_THEME, THEMES, apply_theme
from app.gui.widgets.status import StatusPanel
from app.gui.widgets.typing_guard import guard_typing
from app.gui.workers.device_check import CHECKING_TIP, NO_GPU_TIP, DeviceCheck
from model.runtimes import DEFAULT_DEVICE, DEVICES, RUNTIMES

LOG_LINES = 5000
LOG_HEIGHT = 110  # initial height of the log dock, pixels


class MainWindow(QMainWindow):
    """Tabs Live / Images / Training / Viewer, menus, shortcuts, status bar and a log dock."""

    def __init__(self, settings: QSettings, parent: QWidget | None = None) -> None:
        """Build the tabs and menus, restore the window geometry, connect the tabs' signals."""
        super().__init__(parent)
        self.settings = settings
        self.setWindowTitle("AffectScope")
        self.live_tab = LiveTab(settings, self)
        self.images_tab = ImagesTab(settings, lambda: ModelSettings(*self.live_tab.models.choice()), self)
        self.training_tab = TrainingTab(settings, self)
        self.viewer_tab = ViewerTab(settings, self)
        self.tabs = QTabWidget()
        self.tabs.addTab(self.live_tab, "Live")
        self.tabs.addTab(self.images_tab, "Images")
        self.tabs.addTab(self.training_tab, "Training")
        self.tabs.addTab(self.viewer_tab, "Viewer")
        self.setCentralWidget(self.tabs)
        self.status = StatusPanel(self)
        self.setStatusBar(self.status)
        self.log_view = QPlainTextEdit()
        self.log_view.setReadOnly(True)
        self.log_view.setMaximumBlockCount(LOG_LINES)
        self.log_dock = QDockWidget("Log", self)
        self.log_dock.setObjectName("log_dock")
        self.log_dock.setWidget(self.log_view)
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.log_dock)
        self.about_dialog: AboutDialog | None = None
        self.guide_dialog: GuideDialog | None = None
        self.ask_before_close = True  # closing with work that would be lost asks first
        self._build_menus()
        guard_typing(self)  # Space and M type into text fields instead of starting/adding a marker
        for tab in (self.live_tab, self.images_tab, self.training_tab, self.viewer_tab):
            tab.status_message.connect(self.log_message)
        self.live_tab.stats_updated.connect(self.status.update_stats)
        self.live_tab.model_changed.connect(self.status.set_model_labels)
        self.live_tab.recording_changed.connect(self._on_recording_changed)
        self.training_tab.model_ready.connect(self.use_trained_model)
        self.theme = apply_theme(self, keys.value_str(settings, keys.VIEW_THEME, DEFAULT_THEME))
        self.device_check = DeviceCheck(self)
        self.device_check.found.connect(self.set_devices)
        self._background_started = False
        self._restore_window()

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt override
        """On the first show, start what loads torch (the model, the device check) behind the window."""
        super().showEvent(event)
        if not self._background_started:
            self._background_started = True
            QTimer.singleShot(0, self._start_background_work)

    @Slot()
    def _start_background_work(self) -> None:
        self.live_tab.preload_model()
        self.device_check.start()

    @Slot(tuple)
    def set_devices(self, devices: tuple[str, ...], unavailable_tip: str = NO_GPU_TIP) -> None:
        """Enable the Device menu entries and the Training tab's device choices this machine has."""
        for action in self.device_group.actions():
            usable = action.text() in devices
            action.setEnabled(usable)
            action.setStatusTip("" if usable else unavailable_tip)
        self.training_tab.form.set_devices(devices)
        self.live_tab.set_devices(devices)

    # -------------------------------------------------------------------------------------- menus

    def _action(self, menu, text: str, slot, shortcut: str | QKeySequence | None = None,
                tip: str = "") -> QAction:
        action = QAction(text, self)
        if shortcut:
            action.setShortcut(QKeySequence(shortcut))
        if tip:
            action.setStatusTip(tip)
        action.triggered.connect(slot)
        menu.addAction(action)
        return action

    def _build_menus(self) -> None:
        bar = self.menuBar()
        live = self.live_tab
        file_menu = bar.addMenu("&File")
        self._action(file_menu, "Open &video…", self.open_video, "Ctrl+O",
                     "Analyse a video file in the Live tab")
        self._action(file_menu, "Open &images…", self.open_images, "Ctrl+Shift+O",
                     "Analyse image files in the Images tab")
        self._action(file_menu, "Open &session…", self.open_session, "Ctrl+Shift+R",
                     "Review a recorded session (or an analyze CSV) in the Viewer tab")
        file_menu.addMenu(self.viewer_tab.recent_menu)
        self.viewer_tab.recent_menu.triggered.connect(lambda _a: self.tabs.setCurrentWidget(self.viewer_tab))
        file_menu.addSeparator()
        self.start_action = self._action(file_menu, "&Start / stop", live.toggle_running, "Space")
        self.record_action = self._action(file_menu, "&Record / stop recording", live.toggle_recording,
                                          "Ctrl+R")
        self.marker_action = self._action(file_menu, "Add &marker", live.recording.request_marker, "M",
                                          "Write a marker (the marker field's text) into the next CSV row")
        file_menu.addSeparator()
        self._action(file_menu, "&Export results CSV…", self.export_csv, "Ctrl+E",
                     "Save the Images tab's results as CSV")
        file_menu.addSeparator()
        self._action(file_menu, "&Quit", self.close, "Ctrl+Q")

        view_menu = bar.addMenu("&View")
        for index, name in enumerate(("&Live", "&Images", "&Training", "&Viewer")):
            self._action(view_menu, name, lambda _=False, i=index: self.tabs.setCurrentIndex(i),
                         f"Ctrl+{index + 1}")
        view_menu.addSeparator()
        self.overlay_action = self._action(view_menu, "&Attention overlay", live.overlay_box.setChecked)
        self.overlay_action.setCheckable(True)
        self.overlay_action.setChecked(live.overlay_box.isChecked())
        live.overlay_box.toggled.connect(self.overlay_action.setChecked)
        view_menu.addAction(self.log_dock.toggleViewAction())
        theme_menu = view_menu.addMenu("&Theme")
        self.theme_group = QActionGroup(self)
        chosen = keys.value_str(self.settings, keys.VIEW_THEME, DEFAULT_THEME)
        for name in THEMES:
            action = self._action(theme_menu, name.capitalize(), lambda _=False, n=name: self.choose_theme(n))
            action.setCheckable(True)
            action.setChecked(name == chosen)
            self.theme_group.addAction(action)
        self._action(view_menu, "&Full screen", self._toggle_full_screen, "F11")

        model_menu = bar.addMenu("&Model")
        self._action(model_menu, "&Choose model file…", live.models.choose_file, "Ctrl+M")
        self._action(model_menu, "Use the &default model", self.use_default_model)
        runtime_menu = model_menu.addMenu("&Runtime")
        device_menu = model_menu.addMenu("&Device")
        self.runtime_group = QActionGroup(self)
        self.device_group = QActionGroup(self)
        _, runtime, device = live.models.choice()
        for name in RUNTIMES:
            action = self._action(runtime_menu, name, lambda _=False, n=name: self.choose_runtime(n))
            action.setCheckable(True)
            action.setChecked(name == runtime)
            self.runtime_group.addAction(action)
        for name in DEVICES:
            action = self._action(device_menu, name, lambda _=False, n=name: self.choose_device(n))
            action.setCheckable(True)
            action.setChecked(name == device)
            self.device_group.addAction(action)
        self.set_devices((DEFAULT_DEVICE,), CHECKING_TIP)  # until the device check has answered
        live.models.runtime.currentTextChanged.connect(self._sync_model_menu)
        live.models.device.currentTextChanged.connect(self._sync_model_menu)

        help_menu = bar.addMenu("&Help")
        self._action(help_menu, "&User guide", self.show_guide, "F1")
        self._action(help_menu, "Open the &log folder", self.open_log_folder)
        self._action(help_menu, "&About AffectScope", self.show_about)

    # ------------------------------------------------------------------------------------ actions

    @Slot()
    def open_video(self) -> None:
        """Ask for a video (a user action) and select it in the Live tab."""
        self.tabs.setCurrentWidget(self.live_tab)
        self.live_tab.choose_video_file()

    @Slot()
    def open_images(self) -> None:
        """Show the Images tab and ask for image files."""
        self.tabs.setCurrentWidget(self.images_tab)
        self.images_tab.open_files()

    @Slot()
    def open_session(self) -> None:
        """Show the Viewer tab and ask for a session CSV."""
        self.tabs.setCurrentWidget(self.viewer_tab)
        self.viewer_tab.choose_file()

    def review_session(self, path: str) -> None:
        """Open the recording `path` in the Viewer tab and show it (`gui --open`)."""
        self.tabs.setCurrentWidget(self.viewer_tab)
        self.viewer_tab.open_session(path)

    @Slot()
    def export_csv(self) -> None:
        """Save the Images tab's results as CSV (the live session CSV is written while recording)."""
        self.tabs.setCurrentWidget(self.images_tab)
        self.images_tab.export_csv()

    @Slot()
    def use_default_model(self) -> None:
        """Switch the Live tab back to the bundled default model."""
        _, runtime, device = self.live_tab.models.choice()
        self.live_tab.apply_model("", runtime, device)

    def choose_runtime(self, runtime: str) -> None:
        """Run the current model with `runtime` ("auto", "torch" or "onnx")."""
        path, _, device = self.live_tab.models.choice()
        self.live_tab.apply_model(path, runtime, device)

    def choose_device(self, device: str) -> None:
        """Run the current model on `device` ("cpu" or "cuda")."""
        path, runtime, _ = self.live_tab.models.choice()
        self.live_tab.apply_model(path, runtime, device)

    @Slot(str)
    def _sync_model_menu(self, _text: str = "") -> None:
        """Check the Runtime/Device menu entries the Live tab's model controls show."""
        _, runtime, device = self.live_tab.models.choice()
        for group, value in ((self.runtime_group, runtime), (self.device_group, device)):
            for action in group.actions():
                action.setChecked(action.text() == value)

    @Slot(str)
    def use_trained_model(self, path: str) -> None:
        """The Training tab's "use this model in the Live tab": apply it and show the Live tab."""
        _, runtime, device = self.live_tab.models.choice()
        self.live_tab.apply_model(path, runtime if not path.lower().endswith(".onnx") else "onnx", device)
        self.tabs.setCurrentWidget(self.live_tab)

    def choose_theme(self, name: str) -> None:
        """Use theme `name` ("system", "dark", "light") for the widgets and every chart, and remember it."""
        self.theme = apply_theme(self, name)
        self.settings.setValue(keys.VIEW_THEME, name)

    @Slot()
    def show_guide(self) -> None:
        """Open (or raise) the non-modal user guide."""
        if self.guide_dialog is None:
            self.guide_dialog = GuideDialog(self)
        self.guide_dialog.show()
        self.guide_dialog.raise_()

    @Slot()
    def open_log_folder(self) -> None:
        """Show the folder of the log files in the desktop's file manager (created when missing)."""
        folder = log_dir()
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            self.log_message(f"The log folder {folder} cannot be created: {exc}")
            return
        if not QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder))):
            self.log_message(f"No file manager could open {folder}; the log files are there")

    def show_about(self) -> None:
        """Open (or raise) the non-modal About window."""
        live = self.live_tab
        provenance = live.provenance
        summary = (f"{live.model_name or 'not loaded yet (loaded when a source starts)'}"
                   + (f" — {provenance.detail}" if provenance is not None else ""))
        self.about_dialog = AboutDialog(summary, self)
        self.about_dialog.show()

    @Slot(str)
    def log_message(self, text: str) -> None:
        """Show a message in the status bar and append it to the log."""
        self.status.message(text)
        self.log_view.appendPlainText(f"{time.strftime('%H:%M:%S')}  {text}")

    @Slot(bool, str)
    def _on_recording_changed(self, active: bool, path: str) -> None:
        self.status.set_recording(active, path)
        if not active and path:  # a finished recording is one click away in the Viewer
            keys.remember_recent(self.settings, path)
            self.log_message(f"Recording saved: {path}; review it in the Viewer (File > Recent sessions)")
        self.setWindowTitle("AffectScope — ● recording" if active else "AffectScope")

    def _toggle_full_screen(self) -> None:
        self.setWindowState(self.windowState() ^ Qt.WindowState.WindowFullScreen)

    # ----------------------------------------------------------------------------------- lifecycle

    def _restore_window(self) -> None:
        geometry = self.settings.value(keys.WINDOW_GEOMETRY)
        if isinstance(geometry, QByteArray) and not geometry.isEmpty():
            self.restoreGeometry(geometry)
        else:
            self.resize(1500, 950)
        state = self.settings.value(keys.WINDOW_STATE)
        if isinstance(state, QByteArray) and not state.isEmpty():
            self.restoreState(state)
        else:
            self.resizeDocks([self.log_dock], [LOG_HEIGHT], Qt.Orientation.Vertical)
        self.tabs.setCurrentIndex(int(keys.value_float(self.settings, keys.WINDOW_TAB, 0)))

    @Slot()
    def close_without_asking(self) -> None:
        """Close as a timed run does (`gui --exit-after`): no question, the same clean shutdown."""
        self.ask_before_close = False
        self.close()

    def work_lost_on_close(self) -> list[str]:
        """What closing now would lose: a training run, results not exported (a recording is not lost:
        it is closed and summarised)."""
        lost = []
        if self.training_tab.running:
            lost.append("the training run in progress stops (its last saved checkpoint is kept)")
        rows = self.images_tab.unexported_rows()
        if rows:
            lost.append(f"{rows} result row(s) in the Images tab were not exported")
        return lost

    def confirm_close(self, lost: list[str]) -> bool:
        """Ask whether to close although `lost` would be lost (tests replace this)."""
        answer = QMessageBox.question(
            self, "Close AffectScope?", "If you close now:\n- " + "\n- ".join(lost) + "\n\nClose anyway?",
            QMessageBox.StandardButton.Close | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Cancel)
        return answer == QMessageBox.StandardButton.Close

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt override
        """Ask first when work would be lost; then stop every tab's threads (ending a recording), save
        the settings, and close."""
        lost = self.work_lost_on_close() if self.ask_before_close else []
        if lost and not self.confirm_close(lost):
            event.ignore()
            return
        self.live_tab.shutdown()
        self.images_tab.shutdown()
        self.training_tab.shutdown()
        self.viewer_tab.shutdown()
        self.device_check.shutdown()
        self.settings.setValue(keys.WINDOW_GEOMETRY, self.saveGeometry())
        self.settings.setValue(keys.WINDOW_STATE, self.saveState())
        self.settings.setValue(keys.WINDOW_TAB, self.tabs.currentIndex())
        self.settings.sync()
        super().closeEvent(event)

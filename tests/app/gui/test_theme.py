"""One look: the theme colours the widgets and every chart alike, follows the system, is remembered."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QApplication

from app.gui.main_window import MainWindow
from app.gui.settings import open_settings
from app.gui.theme import CHARTS, resolve
from app.gui.widgets.video_view import VideoView


def chart_backgrounds(window: MainWindow) -> set[str]:
    return {view.backgroundBrush().color().name() for view in window.findChildren(pg.GraphicsView)
            if not isinstance(view, VideoView)}


def test_dark_and_light_cover_widgets_and_charts_and_are_remembered(qtbot, tmp_path):
    ini = tmp_path / "theme.ini"
    window = MainWindow(open_settings(ini))
    qtbot.addWidget(window)
    assert window.theme == resolve("system")  # the default follows the desktop (offscreen: light)
    try:
        window.choose_theme("dark")
        window_colour = QApplication.instance().palette().color(QPalette.ColorRole.Window)
        assert window_colour.lightness() < 80
        assert chart_backgrounds(window) == {CHARTS["dark"].background}
        window.choose_theme("light")
        assert QApplication.instance().palette().color(QPalette.ColorRole.Window).lightness() > 180
        assert chart_backgrounds(window) == {CHARTS["light"].background}
        axis = window.live_tab.circumplex.getPlotItem().getAxis("left")
        assert axis.textPen().color().name() == CHARTS["light"].foreground  # dark text on the light chart
        assert window.live_tab.video.backgroundBrush().color().lightness() < 40  # the video stays dark
        window.choose_theme("dark")
        window.close_without_asking()
        again = MainWindow(open_settings(ini))
        qtbot.addWidget(again)
        assert again.theme == "dark"  # remembered
        again.close_without_asking()
    finally:
        window.choose_theme("system")

"""One look for the whole window: a dark or a light theme for the widgets and the charts alike.

    apply_theme(window, "system")   # "system" (default: the desktop's colour scheme), "dark" or "light"

Widgets get Qt's Fusion style with a dark or the standard light palette; every chart (pyqtgraph view)
gets the matching background and axis colours, so light widgets never frame dark plots. The video view
keeps its dark frame in both (a picture reads best on black).
"""

from __future__ import annotations

from dataclasses import dataclass

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication, QStyleFactory, QWidget

from app.gui.widgets.video_view import VideoView

THEMES = ("system", "dark", "light")
DEFAULT_THEME = "system"


@dataclass(frozen=True)
class ChartColours:
    """The colours a chart takes in one theme."""

    background: str
    foreground: str  # axes, ticks and labels


CHARTS = {"dark": ChartColours("#1e1e1e", "#c8c8c8"), "light": ChartColours("#fbfbfb", "#303030")}


def resolve(name: str) -> str:
    """"dark" or "light": the theme `name` stands for ("system" asks the desktop; unknown means light)."""
    if name not in THEMES:
        raise ValueError(f"unknown theme {name!r}; choose one of {THEMES}")
    if name != "system":
        return name
    return "dark" if QGuiApplication.styleHints().colorScheme() == Qt.ColorScheme.Dark else "light"


def _dark_palette() -> QPalette:
    palette = QPalette()
    colours = {
        QPalette.ColorRole.Window: "#2b2b2b", QPalette.ColorRole.WindowText: "#e0e0e0",
        QPalette.ColorRole.Base: "#1f1f1f", QPalette.ColorRole.AlternateBase: "#2b2b2b",
        QPalette.ColorRole.Text: "#e0e0e0", QPalette.ColorRole.Button: "#353535",
        QPalette.ColorRole.ButtonText: "#e0e0e0", QPalette.ColorRole.ToolTipBase: "#353535",
        QPalette.ColorRole.ToolTipText: "#e0e0e0", QPalette.ColorRole.Highlight: "#3d7ab8",
        QPalette.ColorRole.HighlightedText: "#ffffff", QPalette.ColorRole.PlaceholderText: "#8a8a8a",
        QPalette.ColorRole.Link: "#6ab0ff",
    }
    for role, colour in colours.items():
        palette.setColor(role, QColor(colour))
    for role in (QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText, QPalette.ColorRole.WindowText):
        palette.setColor(QPalette.ColorGroup.Disabled, role, QColor("#7a7a7a"))
    return palette


def style_chart(view: pg.GraphicsView, colours: ChartColours) -> None:
    """Give one chart the theme's background and axis colours."""
    view.setBackground(colours.background)
    for item in view.scene().items():
        if isinstance(item, pg.AxisItem):
            item.setPen(colours.foreground)
            item.setTextPen(colours.foreground)
        elif isinstance(item, pg.LegendItem):
            item.setLabelTextColor(colours.foreground)
            for _sample, label in item.items:
                label.setText(label.text)  # the colour is stored per label; setting the text redraws it


def apply_theme(root: QWidget, name: str) -> str:
    """Apply theme `name` to the application and to every chart under `root`; returns "dark" or "light"."""
    resolved = resolve(name)
    app = QApplication.instance()
    app.setStyle(QStyleFactory.create("Fusion"))
    app.setPalette(_dark_palette() if resolved == "dark" else app.style().standardPalette())
    for view in root.findChildren(pg.GraphicsView):
        if not isinstance(view, VideoView):  # the video keeps its dark frame
            style_chart(view, CHARTS[resolved])
    return resolved


def chart_colours_of(view: pg.GraphicsView) -> ChartColours:
    """The theme colours `view` was last styled with (light when it never was): a chart drawn again
    restyles its new items (legends, labels) with them."""
    background = view.backgroundBrush().color().name()
    return next((c for c in CHARTS.values() if QColor(c.background).name() == background), CHARTS["light"])

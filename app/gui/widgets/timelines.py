"""Timelines of the selected face's valence and arousal over the last 30 s, raw and smoothed.

Two stacked plots with a fixed x range (-window_s .. 0 s, 0 = the latest packet) and y range -1..1;
each holds a faint raw curve and a bold smoothed curve, created once and updated with setData; where
the face's quality was low (app.core.face_quality) the bold line breaks and a faded dotted one shows
through. Markers (typed in the app or received over LSL) are vertical lines, labelled in the valence
plot; a fixed pool of MAX_MARKER_LINES lines per plot is moved, never re-created.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWidget

from app.core.face_history import COLUMNS, FaceHistories
from app.gui.widgets.palette import CAUTION_TEXT, face_rgb
from app.gui.widgets.plot_export import install_export_menu
from model.config import VA_DIMENSIONS

DERIVED_TITLE = "V/A derived from the expression probabilities"
AXIS_WIDTH = 52  # px for the tick labels and the rotated axis title

LOW_ALPHA = 90  # opacity (of 255) of the smoothed line where the face's quality was low
MAX_MARKER_LINES = 12  # markers drawn at once (the newest); a 30-s window rarely holds more
MARKER_PEN = (255, 200, 60)


class Timelines(pg.GraphicsLayoutWidget):
    """Valence (top) and arousal (bottom) against time for one face."""

    def __init__(self, parent: QWidget | None = None, window_s: float = 30.0) -> None:
        """Create both plots and their raw/smoothed curves once."""
        super().__init__(parent=parent)
        install_export_menu(self, "timelines")  # right-click: save as PNG or SVG
        self.setBackground("#1e1e1e")
        self.window_s = float(window_s)
        self.plots: dict[str, pg.PlotItem] = {}
        self.raw: dict[str, pg.PlotCurveItem] = {}
        self.smoothed: dict[str, pg.PlotCurveItem] = {}  # breaks where the face's quality was low
        self.faded: dict[str, pg.PlotCurveItem] = {}  # the whole smoothed line, faded: shows through them
        for row, name in enumerate(VA_DIMENSIONS):
            plot = self.addPlot(row=row, col=0)
            plot.setMenuEnabled(False)
            plot.hideButtons()
            plot.setMouseEnabled(False, False)
            plot.setXRange(-self.window_s, 0.0, padding=0)
            plot.setYRange(-1.0, 1.0, padding=0.05)
            plot.setLabel("left", name)
            plot.getAxis("left").setWidth(AXIS_WIDTH)  # both plots align, the label clears the ticks
            plot.addLine(y=0.0, pen=pg.mkPen((90, 90, 90)))
            if row == 1:
                plot.setLabel("bottom", "seconds before now")
            self.plots[name] = plot
            raw_pen, smooth_pen = pg.mkPen((160, 160, 160, 110), width=1), pg.mkPen((255, 255, 255), width=2)
            self.raw[name] = pg.PlotCurveItem(pen=raw_pen, skipFiniteCheck=True)
            faded_pen = pg.mkPen((255, 255, 255, LOW_ALPHA), width=2, style=Qt.PenStyle.DotLine)
            self.faded[name] = pg.PlotCurveItem(pen=faded_pen, skipFiniteCheck=True)
            self.smoothed[name] = pg.PlotCurveItem(pen=smooth_pen, connect="finite")
            for curve in (self.raw[name], self.faded[name], self.smoothed[name]):
                plot.addItem(curve)
        self.marker_lines: dict[str, list[pg.InfiniteLine]] = {}
        for name, plot in self.plots.items():
            label = {"position": 0.92, "color": MARKER_PEN, "anchors": [(0, 0.5), (0, 0.5)]}
            lines = [pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen(MARKER_PEN, width=1),
                                     label="" if name == "valence" else None, labelOpts=label)
                     for _ in range(MAX_MARKER_LINES)]
            for line in lines:
                line.hide()
                plot.addItem(line, ignoreBounds=True)
            self.marker_lines[name] = lines
        self._pen_face: int | None = None

    def set_labels(self, va_source: str) -> None:
        """Say "V/A derived" above the plots when the model's V/A are derived from expressions (a title,
        not the rotated axis labels: those must stay short enough for the plot's height)."""
        self.plots[VA_DIMENSIONS[0]].setTitle(DERIVED_TITLE if va_source == "derived" else None,
                                              size="8pt", color=CAUTION_TEXT)

    def update_from(self, histories: FaceHistories, face_id: int | None) -> None:
        """Draw the last `window_s` seconds of `face_id` (nothing when None or unknown)."""
        rows = histories.window(face_id) if face_id is not None else np.zeros((0, len(COLUMNS)))  # (n,6)
        t = rows[:, 0] - histories.latest_timestamp
        if face_id is not None and face_id != self._pen_face:  # the smoothed line takes the face's colour
            self._pen_face = face_id
            r, g, b = face_rgb(face_id)
            for name in self.smoothed:
                self.smoothed[name].setPen(pg.mkPen((r, g, b), width=2))
                self.faded[name].setPen(pg.mkPen((r, g, b, LOW_ALPHA), width=2, style=Qt.PenStyle.DotLine))
        low = rows[:, 5] > 0  # (n,) frames whose face image was judged low quality
        for name, raw_col, smooth_col in (("valence", 1, 3), ("arousal", 2, 4)):
            self.raw[name].setData(t, rows[:, raw_col])
            self.faded[name].setData(t, rows[:, smooth_col])
            self.smoothed[name].setData(t, np.where(low, np.nan, rows[:, smooth_col]))
        self._draw_markers(histories)

    def _draw_markers(self, histories: FaceHistories) -> None:
        """Move the pooled marker lines to the newest markers of the window; hide the rest."""
        markers = histories.markers()[-MAX_MARKER_LINES:]
        for lines in self.marker_lines.values():
            for i, line in enumerate(lines):
                if i >= len(markers):
                    line.hide()
                    continue
                at, text = markers[i]
                line.setValue(at - histories.latest_timestamp)
                if hasattr(line, "label"):  # only the valence lines carry one
                    line.label.setFormat(text.replace("{", "{{").replace("}", "}}"))
                line.show()

    def shown_markers(self) -> list[tuple[float, str]]:
        """(seconds before now, label) of the marker lines drawn in the valence plot."""
        return [(float(line.value()), line.label.format.replace("{{", "{").replace("}}", "}"))
                for line in self.marker_lines["valence"] if line.isVisible()]

    def point_count(self) -> int:
        """Number of samples drawn in the valence timeline."""
        x, _ = self.smoothed["valence"].getData()
        return 0 if x is None else len(x)

"""The figures of a recording, shown in the Viewer tab and written by `report`.

    view = SessionView(table, annotations, signal="smoothed")
    figure = ValenceArousalFigure(); figure.draw(view)     # per-face V/A over time, markers, exclusions
    ExpressionFigure().draw(view, face_id)                  # one face's probabilities, stacked
    CircumplexFigure().draw(view, t0, t1)                   # trajectories and density in a time range

Every figure has axis titles with units, a legend (one colour per face id, as in the Live tab) and is
drawn from the same `SessionView`, so a copy at another size (`render_copy`) shows exactly what the tab
shows. Long recordings stay light: the V/A curves use pyqtgraph's peak downsampling and clip to the
visible range; stacked areas are thinned to STACK_POINTS bins and trajectories to MAX_POINTS, and
horizontal guides are plain lines (a pyqtgraph grid costs a full-plot blend on every repaint).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QWidget

from app.core.segment_summary import DEFAULT_SIGNAL, recording_span
from app.core.session_annotations import SessionAnnotations
from app.core.session_series import FaceSeries, face_series, thin
from app.core.session_table import SessionTable
from app.core.settings import SummarySettings
from app.core.summary import QUADRANT_NAMES, QUADRANTS, quadrant_index
from app.gui.theme import CHARTS, ChartColours, style_chart
from app.gui.widgets.circumplex import draw_circle_and_axes, fixed_plane
from app.gui.widgets.palette import face_color, face_rgb
from app.gui.widgets.plot_export import export_figure, install_export_menu
from model.config import CLASS_NAMES, VA_DIMENSIONS

MAX_POINTS = 3000  # bins of a trajectory
STACK_POINTS = 1000  # bins of a stacked area (about a plot's width in pixels)
GUIDE_PEN = pg.mkPen((128, 128, 128, 90), width=1, style=Qt.PenStyle.DashLine)
DENSITY_BINS = 48  # per axis of the circumplex density
MARKER_COLOUR = (230, 150, 20)
MARKER_LABEL_HEIGHTS = (0.95, 0.82, 0.69)  # of the plot's height: close markers' labels do not overlap
EXCLUDED_BRUSH = (128, 128, 128, 70)
EXPRESSION_COLOURS = (
    (150, 150, 150),
    (240, 200, 40),
    (70, 110, 200),
    (120, 200, 220),
    (150, 90, 190),
    (90, 160, 70),
    (220, 60, 50),
    (200, 120, 60),
)  # CLASS_NAMES order
SIGNAL_TITLES = {"raw": "model output", "smoothed": "smoothed", "corrected": "baseline-corrected"}
# "pleasant,<br>activated", ...: two short lines in each corner of the circumplex
QUADRANT_SHORT = {name: text.split(" (")[0].replace(", ", ",<br>") for name, text in QUADRANTS}
ZONE_CORNERS = {  # where each zone's share is written: (x, y) of the view box, 0..1 from the top left
    "positive_high_arousal": (1, 0),
    "negative_high_arousal": (0, 0),
    "negative_low_arousal": (0, 1),
    "positive_low_arousal": (1, 1),
}


@dataclass
class SessionView:
    """What the figures show: a recording, its edits, the V/A signal and the face labels."""

    table: SessionTable
    annotations: SessionAnnotations = field(default_factory=SessionAnnotations)
    signal: str = DEFAULT_SIGNAL
    _series: dict[int, FaceSeries] = field(default_factory=dict, repr=False)

    def faces(self) -> list[int]:
        """The face ids after merges, ascending."""
        ids = self.annotations.resolved_ids(self.table.face_ids)
        return sorted(int(i) for i in np.unique(ids[ids >= 0]))

    def series(self, face_id: int) -> FaceSeries:
        """The face's series for the current signal and edits (cached until `changed`)."""
        if face_id not in self._series:
            self._series[face_id] = face_series(self.table, self.annotations, face_id, self.signal)
        return self._series[face_id]

    def changed(self) -> None:
        """Forget the cached series (the signal or the edits changed)."""
        self._series.clear()

    def name(self, face_id: int) -> str:
        """ "#3 P07" or "#3"."""
        labels = self.table.text("face_label")[self.table.face_ids == face_id]
        recorded = next((str(x) for x in labels[::-1] if x), "") if len(labels) else ""
        return f"#{face_id} {self.annotations.label(face_id, recorded)}".strip()


def _legend(plot: pg.PlotItem, in_title_row: bool = False) -> pg.LegendItem:
    """A fresh legend for `plot` (the one drawn before is removed): in the plot's top-right corner, or
    (`in_title_row`) right of the title, clear of the data and of the marker labels."""
    if plot.legend is not None:
        plot.legend.scene().removeItem(plot.legend)
        plot.legend = None
    legend = plot.addLegend(offset=(-8, 8), labelTextSize="9pt", colCount=4)
    legend.setBrush(pg.mkBrush(128, 128, 128, 40))
    if in_title_row:
        legend.setParentItem(plot)
        legend.anchor(itemPos=(1, 0), parentPos=(1, 0), offset=(-4, -2))
    return legend


class ValenceArousalFigure(pg.GraphicsLayoutWidget):
    """Valence (top) and arousal (bottom) of every face against time, markers and excluded ranges."""

    def __init__(self, parent: QWidget | None = None) -> None:
        """Two x-linked plots; y fixed to [-1, 1], x zooms and pans with the mouse."""
        super().__init__(parent=parent)
        install_export_menu(self, "valence_arousal")
        self.plots: dict[str, pg.PlotItem] = {}
        for row, name in enumerate(VA_DIMENSIONS):
            plot = self.addPlot(row=row, col=0)
            plot.setMenuEnabled(False)
            plot.hideButtons()
            plot.setMouseEnabled(x=True, y=False)
            plot.setYRange(-1.0, 1.0, padding=0.05)
            plot.setLabel("left", name)
            plot.getAxis("left").setWidth(52)
            plot.setClipToView(True)
            plot.setDownsampling(auto=True, mode="peak")
            self.plots[name] = plot
        self.plots["arousal"].setXLink(self.plots["valence"])
        self.plots["arousal"].setLabel("bottom", "time", units="s")
        for plot in self.plots.values():
            plot.getAxis("bottom").enableAutoSIPrefix(False)  # seconds, never "ks"
        self.curves: dict[tuple[str, int], pg.PlotDataItem] = {}

    def draw(self, view: SessionView) -> None:
        """Draw every face of `view` (and its markers and excluded ranges), replacing what was drawn."""
        for name, plot in self.plots.items():
            plot.clear()
            plot.addLine(y=0.0, pen=pg.mkPen((128, 128, 128), width=1))
            for level in (-0.5, 0.5):
                plot.addLine(y=level, pen=GUIDE_PEN)
            if name == "valence":
                _legend(plot, in_title_row=True)
        self.plots["valence"].setTitle(
            f"valence and arousal ({SIGNAL_TITLES[view.signal]})", size="9pt", justify="left"
        )  # left: the legend is at the right of the title row
        self.curves.clear()
        for face in view.faces():
            series = view.series(face)
            for name, values in (("valence", series.valence), ("arousal", series.arousal)):
                curve = pg.PlotDataItem(
                    series.t,
                    values,
                    pen=pg.mkPen(face_color(face), width=1.5),
                    connect="finite",
                    name=view.name(face) if name == "valence" else None,
                    skipFiniteCheck=False,
                    autoDownsampleFactor=1.0,  # peak mode: a min and a max per pixel column, exact to the eye
                )
                self.plots[name].addItem(curve)  # takes the plot's downsampling and clip-to-view
                self.curves[(name, face)] = curve
        for time_range in view.annotations.excluded:
            for plot in self.plots.values():
                region = pg.LinearRegionItem(
                    (time_range.start_s, time_range.end_s),
                    movable=False,
                    brush=pg.mkBrush(EXCLUDED_BRUSH),
                    pen=pg.mkPen(None),
                )
                region.setToolTip(f"excluded: {time_range.text or 'no reason given'}")
                plot.addItem(region, ignoreBounds=True)
        for k, (t, text) in enumerate(view.table.markers()):
            for name, plot in self.plots.items():
                line = pg.InfiniteLine(
                    t,
                    angle=90,
                    movable=False,
                    pen=pg.mkPen(MARKER_COLOUR, width=1),
                    label=text.replace("{", "{{").replace("}", "}}") if name == "valence" else None,
                    labelOpts={
                        "position": MARKER_LABEL_HEIGHTS[k % len(MARKER_LABEL_HEIGHTS)],
                        "color": MARKER_COLOUR,
                        "anchors": [(0, 0), (0, 0)],  # to the right of the line, inside the plot
                    },
                )
                plot.addItem(line, ignoreBounds=True)
        start, end = recording_span(view.table)
        self.plots["valence"].setXRange(start, max(end, start + 1e-3), padding=0.01)

    def marker_texts(self) -> list[str]:
        """The labels of the marker lines drawn (valence plot)."""
        return [
            item.label.format.replace("{{", "{").replace("}}", "}")
            for item in self.plots["valence"].items
            if isinstance(item, pg.InfiniteLine) and getattr(item, "label", None) is not None
        ]


class ExpressionFigure(pg.PlotWidget):
    """One face's eight expression probabilities over time, stacked to 1."""

    def __init__(self, parent: QWidget | None = None) -> None:
        """An empty plot with axes 'time (s)' and 'probability' (0..1)."""
        super().__init__(parent=parent)
        install_export_menu(self, "expressions")
        item = self.getPlotItem()
        item.setMenuEnabled(False)
        item.hideButtons()
        item.setMouseEnabled(x=True, y=False)
        item.setClipToView(True)  # a zoomed-in view draws only the bins it shows
        item.setYRange(0.0, 1.0, padding=0.02)
        item.setLabel("left", "probability")
        item.setLabel("bottom", "time", units="s")
        item.getAxis("bottom").enableAutoSIPrefix(False)
        item.getAxis("left").setWidth(52)

    def draw(self, view: SessionView, face_id: int | None) -> None:
        """Draw `face_id`'s stacked probabilities (nothing when None)."""
        item = self.getPlotItem()
        item.clear()
        if face_id is None:
            item.setTitle("expressions: no face", size="9pt")
            return
        item.setTitle(f"expression probabilities of {view.name(face_id)} (stacked)", size="9pt")
        legend = _legend(item)
        series = view.series(face_id)
        t, p = thin(series.t, series.probabilities, STACK_POINTS)  # (m,), (m,8)
        finite = np.isfinite(t)
        t, p = t[finite], np.nan_to_num(p[finite])
        lower = np.zeros(len(t))
        below = pg.PlotDataItem(t, lower, pen=pg.mkPen(0, 0, 0, 0))  # a fill needs a drawn curve
        item.addItem(below)
        for k, name in enumerate(CLASS_NAMES):
            upper = lower + p[:, k]
            top = pg.PlotDataItem(t, upper, pen=pg.mkPen(EXPRESSION_COLOURS[k], width=0.5))
            item.addItem(top)
            fill = pg.FillBetweenItem(below, top, brush=pg.mkBrush(*EXPRESSION_COLOURS[k], 170))
            item.addItem(fill)
            # a square swatch stands for the area: a FillBetweenItem in a legend crashes pyqtgraph 0.14
            swatch = pg.BarGraphItem(
                x=[0], height=[0], width=0, brush=pg.mkBrush(*EXPRESSION_COLOURS[k], 170)
            )
            legend.addItem(swatch, name)
            below, lower = top, upper
        if len(t):
            item.setXRange(float(t[0]), float(t[-1]), padding=0.01)


class CircumplexFigure(pg.PlotWidget):
    """Valence against arousal in a time range: a 2-D density of every face's points, each face's
    trajectory, and each zone's share of the points (neutral radius of SummarySettings)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        """The unit circle and axes; data comes with `draw`."""
        super().__init__(parent=parent)
        install_export_menu(self, "circumplex_range")
        fixed_plane(self)
        self.shares: dict[str, float] = {}
        self.zone_labels: dict[str, pg.LabelItem] = {}
        view_box = self.getPlotItem().vb
        for name, corner in ZONE_CORNERS.items():  # in the view's corners (pixels): never on each other
            label = pg.LabelItem("", color=(128, 128, 128), size="9pt", justify=("left", "right")[corner[0]])
            label.setParentItem(view_box)
            label.anchor(itemPos=corner, parentPos=corner, offset=(6 - 12 * corner[0], 4 - 8 * corner[1]))
            self.zone_labels[name] = label

    def draw(
        self,
        view: SessionView,
        t0: float,
        t1: float,
        neutral_radius: float = SummarySettings().neutral_radius,
    ) -> None:
        """Draw the points with t0 <= t <= t1."""
        item = self.getPlotItem()
        item.clear()
        _legend(item, in_title_row=True)  # the trajectories are named: it lists them
        points = []
        tracks = []
        for face in view.faces():
            series = view.series(face)
            inside = ((series.t >= t0) & (series.t <= t1)) | ~np.isfinite(series.t)  # NaN rows: breaks
            v, a = series.valence[inside], series.arousal[inside]
            both = np.isfinite(v) & np.isfinite(a)
            if both.any():
                points.append(np.stack([v[both], a[both]], axis=1))
                tracks.append((face, v, a))
        xy = np.concatenate(points) if points else np.zeros((0, 2))  # (n,2)
        if len(xy):
            density, _, _ = np.histogram2d(xy[:, 0], xy[:, 1], bins=DENSITY_BINS, range=[[-1, 1], [-1, 1]])
            level = np.log1p(density) / np.log1p(density.max())  # (bins,bins) in [0,1]; x is the first axis
            rgba = pg.colormap.get("viridis").map(level.ravel(), mode="byte").reshape(*level.shape, 4)
            rgba[..., 3] = np.where(density > 0, 150, 0)  # empty cells transparent on any background
            image = pg.ImageItem(rgba)
            image.setRect(-1.0, -1.0, 2.0, 2.0)
            item.addItem(image)
        draw_circle_and_axes(self, neutral_radius)
        for face, v, a in tracks:
            tv, ta = thin(np.arange(len(v), dtype=float), np.stack([v, a], axis=1), MAX_POINTS)[1].T
            r, g, b = face_rgb(face)
            curve = pg.PlotDataItem(
                tv, ta, pen=pg.mkPen((r, g, b, 200), width=1.2), connect="finite", name=view.name(face)
            )
            item.addItem(curve)  # named: the legend lists it
        zones = np.bincount(quadrant_index(xy[:, 0], xy[:, 1], neutral_radius), minlength=len(QUADRANT_NAMES))
        total = max(1, len(xy))
        self.shares = {name: int(zones[k]) / total for k, name in enumerate(QUADRANT_NAMES)}
        for name, label in self.zone_labels.items():
            label.setText(f"{QUADRANT_SHORT[name]}<br>{100 * self.shares[name]:.0f}%")
        neutral = pg.TextItem(
            f"neutral {100 * self.shares['neutral']:.0f}%", anchor=(0.5, 0.0), color=(128, 128, 128)
        )
        neutral.setPos(0.0, -neutral_radius)  # just below the neutral circle
        item.addItem(neutral)
        item.setTitle(f"{t0:.1f}-{t1:.1f} s, {len(xy)} points", size="9pt", justify="left")
        self.setRange(xRange=(-1.25, 1.25), yRange=(-1.3, 1.25), padding=0)


def render_copy(
    kind: type[pg.GraphicsView],
    draw: Callable[[pg.GraphicsView], None],
    size: tuple[int, int],
    path: str | Path,
    colours: ChartColours = CHARTS["light"],
) -> Path:
    """Draw a fresh figure of class `kind` at `size` (w, h px) with `draw(copy)`, in `colours` (light by
    default: figures go into papers), and save it to `path` (.png or .svg)."""
    copy = kind()
    copy.setAttribute(Qt.WidgetAttribute.WA_DontShowOnScreen)
    copy.resize(*size)
    copy.show()
    draw(copy)
    style_chart(copy, colours)
    QApplication.processEvents()
    try:
        return export_figure(copy, path)
    finally:
        copy.close()
        copy.deleteLater()

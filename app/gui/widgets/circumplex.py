"""The circumplex plot: valence (x) against arousal (y) in the unit circle, one colour per face id.

Drawn from items updated in place, never re-created: the fading trails (one line item per palette colour
and age step, made when a colour is first needed, so a trail fades from old to new without per-point
styling), the current points (one scatter item, one spot per face, `data` = face id) and the neutral
baselines of calibrated faces; the circle and axes are plain Qt shapes (no Python work per repaint). The
current point is the face's smoothed V/A (equal to the raw output with smoothing "none"); the baseline
point is where that face's neutral resting state lies, so the distance between the two is the
baseline-corrected value the CSV records. For a model with an uncertainty head each current point has an
ellipse whose half-axes are ELLIPSE_SDS times the predicted standard deviations of valence and arousal
(a pool of plain Qt ellipses, reused frame to frame).
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QGraphicsEllipseItem, QGraphicsLineItem, QWidget

from app.core.face_history import FaceHistories
from app.core.face_quality import is_low
from app.core.packets import FramePacket
from app.gui.widgets.palette import CAUTION_TEXT, FACE_COLORS, face_color
from app.gui.widgets.plot_export import install_export_menu

TRAIL_POINTS = 45  # processed frames per trail (1.5 s at 30 fps)
TRAIL_STEPS = 5  # age steps of a trail, each drawn more transparent than the next newer one
LOW_QUALITY_ALPHA = 70  # opacity (of 255) of a face's current point while its quality is low
ELLIPSE_FILL_ALPHA = 45  # opacity of an uncertainty ellipse's fill (its outline is the face colour)
# Half-axes of the ellipse in predicted SDs: 2 SD holds about 95% of readings per axis for a Gaussian
# (at 1 SD the starter's typical 0.07-0.16 hid under the 16 px point in a 220 px plot)
ELLIPSE_SDS = 2.0
# (x, y, anchor, text): each label sits in its quadrant's corner of the square around the circle (two
# short lines, so it stays outside the circle even in a small plot).
QUADRANT_LABELS = (
    (1.15, 1.15, (1.0, 0.0), "excited\nhappy"),
    (-1.15, 1.15, (0.0, 0.0), "tense\nangry"),
    (-1.15, -1.15, (0.0, 1.0), "sad\nbored"),
    (1.15, -1.15, (1.0, 1.0), "calm\nrelaxed"),
)


def fixed_plane(view: pg.PlotWidget) -> None:
    """Make `view` a fixed valence (x) / arousal (y) plane: square, no mouse zoom, no menu."""
    item = view.getPlotItem()
    item.setMenuEnabled(False)
    item.hideButtons()
    view.setMouseEnabled(False, False)
    view.setAspectLocked(True)
    item.setLabel("bottom", "valence")
    item.setLabel("left", "arousal")


def draw_circle_and_axes(view: pg.PlotWidget, neutral_radius: float = 0.0) -> None:
    """Add the unit circle, the two axes and (when > 0) the neutral-zone circle to `view`, as plain Qt
    shapes: they cost no Python calls when the plot repaints."""
    grey = pg.mkPen((150, 150, 150), width=1)  # cosmetic: 1 px whatever the zoom
    shapes = [QGraphicsEllipseItem(-1.0, -1.0, 2.0, 2.0), QGraphicsLineItem(-1.0, 0.0, 1.0, 0.0),
              QGraphicsLineItem(0.0, -1.0, 0.0, 1.0)]
    if neutral_radius > 0:
        r = neutral_radius
        shapes.append(QGraphicsEllipseItem(-r, -r, 2 * r, 2 * r))
    for shape in shapes:
        shape.setPen(grey)
        view.addItem(shape)


class CircumplexPlot(pg.PlotWidget):
    """Valence/arousal plane with the unit circle, axes, quadrant labels, trails, points and baselines."""

    def __init__(self, parent: QWidget | None = None, trail_points: int = TRAIL_POINTS) -> None:
        """Create every plot item once; `trail_points` is the trail length in processed frames."""
        super().__init__(parent=parent, background="#1e1e1e")
        install_export_menu(self, "circumplex")  # right-click: save as PNG or SVG
        self.trail_points = int(trail_points)
        fixed_plane(self)
        self.setRange(xRange=(-1.15, 1.15), yRange=(-1.15, 1.15), padding=0)
        self.setMinimumSize(220, 220)
        draw_circle_and_axes(self)
        for x, y, anchor, text in QUADRANT_LABELS:
            label = pg.TextItem(text, color=(170, 170, 170), anchor=anchor)
            label.setPos(x, y)
            self.addItem(label)
        # trail_curves[colour][step]: segments of that age step of every face with that colour; made the
        # first time a colour is needed and reused from then on.
        self.trail_curves: dict[int, list[pg.PlotCurveItem]] = {}
        self._brushes = [pg.mkBrush(face_color(c)) for c in range(len(FACE_COLORS))]
        self._faded = [pg.mkBrush(face_color(c, LOW_QUALITY_ALPHA)) for c in range(len(FACE_COLORS))]
        self._trail_drawn: set[tuple[int, int]] = set()  # (colour, step) items holding segments
        self.points = pg.ScatterPlotItem(size=16, pen=pg.mkPen("w", width=1.5))
        self.baselines = pg.ScatterPlotItem(size=14, symbol="x", pen=None)
        self._ellipses: list[QGraphicsEllipseItem] = []  # pool; item k shows the k-th face that has an SD
        self._ellipse_ids: list[int] = []  # face id of each shown ellipse, in pool order
        for scatter in (self.baselines, self.points):
            self.addItem(scatter)

    def set_labels(self, va_source: str, untrained: bool) -> None:
        """Mark the plot "V/A derived" and/or "untrained model" as the model's card says."""
        notes = [text for flag, text in ((va_source == "derived", "V/A derived"),
                                         (untrained, "untrained model")) if flag]
        self.getPlotItem().setTitle(" · ".join(notes) or None, color=CAUTION_TEXT, size="9pt")

    def update_from(self, packet: FramePacket | None, histories: FaceHistories) -> None:
        """Show the faces of `packet` (current points, baselines) and their trails from `histories`."""
        faces = packet.faces if packet is not None else ()
        x, y, ids = [], [], []
        for face in faces:
            x.append(float(np.clip(face.valence_smoothed, -1.0, 1.0)))
            y.append(float(np.clip(face.arousal_smoothed, -1.0, 1.0)))
            ids.append(face.face_id)
        n_colors = len(FACE_COLORS)
        low = [is_low(face.quality) for face in faces]
        brushes = [(self._faded if shaky else self._brushes)[i % n_colors]
                   for i, shaky in zip(ids, low, strict=True)]
        self.points.setData(x=x, y=y, data=ids, brush=brushes)  # a face of low quality: a faded point
        bx, by, bbrush = [], [], []
        for face in faces:
            if face.valence_corrected is not None and face.arousal_corrected is not None:
                bx.append(float(np.clip(face.valence_smoothed - face.valence_corrected, -1.0, 1.0)))
                by.append(float(np.clip(face.arousal_smoothed - face.arousal_corrected, -1.0, 1.0)))
                bbrush.append(self._brushes[face.face_id % n_colors])
        self.baselines.setData(x=bx, y=by, brush=bbrush)
        self._draw_ellipses(faces, x, y, low)
        self._draw_trails(ids, histories)

    def _draw_ellipses(self, faces, x: list[float], y: list[float], low: list[bool]) -> None:
        """An ELLIPSE_SDS-SD ellipse around each drawn point whose face has a predicted V/A SD."""
        shown = [(k, face) for k, face in enumerate(faces)
                 if face.valence_std is not None and face.arousal_std is not None]
        while len(self._ellipses) < len(shown):
            item = QGraphicsEllipseItem()
            item.setZValue(-1)  # under the points
            self.addItem(item)
            self._ellipses.append(item)
        for item, (k, face) in zip(self._ellipses, shown, strict=False):
            rx, ry = ELLIPSE_SDS * float(face.valence_std), ELLIPSE_SDS * float(face.arousal_std)
            item.setRect(x[k] - rx, y[k] - ry, 2 * rx, 2 * ry)
            color = face.face_id % len(FACE_COLORS)
            alpha = LOW_QUALITY_ALPHA if low[k] else 230
            item.setPen(pg.mkPen(face_color(color, alpha), width=1.5))
            item.setBrush(pg.mkBrush(face_color(color, ELLIPSE_FILL_ALPHA * alpha // 230)))
            item.show()
        for item in self._ellipses[len(shown):]:
            item.hide()
        self._ellipse_ids = [face.face_id for _, face in shown]

    def _draw_trails(self, face_ids: list[int], histories: FaceHistories) -> None:
        """Split each face's last `trail_points` smoothed points into age steps, one line item each."""
        segments: dict[tuple[int, int], list[np.ndarray]] = {}
        for face_id in face_ids:
            rows = histories.last(face_id, self.trail_points)  # (n,6)
            n = len(rows)
            if n < 2:
                continue
            xy = np.clip(rows[:, 3:5], -1.0, 1.0)  # (n,2) smoothed valence, arousal
            pairs = np.stack([xy[:-1], xy[1:]], axis=1)  # (n-1,2,2): segment start and end points
            steps = (np.arange(1, n) * TRAIL_STEPS // n).clip(0, TRAIL_STEPS - 1)  # (n-1,) 0 = oldest
            color = face_id % len(FACE_COLORS)
            for step in np.unique(steps):
                segments.setdefault((color, int(step)), []).append(pairs[steps == step].reshape(-1, 2))
        for key in self._trail_drawn - segments.keys():
            curve = self.trail_curves[key[0]][key[1]]
            curve.setData([], [])
            curve.hide()  # hidden items cost nothing when the plot repaints
        for (color, step), parts in segments.items():
            points = np.concatenate(parts)  # (2m,2) consecutive pairs are segments
            curve = self._trail_curves_of(color)[step]
            curve.setData(points[:, 0], points[:, 1], connect="pairs")
            curve.show()
        self._trail_drawn = set(segments)

    def _trail_curves_of(self, color: int) -> list[pg.PlotCurveItem]:
        """The trail items of a palette colour (oldest step first), created on first use."""
        curves = self.trail_curves.get(color)
        if curves is None:
            pens = [pg.mkPen(face_color(color, int(230 * (k + 1) / TRAIL_STEPS)), width=2)
                    for k in range(TRAIL_STEPS)]  # older steps more transparent
            curves = [pg.PlotCurveItem(pen=pen, connect="pairs", skipFiniteCheck=True) for pen in pens]
            for curve in curves:
                self.addItem(curve)
            self.trail_curves[color] = curves
        return curves

    def current_points(self) -> dict[int, tuple[float, float]]:
        """The drawn current point of each face id, {face_id: (valence, arousal)}."""
        x, y = self.points.getData()
        ids = self.points.data["data"]
        return {int(i): (float(vx), float(vy)) for i, vx, vy in zip(ids, x, y, strict=True)}

    def current_ellipses(self) -> dict[int, tuple[float, float, float, float]]:
        """The drawn uncertainty ellipse of each face id, {face_id: (centre V, centre A, half-axis V,
        half-axis A)}."""
        out = {}
        for face_id, item in zip(self._ellipse_ids, self._ellipses, strict=False):
            r = item.rect()
            out[face_id] = (r.center().x(), r.center().y(), r.width() / 2, r.height() / 2)
        return out

    def trail_segments(self) -> int:
        """Number of trail line segments drawn (all faces together)."""
        total = 0
        for curves in self.trail_curves.values():
            for curve in curves:
                x, _ = curve.getData()
                total += 0 if x is None else len(x) // 2
        return total


"""The circumplex plot: valence (x) against arousal (y) in the unit circle, one colour per face id.

Drawn from three scatter items created once and updated in place: the fading trails of all faces, the
current points (one per face, `data` = face id) and the neutral baselines of calibrated faces. The
current point is the face's smoothed V/A (equal to the raw output with smoothing "none"); the baseline
point is where that face's neutral resting state lies, so the distance between the two is the
baseline-corrected value the CSV records.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QWidget

from app.core.packets import FramePacket
from app.gui.widgets.history import FaceHistories
from app.gui.widgets.palette import FACE_COLORS, face_color

TRAIL_POINTS = 45  # processed frames per trail (1.5 s at 30 fps)
_ALPHA_STEPS = 16
# (x, y, anchor, text): each label sits in its quadrant's corner of the square around the circle (two
# short lines, so it stays outside the circle even in a small plot).
QUADRANT_LABELS = (
    (1.15, 1.15, (1.0, 0.0), "excited\nhappy"),
    (-1.15, 1.15, (0.0, 0.0), "tense\nangry"),
    (-1.15, -1.15, (0.0, 1.0), "sad\nbored"),
    (1.15, -1.15, (1.0, 1.0), "calm\nrelaxed"),
)


class CircumplexPlot(pg.PlotWidget):
    """Valence/arousal plane with the unit circle, axes, quadrant labels, trails, points and baselines."""

    def __init__(self, parent: QWidget | None = None, trail_points: int = TRAIL_POINTS) -> None:
        """Create every plot item once; `trail_points` is the trail length in processed frames."""
        super().__init__(parent=parent, background="#1e1e1e")
        self.trail_points = int(trail_points)
        item = self.getPlotItem()
        item.setMenuEnabled(False)
        item.hideButtons()
        self.setMouseEnabled(False, False)
        self.setAspectLocked(True)
        self.setRange(xRange=(-1.15, 1.15), yRange=(-1.15, 1.15), padding=0)
        self.setMinimumSize(220, 220)
        item.setLabel("bottom", "valence")
        item.setLabel("left", "arousal")
        theta = np.linspace(0.0, 2.0 * np.pi, 181)  # (181,)
        grey = pg.mkPen((150, 150, 150), width=1)
        self.addItem(pg.PlotCurveItem(np.cos(theta), np.sin(theta), pen=grey))
        self.addItem(pg.PlotCurveItem([-1.0, 1.0], [0.0, 0.0], pen=grey))
        self.addItem(pg.PlotCurveItem([0.0, 0.0], [-1.0, 1.0], pen=grey))
        for x, y, anchor, text in QUADRANT_LABELS:
            label = pg.TextItem(text, color=(170, 170, 170), anchor=anchor)
            label.setPos(x, y)
            self.addItem(label)
        # (face colour, alpha step) -> brush, built once: the trail fades from old (transparent) to new.
        self._trail_brushes = [
            [pg.mkBrush(face_color(c, int(255 * (k + 1) / _ALPHA_STEPS))) for k in range(_ALPHA_STEPS)]
            for c in range(len(FACE_COLORS))
        ]
        self.trails = pg.ScatterPlotItem(size=6, pen=None)
        self.points = pg.ScatterPlotItem(size=16, pen=pg.mkPen("w", width=1.5))
        self.baselines = pg.ScatterPlotItem(size=14, symbol="x", pen=None)
        for scatter in (self.trails, self.baselines, self.points):
            self.addItem(scatter)

    def set_labels(self, va_source: str, untrained: bool) -> None:
        """Mark the plot "V/A derived" and/or "untrained model" as the model's card says."""
        notes = [text for flag, text in ((va_source == "derived", "V/A derived"),
                                         (untrained, "untrained model")) if flag]
        self.getPlotItem().setTitle(" · ".join(notes) or None, color="#e6c878", size="9pt")

    def update_from(self, packet: FramePacket | None, histories: FaceHistories) -> None:
        """Show the faces of `packet` (current points, baselines) and their trails from `histories`."""
        faces = packet.faces if packet is not None else ()
        x, y, ids = [], [], []
        for face in faces:
            x.append(float(np.clip(face.valence_smoothed, -1.0, 1.0)))
            y.append(float(np.clip(face.arousal_smoothed, -1.0, 1.0)))
            ids.append(face.face_id)
        self.points.setData(x=x, y=y, data=ids, brush=[pg.mkBrush(face_color(i)) for i in ids])
        bx, by, bbrush = [], [], []
        for face in faces:
            if face.valence_corrected is not None and face.arousal_corrected is not None:
                bx.append(float(np.clip(face.valence_smoothed - face.valence_corrected, -1.0, 1.0)))
                by.append(float(np.clip(face.arousal_smoothed - face.arousal_corrected, -1.0, 1.0)))
                bbrush.append(pg.mkBrush(face_color(face.face_id)))
        self.baselines.setData(x=bx, y=by, brush=bbrush)
        tx, ty, tbrush = [], [], []
        for face_id in ids:
            rows = histories.last(face_id, self.trail_points)  # (n,5)
            n = len(rows)
            if n == 0:
                continue
            tx.append(np.clip(rows[:, 3], -1.0, 1.0))
            ty.append(np.clip(rows[:, 4], -1.0, 1.0))
            steps = ((np.arange(n) + 1) * _ALPHA_STEPS // (n + 1)).clip(0, _ALPHA_STEPS - 1)  # (n,)
            table = self._trail_brushes[face_id % len(FACE_COLORS)]
            tbrush.extend(table[k] for k in steps)
        if tx:
            self.trails.setData(x=np.concatenate(tx), y=np.concatenate(ty), brush=tbrush)
        else:
            self.trails.setData(x=[], y=[])

    def current_points(self) -> dict[int, tuple[float, float]]:
        """The drawn current point of each face id, {face_id: (valence, arousal)}."""
        x, y = self.points.getData()
        ids = self.points.data["data"]
        return {int(i): (float(vx), float(vy)) for i, vx, vy in zip(ids, x, y, strict=True)}

    def trail_length(self) -> int:
        """Number of trail points drawn (all faces together)."""
        x, _ = self.trails.getData()
        return 0 if x is None else len(x)


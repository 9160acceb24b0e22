"""Expression probabilities of the selected face as horizontal bars on a fixed 0..1 axis."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QWidget

from app.gui.widgets.plot_export import install_export_menu
from model.config import CLASS_NAMES


class ExpressionBars(pg.PlotWidget):
    """One bar per expression class (AffectNet order), updated in place."""

    def __init__(self, parent: QWidget | None = None, class_names: tuple[str, ...] = CLASS_NAMES) -> None:
        """Create the bar item once for `class_names`."""
        super().__init__(parent=parent, background="#1e1e1e")
        install_export_menu(self, "expressions")  # right-click: save as PNG or SVG
        self.class_names = tuple(class_names)
        n = len(self.class_names)
        item = self.getPlotItem()
        item.setMenuEnabled(False)
        item.hideButtons()
        self.setMouseEnabled(False, False)
        self.setXRange(0.0, 1.0, padding=0.02)
        self.setYRange(-0.6, n - 0.4, padding=0)
        item.invertY(True)
        item.getAxis("left").setTicks([list(enumerate(self.class_names))])
        item.setLabel("bottom", "probability")
        self.bars = pg.BarGraphItem(x0=0.0, y=np.arange(n), height=0.7, width=np.zeros(n),
                                    brush=(110, 200, 140))
        self.addItem(self.bars)

    def set_probabilities(self, probabilities: np.ndarray | None) -> None:
        """Show `probabilities` ((n,) in class order); None empties the bars."""
        n = len(self.class_names)
        values = np.zeros(n) if probabilities is None else np.asarray(probabilities, float).reshape(-1)
        if values.shape != (n,):
            raise ValueError(f"expected {n} probabilities, got shape {values.shape}")
        self.bars.setOpts(width=values)

    def values(self) -> np.ndarray:
        """The bar lengths drawn, (n,)."""
        return np.asarray(self.bars.opts["width"], dtype=float)

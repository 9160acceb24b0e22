"""Attention of the selected face: its four first-level maps over the face crop and the layer weights.

Each map is drawn on the fixed 0..1 scale of `attention_scale.attention_display` with levels (0, 1),
stretched over the crop the model saw, so the same colour always means the same share of attention.
The second-level (layer) weights are bars on a fixed 0..1 axis.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF
from PySide6.QtWidgets import QWidget

from app.core.attention_scale import attention_display
from app.core.packets import FaceResult
from app.gui.widgets.plot_export import install_export_menu

LAYERS = 4
MAP_OPACITY = 0.6


class AttentionPanel(pg.GraphicsLayoutWidget):
    """Four views (crop + heatmap of layer l) and a bar plot of the four layer weights."""

    def __init__(self, parent: QWidget | None = None) -> None:
        """Create the crop/heatmap images of each layer and the weight bars once."""
        super().__init__(parent=parent)
        install_export_menu(self, "attention")  # right-click: save as PNG or SVG
        self.setBackground("#1e1e1e")
        lut = pg.colormap.get("inferno").getLookupTable(0.0, 1.0, 256)
        self.crops: list[pg.ImageItem] = []
        self.maps: list[pg.ImageItem] = []
        self.views: list[pg.ViewBox] = []
        for layer in range(LAYERS):
            self.addLabel(f"layer {layer + 1}", row=0, col=layer, size="9pt")
            view = self.addViewBox(row=1, col=layer, lockAspect=True, invertY=True, enableMouse=False,
                                   enableMenu=False)
            crop = pg.ImageItem(axisOrder="row-major")
            heat = pg.ImageItem(axisOrder="row-major")
            heat.setLookupTable(lut)
            heat.setOpacity(MAP_OPACITY)
            view.addItem(crop)
            view.addItem(heat)
            self.views.append(view)
            self.crops.append(crop)
            self.maps.append(heat)
        self.weights_plot = self.addPlot(row=2, col=0, colspan=LAYERS, title="layer weights")
        self.weights_plot.setMenuEnabled(False)
        self.weights_plot.hideButtons()
        self.weights_plot.setMouseEnabled(False, False)
        self.weights_plot.setYRange(0.0, 1.0, padding=0.02)
        self.weights_plot.setXRange(0.4, LAYERS + 0.6, padding=0)
        self.weights_plot.getAxis("bottom").setTicks([[(i + 1, f"L{i + 1}") for i in range(LAYERS)]])
        self.weights_plot.getAxis("left").setTicks([[(0.0, "0"), (0.5, "0.5"), (1.0, "1")]])
        self.bars = pg.BarGraphItem(x=np.arange(1, LAYERS + 1), height=np.zeros(LAYERS), width=0.6,
                                    brush=(120, 170, 230))
        self.weights_plot.addItem(self.bars)
        self._crop_side = 0

    def clear_face(self) -> None:
        """Show nothing (no face selected)."""
        for crop, heat in zip(self.crops, self.maps, strict=True):
            crop.clear()
            heat.clear()
        self.bars.setOpts(height=np.zeros(LAYERS))

    def update_from(self, face: FaceResult) -> None:
        """Draw `face`'s crop under each of its maps (fixed 0..1 scale) and its layer weights."""
        crop = face.crop
        side = crop.shape[0]
        for layer, (crop_item, map_item) in enumerate(zip(self.crops, self.maps, strict=True)):
            crop_item.setImage(crop, autoLevels=False)  # uint8 RGB: drawn as is
            map_item.setImage(attention_display(face.spatial_attention[layer]), autoLevels=False,
                              levels=(0.0, 1.0))
            map_item.setRect(QRectF(0, 0, crop.shape[1], side))
        if side != self._crop_side:
            self._crop_side = side
            for view in self.views:
                view.setRange(QRectF(0, 0, crop.shape[1], side), padding=0)
        self.bars.setOpts(height=np.asarray(face.layer_attention, dtype=float).reshape(-1))

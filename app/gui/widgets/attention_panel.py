"""Attention of the selected face: its four first-level maps over the face crop, with a colour scale.

The four maps sit side by side (the panel is wider than tall: one row gives each map the most room). Each is
drawn on the fixed 0..1 scale of `attention_scale.attention_display` with levels (0, 1), stretched over
the crop the model saw, so the same colour always means the same share of attention: the colour bar
reads "attention / uniform", from none to 4x or more. Each map's title is "L<layer> /<stride> · w
<weight>": the layer, its backbone stride, and its second-level weight (how much the face's reading
draws on that layer); the tooltip says so.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF
from PySide6.QtWidgets import QWidget

from app.core.attention_scale import FULL_SCALE, attention_display
from app.core.packets import FaceResult
from app.gui.widgets.plot_export import install_export_menu

LAYERS = 4
STRIDES = (4, 8, 16, 32)  # backbone stride of each layer's map
MAP_OPACITY = 0.6
COLORMAP = "inferno"
NO_FACE = "attention: no face selected"
SCALE_LABEL = "attention / uniform"


def scale_ticks() -> list[tuple[float, str]]:
    """The colour bar's ticks: the display value of 0, 1x, 2x, 3x and 4x+ the uniform share."""
    steps = int(FULL_SCALE)
    return [(i / steps, "0" if i == 0 else f"{i}x" + ("+" if i == steps else "")) for i in range(steps + 1)]


class AttentionPanel(pg.GraphicsLayoutWidget):
    """A row of (crop + heatmap of layer l) views, their titles with the layer weights, and a colour bar."""

    def __init__(self, parent: QWidget | None = None) -> None:
        """Create the crop/heatmap images of each layer and the colour bar once."""
        super().__init__(parent=parent)
        install_export_menu(self, "attention")  # right-click: save as PNG or SVG
        self.setBackground("#1e1e1e")
        cmap = pg.colormap.get(COLORMAP)
        lut = cmap.getLookupTable(0.0, 1.0, 256)
        self.title = self.addLabel(NO_FACE, row=0, col=0, colspan=LAYERS, size="9pt")
        self.titles: list[pg.LabelItem] = []
        self.crops: list[pg.ImageItem] = []
        self.maps: list[pg.ImageItem] = []
        self.views: list[pg.ViewBox] = []
        for layer in range(LAYERS):
            row, col = 1, layer
            title = self.addLabel(f"L{layer + 1} /{STRIDES[layer]}", row=row, col=col, size="8pt")
            self.titles.append(title)
            view = self.addViewBox(row=row + 1, col=col, lockAspect=True, invertY=True, enableMouse=False,
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
        self.scale = pg.ColorBarItem(values=(0.0, 1.0), colorMap=cmap, interactive=False, width=12,
                                     colorMapMenu=False)
        self.scale.axis.setTicks([scale_ticks()])
        self.scale.axis.setLabel(SCALE_LABEL)
        self.addItem(self.scale, row=1, col=LAYERS, rowspan=2)
        self.weights = np.zeros(LAYERS, dtype=np.float32)  # the shown face's second-level weights
        self.setToolTip("First-level attention of the selected face over the crop the model saw, one map "
                        "per backbone layer (L1..L4, stride 4 to 32). Colour: attention relative to a "
                        "uniform spread (1x) up to 4x or more. w: the layer's second-level weight.")
        self._crop_side = 0

    def clear_face(self) -> None:
        """Show nothing (no face selected)."""
        for crop, heat in zip(self.crops, self.maps, strict=True):
            crop.clear()
            heat.clear()
        self.weights = np.zeros(LAYERS, dtype=np.float32)
        self.title.setText(NO_FACE)
        for layer, title in enumerate(self.titles):
            title.setText(f"L{layer + 1} /{STRIDES[layer]}")

    def update_from(self, face: FaceResult) -> None:
        """Draw `face`'s crop under each of its maps (fixed 0..1 scale), titled with the layer weights."""
        crop = face.crop
        side = crop.shape[0]
        self.weights = np.asarray(face.layer_attention, dtype=np.float32).reshape(-1)
        self.title.setText(f"face #{face.face_id}: attention per layer")
        for layer, (crop_item, map_item) in enumerate(zip(self.crops, self.maps, strict=True)):
            crop_item.setImage(crop, autoLevels=False)  # uint8 RGB: drawn as is
            map_item.setImage(attention_display(face.spatial_attention[layer]), autoLevels=False,
                              levels=(0.0, 1.0))
            map_item.setRect(QRectF(0, 0, crop.shape[1], side))
            self.titles[layer].setText(f"L{layer + 1} /{STRIDES[layer]} · w {self.weights[layer]:.2f}")
        if side != self._crop_side:
            self._crop_side = side
            for view in self.views:
                view.setRange(QRectF(0, 0, crop.shape[1], side), padding=0)

"""The video view: the latest frame with each face's box, id and label, and an optional attention overlay.

Everything is drawn by items created once: the frame image, one box curve per palette colour (all
boxes of that colour in one `connect="pairs"` curve), and pools of labels and overlay images that grow
to the largest number of faces seen and are hidden when not needed.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF
from PySide6.QtWidgets import QWidget

from app.core.attention_scale import FULL_SCALE, fused_attention
from app.core.cropping import square_region
from app.core.face_quality import is_low
from app.core.label_layout import place_labels
from app.core.packets import FaceResult, FramePacket
from app.gui.widgets.palette import FACE_COLORS, face_color

MESSAGE_WIDTH_SHARE = 0.85  # a message in the view wraps at this share of its width
MESSAGE_MIN_WIDTH = 160  # px

OVERLAY_Z, LABEL_Z = 5, 10  # drawing order: frame, boxes, heatmaps, labels
OVERLAY_MAX_ALPHA = 200  # of 255: the most a heatmap covers the face, at 4x uniform attention or more
OVERLAY_SIZE = 64  # side of the fused map drawn over a face (stretched over the crop square)


def face_text(face: FaceResult, va_source: str) -> str:
    """The label of a face: id (and its name), expression and smoothed V/A, marked when the V/A is
    derived, when the tracker carried the face through a missed detection, and when its quality is low
    (with the reasons: small, blurred, dark, bright, tilted)."""
    name = f"#{face.face_id} {face.label}".strip()
    text = f"{name} {face.expression}  V {face.valence_smoothed:+.2f}  A {face.arousal_smoothed:+.2f}"
    text += "" if face.detected else "  (tracked)"
    if is_low(face.quality):  # the reading is shaky: say why
        text += f"  (low: {', '.join(face.quality.reasons)})"
    return text + ("  (V/A derived)" if va_source == "derived" else "")


def limit_notice(in_view: int, analysed: int) -> str:
    """The video's notice when the face limit left faces out ("" when every face is analysed)."""
    if in_view <= analysed:
        return ""
    return (f"{in_view} faces in view: the {analysed} most certain are analysed (live face limit "
            f"{analysed}); the others have no rows")


def overlay_lookup_table() -> np.ndarray:
    """(256, 4) RGBA: inferno colours whose opacity grows from none at uniform attention (display 0.25)
    to OVERLAY_MAX_ALPHA at 4x uniform, so only the parts the model looks at are tinted, not the whole
    face (a flat wash said nothing)."""
    rgb = pg.colormap.get("inferno").getLookupTable(0.0, 1.0, 256)[:, :3]  # (256,3) uint8
    value = np.linspace(0.0, 1.0, 256)
    uniform = 1.0 / FULL_SCALE
    alpha = np.clip((value - uniform) / (1.0 - uniform), 0.0, 1.0) * OVERLAY_MAX_ALPHA  # (256,)
    return np.concatenate([rgb, alpha[:, None].astype(np.uint8)], axis=1)  # (256,4)


def _box_segments(boxes: list[tuple[int, int, int, int]]) -> tuple[np.ndarray, np.ndarray]:
    """x and y of the 4 edges of each box as point pairs, for a connect="pairs" curve."""
    xs, ys = [], []
    for x, y, w, h in boxes:
        x1, y1 = x + w, y + h
        xs += [x, x1, x1, x1, x1, x, x, x]
        ys += [y, y, y, y1, y1, y1, y1, y]
    return np.asarray(xs, dtype=float), np.asarray(ys, dtype=float)


class VideoView(pg.GraphicsLayoutWidget):
    """Shows frames (RGB, row-major) with face boxes, labels and an optional fused-attention overlay."""

    def __init__(self, parent: QWidget | None = None) -> None:
        """Create the view box, the frame item and one box curve per palette colour."""
        super().__init__(parent=parent)
        self.setBackground("#101010")
        self.view = self.addViewBox(lockAspect=True, invertY=True, enableMouse=False, enableMenu=False)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.view.addItem(self.image)
        self.box_curves = [pg.PlotCurveItem(pen=pg.mkPen(face_color(c), width=2), connect="pairs")
                           for c in range(len(FACE_COLORS))]
        for curve in self.box_curves:
            self.view.addItem(curve)
        self.labels: list[pg.TextItem] = []
        self._label_state: list[tuple[str, int]] = []  # (text, face id) each label shows
        self._colors_drawn: set[int] = set()  # palette colours whose box curve holds boxes
        self.overlays: list[pg.ImageItem] = []
        self._lut = overlay_lookup_table()
        self.show_attention = False
        self.crop_margin = 0.25  # ModelConfig.crop_margin of the model in use (where crops come from)
        self._frame_shape: tuple[int, ...] | None = None
        self.notice = pg.TextItem("", color=(255, 210, 120), anchor=(0.0, 0.0),
                                  fill=pg.mkBrush(0, 0, 0, 190))  # "more faces in view than analysed"
        self.notice.setZValue(LABEL_Z + 1)
        self.view.addItem(self.notice)
        self._shown: FramePacket | None = None  # the packet drawn last (its labels follow a zoom/resize)
        self.view.sigResized.connect(self._replace_labels)
        self.view.sigRangeChanged.connect(self._replace_labels)
        self.message = pg.TextItem("", color=(220, 220, 220), anchor=(0.5, 0.5))
        self.view.addItem(self.message)

    def show_message(self, text: str) -> None:
        """Write `text` in the middle of the view (e.g. why no video is shown); empty hides it."""
        self.message.setText(text)
        self._wrap_message()
        rect = self.image.boundingRect() if self._frame_shape else QRectF(0, 0, 640, 480)
        self.message.setPos(rect.center())
        if not self._frame_shape:
            self.view.setRange(rect, padding=0)

    def _show_notice(self, packet: FramePacket) -> None:
        """Say so when more faces are in view than the face limit lets through (none dropped silently)."""
        text = limit_notice(packet.faces_in_view, len(packet.faces))
        if text != self.notice.toPlainText():
            self.notice.setText(text)
        self.notice.setPos(0, 0)

    def _replace_labels(self, *_args: object) -> None:
        """The view's scale changed: lay the labels out again (their size in frame pixels changed)."""
        if self._shown is not None:
            self._place_labels(self._shown)

    def _place_labels(self, packet: FramePacket) -> None:
        """Put each face's label beside its box, inside the frame, clear of the other labels."""
        faces = packet.faces
        if not faces:
            return
        sx, sy = self.view.viewPixelSize()  # frame pixels per screen pixel (labels are drawn unscaled)
        sizes = []
        for i in range(len(faces)):
            rect = self.labels[i].textItem.boundingRect()
            sizes.append((rect.width() * sx, rect.height() * sy))
        height, width = packet.frame.shape[:2]
        for i, (x, y) in enumerate(place_labels([f.box for f in faces], sizes, (width, height))):
            self.labels[i].setPos(x, y)

    def _wrap_message(self) -> None:
        """Wrap the message to most of the view's width (a long camera error wraps, never gets cut)."""
        self.message.textItem.setTextWidth(max(MESSAGE_MIN_WIDTH, MESSAGE_WIDTH_SHARE * self.width()))
        self.message.updateTextPos()

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        """Re-wrap the message for the new width."""
        super().resizeEvent(event)
        message = getattr(self, "message", None)  # Qt resizes the view once before __init__ ends
        if message is not None and message.toPlainText():
            self._wrap_message()

    def _label(self, i: int) -> pg.TextItem:
        while len(self.labels) <= i:
            label = pg.TextItem("", anchor=(0.0, 0.0), fill=pg.mkBrush(0, 0, 0, 160))
            label.setZValue(LABEL_Z)  # above the boxes and heatmaps
            self.view.addItem(label)
            self.labels.append(label)
            self._label_state.append(("", -1))
        return self.labels[i]

    def _overlay(self, i: int) -> pg.ImageItem:
        while len(self.overlays) <= i:
            item = pg.ImageItem(axisOrder="row-major")
            item.setLookupTable(self._lut)
            item.setZValue(OVERLAY_Z)
            self.view.addItem(item)
            self.overlays.append(item)
        return self.overlays[i]

    def update_from(self, packet: FramePacket) -> None:
        """Draw the packet's frame, boxes, labels and (when enabled) attention overlays."""
        frame = packet.frame
        self.image.setImage(frame, autoLevels=False)  # uint8 RGB: drawn as is, no rescaling
        if frame.shape != self._frame_shape:
            self._frame_shape = frame.shape
            self.view.setRange(QRectF(0, 0, frame.shape[1], frame.shape[0]), padding=0)
        per_color: list[list[tuple[int, int, int, int]]] = [[] for _ in FACE_COLORS]
        for i, face in enumerate(packet.faces):
            per_color[face.face_id % len(FACE_COLORS)].append(tuple(int(v) for v in face.box))
            label = self._label(i)
            text = face_text(face, packet.va_source)
            if self._label_state[i] != (text, face.face_id):  # re-laying out text is the costly part
                self._label_state[i] = (text, face.face_id)
                label.setText(text, color=face_color(face.face_id))
            label.show()
            overlay = self._overlay(i)
            if self.show_attention:
                sx, sy, side, _ = square_region(face.box, self.crop_margin)
                heat = fused_attention(face.spatial_attention, face.layer_attention, OVERLAY_SIZE)
                overlay.setImage(heat, autoLevels=False, levels=(0.0, 1.0))
                overlay.setRect(QRectF(sx, sy, side, side))
                overlay.show()
            else:
                overlay.hide()
        for color, (curve, boxes) in enumerate(zip(self.box_curves, per_color, strict=True)):
            if boxes or color in self._colors_drawn:
                x, y = _box_segments(boxes)
                curve.setData(x, y, connect="pairs")
        self._colors_drawn = {c for c, boxes in enumerate(per_color) if boxes}
        self._shown = packet
        self._place_labels(packet)
        self._show_notice(packet)
        for item in self.labels[len(packet.faces):] + self.overlays[len(packet.faces):]:
            item.hide()
        if self.message.toPlainText():
            self.message.setText("")

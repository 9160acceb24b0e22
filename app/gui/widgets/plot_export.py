"""Right-click any chart to save it as a PNG or an SVG figure.

    install_export_menu(view, "circumplex")      # view: a pg.PlotWidget or pg.GraphicsLayoutWidget
    export_figure(view, "figure.svg")            # the same, without a dialog

The figure is the whole chart as drawn (axes, labels, legend), rendered by Qt's own painters (pyqtgraph
0.14's SVG exporter fails on closed paths with this Qt); a PNG has `PNG_SCALE` times the on-screen
pixels, so it stays sharp in a paper or a slide. Files are written through model.io.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pyqtgraph as pg
from PySide6.QtCore import QBuffer, QIODevice, QPoint, QRectF, QSize, Qt
from PySide6.QtGui import QImage, QPainter
from PySide6.QtSvg import QSvgGenerator
from PySide6.QtWidgets import QFileDialog, QGraphicsItem, QMenu, QMessageBox

from model.io import write_bytes_atomic

PNG_SCALE = 2  # a PNG has twice the on-screen pixels
FORMATS = {".png": "PNG image (*.png)", ".svg": "SVG vector figure (*.svg)"}


@contextmanager
def _scaled_with_the_figure(view: pg.GraphicsView) -> Iterator[None]:
    """Let items that ignore transformations (pyqtgraph's legends) scale with the rest while exporting:
    a 2x PNG would otherwise hold a legend at half the size of every other text. On screen the scene's
    transform is the identity, so nothing moves."""
    flag = QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations
    fixed = [item for item in view.scene().items() if item.flags() & flag]
    for item in fixed:
        item.setFlag(flag, False)
    try:
        yield
    finally:
        for item in fixed:
            item.setFlag(flag, True)


def _figure_bytes(view: pg.GraphicsView, suffix: str) -> bytes:
    """The chart in `view` rendered as PNG or SVG bytes (Qt's own painters: vector text and lines in SVG)."""
    source = view.sceneRect() if isinstance(view, pg.PlotWidget) else view.ci.sceneBoundingRect()
    width, height = max(1, round(source.width())), max(1, round(source.height()))
    buffer = QBuffer()
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    if suffix == ".png":
        image = QImage(width * PNG_SCALE, height * PNG_SCALE, QImage.Format.Format_ARGB32)
        image.fill(view.backgroundBrush().color())
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        with _scaled_with_the_figure(view):
            view.scene().render(painter, QRectF(image.rect()), source)
        painter.end()
        image.save(buffer, "PNG")
    else:
        generator = QSvgGenerator()
        generator.setOutputDevice(buffer)
        generator.setSize(QSize(width, height))
        generator.setViewBox(QRectF(0, 0, width, height))
        generator.setTitle("AffectScope chart")
        painter = QPainter(generator)
        painter.fillRect(QRectF(0, 0, width, height), view.backgroundBrush())
        view.scene().render(painter, QRectF(0, 0, width, height), source)
        painter.end()
    return bytes(buffer.data())


def export_figure(view: pg.GraphicsView, path: str | Path) -> Path:
    """Write the chart shown in `view` to `path` (.png or .svg); ValueError for another suffix."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise ValueError(f"{path.name}: choose a .png or .svg file name")
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_bytes_atomic(path, _figure_bytes(view, suffix))


def install_export_menu(view: pg.GraphicsView, name: str) -> None:
    """Give `view` a context menu with "Save as PNG…" and "Save as SVG…" (`name`: the file name offered)."""
    view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
    view.customContextMenuRequested.connect(lambda pos: _show_menu(view, name, pos))


def export_menu(view: pg.GraphicsView, name: str) -> QMenu:
    """The context menu `install_export_menu` shows (built fresh each time)."""
    menu = QMenu(view)
    for suffix, label in (("png", "Save as PNG…"), ("svg", "Save as SVG…")):
        menu.addAction(label, lambda s=f".{suffix}": _ask_and_export(view, f"{name}{s}"))
    return menu


def _show_menu(view: pg.GraphicsView, name: str, pos: QPoint) -> None:
    export_menu(view, name).popup(view.mapToGlobal(pos))


def _ask_and_export(view: pg.GraphicsView, suggested: str) -> None:
    """Ask where to save (a user action), then export; a failure is said in a message box."""
    suffix = Path(suggested).suffix
    path, _ = QFileDialog.getSaveFileName(view, "Save the chart", str(Path.home() / suggested),
                                          FORMATS[suffix])
    if not path:
        return
    if not Path(path).suffix:
        path += suffix
    try:
        export_figure(view, path)
    except (OSError, ValueError) as exc:
        QMessageBox.warning(view, "Save the chart", f"The chart could not be saved to {path}: {exc}")

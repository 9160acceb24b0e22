"""Every chart saves itself as a PNG or SVG figure from its context menu."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QContextMenuEvent
from PySide6.QtWidgets import QApplication

from app.gui.widgets.attention_panel import AttentionPanel
from app.gui.widgets.circumplex import CircumplexPlot
from app.gui.widgets.expression_bars import ExpressionBars
from app.gui.widgets.plot_export import PNG_SCALE, export_figure, export_menu
from app.gui.widgets.timelines import Timelines

CHARTS = {"circumplex": CircumplexPlot, "timelines": Timelines, "attention": AttentionPanel,
          "expressions": ExpressionBars}


@pytest.mark.parametrize("name", sorted(CHARTS))
def test_each_chart_offers_png_and_svg_and_writes_valid_files(qtbot, tmp_path, name):
    chart = CHARTS[name]()
    qtbot.addWidget(chart)
    chart.resize(400, 300)
    chart.show()
    qtbot.waitExposed(chart)
    if name == "expressions":
        chart.set_probabilities(np.full(8, 1 / 8, np.float32))
    assert chart.contextMenuPolicy() == Qt.ContextMenuPolicy.CustomContextMenu
    assert [a.text() for a in export_menu(chart, name).actions()] == ["Save as PNG…", "Save as SVG…"]

    png = export_figure(chart, tmp_path / f"{name}.png")
    with Image.open(png) as image:
        image.verify()
    with Image.open(png) as image:
        assert image.format == "PNG" and image.width >= PNG_SCALE * 300 * 0.9  # rendered larger than shown
        assert len(set(image.convert("L").get_flattened_data())) > 2  # not a blank canvas
    svg = export_figure(chart, tmp_path / f"{name}.svg")
    root = ET.parse(svg).getroot()
    assert root.tag.endswith("svg") and len(list(root.iter())) > 10


def test_the_circumplex_figure_keeps_its_axis_labels(qtbot, tmp_path):
    chart = CircumplexPlot()
    qtbot.addWidget(chart)
    svg = export_figure(chart, tmp_path / "c.svg").read_text(encoding="utf-8")
    assert "valence" in svg and "arousal" in svg
    with pytest.raises(ValueError, match="png or .svg"):
        export_figure(chart, tmp_path / "c.jpg")


def test_a_right_click_asks_for_the_menu(qtbot):
    chart = Timelines()
    qtbot.addWidget(chart)
    chart.show()
    qtbot.waitExposed(chart)
    asked: list = []
    chart.customContextMenuRequested.connect(asked.append)
    here = QPoint(20, 20)
    event = QContextMenuEvent(QContextMenuEvent.Reason.Mouse, here, chart.viewport().mapToGlobal(here))
    QApplication.sendEvent(chart.viewport(), event)
    assert asked, "a right-click on the chart must open the save menu"

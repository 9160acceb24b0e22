"""Scrolling the side panel with the wheel scrolls it; the spin box or combo box under the pointer keeps
its value unless the user clicked into it."""

from __future__ import annotations

from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication, QComboBox, QScrollArea, QSpinBox, QVBoxLayout, QWidget

from app.gui.widgets.wheel_guard import guard_wheel


def _wheel_down(widget: QWidget) -> None:
    centre = QPointF(widget.rect().center())
    event = QWheelEvent(centre, QPointF(widget.mapToGlobal(centre.toPoint())), QPoint(0, 0), QPoint(0, -120),
                        Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase,
                        False)
    QApplication.sendEvent(widget, event)


def test_the_wheel_scrolls_the_panel_not_the_control_under_the_pointer(qtbot) -> None:
    panel = QWidget()
    column = QVBoxLayout(panel)
    spins = [QSpinBox() for _ in range(30)]
    for spin in spins:
        spin.setRange(0, 100)
        spin.setValue(50)
        column.addWidget(spin)
    combo = QComboBox()
    combo.addItems(["auto", "torch", "onnx"])
    column.addWidget(combo)
    area = QScrollArea()
    area.setWidgetResizable(True)
    area.setWidget(panel)
    guard_wheel(area)
    qtbot.addWidget(area)
    area.resize(200, 150)
    area.show()
    qtbot.waitExposed(area)
    _wheel_down(spins[1])
    _wheel_down(combo)
    assert spins[1].value() == 50 and combo.currentText() == "auto"
    assert area.verticalScrollBar().value() > 0  # the panel scrolled instead
    spins[1].setFocus()
    qtbot.waitUntil(spins[1].hasFocus)
    _wheel_down(spins[1])
    assert spins[1].value() == 49  # a control the user clicked into still takes the wheel

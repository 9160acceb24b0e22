"""Scrolling a panel of controls must not change them: a wheel turned over a spin box or a combo box
that the user has not clicked into scrolls the panel instead (Qt's default changes the value under the
pointer, so scrolling down the Live tab's side panel changed the runtime and the calibration time)."""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication, QEvent, QObject, Qt
from PySide6.QtWidgets import QAbstractSpinBox, QComboBox, QScrollArea


class WheelGuard(QObject):
    """Event filter: the wheel over an unfocused value control goes to the scroll area's scroll bar."""

    def __init__(self, area: QScrollArea) -> None:
        super().__init__(area)
        self._area = area

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        """Redirect the wheel of an unfocused control; everything else passes."""
        if event.type() == QEvent.Type.Wheel and not watched.hasFocus():
            QCoreApplication.sendEvent(self._area.verticalScrollBar(), event)
            return True
        return False


def guard_wheel(area: QScrollArea) -> WheelGuard:
    """Protect every spin box and combo box inside `area` (they take focus by click or Tab only)."""
    guard = WheelGuard(area)
    for control in area.widget().findChildren(QAbstractSpinBox) + area.widget().findChildren(QComboBox):
        control.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        control.installEventFilter(guard)
    return guard

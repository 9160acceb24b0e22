"""Bare-key shortcuts (Space = start/stop, M = marker) must not fire while the user types in a text
field: typing "first marker" into the marker field stopped the source and added a marker named
"marker". The guard claims the ShortcutOverride of every printable key for the text inputs it watches,
so Qt delivers the key to the field; shortcuts with Ctrl or Alt still work everywhere."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import QAbstractSpinBox, QLineEdit, QPlainTextEdit, QTextEdit, QWidget

TEXT_INPUTS = (QLineEdit, QAbstractSpinBox, QTextEdit, QPlainTextEdit)
_TYPING = Qt.KeyboardModifier.ShiftModifier | Qt.KeyboardModifier.KeypadModifier


class TypingGuard(QObject):
    """Event filter: printable keys typed into a text input are the input's, not a shortcut's."""

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        """Accept the ShortcutOverride of a printable key without Ctrl/Alt/Meta."""
        if event.type() == QEvent.Type.ShortcutOverride and event.text().isprintable() and event.text():
            if not (event.modifiers() & ~_TYPING):
                event.accept()  # accepted: the key goes to the widget as a KeyPress, no shortcut
                return True
        return False


def guard_typing(root: QWidget) -> TypingGuard:
    """Watch every text input under `root` (call after the widgets are built)."""
    guard = TypingGuard(root)
    for kind in TEXT_INPUTS:
        for widget in root.findChildren(kind):
            widget.installEventFilter(guard)
    return guard

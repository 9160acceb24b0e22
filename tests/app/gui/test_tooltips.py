"""Every control a user can operate says what it does when hovered (issue 16 item 17)."""

from __future__ import annotations

from PySide6.QtWidgets import QAbstractButton, QAbstractSpinBox, QComboBox, QLineEdit, QToolButton

from app.gui.main_window import MainWindow
from app.gui.settings import open_settings

# Qt's own parts of composite widgets (a spin box's text field, a table's corner, a tab bar's arrows)
QT_PARTS = {"qt_spinbox_lineedit", "qt_tableview_cornerbutton", "ScrollLeftButton", "ScrollRightButton"}
SELF_EXPLANATORY = {"Stop", "Start", "…", "..."}  # the run buttons whose label is their whole meaning


def test_every_control_of_the_four_tabs_has_a_tooltip(qtbot, tmp_path):
    window = MainWindow(open_settings(tmp_path / "fresh.ini"))
    qtbot.addWidget(window)
    missing = []
    for tab in (window.live_tab, window.images_tab, window.training_tab, window.viewer_tab):
        for cls in (QAbstractButton, QComboBox, QAbstractSpinBox, QLineEdit):
            for control in tab.findChildren(cls):
                text = control.text() if isinstance(control, QAbstractButton | QLineEdit) else ""
                if control.objectName() in QT_PARTS or (isinstance(control, QToolButton) and not text):
                    continue
                if control.isVisibleTo(tab) and not control.toolTip() and text not in SELF_EXPLANATORY:
                    missing.append(f"{type(tab).__name__}: {type(control).__name__} {text!r}")
    window.close_without_asking()
    assert not missing, missing

"""The Viewer's "Export figure…" dialog: which figure, at what size; the file name is asked after it.

dialog = FigureExportDialog({"valence_arousal": ("Valence and arousal", (1400, 600)), ...}, parent)
if dialog.exec():
    key, (width, height) = dialog.choice()
"""

from __future__ import annotations

from PySide6.QtWidgets import QComboBox, QDialog, QDialogButtonBox, QFormLayout, QLabel, QSpinBox, QWidget

from app.gui.widgets.plot_export import PNG_SCALE

MIN_SIDE, MAX_SIDE = 200, 8000  # px of an exported figure (a PNG holds twice as many, plot_export)


class FigureExportDialog(QDialog):
    """Figure choice and width/height in pixels (each figure starts at its own default size)."""

    def __init__(self, figures: dict[str, tuple[str, tuple[int, int]]], parent: QWidget | None = None):
        """`figures`: key -> (title shown, default (width, height) px)."""
        super().__init__(parent)
        self.setWindowTitle("Export a figure")
        self.figures = figures
        self.figure = QComboBox()
        self.figure.setToolTip("Which figure of the Viewer to save")
        for key, (title, _size) in figures.items():
            self.figure.addItem(title, key)
        self.width_box, self.height_box = QSpinBox(), QSpinBox()
        for box in (self.width_box, self.height_box):
            box.setRange(MIN_SIDE, MAX_SIDE)
            box.setSuffix(" px")
            box.setToolTip(
                "The figure's size in pixels (its fonts keep their size: a larger figure shows more detail)"
            )
        self.figure.currentIndexChanged.connect(self._default_size)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form = QFormLayout(self)
        form.addRow("Figure", self.figure)
        form.addRow("Width", self.width_box)
        form.addRow("Height", self.height_box)
        note = QLabel(f"A PNG holds {PNG_SCALE}x these pixels (sharp in print); an SVG is this size.")
        note.setWordWrap(True)
        form.addRow(note)
        form.addRow(buttons)
        self._default_size()

    def _default_size(self) -> None:
        width, height = self.figures[self.figure.currentData()][1]
        self.width_box.setValue(width)
        self.height_box.setValue(height)

    def choice(self) -> tuple[str, tuple[int, int]]:
        """(figure key, (width, height) px) as chosen."""
        return str(self.figure.currentData()), (self.width_box.value(), self.height_box.value())

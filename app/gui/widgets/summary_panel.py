"""The Viewer's summary table: one row per face and segment, copied to the clipboard or saved as CSV.

    panel = SummaryPanel()
    panel.segmentation_changed.connect(...)    # "markers" or "intervals" chosen
    panel.show_rows(rows)                      # rows of app.core.segment_summary.summarize_segments

The table shows the columns a reader scans first (face, segment, frames, means and SDs, zone shares,
dominant expression); Copy and Save write every column of SUMMARY_COLUMNS, as `report` does.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.core.segment_summary import summary_text, write_summary_csv
from app.core.summary import QUADRANT_NAMES

SEGMENTATIONS = {"markers": "marker to marker", "intervals": "named intervals"}
SHOWN_COLUMNS = (
    ("face", "face"),
    ("segment", "segment"),
    ("duration_s", "duration (s)"),
    ("frames", "frames"),
    ("valence_mean", "V mean"),
    ("valence_sd", "V SD"),
    ("arousal_mean", "A mean"),
    ("arousal_sd", "A SD"),
    *((f"share_{name}", name.replace("_", " ")) for name in QUADRANT_NAMES),
    ("dominant_expression", "dominant expression"),
)


def cell_text(key: str, value: object) -> str:
    """How the table writes one value: 3 decimals for means/SDs, percent for shares, blank for None."""
    if value is None:
        return ""
    if key.startswith("share_"):
        return f"{100 * float(value):.0f}%"
    if isinstance(value, float):
        return f"{value:.1f}" if key == "duration_s" else f"{value:+.3f}"
    return str(value)


class SummaryPanel(QWidget):
    """Segmentation choice, the summary table, Copy and Save CSV."""

    segmentation_changed = Signal(str)  # a key of SEGMENTATIONS
    status_message = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        """An empty table; rows come with `show_rows`."""
        super().__init__(parent)
        self.rows: list[dict[str, object]] = []
        self.suggested_name = "summary.csv"
        self.segmentation = QComboBox()
        for key, text in SEGMENTATIONS.items():
            self.segmentation.addItem(text, key)
        self.segmentation.setToolTip(
            "Summarise from one marker to the next, or over the named intervals of the Edits panel"
        )
        self.segmentation.currentIndexChanged.connect(
            lambda _i: self.segmentation_changed.emit(self.segmentation_key())
        )
        self.copy_button = QPushButton("Copy")
        self.copy_button.setToolTip("Copy every column, tab-separated (pastes into a spreadsheet)")
        self.copy_button.clicked.connect(self.copy)
        self.save_button = QPushButton("Save CSV…")
        self.save_button.setToolTip("Save every column of the summary as a CSV file")
        self.save_button.clicked.connect(self.ask_and_save)
        self.table = QTableWidget(0, len(SHOWN_COLUMNS))
        self.table.setHorizontalHeaderLabels([title for _, title in SHOWN_COLUMNS])
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        top = QHBoxLayout()
        top.addWidget(QLabel("Segments:"))
        top.addWidget(self.segmentation, 1)
        top.addWidget(self.copy_button)
        top.addWidget(self.save_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(top)
        layout.addWidget(self.table, 1)
        self._update_buttons()

    def segmentation_key(self) -> str:
        """The chosen segmentation: "markers" or "intervals"."""
        return str(self.segmentation.currentData())

    def show_rows(self, rows: list[dict[str, object]]) -> None:
        """Fill the table with summary rows (every column is kept for Copy and Save)."""
        self.rows = list(rows)
        self.table.setRowCount(len(self.rows))
        for r, row in enumerate(self.rows):
            for c, (key, _title) in enumerate(SHOWN_COLUMNS):
                if key == "face":
                    text = f"#{row['face_id']} {row['face_label'] or ''}".strip()
                else:
                    text = cell_text(key, row[key])
                self.table.setItem(r, c, QTableWidgetItem(text))
        self._update_buttons()

    def _update_buttons(self) -> None:
        for button in (self.copy_button, self.save_button):
            button.setEnabled(bool(self.rows))

    @Slot()
    def copy(self) -> None:
        """Put every row and column on the clipboard as tab-separated text."""
        QApplication.clipboard().setText(summary_text(self.rows, "\t"))
        self.status_message.emit(f"Summary copied: {len(self.rows)} row(s), tab-separated")

    @Slot()
    def ask_and_save(self) -> None:
        """Ask for a file name (a user action), then save the summary CSV there."""
        path, _ = QFileDialog.getSaveFileName(self, "Save the summary", self.suggested_name, "CSV (*.csv)")
        if path:
            self.save(path)

    def save(self, path: str | Path) -> None:
        """Write the summary CSV to `path`; a failure is said in the status bar."""
        try:
            written = write_summary_csv(self.rows, path)
        except OSError as exc:
            self.status_message.emit(f"The summary could not be saved to {path}: {exc}")
            return
        self.status_message.emit(f"Summary saved: {written} ({len(self.rows)} rows)")

"""The Images tab's results table: the CSV rows exactly as `analyze` writes them (ANALYSIS_COLUMNS), shown
as file, face, V, A (with the model's standard deviation when it predicts one), expression and error (a Qt
table model)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor

from model.config import VA_DIMENSIONS

# (header, ANALYSIS_COLUMNS key) of the table's columns; the CSV keeps every column.
TABLE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("file", "source_path"),
    ("face", "face_id"),
    ("V", "valence"),
    ("A", "arousal"),
    ("expression", "expression"),
    ("error", "error"),
)
_ERROR_COLOUR = QColor(220, 90, 90)
_NO_FACE_COLOUR = QColor(150, 150, 150)


def _number(text: str) -> str:
    """A CSV number shown with 3 decimals (empty stays empty)."""
    try:
        return f"{float(text):+.3f}"
    except ValueError:
        return text


class ResultsTable(QAbstractTableModel):
    """The analysis rows (ANALYSIS_COLUMNS dicts) shown as file, face, V, A, expression, error."""

    def __init__(self, parent: QObject | None = None) -> None:
        """An empty table."""
        super().__init__(parent)
        self.rows: list[dict[str, str]] = []
        self.entry_of_row: list[int] = []  # PreviewStore index of each row
        self.va_derived = False

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: N802, B008
        """Number of rows (Qt override)."""
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: N802, B008
        """Number of shown columns (Qt override)."""
        return 0 if parent.isValid() else len(TABLE_COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole):  # noqa: N802
        """Column titles; V and A say "(derived)" when the model's V/A is derived (Qt override)."""
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(TABLE_COLUMNS):
            return None
        title, key = TABLE_COLUMNS[section]
        is_va = key in VA_DIMENSIONS
        if role == Qt.ItemDataRole.DisplayRole:
            return f"{title} (V/A derived)" if is_va and self.va_derived else title
        if role == Qt.ItemDataRole.ToolTipRole and is_va:
            return (f"{key}: derived from the expression probabilities (the model's card says so)"
                    if self.va_derived else f"{key} in [-1, 1], measured by the model's V/A head") + (
                "; ± the standard deviation the model predicts for it (models with an uncertainty head)")
        return None

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        """Cell text, full-path tooltips and colours for error / no-face rows (Qt override)."""
        if not index.isValid():
            return None
        row = self.rows[index.row()]
        key = TABLE_COLUMNS[index.column()][1]
        if role == Qt.ItemDataRole.DisplayRole:
            value = row.get(key, "")
            if key == "source_path":
                name = Path(value).name
                return f"{name} [frame {row['frame']}]" if row.get("frame") else name
            if key not in VA_DIMENSIONS:
                return value
            std = row.get(f"{key}_std", "")  # the model's SD of this reading, when it has one
            return _number(value) + (f" ± {float(std):.2f}" if std else "")
        if role == Qt.ItemDataRole.ToolTipRole:
            return row["source_path"] if key == "source_path" else (row.get("error") or None)
        if role == Qt.ItemDataRole.ForegroundRole:
            if row.get("status") == "error":
                return _ERROR_COLOUR
            if row.get("status") == "no_face":
                return _NO_FACE_COLOUR
        return None

    def add_rows(self, rows: Sequence[dict[str, str]], entry: int) -> None:
        """Append `rows` (of one image or frame, preview entry `entry`)."""
        if not rows:
            return
        first = len(self.rows)
        self.beginInsertRows(QModelIndex(), first, first + len(rows) - 1)
        self.rows.extend(rows)
        self.entry_of_row.extend([entry] * len(rows))
        self.endInsertRows()

    def set_va_derived(self, derived: bool) -> None:
        """Mark the V and A columns as derived (or not)."""
        if derived != self.va_derived:
            self.va_derived = derived
            self.headerDataChanged.emit(Qt.Orientation.Horizontal, 0, len(TABLE_COLUMNS) - 1)

    def clear(self) -> None:
        """Remove every row."""
        self.beginResetModel()
        self.rows.clear()
        self.entry_of_row.clear()
        self.endResetModel()

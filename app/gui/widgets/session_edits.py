"""The Viewer's edits: rename and merge faces, excluded ranges, named intervals.

    panel = SessionEditsPanel(selected_range=lambda: (t0, t1))
    panel.show_view(view)            # a SessionView: its faces and its annotations
    panel.edited.connect(save)       # emitted with a sentence saying what changed

Every edit changes `view.annotations` only (the annotation file beside the CSV, saved by the tab); the
recording is never written. A refused edit (a merge of two faces in view together, an empty range) is
said through `status_message`, and nothing changes.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

import numpy as np
from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.core.session_annotations import TimeRange
from app.core.settings import DEFAULT_MAX_STD, LOW_QUALITY
from app.gui.widgets.session_figures import SessionView

LIST_ROWS = 3  # rows a range list shows before it scrolls


def _range_text(time_range: TimeRange) -> str:
    """ "12.0-15.5 s  looked away"."""
    return f"{time_range.start_s:.1f}-{time_range.end_s:.1f} s  {time_range.text}".rstrip()


class _RangeList(QGroupBox):
    """A titled list of time ranges with a text field, an Add button (the selected range) and Remove."""

    def __init__(self, title: str, placeholder: str, add_text: str, parent: QWidget | None = None) -> None:
        super().__init__(title, parent)
        self.text = QLineEdit()
        self.text.setPlaceholderText(placeholder)
        self.text.setToolTip(f"{title}: {placeholder} (Enter adds the selected range)")
        self.add_button = QPushButton(add_text)
        self.remove_button = QPushButton("Remove")
        self.remove_button.setToolTip("Remove the range chosen in the list")
        self.list = QListWidget()
        self.list.setMaximumHeight(self.list.sizeHintForRow(0) * LIST_ROWS + 40)
        row = QHBoxLayout()
        row.addWidget(self.text, 1)
        row.addWidget(self.add_button)
        layout = QVBoxLayout(self)
        layout.addLayout(row)
        layout.addWidget(self.list)
        layout.addWidget(self.remove_button)

    def show_ranges(self, ranges: list[TimeRange]) -> None:
        self.list.clear()
        self.list.addItems([_range_text(r) for r in ranges])
        self.remove_button.setEnabled(bool(ranges))


class SessionEditsPanel(QWidget):
    """Faces (rename, "same person as"), excluded ranges and named intervals of one recording."""

    edited = Signal(str)  # what changed, in a sentence
    status_message = Signal(str)

    def __init__(self, selected_range: Callable[[], tuple[float, float]], parent: QWidget | None = None):
        """`selected_range()` gives the range selected on the timeline (start_s, end_s)."""
        super().__init__(parent)
        self.selected_range = selected_range
        self.view: SessionView | None = None
        self.face = QComboBox()
        self.face.setToolTip("The face to rename or merge (ids as recorded, after earlier merges)")
        self.face.currentIndexChanged.connect(self._show_label)
        self.label = QLineEdit()
        self.label.setPlaceholderText("participant label, e.g. P07")
        self.label.setToolTip("The face's participant label (empty: the label recorded with it)")
        self.label.returnPressed.connect(self.rename)
        self.rename_button = QPushButton("Rename")
        self.rename_button.setToolTip("Show and export the face under this label")
        self.rename_button.clicked.connect(self.rename)
        self.target = QComboBox()
        self.target.setToolTip("The face this one is the same person as (e.g. after leaving the view)")
        self.merge_button = QPushButton("Same person")
        self.merge_button.setToolTip(
            "Count the face as the chosen one from now on (refused when both are in view in the same frame)"
        )
        self.merge_button.clicked.connect(self.merge)
        faces = QGroupBox("Faces")
        form = QFormLayout(faces)
        form.addRow("Face", self.face)
        name_row = QHBoxLayout()
        name_row.addWidget(self.label, 1)
        name_row.addWidget(self.rename_button)
        form.addRow("Label", name_row)
        merge_row = QHBoxLayout()
        merge_row.addWidget(self.target, 1)
        merge_row.addWidget(self.merge_button)
        form.addRow("Same as", merge_row)
        self.excluded = _RangeList("Excluded ranges", "reason, e.g. looked away", "Exclude selection")
        self.excluded.add_button.setToolTip(
            "Leave the range selected on the timeline out of the summary, the figures and the cleaned CSV"
        )
        self.excluded.add_button.clicked.connect(self.exclude_selection)
        self.excluded.text.returnPressed.connect(self.exclude_selection)
        self.excluded.remove_button.clicked.connect(lambda: self._remove(self.excluded, "excluded"))
        self.intervals = _RangeList("Named intervals", "name, e.g. stimulus A", "Add selection")
        self.intervals.add_button.setToolTip(
            "Name the range selected on the timeline (summary segments 'named intervals')"
        )
        self.intervals.add_button.clicked.connect(self.add_interval)
        self.intervals.text.returnPressed.connect(self.add_interval)
        self.intervals.remove_button.clicked.connect(lambda: self._remove(self.intervals, "intervals"))
        self.good_only = QCheckBox("Leave out low-quality rows")
        self.good_only.setToolTip(
            "Leave the rows whose quality verdict is low (small, blurred, dark, bright "
            "or tilted faces) out of the figures, the summary and the cleaned CSV"
        )
        self.good_only.toggled.connect(self._on_good_only)
        self.quality_note = QLabel()
        self.quality_note.setWordWrap(True)
        self.uncertain = QCheckBox("Leave out rows with SD above")
        self.uncertain.setToolTip(
            "Leave out the rows where the model's predicted standard deviation of valence or arousal is "
            "above this level (recordings of a model with an uncertainty head)"
        )
        self.max_std = QDoubleSpinBox()
        self.max_std.setRange(0.01, 2.0)
        self.max_std.setSingleStep(0.05)
        self.max_std.setDecimals(2)
        self.max_std.setValue(DEFAULT_MAX_STD)
        self.uncertain.toggled.connect(self._on_uncertainty_rule)
        self.max_std.editingFinished.connect(self._on_uncertainty_rule)
        self.uncertainty_note = QLabel()
        self.uncertainty_note.setWordWrap(True)
        quality = QGroupBox("Quality and certainty")
        quality_column = QVBoxLayout(quality)
        quality_column.addWidget(self.good_only)
        quality_column.addWidget(self.quality_note)
        std_row = QHBoxLayout()
        std_row.addWidget(self.uncertain)
        std_row.addWidget(self.max_std)
        std_row.addStretch(1)
        quality_column.addLayout(std_row)
        quality_column.addWidget(self.uncertainty_note)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(faces)
        layout.addWidget(quality)
        layout.addWidget(self.excluded)
        layout.addWidget(self.intervals)
        layout.addStretch(1)
        self.setEnabled(False)

    def show_view(self, view: SessionView | None) -> None:
        """Show `view`'s faces and ranges (None: nothing open, the panel is disabled)."""
        self.view = view
        self.setEnabled(view is not None)
        chosen = self.face.currentData()
        for combo in (self.face, self.target):
            combo.blockSignals(True)
            combo.clear()
            for face in view.faces() if view is not None else []:
                combo.addItem(view.name(face), face)
            combo.blockSignals(False)
        if chosen is not None and self.face.findData(chosen) >= 0:
            self.face.setCurrentIndex(self.face.findData(chosen))
        if self.target.count() > 1:
            self.target.setCurrentIndex(1 if self.face.currentIndex() == 0 else 0)
        self._show_label()
        annotations = view.annotations if view is not None else None
        self.excluded.show_ranges(annotations.excluded if annotations else [])
        self.intervals.show_ranges(annotations.intervals if annotations else [])
        self.merge_button.setEnabled(self.target.count() > 1)
        self._show_quality()
        self._show_uncertainty()

    def _show_uncertainty(self) -> None:
        """The SD rule as the annotation file says; disabled for a recording without SD columns."""
        view = self.view
        stds = None
        if view is not None:  # (n,) the larger of the two SDs per row, NaN where none was recorded
            stds = np.fmax(view.table.number("valence_std"), view.table.number("arousal_std"))
        measured = stds is not None and bool(np.isfinite(stds).any())
        max_std = None if view is None else view.annotations.max_std
        for widget in (self.uncertain, self.max_std):
            widget.blockSignals(True)
        self.uncertain.setChecked(max_std is not None)
        if max_std is not None:
            self.max_std.setValue(max_std)
        for widget in (self.uncertain, self.max_std):
            widget.blockSignals(False)
            widget.setEnabled(measured)
        if not measured:
            self.uncertainty_note.setText(
                "No standard deviation recorded (the model had no uncertainty head): every row is kept."
            )
            return
        level = self.max_std.value()
        above = int((stds[np.isfinite(stds)] > level).sum())
        self.uncertainty_note.setText(
            f"{above} of {int(np.isfinite(stds).sum())} face rows have an SD above {level:.2f} "
            f"(median SD {float(np.nanmedian(stds)):.2f})."
        )

    @Slot()
    def _on_uncertainty_rule(self) -> None:
        if self.view is None:
            return
        level = round(self.max_std.value(), 2) if self.uncertain.isChecked() else None
        if level == self.view.annotations.max_std:
            self._show_uncertainty()  # the count follows the spin box even when nothing changes
            return
        self.view.annotations.max_std = level
        self._show_uncertainty()
        self.edited.emit(f"rows with SD above {level:.2f} left out" if level is not None
                         else "rows kept whatever their SD")

    def _show_quality(self) -> None:
        """How many rows are low and why; the checkbox as the annotation file says."""
        view = self.view
        verdicts = view.table.text("quality") if view is not None else None
        measured = verdicts is not None and bool((verdicts != "").any())
        self.good_only.blockSignals(True)
        self.good_only.setChecked(bool(view is not None and view.annotations.good_quality_only))
        self.good_only.blockSignals(False)
        self.good_only.setEnabled(measured)
        if not measured:
            self.quality_note.setText(
                "This recording has no quality column (recorded before quality was "
                "measured): every row is kept."
            )
            return
        low = verdicts == LOW_QUALITY
        reasons = Counter(
            r for cell in view.table.text("quality_reasons")[low] for r in str(cell).split(";") if r
        )
        why = ", ".join(f"{name} {count}" for name, count in reasons.most_common())
        self.quality_note.setText(
            f"{int(low.sum())} of {int((verdicts != '').sum())} face rows are low"
            + (f" ({why})" if why else "")
            + "."
        )

    @Slot(bool)
    def _on_good_only(self, checked: bool) -> None:
        if self.view is None:
            return
        self.view.annotations.good_quality_only = checked
        self.edited.emit("low-quality rows left out" if checked else "low-quality rows kept")

    @Slot()
    def _show_label(self) -> None:
        face = self.face.currentData()
        if self.view is not None and face is not None:
            self.label.setText(self.view.name(face).partition(" ")[2])

    @Slot()
    def rename(self) -> None:
        """Give the chosen face the label typed (an empty label goes back to the recorded one)."""
        face = self.face.currentData()
        if self.view is None or face is None:
            return
        text = self.label.text().strip()
        if text:
            self.view.annotations.labels[face] = text
        else:
            self.view.annotations.labels.pop(face, None)
        self.edited.emit(f"face #{face} is now {self.view.name(face)}")

    @Slot()
    def merge(self) -> None:
        """Count the chosen face as the "same as" face; a refusal is said and changes nothing."""
        source, target = self.face.currentData(), self.target.currentData()
        if self.view is None or source is None or target is None:
            return
        try:
            self.view.annotations.merge(self.view.table, source, target)
        except ValueError as exc:
            self.status_message.emit(f"Not merged: {exc}")
            return
        self.edited.emit(f"face #{source} merged into {self.view.name(target)}")

    def _add_range(self, ranges: list[TimeRange], text: str, what: str) -> TimeRange | None:
        start, end = self.selected_range()
        try:
            time_range = TimeRange(start, end, text)
        except ValueError as exc:
            self.status_message.emit(f"No {what} added: {exc}; drag the range on the timeline first")
            return None
        ranges.append(time_range)
        ranges.sort(key=lambda r: r.start_s)
        return time_range

    @Slot()
    def exclude_selection(self) -> None:
        """Exclude the range selected on the timeline, with the reason typed."""
        if self.view is None:
            return
        reason = self.excluded.text.text().strip()
        added = self._add_range(self.view.annotations.excluded, reason, "excluded range")
        if added is not None:
            self.excluded.text.clear()
            self.edited.emit(f"excluded {_range_text(added)}")

    @Slot()
    def add_interval(self) -> None:
        """Name the range selected on the timeline with the name typed."""
        if self.view is None:
            return
        name = self.intervals.text.text().strip() or f"interval {len(self.view.annotations.intervals) + 1}"
        added = self._add_range(self.view.annotations.intervals, name, "interval")
        if added is not None:
            self.intervals.text.clear()
            self.edited.emit(f"named interval {_range_text(added)}")

    def _remove(self, box: _RangeList, field: str) -> None:
        row = box.list.currentRow()
        ranges = getattr(self.view.annotations, field) if self.view is not None else []
        if not 0 <= row < len(ranges):
            self.status_message.emit("Choose a range in the list to remove")
            return
        removed = ranges.pop(row)
        self.edited.emit(f"removed {_range_text(removed)}")

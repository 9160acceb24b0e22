"""The Live tab's "Faces" group: name the chosen face (a participant label written to every row) and
say that it is the same person as another face id (merge)."""

from __future__ import annotations

from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QWidget,
)

from app.core.face_names import MAX_LABEL


class FaceIdentityControls(QGroupBox):
    """Label and merge controls for the face chosen in the Live tab."""

    label_edited = Signal(int, str)  # face id, new label ("" removes it)
    merge_requested = Signal(int, int)  # face id, the id it is the same person as

    def __init__(self, parent: QWidget | None = None) -> None:
        """Empty until `show_face`."""
        super().__init__("Faces", parent)
        self.face: int | None = None
        self.chosen = QLabel("no face in view")
        self.name = QLineEdit()
        self.name.setMaxLength(MAX_LABEL)
        self.name.setPlaceholderText("participant label, e.g. P07")
        self.name.setToolTip("A name for the chosen face id; written to the face_label column of every row "
                             "from now on (Enter to apply, empty to remove).")
        self.same_as = QComboBox()
        self.same_as.setToolTip("Another face id of this session that is the same person as the chosen face")
        self.merge_button = QPushButton("Same person")
        self.merge_button.setToolTip("From the next frame the chosen face is reported under the id chosen "
                                     "here (and re-identification learns it); a marker in the recording "
                                     "says so. Not possible while both faces are in view.")
        merge_row = QHBoxLayout()
        merge_row.addWidget(self.same_as, 1)
        merge_row.addWidget(self.merge_button)
        form = QFormLayout(self)
        form.addRow("Chosen", self.chosen)
        form.addRow("Name", self.name)
        form.addRow("Same as", merge_row)
        self.name.editingFinished.connect(self._apply_name)
        self.merge_button.clicked.connect(self._merge)
        self.show_face(None, "", [])

    def show_face(self, face_id: int | None, label: str, others: list[int]) -> None:
        """Show face `face_id` with its `label`, and the other ids of the session it can be merged into."""
        self.face = face_id
        self.chosen.setText("no face in view" if face_id is None else f"face #{face_id}")
        if not self.name.hasFocus():
            self.name.setText(label)
        self.name.setEnabled(face_id is not None)
        current = self.same_as.currentData()
        self.same_as.clear()
        for other in others:
            self.same_as.addItem(f"#{other}", other)
        if current in others:
            self.same_as.setCurrentIndex(others.index(current))
        self.merge_button.setEnabled(face_id is not None and bool(others))

    @Slot()
    def _apply_name(self) -> None:
        if self.face is not None:
            self.label_edited.emit(self.face, self.name.text())

    @Slot()
    def _merge(self) -> None:
        into = self.same_as.currentData()
        if self.face is not None and into is not None:
            self.merge_requested.emit(self.face, int(into))

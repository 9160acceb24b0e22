"""The Viewer tab on a real recording, as a user drives it: open, scrub, read the per-marker means,
exclude a range, rename a face, export a figure and a cleaned CSV; bad files are named; a long load can
be cancelled. The recording itself is never written."""

from __future__ import annotations

import csv
import hashlib
import json
import math
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage

from app.core.bench.long_session import write_long_session
from app.core.session_annotations import annotations_path
from app.gui.session_report import CIRCUMPLEX_SIZE, VA_SIZE
from app.gui.settings import recent_files
from app.gui.tabs.viewer import ViewerTab
from app.gui.widgets.figure_export_dialog import FigureExportDialog
from tests.app.sessions import MARKERS, record_session

LOAD_MS = 60_000


@pytest.fixture(scope="module")
def recording(tmp_path_factory, astronaut_rgb) -> Path:
    """A real two-face recording with its raw video and two markers (copied before each edit)."""
    return record_session(tmp_path_factory.mktemp("viewer"), astronaut_rgb)


@pytest.fixture
def session(recording, tmp_path) -> Path:
    """A fresh copy of the recording's folder: the CSV path."""
    folder = tmp_path / "session"
    shutil.copytree(recording.parent, folder)
    return folder / recording.name


def _open(qtbot, settings, path) -> ViewerTab:
    tab = ViewerTab(settings)
    qtbot.addWidget(tab)
    tab.resize(1200, 800)
    tab.show()
    tab.open_session(path)
    qtbot.waitUntil(lambda: not tab.load_job.running, timeout=LOAD_MS)
    return tab


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _csv_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_open_scrub_summarise_edit_and_export(qtbot, gui_settings, session, tmp_path) -> None:
    before = {p.name: _digest(p) for p in session.parent.iterdir()}
    messages: list[str] = []
    tab = _open(qtbot, gui_settings, session)
    tab.status_message.connect(messages.append)
    assert tab.view is not None and "2 face(s), 2 marker(s)" in tab.file_label.full_text()
    assert not tab.notes.isVisible()  # sidecar and video found, every line read
    assert recent_files(gui_settings)[0] == str(session.resolve())
    assert tab.va_figure.marker_texts() == list(MARKERS)

    # scrub: the slider, then the arrow key; the frame shown is the saved video's frame at the cursor
    tab.slider.setValue(10)
    qtbot.keyClick(tab, Qt.Key.Key_Right)
    assert tab.slider.value() == 11
    qtbot.waitUntil(lambda: "frame 12/" in tab.time_label.text(), timeout=5000)
    shown = tab.video_view._shown
    assert shown is not None and sorted(f.face_id for f in shown.faces) == [1, 2]
    capture = cv2.VideoCapture(str(session.with_suffix(".avi")))
    for _ in range(12):
        ok, bgr = capture.read()
    capture.release()
    assert ok and np.array_equal(shown.frame, cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    assert all(line.value() == pytest.approx(tab.cursor_time()) for line in tab.cursors)

    # per-marker means: the summary row of face 1 from "stimulus A" to "stimulus B", computed again here
    rows = _csv_rows(session)
    marker_t = {r["marker"]: float(r["timestamp_s"]) for r in rows if r["marker"]}
    in_a = [float(r["valence"]) for r in rows if r["face_id"] == "1" and r["status"] == "ok"
            and marker_t[MARKERS[0]] <= float(r["timestamp_s"]) < marker_t[MARKERS[1]]]
    row = next(r for r in tab.summary.rows if r["face_id"] == 1 and r["segment"] == MARKERS[0])
    assert row["frames"] == len(in_a) and tab.summary.table.rowCount() == len(tab.summary.rows)
    assert row["valence_mean"] == pytest.approx(math.fsum(in_a) / len(in_a), abs=1e-12)

    # exclude a range with a reason: saved beside the CSV, left out of the summary
    t = sorted(marker_t.values())
    tab.set_selection(t[0], t[1])
    tab.edits.excluded.text.setText("looked away")
    qtbot.mouseClick(tab.edits.excluded.add_button, Qt.MouseButton.LeftButton)
    saved = json.loads(annotations_path(session).read_text(encoding="utf-8"))
    assert saved["excluded"] == [{"start_s": t[0], "end_s": t[1], "reason": "looked away"}]
    dropped = [r for r in rows if t[0] <= float(r["timestamp_s"]) <= t[1]]
    whole = next(r for r in tab.summary.rows if r["face_id"] == 1 and r["segment"] == "whole recording")
    face_1 = [r for r in rows if r["face_id"] == "1" and r["status"] == "ok"]
    assert whole["frames"] == len(face_1) - sum(r["face_id"] == "1" and r["status"] == "ok" for r in dropped)

    # rename face 1; merging the two faces is refused (both in view) and changes nothing
    tab.edits.face.setCurrentIndex(tab.edits.face.findData(1))
    tab.edits.label.setText("P07")
    qtbot.mouseClick(tab.edits.rename_button, Qt.MouseButton.LeftButton)
    assert json.loads(annotations_path(session).read_text(encoding="utf-8"))["labels"] == {"1": "P07"}
    assert tab.face.itemText(tab.face.findData(1)) == "#1 P07"
    tab.edits.target.setCurrentIndex(tab.edits.target.findData(2))
    qtbot.mouseClick(tab.edits.merge_button, Qt.MouseButton.LeftButton)
    assert any("both in view" in m for m in messages)
    assert json.loads(annotations_path(session).read_text(encoding="utf-8"))["merges"] == {}

    # a figure at a chosen size, in both formats; the cleaned CSV without the excluded rows
    png = tab.export_figure("valence_arousal", (900, 420), tmp_path / "va.png")
    image = QImage(str(png))
    assert not image.isNull() and image.width() >= 900 and image.height() >= 420
    svg = tab.export_figure("circumplex", (500, 500), tmp_path / "circumplex.svg").read_text(encoding="utf-8")
    assert "</svg>" in svg
    assert tab.export_cleaned(tmp_path / "cleaned.csv") == len(rows) - len(dropped)
    cleaned = _csv_rows(tmp_path / "cleaned.csv")
    assert {r["face_label"] for r in cleaned if r["face_id"] == "1"} == {"P07"}

    after = {p.name: _digest(p) for p in session.parent.iterdir() if p.name in before}
    assert after == before  # the recording, its sidecar and its video are byte-identical


def test_bad_files_are_named_and_what_can_be_read_is_shown(qtbot, gui_settings, session, tmp_path) -> None:
    lines = session.read_text(encoding="utf-8").splitlines(keepends=True)
    torn = tmp_path / "torn.csv"
    torn.write_text("".join(lines[:-1]) + lines[-1][: len(lines[-1]) // 2], encoding="utf-8")
    tab = _open(qtbot, gui_settings, torn)
    assert tab.view is not None and len(tab.view.table) == len(lines) - 2  # header and torn line
    assert tab.notes.isVisible() and "incomplete" in tab.notes.text()
    assert "No sidecar torn.json" in tab.notes.text() and "torn.avi" in tab.notes.text()

    foreign = tmp_path / "other_tool.csv"
    foreign.write_text("time,joy\n0.0,0.5\n", encoding="utf-8")
    tab.open_session(foreign)
    qtbot.waitUntil(lambda: not tab.load_job.running, timeout=LOAD_MS)
    assert "other_tool.csv is not an AffectScope" in tab.notes.text()
    assert tab.view.table.path == torn  # what was open stays open


def test_a_long_load_shows_progress_and_can_be_cancelled(qtbot, gui_settings, tmp_path) -> None:
    path = tmp_path / "long.csv"
    write_long_session(path, duration_s=600.0)  # 72k rows, several read blocks
    tab = ViewerTab(gui_settings)
    qtbot.addWidget(tab)
    tab.show()
    ended: list[str] = []
    tab.load_job.ended.connect(ended.append)
    tab.open_session(path)
    assert tab.load_row.isVisible()
    qtbot.mouseClick(tab.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: bool(ended), timeout=LOAD_MS)
    assert ended == ["cancelled"] and tab.view is None and not tab.load_row.isVisible()
    tab.open_session(path)
    qtbot.waitUntil(lambda: not tab.load_job.running, timeout=LOAD_MS)
    assert len(tab.view.table) == 72_000 and tab.slider.maximum() == 18_000 - 1


def test_the_figure_dialog_offers_each_figure_at_its_own_size(qtbot, gui_settings, session) -> None:
    tab = _open(qtbot, gui_settings, session)
    dialog = FigureExportDialog(tab.figure_choices(), tab)
    qtbot.addWidget(dialog)
    assert dialog.choice() == ("valence_arousal", VA_SIZE)
    dialog.figure.setCurrentIndex(dialog.figure.findData("circumplex"))
    assert dialog.choice() == ("circumplex", CIRCUMPLEX_SIZE)
    dialog.width_box.setValue(900)
    assert dialog.choice() == ("circumplex", (900, CIRCUMPLEX_SIZE[1]))
    assert "#1" in dialog.figure.itemText(dialog.figure.findData("expressions"))


def test_low_quality_rows_can_be_left_out(qtbot, gui_settings, session, tmp_path) -> None:
    rows = _csv_rows(session)
    assert {r["quality"] for r in rows if r["status"] == "ok"} <= {"good", "low"}  # every face row judged
    face_1 = [r for r in rows if r["face_id"] == "1" and r["status"] == "ok"]
    for row in face_1[::3]:  # as a blurred stretch would be
        row["quality"], row["quality_reasons"] = "low", "blurred"
    with session.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    low = sum(r["quality"] == "low" for r in rows)
    tab = _open(qtbot, gui_settings, session)
    note = tab.edits.quality_note.text()
    assert note.startswith(f"{low} of ") and "blurred" in note
    tab.edits.good_only.setChecked(True)
    assert json.loads(annotations_path(session).read_text(encoding="utf-8"))["good_quality_only"] is True
    whole = next(r for r in tab.summary.rows if r["face_id"] == 1 and r["segment"] == "whole recording")
    assert whole["frames"] == sum(r["quality"] != "low" for r in face_1)
    assert tab.export_cleaned(tmp_path / "good.csv") == len(rows) - low


def test_a_returning_face_under_a_new_id_can_be_merged(qtbot, gui_settings, session, tmp_path) -> None:
    rows = _csv_rows(session)
    frames = sorted({int(r["frame"]) for r in rows})
    later = set(frames[len(frames) // 2 :])
    for row in rows:  # in the second half face 1 came back as id 3 (as after leaving the view)
        if int(row["frame"]) in later and row["face_id"] == "1":
            row["face_id"] = "3"
    with session.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    before = _digest(session)
    tab = _open(qtbot, gui_settings, session)
    assert tab.view.faces() == [1, 2, 3]
    tab.edits.face.setCurrentIndex(tab.edits.face.findData(3))
    tab.edits.target.setCurrentIndex(tab.edits.target.findData(1))
    qtbot.mouseClick(tab.edits.merge_button, Qt.MouseButton.LeftButton)
    assert json.loads(annotations_path(session).read_text(encoding="utf-8"))["merges"] == {"3": 1}
    assert tab.view.faces() == [1, 2] and tab.face.count() == 2
    whole = next(r for r in tab.summary.rows if r["face_id"] == 1 and r["segment"] == "whole recording")
    assert whole["frames"] == sum(r["face_id"] in ("1", "3") and r["status"] == "ok" for r in rows)
    assert tab.export_cleaned(tmp_path / "merged.csv") == len(rows)
    assert {r["face_id"] for r in _csv_rows(tmp_path / "merged.csv") if r["status"] == "ok"} == {"1", "2"}
    assert _digest(session) == before

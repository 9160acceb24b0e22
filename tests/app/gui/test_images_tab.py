"""The Images tab: a folder with good and broken files, the table, the preview, CSV export, Cancel."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent

from app.core.attention_scale import fused_attention
from app.core.recorder import ANALYSIS_COLUMNS
from app.core.settings import ModelSettings
from app.gui.analysis_results import TABLE_COLUMNS
from app.gui.tabs.images import ImagesTab

JOB_TIMEOUT_MS = 60_000


@pytest.fixture(scope="module")
def astronaut_jpg(tmp_path_factory: pytest.TempPathFactory, astronaut_rgb: np.ndarray) -> Path:
    """scikit-image's astronaut (one face) as a JPEG file."""
    path = tmp_path_factory.mktemp("images") / "astronaut.jpg"
    assert cv2.imwrite(str(path), cv2.cvtColor(astronaut_rgb, cv2.COLOR_RGB2BGR))
    return path


@pytest.fixture
def mixed_folder(tmp_path: Path, astronaut_jpg: Path) -> Path:
    """A folder (with a subfolder) holding a face, a face-less image and two broken .jpg files."""
    folder = tmp_path / "photos"
    (folder / "more").mkdir(parents=True)
    shutil.copy(astronaut_jpg, folder / "a_astronaut.jpg")
    cv2.imwrite(str(folder / "more" / "b_grey.png"), np.full((120, 160, 3), 128, np.uint8))
    (folder / "c_empty.jpg").write_bytes(b"")
    (folder / "d_text.jpg").write_text("this is not an image\n")
    return folder


def make_tab(qtbot, settings, model_path: Path) -> tuple[ImagesTab, list[str]]:
    """An Images tab whose model choice is `model_path` on torch, and its messages."""
    tab = ImagesTab(settings, lambda: ModelSettings(str(model_path), "torch", "cpu"))
    qtbot.addWidget(tab)
    messages: list[str] = []
    tab.status_message.connect(messages.append)
    return tab, messages


def rows_by_file(tab: ImagesTab) -> dict[str, list[dict[str, str]]]:
    """The tab's rows grouped by file name."""
    out: dict[str, list[dict[str, str]]] = {}
    for row in tab.results.rows:
        out.setdefault(Path(row["source_path"]).name, []).append(row)
    return out


def cell(tab: ImagesTab, row: int, key: str) -> str:
    """The text the table shows in row `row`, column of ANALYSIS_COLUMNS key `key`."""
    column = [k for _, k in TABLE_COLUMNS].index(key)
    return tab.results.data(tab.results.index(row, column))


def test_folder_with_broken_files_fills_table_preview_and_csv(qtbot, gui_settings, tiny_models, mixed_folder,
                                                             tmp_path):
    tab, messages = make_tab(qtbot, gui_settings, tiny_models["b"])  # untrained, V/A derived
    tab.previews.capacity = 1  # only the last image stays in memory: the others are read again
    with qtbot.waitSignal(tab.analysis_job.ended, timeout=JOB_TIMEOUT_MS) as ended:
        tab.add_paths([mixed_folder])
    assert ended.args == ["finished"]
    assert not tab.running and not tab.cancel_button.isEnabled()

    files = rows_by_file(tab)
    assert sorted(files) == ["a_astronaut.jpg", "b_grey.png", "c_empty.jpg", "d_text.jpg"]
    face = files["a_astronaut.jpg"]
    assert [r["status"] for r in face] == ["ok"] and face[0]["face_id"] == "1" and face[0]["error"] == ""
    assert -1.0 <= float(face[0]["valence"]) <= 1.0 and face[0]["expression"]
    assert files["b_grey.png"][0]["status"] == "no_face"
    for name in ("c_empty.jpg", "d_text.jpg"):
        (row,) = files[name]
        assert row["status"] == "error" and name in row["error"]
    assert tab.results.rowCount() == 4
    broken = next(i for i, r in enumerate(tab.results.rows) if r["source_path"].endswith("d_text.jpg"))
    assert "d_text.jpg" in cell(tab, broken, "error")
    assert any("4 of 4 files, 2 could not be read" in m for m in messages)
    tab.resize(1024, 640)  # the smallest window we support: every column, the error included, in view
    tab.show()
    qtbot.waitExposed(tab)
    assert tab.table.horizontalHeader().length() <= tab.table.viewport().width()
    assert not tab.table.horizontalScrollBar().isVisible()

    # the model's labels: derived V/A and untrained
    v_column = [k for _, k in TABLE_COLUMNS].index("valence")
    assert "V/A derived" in tab.results.headerData(v_column, Qt.Orientation.Horizontal)
    assert "untrained model" in tab.model_label.text() and "no meaning" in tab.model_label.text()

    # a broken file's row shows its error; the face row's image is read again (it was dropped)
    tab.select_row(broken)
    assert "d_text.jpg" in tab.view.message.toPlainText()
    assert tab.circumplex.current_points() == {}
    row = tab.results.rows.index(face[0])
    assert tab.previews.image(tab.results.entry_of_row[row]) is None
    with qtbot.waitSignal(tab.preview_job.ended, timeout=JOB_TIMEOUT_MS):
        tab.select_row(row)
    assert tab.view.message.toPlainText() == ""

    # preview of the face row: image, box, attention overlay on the fixed scale, circumplex point
    entry = tab.previews.entries[tab.results.entry_of_row[row]]
    assert tab.view.image.image.shape == (512, 512, 3)
    assert tab.view.overlays[0].isVisible()
    (shown_face,) = entry.faces
    expected_heat = fused_attention(shown_face.spatial_attention, shown_face.layer_attention, 64)
    np.testing.assert_allclose(tab.view.overlays[0].image, expected_heat, atol=1e-6)
    (point,) = tab.circumplex.current_points().values()
    assert point == pytest.approx((np.clip(float(face[0]["valence"]), -1, 1),
                                   np.clip(float(face[0]["arousal"]), -1, 1)), abs=1e-5)
    assert "V/A derived" in tab.details.text()
    tab.overlay_box.setChecked(False)
    assert not tab.view.overlays[0].isVisible()

    # export: the analyze command's columns, every row
    out = tmp_path / "results.csv"
    with qtbot.waitSignal(tab.export_job.ended, timeout=JOB_TIMEOUT_MS) as exported:
        tab.export_csv_to(out)
    assert exported.args == ["finished"]
    with open(out, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        assert tuple(reader.fieldnames) == ANALYSIS_COLUMNS
        assert list(reader) == tab.results.rows
    assert any(str(out) in m for m in messages)


def test_dropped_folder_can_be_cancelled(qtbot, gui_settings, tiny_models, astronaut_jpg, tmp_path):
    folder = tmp_path / "many"
    folder.mkdir()
    for i in range(40):
        shutil.copy(astronaut_jpg, folder / f"face_{i:02d}.jpg")
    tab, messages = make_tab(qtbot, gui_settings, tiny_models["a"])
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(folder))])
    drop = QDropEvent(QPointF(5, 5), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                      Qt.KeyboardModifier.NoModifier)
    tab.dropEvent(drop)
    assert tab.running and tab.cancel_button.isEnabled()
    tab.add_paths([astronaut_jpg])  # queued behind the running batch
    assert tab.pending == [str(astronaut_jpg)]
    qtbot.waitUntil(lambda: len(tab.results.rows) >= 1, timeout=JOB_TIMEOUT_MS)
    with qtbot.waitSignal(tab.analysis_job.ended, timeout=JOB_TIMEOUT_MS) as ended:
        tab.cancel()
    assert ended.args == ["cancelled"]
    assert 1 <= len(tab.results.rows) < 40 and not tab.pending
    assert not tab.running and not tab.cancel_button.isEnabled()
    assert "V/A derived" not in tab.model_label.text()
    assert any("Analysis cancelled" in m for m in messages)


def test_missing_model_is_reported_without_a_dialog(qtbot, gui_settings, astronaut_jpg, tmp_path):
    tab, messages = make_tab(qtbot, gui_settings, tmp_path / "gone.pt")
    with qtbot.waitSignal(tab.analysis_job.ended, timeout=JOB_TIMEOUT_MS) as ended:
        tab.add_paths([astronaut_jpg])
    assert ended.args == ["failed"]
    assert any("analysis failed" in m and "gone.pt" in m for m in messages)
    assert tab.results.rowCount() == 0 and not tab.running


def test_face_crops_are_analysed_whole_without_detection(qtbot, gui_settings, tiny_models, tmp_path):
    folder = tmp_path / "crops"
    folder.mkdir()
    cv2.imwrite(str(folder / "grey.png"), np.full((40, 30, 3), 120, np.uint8))  # no face a detector sees
    tab, _ = make_tab(qtbot, gui_settings, tiny_models["a"])
    tab.crops_box.setChecked(True)
    with qtbot.waitSignal(tab.analysis_job.ended, timeout=JOB_TIMEOUT_MS):
        tab.add_paths([folder])
    (row,) = tab.results.rows
    assert row["status"] == "ok" and (row["face_w"], row["face_h"]) == ("30", "40")
    assert gui_settings.value("images/crops") in (True, "true")  # remembered


def test_a_reading_shows_the_models_sd_when_it_has_one(qtbot) -> None:
    from app.gui.analysis_results import ResultsTable

    table = ResultsTable()
    table.add_rows([{"source_path": "/x/a.jpg", "face_id": "1", "valence": "0.25", "arousal": "-0.5",
                     "valence_std": "0.125", "arousal_std": "0.3", "expression": "happy"},
                    {"source_path": "/x/b.jpg", "face_id": "1", "valence": "0.25", "arousal": "-0.5",
                     "valence_std": "", "arousal_std": "", "expression": "happy"}], 0)
    keys = [k for _, k in TABLE_COLUMNS]
    shown = [[table.data(table.index(r, keys.index(k))) for k in ("valence", "arousal")] for r in (0, 1)]
    assert shown == [["+0.250 ± 0.12", "-0.500 ± 0.30"], ["+0.250", "-0.500"]]  # no SD: none shown

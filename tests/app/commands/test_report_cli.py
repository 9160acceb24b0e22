"""`python main.py report`: the figures, the summary CSV and one self-contained HTML page, headless."""

from __future__ import annotations

import base64
import csv
import hashlib
import re

import pytest
from PySide6.QtGui import QImage

from app.cli import main
from app.core.segment_summary import SUMMARY_COLUMNS
from tests.app.sessions import MARKERS, record_session


@pytest.fixture(scope="module")
def recording(tmp_path_factory, astronaut_rgb):
    return record_session(tmp_path_factory.mktemp("report"), astronaut_rgb)


def test_the_report_holds_every_figure_and_the_summary(qapp, recording, tmp_path, capsys) -> None:
    before = hashlib.sha256(recording.read_bytes()).hexdigest()
    out = tmp_path / "report"
    assert main(["report", str(recording), "--out", str(out), "--svg"]) == 0
    pngs = sorted(out.glob("*.png"))
    # V/A, the two faces' expressions, the circumplex of the whole recording and of each marker segment
    assert {p.stem for p in pngs} == {"valence_arousal", "expressions_face1", "expressions_face2",
                                      "circumplex_whole", *(f"circumplex_segment{k}" for k in (1, 2, 3))}
    assert {p.stem for p in out.glob("*.svg")} == {p.stem for p in pngs}
    for png in pngs:
        assert not QImage(str(png)).isNull()
    page = (out / "report.html").read_text(encoding="utf-8")
    embedded = re.findall(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    assert sorted(base64.b64decode(e) for e in embedded) == sorted(p.read_bytes() for p in pngs)
    assert "http://" not in page and "https://" not in page  # opens without a network
    with (out / "summary.csv").open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert tuple(rows[0]) == SUMMARY_COLUMNS
    segments = {r["segment"] for r in rows}
    assert set(MARKERS) <= segments and {r["face_id"] for r in rows} == {"1", "2"}
    assert all(f"<td class=text>{name}</td>" in page for name in MARKERS)
    assert hashlib.sha256(recording.read_bytes()).hexdigest() == before
    assert "report.html" in capsys.readouterr().out


def test_a_foreign_csv_is_refused_with_its_name(qapp, tmp_path, capsys) -> None:
    foreign = tmp_path / "export_from_other_tool.csv"
    foreign.write_text("time,joy\n0,1\n", encoding="utf-8")
    assert main(["report", str(foreign), "--out", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert "export_from_other_tool.csv is not an AffectScope" in err and "Traceback" not in err

"""`main.py analyze`: CSV with the analysis columns, error rows for broken files, exit codes 0/2/1,
the untrained-model notice, annotated output."""

from __future__ import annotations

import csv

import cv2
import numpy as np

from app.cli import main
from app.core.recorder import ANALYSIS_COLUMNS
from model.checkpoint import save_checkpoint
from model.config import ModelConfig
from model.network import build_model


def read_csv(path):
    with path.open(newline="") as f:
        reader = csv.DictReader(f)
        return reader.fieldnames, list(reader)


def test_folder_with_broken_files_exits_2_and_keeps_going(tmp_path, astronaut_rgb, capsys):
    media = tmp_path / "media"
    media.mkdir()
    cv2.imwrite(str(media / "a_good.jpg"), astronaut_rgb[..., ::-1])
    (media / "b_empty.jpg").write_bytes(b"")
    (media / "c_text.jpg").write_text("not an image")
    writer = cv2.VideoWriter(str(media / "d_clip.avi"), cv2.VideoWriter_fourcc(*"MJPG"), 5.0, (512, 512))
    for _ in range(2):
        writer.write(np.ascontiguousarray(astronaut_rgb[..., ::-1]))
    writer.release()
    out = tmp_path / "results" / "out.csv"

    code = main(["analyze", str(media), "--out", str(out), "--save-annotated", str(tmp_path / "ann")])

    assert code == 2
    header, rows = read_csv(out)
    assert tuple(header) == ANALYSIS_COLUMNS
    assert [(r["source_path"].rsplit("/", 1)[-1], r["status"], r["frame"]) for r in rows] == [
        ("a_good.jpg", "ok", ""), ("b_empty.jpg", "error", ""), ("c_text.jpg", "error", ""),
        ("d_clip.avi", "ok", "0"), ("d_clip.avi", "ok", "1")]
    assert "cannot be decoded" in rows[1]["error"] and rows[0]["error"] == ""
    assert float(rows[4]["timestamp_s"]) == 0.2
    err = capsys.readouterr().err
    assert "4 files, 2 could not be read, 5 rows" in err
    assert "UNTRAINED" not in err  # the shipped starter model is the default
    assert rows[0]["expression"] == "happy" and float(rows[0]["valence"]) > 0.3
    assert (tmp_path / "ann" / "a_good.annotated.jpg").is_file()
    assert (tmp_path / "ann" / "d_clip.annotated.avi").is_file()


def test_default_model_calls_grace_hopper_neutral(tmp_path, capsys):
    from matplotlib import cbook

    photo = cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)  # public-domain portrait
    out = tmp_path / "grace.csv"
    assert main(["analyze", str(photo), "--out", str(out)]) == 0
    _, rows = read_csv(out)
    assert [r["status"] for r in rows] == ["ok"]
    assert rows[0]["expression"] == "neutral" and abs(float(rows[0]["valence"])) < 0.3


def test_readable_files_exit_0_with_a_named_model(tmp_path, astronaut_rgb, capsys):
    checkpoint = save_checkpoint(tmp_path / "tiny.pt", build_model(ModelConfig(input_size=64)),
                                 {"name": "tiny", "untrained": False, "va_source": "derived"})
    image = tmp_path / "face.png"
    cv2.imwrite(str(image), astronaut_rgb[..., ::-1])
    blank = tmp_path / "blank.png"
    cv2.imwrite(str(blank), np.zeros((64, 64, 3), np.uint8))
    out = tmp_path / "out.csv"

    assert main(["analyze", str(image), str(blank), "--out", str(out), "--model", str(checkpoint)]) == 0

    _, rows = read_csv(out)
    assert [(r["status"], r["error"]) for r in rows] == [("ok", ""), ("no_face", "no face detected")]
    assert "UNTRAINED" not in capsys.readouterr().err


def test_unusable_output_or_model_exits_1(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main(["analyze", str(tmp_path), "--out", str(blocker / "out.csv")]) == 1
    assert "cannot write" in capsys.readouterr().err
    assert main(["analyze", str(tmp_path), "--out", str(tmp_path / "o.csv"), "--model", "missing.pt"]) == 1
    assert "missing.pt does not exist" in capsys.readouterr().err
    assert not (tmp_path / "o.csv").exists()

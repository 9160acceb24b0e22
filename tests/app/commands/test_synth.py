"""`affectscope synth` from the command line."""

from __future__ import annotations

import csv

from app.cli import main


def test_synth_writes_the_requested_split(tmp_path, capsys):
    code = main(["synth", "--out", str(tmp_path), "--n", "10", "--seed", "2", "--size", "64"])
    code_val = main(["synth", "--out", str(tmp_path), "--n", "5", "--seed", "2", "--split", "validation",
                     "--size", "64"])

    assert code == 0 and code_val == 0
    with open(tmp_path / "training.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 10 and all((tmp_path / r["subDirectory_filePath"]).is_file() for r in rows)
    assert (tmp_path / "validation.csv").is_file()
    assert "wrote 10 64px images" in capsys.readouterr().out


def test_synth_refuses_to_replace_without_overwrite(tmp_path, capsys):
    main(["synth", "--out", str(tmp_path), "--n", "4", "--size", "48"])

    code = main(["synth", "--out", str(tmp_path), "--n", "4", "--size", "48"])

    assert code == 2 and "--overwrite" in capsys.readouterr().err


def test_synth_rejects_bad_numbers(tmp_path, capsys):
    assert main(["synth", "--out", str(tmp_path), "--n", "0"]) == 2
    assert "n >= 1" in capsys.readouterr().err

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


def test_label_noise_degrades_a_known_share_and_moves_only_their_labels(tmp_path, capsys):
    import cv2
    import numpy as np

    from model.data.synthetic_dataset import label_noise_path, read_label_noise

    clean, noisy = tmp_path / "clean", tmp_path / "noisy"
    assert main(["synth", "--out", str(clean), "--n", "60", "--size", "64"]) == 0
    assert main(["synth", "--out", str(noisy), "--n", "60", "--size", "64", "--label-noise", "0.3",
                 "--noisy-share", "0.5"]) == 0
    sd_of = read_label_noise(label_noise_path(noisy, "training"))
    rows = {}
    for name, folder in (("clean", clean), ("noisy", noisy)):
        with open(folder / "training.csv", newline="") as handle:
            rows[name] = list(csv.DictReader(handle))
    assert set(sd_of.values()) == {0.0, 0.3} and 15 <= sum(v > 0 for v in sd_of.values()) <= 45
    for a, b in zip(rows["clean"], rows["noisy"], strict=True):
        path = a["subDirectory_filePath"]
        assert b["subDirectory_filePath"] == path and a["expression"] == b["expression"]  # the same faces
        moved = sum(abs(float(a[k]) - float(b[k])) for k in ("valence", "arousal"))
        sharp = cv2.Laplacian(cv2.imread(str(clean / path), cv2.IMREAD_GRAYSCALE), cv2.CV_64F).var()
        soft = cv2.Laplacian(cv2.imread(str(noisy / path), cv2.IMREAD_GRAYSCALE), cv2.CV_64F).var()
        if sd_of[path] > 0:
            assert moved > 0 and soft < sharp / 2  # noisy label, blurred face
        else:
            assert moved == 0 and np.isclose(soft, sharp)  # untouched
    capsys.readouterr()
    assert main(["synth", "--out", str(tmp_path / "x"), "--n", "4", "--label-noise", "0"]) == 2
    assert "sd > 0" in capsys.readouterr().err

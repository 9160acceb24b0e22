"""`main.py distill`: a quick run writes a loadable, derived-V/A checkpoint, its checksum and its card."""

from __future__ import annotations

import json

from app.cli import main
from model.checkpoint import load_checkpoint, sha256_file


def test_quick_distillation_writes_checkpoint_checksum_card_and_report(tmp_path, capsys):
    out, work = tmp_path / "out", tmp_path / "work"
    assert main(["distill", "--quick", "--out", str(out), "--work", str(work), "--seed", "3"]) == 0
    printed = capsys.readouterr().out
    assert "held-out (6 faces)" in printed and "wrote" in printed

    loaded = load_checkpoint(out / "starter.pt")
    meta = loaded.metadata
    assert meta["va_source"] == "derived" and meta["untrained"] is False and "quick" in meta["name"]
    assert meta["training"]["seed"] == 3 and meta["training"]["steps"] == {"1": 2, "2": 2}
    assert loaded.config.input_size == 64 and loaded.config.crop_margin == 0.2
    assert len(meta["teachers"]) == 2 and all(
        len(sha) == 64 for t in meta["teachers"] for sha in t["files"].values()
    )

    sha = sha256_file(out / "starter.pt")
    assert (out / "starter.sha256").read_text() == f"{sha}  starter.pt\n"
    card = (out / "MODEL_CARD.md").read_text()
    assert sha in card and "quick smoke-test run" in card and "non-commercial" in card

    (run_dir,) = work.iterdir()
    report = json.loads((run_dir / "heldout_report.json").read_text())
    assert report["n_faces"] == 6 and [f["id"] for f in report["faces"][:2]] == ["astronaut", "grace_hopper"]


def test_bad_arguments_exit_2_with_a_message(tmp_path, capsys):
    assert main(["distill", "--quick", "--epochs", "0", "--work", str(tmp_path)]) == 2
    assert "--epochs" in capsys.readouterr().err
    assert main(["distill", "--quick", "--time-budget", "-1", "--work", str(tmp_path)]) == 2
    assert "--time-budget" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())

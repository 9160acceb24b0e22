"""`main.py analyze`: CSV with the analysis columns, error rows for broken files, exit codes 0/2/1,
the untrained-model notice, annotated output."""

from __future__ import annotations

import csv
import os

import cv2
import numpy as np
import pytest
import torch

from app.cli import main
from app.core import detection
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


def _one_line_error(err: str) -> str:
    """The single error line a failed run prints (no traceback)."""
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


@pytest.fixture
def photo(tmp_path, astronaut_rgb):
    folder = tmp_path / "in"
    folder.mkdir()
    cv2.imwrite(str(folder / "face.jpg"), astronaut_rgb[..., ::-1])
    return folder / "face.jpg"


@pytest.fixture
def earlier(tmp_path):
    """An earlier run's results, which no failure of a new run may touch."""
    path = tmp_path / "keep.csv"
    path.write_text("earlier,results\n1,2\n")
    return path


def test_every_unusable_input_ends_in_one_line_and_leaves_earlier_results(
    tmp_path, photo, earlier, capsys, monkeypatch
):
    before = earlier.read_bytes()
    garbage = tmp_path / "garbage.onnx"
    garbage.write_bytes(b"\x00not a protobuf" * 10)
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "stage2_best.pt").write_bytes(b"")
    blocker = tmp_path / "file"
    blocker.write_text("x")
    cases = [
        (["--model", "missing.pt"], "missing.pt does not exist"),
        (["--model", str(run_dir)], "is a folder, not a model file; pass one of the model files in it"),
        (["--model", str(garbage), "--runtime", "onnx"], "is not a readable ONNX model"),
        (["--model", str(garbage)], "is not a readable ONNX model"),  # auto picks onnxruntime for .onnx
        (["--video-search-every", "-1"], "--video-search-every must be >= 0 seconds (got -1.0)"),
        (["--video-search-every", "nan"], "--video-search-every must be >= 0 seconds (got nan)"),
    ]
    for extra, message in cases:
        assert main(["analyze", str(photo), "--out", str(earlier), *extra]) == 1
        assert message in _one_line_error(capsys.readouterr().err)
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["analyze", str(empty), "--out", str(earlier)]) == 1
    assert "no image or video files found" in _one_line_error(capsys.readouterr().err)
    assert main(["analyze", str(photo), "--out", str(blocker / "out.csv")]) == 1
    assert "cannot write" in _one_line_error(capsys.readouterr().err)
    monkeypatch.setattr(detection, "DETECTOR_DIR", tmp_path / "no-detector")
    assert main(["analyze", str(photo), "--out", str(earlier)]) == 1
    line = _one_line_error(capsys.readouterr().err)
    assert "cannot create the face detector" in line
    assert "restore it with `git checkout -- assets/detector/" in line
    assert earlier.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []  # no stray file


def test_the_help_names_the_exit_code_of_an_empty_folder(capsys):
    with pytest.raises(SystemExit):
        main(["analyze", "--help"])
    assert "1 when nothing could run (no model or detector, no input file" in " ".join(
        capsys.readouterr().out.split())


def test_an_interrupted_run_keeps_its_rows_in_a_partial_file(tmp_path, photo, earlier, capsys, monkeypatch):
    from app.core import analysis

    for name in ("b.jpg", "c.jpg"):
        (photo.parent / name).write_bytes(photo.read_bytes())
    real = analysis.analyze_paths

    def interrupted(*args, **kwargs):
        for n, event in enumerate(real(*args, **kwargs)):
            yield event
            if event.kind == "file_done" and n > 3:
                raise KeyboardInterrupt

    monkeypatch.setattr(analysis, "analyze_paths", interrupted)
    before = earlier.read_bytes()
    assert main(["analyze", str(photo.parent), "--out", str(earlier)]) == 130
    assert "interrupted; 2 rows kept in" in capsys.readouterr().err
    assert earlier.read_bytes() == before
    _, rows = read_csv(tmp_path / "keep.partial.csv")
    assert [r["source_path"].rsplit("/", 1)[-1] for r in rows] == ["b.jpg", "c.jpg"]


def test_a_full_disk_keeps_whole_rows_and_says_so(
    tmp_path, photo, earlier, capsys, disk_fills_after, monkeypatch
):
    from app.core import analysis

    for name in ("b.jpg", "c.jpg"):
        (photo.parent / name).write_bytes(photo.read_bytes())
    real = analysis.analyze_paths
    filled = []

    def filling(*args, **kwargs):
        for event in real(*args, **kwargs):
            yield event
            if event.kind == "file_done" and not filled:
                filled.append(True)
                disk_fills_after(100)  # the second row is cut after 100 bytes

    monkeypatch.setattr(analysis, "analyze_paths", filling)
    before = earlier.read_bytes()
    assert main(["analyze", str(photo.parent), "--out", str(earlier)]) == 1
    err = capsys.readouterr().err
    line = _one_line_error("\n".join(x for x in err.splitlines() if not x.startswith("analyze:")))
    assert f"cannot write {earlier}: the disk is full" in line and "1 complete rows are kept" in line
    assert earlier.read_bytes() == before
    partial = tmp_path / "keep.partial.csv"
    assert partial.read_bytes().endswith(b"\r\n")  # no half row at the end
    header, rows = read_csv(partial)
    assert tuple(header) == ANALYSIS_COLUMNS and len(rows) == 1
    assert all(rows[0][f"p_{name}"] != "" for name in ("neutral", "happy", "contempt"))


def test_links_that_lead_nowhere_and_folders_named_like_images_get_error_rows(tmp_path, photo, capsys):
    (photo.parent / "loop.jpg").symlink_to(photo.parent / "loop.jpg")
    (photo.parent / "dangling.png").symlink_to(tmp_path / "gone.png")
    (photo.parent / "album.jpg").mkdir()
    out = tmp_path / "out.csv"
    assert main(["analyze", str(photo.parent), "--out", str(out)]) == 2
    _, rows = read_csv(out)
    errors = {r["source_path"].rsplit("/", 1)[-1]: r["error"] for r in rows if r["status"] == "error"}
    assert "folder named like a media file" in errors["album.jpg"]
    assert "symbolic link that leads nowhere" in errors["loop.jpg"]
    assert "symbolic link that leads nowhere" in errors["dangling.png"]
    assert [r["status"] for r in rows if r["source_path"].endswith("face.jpg")] == ["ok"]


def test_results_are_private_unless_shared(tmp_path, photo):
    import stat

    private, shared = tmp_path / "private.csv", tmp_path / "shared.csv"
    assert main(["analyze", str(photo), "--out", str(private)]) == 0
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    old = os.umask(0o022)
    try:
        assert main(["analyze", str(photo), "--out", str(shared), "--shared-files"]) == 0
    finally:
        os.umask(old)
    assert stat.S_IMODE(shared.stat().st_mode) == 0o644


def test_the_untrained_model_runs_only_when_named(tmp_path, photo, capsys, monkeypatch):
    from app.core import model_paths

    out = tmp_path / "out.csv"
    monkeypatch.setattr(model_paths, "DEFAULT_MODEL_PATH", tmp_path / "gone" / "starter.pt")
    assert main(["analyze", str(photo), "--out", str(out)]) == 1
    assert "default model is missing" in _one_line_error(capsys.readouterr().err) and not out.exists()
    assert main(["analyze", str(photo), "--out", str(out), "--model", "untrained", "--runtime", "torch"]) == 0
    assert "UNTRAINED" in capsys.readouterr().err


def test_with_no_detector_option_every_face_of_a_group_and_a_close_up_is_found_once(tmp_path, capsys):
    from app.core.bench.detection import score_frame
    from app.core.bench.scenes import closeup_scene, group_scene
    from app.core.detection import Detection

    rng = np.random.default_rng(11)
    scenes = {
        "group8.png": group_scene(rng, (1280, 720), widths=[44, 52, 64, 80, 96, 120, 160, 220],
                                  max_rotation=0, cut_share=0),
        "far.png": group_scene(rng, (1920, 1080), widths=[42, 70, 130], max_rotation=0, cut_share=0),
        "closeup.png": closeup_scene(rng, 224, 0.85),
    }
    for name, scene in scenes.items():
        cv2.imwrite(str(tmp_path / name), np.ascontiguousarray(scene.image[..., ::-1]))
    out = tmp_path / "out.csv"
    assert main(["analyze", *(str(tmp_path / n) for n in scenes), "--out", str(out)]) == 0
    _, rows = read_csv(out)
    for name, scene in scenes.items():
        found = [Detection(tuple(int(r[k]) for k in ("face_x", "face_y", "face_w", "face_h")), 1.0)
                 for r in rows if r["source_path"].endswith(name) and r["status"] == "ok"]
        score = score_frame(scene, found, 0.0)
        assert sum(score.hits.values()) == len(scene.faces), (name, score)
        assert score.false_positives == 0 and score.duplicates == 0, (name, score)


def test_crops_treat_each_image_as_one_face_without_detection(tmp_path, astronaut_rgb, monkeypatch):
    """`--crops`: dataset crops (the face fills the image) get one row each, the whole image as the face,
    read exactly as the model reads that image, and no detector is ever created."""
    from app.core import face_finder
    from app.core.model_store import open_predictor
    from model.preprocessing import resize_crop

    folder = tmp_path / "crops"
    folder.mkdir()
    head = np.ascontiguousarray(astronaut_rgb[20:200, 150:310])  # (180,160,3): a tight face crop
    cv2.imwrite(str(folder / "a.png"), cv2.cvtColor(head, cv2.COLOR_RGB2BGR))
    grey = np.full((64, 48, 3), 128, np.uint8)  # no face at all: still one row, as the user asked
    cv2.imwrite(str(folder / "b.png"), grey)

    def no_detector(*args, **kwargs):
        raise AssertionError("--crops must not detect")

    monkeypatch.setattr(face_finder, "FaceDetector", no_detector)
    out = tmp_path / "crops.csv"
    assert main(["analyze", str(folder), "--crops", "--out", str(out), "--runtime", "torch"]) == 0
    rows = {os.path.basename(r["source_path"]): r for r in read_csv(out)[1]}
    assert sorted(rows) == ["a.png", "b.png"]
    assert [rows[n]["status"] for n in ("a.png", "b.png")] == ["ok", "ok"]
    assert (rows["a.png"]["face_x"], rows["a.png"]["face_y"], rows["a.png"]["face_w"],
            rows["a.png"]["face_h"]) == ("0", "0", "160", "180")
    predictor = open_predictor(None, "torch", "cpu")
    square = np.zeros((180, 180, 3), np.uint8)  # the image padded to a square, no extra margin
    square[:, 10:170] = head
    expected = predictor.predict([resize_crop(square, predictor.config.input_size)])
    assert float(rows["a.png"]["valence"]) == pytest.approx(float(expected.valence_arousal[0, 0]), abs=1e-4)


def test_uncertainty_columns_and_leaving_out_low_quality_or_uncertain_rows(tmp_path, astronaut_rgb, capsys):
    torch.manual_seed(0)
    meta = {"name": "tiny-head", "untrained": False, "va_source": "measured"}
    head_model = build_model(ModelConfig(input_size=64, va_uncertainty=True))
    with_head = save_checkpoint(tmp_path / "head.pt", head_model, meta)
    without = save_checkpoint(tmp_path / "plain.pt", build_model(ModelConfig(input_size=64)), meta)
    folder = tmp_path / "in"
    folder.mkdir()
    cv2.imwrite(str(folder / "bright.png"), astronaut_rgb[..., ::-1])
    dark = (astronaut_rgb.astype(np.float32) * 0.3).astype(np.uint8)  # a face too dark for the model
    cv2.imwrite(str(folder / "dark.png"), dark[..., ::-1])
    everything = tmp_path / "all.csv"
    assert main(["analyze", str(folder), "--out", str(everything), "--model", str(with_head)]) == 0
    _, rows = read_csv(everything)
    assert [r["quality"] for r in rows] == ["good", "low"]  # bright.png, then dark.png
    stds = [max(float(r["valence_std"]), float(r["arousal_std"])) for r in rows]
    assert all(s > 0 for s in stds)
    capsys.readouterr()

    good = tmp_path / "good.csv"
    assert main(["analyze", str(folder), "--out", str(good), "--model", str(with_head),
                 "--good-quality-only"]) == 0
    assert [r["source_path"] for r in read_csv(good)[1]] == [rows[0]["source_path"]]
    assert "1 rows left out (low quality)" in capsys.readouterr().err

    level = (stds[0] + stds[1]) / 2  # between the two rows' SDs: exactly one is above it
    sure = tmp_path / "sure.csv"
    assert main(["analyze", str(folder), "--out", str(sure), "--model", str(with_head),
                 "--max-std", f"{level:.6f}"]) == 0
    kept = read_csv(sure)[1]
    assert [r["source_path"] for r in kept] == [rows[stds.index(min(stds))]["source_path"]]
    assert "1 rows left out (SD above" in capsys.readouterr().err

    plain = tmp_path / "plain.csv"
    assert main(["analyze", str(folder), "--out", str(plain), "--model", str(without)]) == 0
    assert {(r["valence_std"], r["arousal_std"]) for r in read_csv(plain)[1]} == {("", "")}  # none, not 0
    capsys.readouterr()
    args = ["analyze", str(folder), "--out", str(plain), "--model"]
    assert main([*args, str(without), "--max-std", "0.2"]) == 1
    assert "--max-std needs a model with an uncertainty head" in _one_line_error(capsys.readouterr().err)
    assert main([*args, str(with_head), "--max-std", "-1"]) == 1
    assert "--max-std" in _one_line_error(capsys.readouterr().err)

"""File analysis on a folder of good and broken images plus a short video: faces found where there is
one (in original pixels, EXIF orientation applied), error rows otherwise, video rows with frame/time."""

from __future__ import annotations

import threading
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from app.core.analysis import analyze_paths
from app.core.recorder import ANALYSIS_COLUMNS
from model.config import ModelConfig
from model.network import build_model
from model.predictor import load_predictor

GOOD = ("good.jpg", "sub/gray.png", "rgba.png", "deep16.png", "exif_rotated.jpg", "large.jpg")
BROKEN = ("empty.jpg", "text.jpg", "truncated.jpg")


@pytest.fixture(scope="module")
def predictor():
    torch_model = build_model(ModelConfig(input_size=64))
    return load_predictor(torch_model, metadata={"name": "tiny-untrained", "untrained": True})


def write_bgr(path: Path, rgb: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), np.ascontiguousarray(rgb[..., ::-1]))


def make_media_folder(root: Path, astronaut: np.ndarray) -> Path:
    """Good images in several encodings, broken files, a faceless image, a 1x1 image and a short video."""
    portrait = astronaut[:400]  # (400,512,3): not square, so a wrong orientation changes the shape
    write_bgr(root / "good.jpg", portrait)
    (root / "sub").mkdir()
    cv2.imwrite(str(root / "sub" / "gray.png"), cv2.cvtColor(portrait, cv2.COLOR_RGB2GRAY))
    rgba = np.dstack([portrait[..., ::-1], np.full(portrait.shape[:2], 255, np.uint8)])
    cv2.imwrite(str(root / "rgba.png"), rgba)
    cv2.imwrite(str(root / "deep16.png"), portrait[..., ::-1].astype(np.uint16) * 257)
    stored = Image.fromarray(np.ascontiguousarray(np.rot90(portrait, 1)))  # rotated 90 deg counter-clockwise
    exif = stored.getexif()
    exif[0x0112] = 6  # "rotate 90 deg clockwise to display"
    stored.save(root / "exif_rotated.jpg", exif=exif)
    write_bgr(root / "large.jpg", cv2.resize(portrait, (3072, 2400), interpolation=cv2.INTER_LINEAR))
    write_bgr(root / "tiny.png", portrait[:1, :1])
    gradient = np.linspace(0, 255, 320, dtype=np.uint8)[:, None, None]  # (320,1,1)
    write_bgr(root / "no_face.png", np.tile(gradient, (1, 240, 3)))
    (root / "empty.jpg").write_bytes(b"")
    (root / "text.jpg").write_text("this is not a JPEG")
    full = (root / "good.jpg").read_bytes()
    (root / "truncated.jpg").write_bytes(full[: len(full) // 2])
    (root / "notes.txt").write_text("ignored: not an image or video")
    writer = cv2.VideoWriter(str(root / "clip.avi"), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (640, 480))
    for i in range(4):
        frame = np.full((480, 640, 3), 90, np.uint8)
        frame[40:440, 20 + 15 * i : 532 + 15 * i] = portrait
        writer.write(np.ascontiguousarray(frame[..., ::-1]))
    writer.release()
    return root


@pytest.fixture(scope="module")
def analysed(tmp_path_factory, astronaut_rgb, predictor):
    root = make_media_folder(tmp_path_factory.mktemp("media"), astronaut_rgb)
    out = tmp_path_factory.mktemp("annotated")
    events = list(analyze_paths([root], predictor, save_annotated_dir=out))
    rows = [row for e in events if e.kind == "result" for row in e.rows]
    by_name: dict[str, list[dict[str, str]]] = {}
    for row in rows:
        by_name.setdefault(Path(row["source_path"]).relative_to(root).as_posix(), []).append(row)
    return root, out, events, by_name


def test_every_file_is_listed_in_order_and_rows_have_the_analysis_columns(analysed):
    root, _, events, by_name = analysed
    assert events[0].kind == "started" and events[0].total_files == 12 and events[-1].kind == "finished"
    done = [Path(e.path).relative_to(root).as_posix() for e in events if e.kind == "file_done"]
    assert done == sorted(done) and len(done) == 12 and "notes.txt" not in done
    assert all(tuple(row) == ANALYSIS_COLUMNS for rows in by_name.values() for row in rows)


def test_faces_are_found_in_every_readable_encoding(analysed, predictor):
    _, _, _, by_name = analysed
    reference = by_name["good.jpg"][0]
    ref_box = np.array([int(reference[k]) for k in ("face_x", "face_y", "face_w", "face_h")])
    assert 150 < ref_box[0] < 220 and 50 < ref_box[1] < 120  # the astronaut's face
    for name in GOOD:
        rows = by_name[name]
        assert [r["status"] for r in rows] == ["ok"], (name, rows)
        row = rows[0]
        assert row["error"] == "" and row["face_id"] == "1"
        assert row["frame"] == "" and row["timestamp_s"] == ""  # still images: no frame or time
        assert row["expression"] in predictor.config.class_names
        assert sum(float(row[f"p_{c}"]) for c in predictor.config.class_names) == pytest.approx(1.0, abs=1e-4)
        box = np.array([int(row[k]) for k in ("face_x", "face_y", "face_w", "face_h")])
        scale = 6.0 if name == "large.jpg" else 1.0  # 512 -> 3072 px wide: boxes stay in original pixels
        assert np.abs(box / scale - ref_box).max() < 12, (name, box, ref_box)


def test_broken_files_get_error_rows_and_faceless_images_no_face_rows(analysed):
    _, _, events, by_name = analysed
    for name in BROKEN:
        (row,) = by_name[name]
        assert row["status"] == "error" and name in row["error"] and "cannot be decoded" in row["error"]
    failed = {Path(e.path).name for e in events if e.kind == "file_done" and not e.ok}
    assert failed == set(BROKEN)
    for name in ("tiny.png", "no_face.png"):
        (row,) = by_name[name]
        assert (row["status"], row["error"], row["face_id"]) == ("no_face", "no face detected", "")


def test_video_rows_carry_frame_and_timestamp_with_a_stable_face_id(analysed):
    _, _, _, by_name = analysed
    rows = by_name["clip.avi"]
    assert [r["frame"] for r in rows] == ["0", "1", "2", "3"]
    assert [float(r["timestamp_s"]) for r in rows] == pytest.approx([0.0, 0.1, 0.2, 0.3])
    assert {r["face_id"] for r in rows} == {"1"} and all(r["status"] == "ok" for r in rows)
    xs = [int(r["face_x"]) for r in rows]
    assert xs == sorted(xs) and xs[-1] - xs[0] > 30  # the face moved right by 45 px


def test_annotated_images_and_video_are_written(analysed):
    _, out, events, _ = analysed
    good = next(e for e in events if e.kind == "file_done" and e.path.name == "good.jpg")
    assert good.annotated_path == out / "good.annotated.jpg"
    image = cv2.imread(str(good.annotated_path))
    assert image.shape == (400, 512, 3)
    assert (out / "sub" / "gray.annotated.jpg").is_file()
    capture = cv2.VideoCapture(str(out / "clip.annotated.avi"))
    assert int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) == 4
    capture.release()


def test_cancel_stops_between_files(tmp_path, astronaut_rgb, predictor):
    for i in range(3):
        write_bgr(tmp_path / f"{i}.jpg", astronaut_rgb)
    cancel = threading.Event()
    kinds = []
    for event in analyze_paths([tmp_path], predictor, cancel=cancel):
        kinds.append(event.kind)
        if event.kind == "file_done":
            cancel.set()
    assert kinds == ["started", "result", "file_done", "cancelled"]


def test_missing_and_unsupported_paths_get_error_rows(tmp_path, predictor):
    (tmp_path / "data.csv").write_text("a,b\n")
    events = list(analyze_paths([tmp_path / "missing.jpg", tmp_path / "data.csv"], predictor))
    errors = [e.rows[0]["error"] for e in events if e.kind == "result"]
    assert "file not found" in errors[0] and "unsupported file type '.csv'" in errors[1]


def test_a_far_face_in_a_video_file_is_found_from_its_first_frame_by_the_thorough_search(tmp_path, predictor):
    from dataclasses import replace

    from app.core.bench.scenes import group_scene
    from app.core.settings import DetectionSettings

    from .videos import write_video

    scene = group_scene(np.random.default_rng(4), (1280, 720), widths=[44], max_rotation=0, cut_share=0)
    (truth,) = scene.faces  # 44 px: the whole-frame passes miss it; the tile sweep takes a few frames
    video = write_video(tmp_path / "far.avi", [scene.image] * 8, fps=4.0)  # 2 s
    cx, cy = truth.box[0] + truth.box[2] / 2, truth.box[1] + truth.box[3] / 2
    frames_with_face = {}
    for every in (DetectionSettings().video_search_s, 0.0):
        detection = replace(DetectionSettings(), video_search_s=every)
        rows = [r for e in analyze_paths([video], predictor, detection=detection) if e.kind == "result"
                for r in e.rows]
        assert len({r["frame"] for r in rows}) == 8
        on_face = [r for r in rows if r["status"] == "ok"
                   and abs(int(r["face_x"]) + int(r["face_w"]) / 2 - cx) < truth.width / 3
                   and abs(int(r["face_y"]) + int(r["face_h"]) / 2 - cy) < truth.width / 3]
        frames_with_face[every] = sorted(int(r["frame"]) for r in on_face)
        assert len({r["face_id"] for r in on_face}) <= 1  # one id all along
    assert frames_with_face[DetectionSettings().video_search_s] == list(range(8))
    assert 0 not in frames_with_face[0.0]  # without it, the sweep finds the face later

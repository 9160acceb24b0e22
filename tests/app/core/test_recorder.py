"""Session recorder: exact header, rows == faces processed (+ no_face rows), sidecars, summary numbers,
no overwriting, intact after a forced stop, and clear errors on an unwritable path or a full disk."""

from __future__ import annotations

import csv
import errno
import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from app.core.packets import FaceResult, FramePacket, PipelineStats
from app.core.recorder import ModelInfo, RecorderError, SessionRecorder
from model.config import CLASS_NAMES

REPO = Path(__file__).resolve().parents[3]
MODEL = ModelInfo(name="tiny-test", sha256="ab" * 32, va_source="derived", untrained=True, runtime="torch")
EXPECTED_HEADER = (
    "session_id,participant,frame,timestamp_s,wall_time,face_id,face_label,status,detection,face_x,face_y,face_w,face_h,"
    "face_score,quality,quality_reasons,sharpness,brightness,clipped,roll_deg,yaw_deg,pitch_deg,"
    "valence,arousal,valence_std,arousal_std,valence_smoothed,arousal_smoothed,valence_corrected,arousal_corrected,"
    "expression,p_neutral,p_happy,p_sad,p_surprise,p_fear,p_disgust,p_anger,p_contempt,latency_ms,marker"
)


def face(face_id: int, v: float, a: float, expression: int = 1, corrected: bool = False) -> FaceResult:
    probs = np.full(8, 0.02)
    probs[expression] = 0.86
    return FaceResult(
        face_id=face_id, box=(10, 20, 30, 40), score=0.9, valence=v, arousal=a,
        valence_smoothed=v, arousal_smoothed=a,
        valence_corrected=v - 0.1 if corrected else None, arousal_corrected=a - 0.1 if corrected else None,
        probabilities=probs, expression=CLASS_NAMES[expression],
        spatial_attention=tuple(np.full((2, 2), 0.25) for _ in range(4)), layer_attention=np.full(4, 0.25),
        crop=np.zeros((8, 8, 3), np.uint8),
    )


def packet(i: int, faces: tuple[FaceResult, ...], marker: str = "") -> FramePacket:
    return FramePacket(frame_index=i, timestamp_s=i / 10, wall_time=1.7e9 + i / 10,
                       frame=np.zeros((24, 32, 3), np.uint8), faces=faces,
                       stats=PipelineStats(total_ms=12.5), marker=marker)


def read_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def test_header_rows_sidecars_and_summary(tmp_path):
    rec = SessionRecorder(tmp_path / "s1.csv", model=MODEL, participant="P01", session_id="S",
                          settings={"smoothing": "ema"}, camera={"index": 0}, version="9.9")
    # face 1: V 0.5, -0.5, 0.3 / A 0.2, 0.4, -0.6 ; face 2 only in frame 0 ; frame 2 has no face
    rec.write(packet(0, (face(1, 0.5, 0.2), face(2, -0.2, -0.3, expression=2))))
    rec.write(packet(1, (face(1, -0.5, 0.4, corrected=True),), marker="stimulus A"))
    rec.mark("pressed key")
    rec.write(packet(2, ()))
    rec.write(packet(3, (face(1, 0.3, -0.6, expression=6, corrected=True),)))
    assert rec.is_recording
    summary = rec.stop()
    assert not rec.is_recording

    assert rec.paths.csv.read_text().splitlines()[0] == EXPECTED_HEADER
    rows = read_rows(rec.paths.csv)
    assert len(rows) == 5 == rec.rows_written  # 4 face rows + 1 no_face row
    assert [(r["frame"], r["face_id"], r["status"]) for r in rows] == [
        ("0", "1", "ok"), ("0", "2", "ok"), ("1", "1", "ok"), ("2", "", "no_face"), ("3", "1", "ok")]
    assert rows[0]["valence_corrected"] == "" and float(rows[2]["valence_corrected"]) == pytest.approx(-0.6)
    assert [r["marker"] for r in rows] == ["", "", "stimulus A", "pressed key", ""]
    assert rows[0]["session_id"] == "S" and rows[0]["participant"] == "P01"
    assert float(rows[1]["p_sad"]) == pytest.approx(0.86) and rows[1]["expression"] == "sad"
    assert float(rows[0]["latency_ms"]) == 12.5 and float(rows[3]["wall_time"]) == pytest.approx(1.7e9 + 0.2)
    assert rows[3]["valence"] == "" and rows[3]["timestamp_s"] == "0.2000"

    sidecar = json.loads(rec.paths.json.read_text())
    assert sidecar["app_version"] == "9.9" and sidecar["participant"] == "P01"
    assert sidecar["model"]["va_source"] == "derived" and sidecar["model"]["sha256"] == "ab" * 32
    assert sidecar["settings"] == {"smoothing": "ema"} and sidecar["camera"] == {"index": 0}
    assert "start_time" in sidecar

    assert json.loads(rec.paths.summary_json.read_text()) == summary
    assert summary["n_frames"] == 4 and summary["n_no_face_frames"] == 1
    assert summary["duration_s"] == pytest.approx(0.3)
    assert [m["text"] for m in summary["markers"]] == ["stimulus A", "pressed key"]
    f1, f2 = summary["faces"]
    assert f1["n_frames"] == 3 and f2["n_frames"] == 1
    assert f1["valence"]["mean"] == pytest.approx(0.1)  # (0.5 - 0.5 + 0.3) / 3
    assert f1["valence"]["sd"] == pytest.approx(0.52915026)  # sqrt((0.16 + 0.36 + 0.04) / 2)
    assert f1["arousal"]["mean"] == pytest.approx(0.0)
    assert f1["arousal"]["sd"] == pytest.approx(0.52915026)  # sqrt((0.04 + 0.16 + 0.36) / 2)
    assert f1["valence_corrected"]["mean"] == pytest.approx(-0.2) and f1["n_corrected_frames"] == 2
    assert f1["quadrant_share"] == pytest.approx({
        "neutral": 0.0, "positive_high_arousal": 1 / 3, "negative_high_arousal": 1 / 3,
        "negative_low_arousal": 0.0, "positive_low_arousal": 1 / 3})
    assert f1["dominant_expression"] == "happy"
    assert f2["valence"]["sd"] is None and f2["dominant_expression"] == "sad"
    md = rec.paths.summary_md.read_text()
    assert "| 1 | 3 | 0.100 | 0.529 |" in md and "stimulus A" in md


def test_existing_recording_is_never_overwritten(tmp_path):
    first = SessionRecorder(tmp_path / "s", model=MODEL)
    first.write(packet(0, ()))
    first.stop()
    before = first.paths.csv.read_bytes()
    second = SessionRecorder(tmp_path / "s.csv", model=MODEL)
    assert second.paths.csv.name == "s-1.csv" and second.paths.json.name == "s-1.json"
    second.stop()
    assert first.paths.csv.read_bytes() == before


def test_unwritable_path_raises_a_clear_error(tmp_path):
    blocker = tmp_path / "not_a_folder"
    blocker.write_text("a file where a folder should be")
    expected = r"Cannot start the recording: cannot create .*not_a_folder"
    with pytest.raises(RecorderError, match=expected) as info:
        SessionRecorder(blocker / "session.csv", model=MODEL)
    assert info.value.to_event().kind == "error"


def test_disk_full_keeps_the_rows_already_written(tmp_path, disk_fills_after):
    rec = SessionRecorder(tmp_path / "full.csv", model=MODEL)
    for i in range(3):
        rec.write(packet(i, (face(1, 0.1, 0.1),)))
    disk_fills_after(40)  # the next row is cut after 40 bytes
    with pytest.raises(RecorderError, match=r"disk is full.*3 rows written before are kept") as info:
        rec.write(packet(3, (face(1, 0.1, 0.1),)))
    assert info.value.errno == errno.ENOSPC and not rec.is_recording
    with pytest.raises(RecorderError, match="disk is full"):  # later writes keep failing clearly
        rec.write(packet(4, ()))
    summary = rec.stop()
    assert summary["complete"] is False and summary["n_frames"] == 3
    assert [r["frame"] for r in read_rows(rec.paths.csv)] == ["0", "1", "2"]
    assert rec.paths.csv.read_bytes().endswith(b"\r\n")  # the cut row was taken back whole


def test_recordings_are_private_unless_shared(tmp_path):
    import stat

    private = SessionRecorder(tmp_path / "private.csv", model=MODEL)
    private.write(packet(0, (face(1, 0.1, 0.1),)))
    private.stop()
    for path in (private.paths.csv, private.paths.json, private.paths.summary_json, private.paths.summary_md):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    old = os.umask(0o022)
    try:
        shared = SessionRecorder(tmp_path / "shared.csv", model=MODEL, permissions=None)
        shared.stop()
    finally:
        os.umask(old)
    assert stat.S_IMODE(shared.paths.csv.stat().st_mode) == 0o644


def test_rows_survive_a_killed_process(tmp_path):
    script = textwrap.dedent(f"""
        import os, signal, sys
        sys.path.insert(0, {str(REPO)!r}); sys.path.insert(0, {str(Path(__file__).parent)!r})
        from test_recorder import MODEL, face, packet
        from app.core.recorder import SessionRecorder
        rec = SessionRecorder({str(tmp_path / "killed.csv")!r}, model=MODEL)
        for i in range(50):
            rec.write(packet(i, (face(1, 0.2, 0.3), face(2, -0.1, 0.0)) if i % 5 else ()))
        os.kill(os.getpid(), signal.SIGKILL)
    """)
    proc = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, timeout=60)
    assert proc.returncode == -signal.SIGKILL, proc.stderr.decode()
    rows = read_rows(tmp_path / "killed.csv")
    assert len(rows) == 40 * 2 + 10  # 40 frames with two faces, 10 without
    assert sum(r["status"] == "no_face" for r in rows) == 10


def test_raw_video_is_saved_only_when_asked(tmp_path):
    import cv2

    quiet = SessionRecorder(tmp_path / "quiet.csv", model=MODEL)
    quiet.write(packet(0, ()))
    quiet.stop()
    assert not quiet.paths.video.exists()
    rec = SessionRecorder(tmp_path / "video.csv", model=MODEL, save_video=True, video_fps=10)
    for i in range(5):
        rec.write(packet(i, ()))
    rec.stop()
    cap = cv2.VideoCapture(str(rec.paths.video))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 5 and int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)) == 32
    cap.release()


def test_summary_of_a_torn_csv_skips_the_cut_row(tmp_path):
    from app.core.summary import summarize_csv

    rec = SessionRecorder(tmp_path / "torn.csv", model=MODEL)
    for i in range(3):
        rec.write(packet(i, (face(1, 0.2, 0.3),)))
    with rec.paths.csv.open("a") as f:
        f.write(",,3,0.3000,1700000000.3,1,ok,10,20")  # a row cut short by a killed process
    summary = summarize_csv(rec.paths.csv)
    assert summary["n_frames"] == 3 and summary["faces"][0]["n_frames"] == 3


def test_a_neutral_face_is_shared_as_neutral_not_as_a_quadrant():
    from app.core.settings import SummarySettings
    from app.core.summary import summarize_rows, summary_markdown

    def row(frame: int, v: float, a: float) -> dict[str, str]:
        return {"session_id": "s", "participant": "", "frame": str(frame), "timestamp_s": str(frame / 10),
                "face_id": "1", "status": "ok", "valence": str(v), "arousal": str(a), "expression": "neutral",
                "marker": ""}

    rows = [row(0, -0.006, 0.037), row(1, 0.05, -0.05), row(2, -0.4, 0.3), row(3, 0.099, 0.0)]
    summary = summarize_rows(rows)
    assert summary["neutral_radius"] == SummarySettings().neutral_radius == 0.1
    shares = summary["faces"][0]["quadrant_share"]
    assert shares["neutral"] == pytest.approx(3 / 4)  # |(-0.006, 0.037)| = 0.037 < 0.1, and so on
    assert shares["negative_high_arousal"] == pytest.approx(1 / 4)
    assert sum(shares.values()) == pytest.approx(1.0)
    assert "neutral radius 0.1" in summary_markdown(summary)
    strict = summarize_rows(rows, neutral_radius=0.0)["faces"][0]["quadrant_share"]  # no zone: old rule
    assert strict["neutral"] == 0.0 and strict["negative_high_arousal"] == pytest.approx(2 / 4)
    with pytest.raises(ValueError, match="neutral radius"):
        SummarySettings(neutral_radius=1.5)

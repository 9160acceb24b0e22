"""Reading a recording back for review: the table, the per-segment summary, the edits and the video."""

from __future__ import annotations

import csv
import hashlib
import json
import math
import shutil
import threading

import numpy as np
import pytest

from app.core.bench.long_session import write_long_session
from app.core.segment_summary import WHOLE, marker_segments, summarize_segments, summary_text
from app.core.session_annotations import (
    SessionAnnotations,
    TimeRange,
    annotations_path,
    export_cleaned_csv,
    load_annotations,
    save_annotations,
    unreadable_path,
)
from app.core.session_table import LoadDone, LoadProgress, SessionFileError, load_session, read_session
from app.core.session_video import SessionVideo, faces_at, find_video, video_frame_index
from app.core.settings import SummarySettings
from tests.app.sessions import MARKERS, record_session


@pytest.fixture(scope="module")
def recording(tmp_path_factory, astronaut_rgb):
    """A real two-face recording with its raw video and two markers."""
    return record_session(tmp_path_factory.mktemp("recording"), astronaut_rgb)


def _digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _rows(path) -> list[dict[str, str]]:
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def test_the_table_holds_every_row_of_the_recording(recording):
    table = load_session(recording)
    rows = _rows(recording)
    assert len(table) == len(rows) and table.kind == "session" and table.notes == []
    assert table.face_list() == [1, 2]
    assert [text for _, text in table.markers()] == list(MARKERS)
    assert table.sidecar is not None and table.sidecar["participant"] == "P01"


def test_the_segment_summary_equals_a_computation_from_the_csv(recording):
    table = load_session(recording)
    segments = marker_segments(table)
    assert [s.name for s in segments][2:] == list(MARKERS)
    summary = summarize_segments(table, SessionAnnotations(), segments)
    rows = [r for r in _rows(recording) if r["status"] == "ok"]
    radius = SummarySettings().neutral_radius
    for out in summary:
        segment = next(s for s in segments if s.name == out["segment"])
        mine = [r for r in rows if int(r["face_id"]) == out["face_id"]
                and segment.start_s <= float(r["timestamp_s"]) < segment.end_s]
        v = [float(r["valence"]) for r in mine]
        a = [float(r["arousal"]) for r in mine]
        assert out["frames"] == len(mine) > 1
        mean = math.fsum(v) / len(v)
        assert out["valence_mean"] == pytest.approx(mean, abs=1e-12)
        sd = math.sqrt(math.fsum((x - mean) ** 2 for x in v) / (len(v) - 1))
        assert out["valence_sd"] == pytest.approx(sd, rel=1e-9)
        neutral = sum(math.hypot(x, y) < radius for x, y in zip(v, a, strict=True))
        assert out["share_neutral"] == pytest.approx(neutral / len(v), abs=1e-12)
        assert out["share_dominant_happy"] == 1.0  # the fake model always says happy
    whole = [r for r in summary if r["segment"] == WHOLE]
    assert sum(r["frames"] for r in whole) == len(rows)
    assert summary_text(summary).count("\n") == len(summary) + 1


def test_a_truncated_csv_loads_its_complete_rows(recording, tmp_path):
    copy = tmp_path / "killed.csv"
    text = recording.read_text()
    copy.write_text(text[: len(text) - 40])  # the last line is cut mid-row
    table = load_session(copy)
    assert len(table) == len(_rows(recording)) - 1
    assert any("incomplete" in note for note in table.notes)
    assert any("No sidecar killed.json" in note for note in table.notes)


def test_a_foreign_or_empty_csv_is_refused_with_its_name(tmp_path):
    foreign = tmp_path / "openface.csv"
    foreign.write_text("frame,face_id,timestamp,confidence,success\n1,0,0.0,0.98,1\n")
    expected = r"openface.csv is not an AffectScope .*status, valence, arousal are missing"
    with pytest.raises(SessionFileError, match=expected):
        load_session(foreign)
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(SessionFileError, match="empty.csv is empty"):
        load_session(empty)


def test_a_foreign_sidecar_is_ignored_and_said(recording, tmp_path):
    shutil.copy(recording, tmp_path / "other.csv")
    shutil.copy(recording.with_suffix(".json"), tmp_path / "other.json")  # it names session.csv
    table = load_session(tmp_path / "other.csv")
    assert table.sidecar is None and any("belongs to session.csv" in n for n in table.notes)


def test_edits_go_to_the_annotation_file_and_leave_the_recording_untouched(recording, tmp_path):
    folder = tmp_path / "edit"
    shutil.copytree(recording.parent, folder)
    csv_path = folder / recording.name
    before = _digest(csv_path)
    table = load_session(csv_path)
    edits = SessionAnnotations()
    with pytest.raises(ValueError, match="both in view"):
        edits.merge(table, 2, 1)  # two faces side by side are two people
    start, end = float(table.timestamps.min()), float(table.timestamps.max())
    edits.excluded.append(TimeRange(start, start + (end - start) / 4, "looked away"))
    edits.labels[1] = "P07"
    save_annotations(csv_path, edits)
    loaded, note = load_annotations(csv_path)
    assert note == "" and loaded == edits
    out = folder / "cleaned.csv"
    written = export_cleaned_csv(table, loaded, out)
    cleaned = _rows(out)
    assert len(cleaned) == written < len(table)
    assert all(float(r["timestamp_s"]) > start + (end - start) / 4 for r in cleaned)
    assert {r["face_label"] for r in cleaned if r["face_id"] == "1"} == {"P07"}
    with pytest.raises(ValueError, match="the recording itself"):
        export_cleaned_csv(table, loaded, csv_path)
    assert _digest(csv_path) == before


def test_an_unreadable_annotation_file_is_moved_aside_not_lost(recording, tmp_path):
    csv_path = tmp_path / "s.csv"
    shutil.copy(recording, csv_path)
    annotations_path(csv_path).write_text("{ not json")
    edits, note = load_annotations(csv_path)
    assert "cannot be read" in note and edits == SessionAnnotations()
    save_annotations(csv_path, edits)
    assert unreadable_path(csv_path).read_text() == "{ not json"


def test_the_frame_behind_a_row_comes_from_the_saved_video(recording):
    table = load_session(recording)
    link = find_video(table)
    assert link.path == recording.with_suffix(".avi")
    video = SessionVideo(link.path)
    try:
        assert video.frame_count == len(table.distinct_frames)
        row = int(np.flatnonzero(table.face_ids >= 0)[-1])
        image = video.read(video_frame_index(table, row, link))
        assert image is not None and image.shape == (256, 560, 3)
    finally:
        video.close()
    same_frame = np.flatnonzero(table.number("frame") == table.number("frame")[row])
    faces = faces_at(table, SessionAnnotations(labels={1: "P07"}), same_frame)
    assert sorted(f.face_id for f in faces) == [1, 2]
    assert next(f.label for f in faces if f.face_id == 1) == "P07"
    frame = str(int(table.number("frame")[row]))
    recorded = {int(r["face_id"]): r for r in _rows(recording) if r["frame"] == frame and r["status"] == "ok"}
    for face in faces:  # the frame's labels say what the recording said of each face's quality
        assert face.quality.verdict == recorded[face.face_id]["quality"]
        assert face.quality.sharpness == float(recorded[face.face_id]["sharpness"])


def test_without_a_saved_video_the_frames_come_from_the_source_video(recording, tmp_path):
    folder = tmp_path / "no_raw_video"
    shutil.copytree(recording.parent, folder)
    csv_path = folder / recording.name
    table = load_session(csv_path)
    raw = SessionVideo(csv_path.with_suffix(".avi"))
    row = int(np.flatnonzero(table.face_ids >= 0)[len(table) // 2])
    processed = raw.read(video_frame_index(table, row, find_video(table))).astype(np.int16)
    raw.close()
    csv_path.with_suffix(".avi").unlink()
    link = find_video(load_session(csv_path))
    assert link.path == (recording.parent / "source.avi").resolve() and link.frame_numbers
    source = SessionVideo(link.path)
    try:
        index = video_frame_index(table, row, link)
        # the source frame the row names is the one the recording processed: closer than its neighbours
        distance = {
            k: np.abs(source.read(k).astype(np.int16) - processed).mean() for k in range(index - 1, index + 2)
        }
        assert min(distance, key=distance.get) == index
    finally:
        source.close()
    sidecar = json.loads(csv_path.with_suffix(".json").read_text())
    sidecar["camera"]["path"] = str(folder / "moved_away.avi")
    csv_path.with_suffix(".json").write_text(json.dumps(sidecar))
    assert "moved_away.avi is not on disk" in find_video(load_session(csv_path)).note


def test_a_long_file_reads_with_progress_and_stops_when_cancelled(tmp_path):
    path = tmp_path / "hour_part.csv"
    rows = write_long_session(path, duration_s=600.0, faces=4)  # several of the reader's blocks
    events = list(read_session(path))
    progress = [e for e in events if isinstance(e, LoadProgress)]
    assert len(progress) > 2 and isinstance(events[-1], LoadDone) and len(events[-1].table) == rows
    assert [p.bytes_read for p in progress] == sorted(p.bytes_read for p in progress)
    assert progress[-1].bytes_read == progress[-1].bytes_total == path.stat().st_size
    cancel = threading.Event()
    reading = read_session(path, cancel)
    next(reading)
    cancel.set()
    assert not any(isinstance(e, LoadDone) for e in reading)


def test_an_sd_level_leaves_out_the_uncertain_rows_everywhere_and_a_recording_without_sd_keeps_all(
    recording, tmp_path
):
    path = tmp_path / "sd.csv"
    write_long_session(path, duration_s=20.0, faces=2)
    table = load_session(path)
    edits = SessionAnnotations(max_std=0.2)
    save_annotations(path, edits)
    loaded, note = load_annotations(path)
    assert note == "" and loaded.max_std == 0.2
    above = np.fmax(table.number("valence_std"), table.number("arousal_std")) > 0.2
    assert 0 < above.sum() < len(table)
    assert np.array_equal(loaded.dropped_rows(table), above)
    out = tmp_path / "cleaned.csv"
    assert export_cleaned_csv(table, loaded, out) == int((~above).sum())
    assert all(max(float(r["valence_std"]), float(r["arousal_std"])) <= 0.2 for r in _rows(out))
    old = load_session(recording)  # recorded by a model without an uncertainty head: empty SD cells
    assert not loaded.dropped_rows(old).any()

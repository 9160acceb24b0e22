"""The pipeline benchmark's generated videos hold the faces they claim, and its figures add up."""

from __future__ import annotations

import pytest

from app.core.bench.pipeline import FRAME_SIZES, markdown_table, measure_sequential, write_test_video
from model.config import ModelConfig
from model.network import build_model
from model.predictor import load_predictor


@pytest.mark.parametrize("size", FRAME_SIZES)
def test_four_face_video_is_detected_as_four_faces(tmp_path, size):
    predictor = load_predictor(build_model(ModelConfig(input_size=64)), "torch", metadata={"name": "tiny"})
    video = write_test_video(tmp_path / "four.avi", faces=4, seconds=0.2, size=size)
    result = measure_sequential(video, predictor, faces=4, warmup=1)
    assert result.frames == 5 and result.faces_found == 4.0
    assert result.fps == pytest.approx(1000.0 / (result.detect_ms + result.model_ms + result.other_ms))
    table = markdown_table({"results": [{**result.__dict__, "frame": "1280x720"}]})
    assert "| 1280x720 | sequential | torch | 4 |" in table
    with pytest.raises(ValueError, match="1 or 4 faces"):
        write_test_video(tmp_path / "x.avi", faces=2, seconds=0.1)


def test_the_soak_finds_every_row_in_the_recording_and_samples_memory():
    from app.core.bench.soak import _lost_rows, run_soak, soak_summary

    predictor = load_predictor(build_model(ModelConfig(input_size=64)), "torch", metadata={"name": "tiny"})
    report = run_soak(predictor, minutes=0.05, sample_s=1.0)
    assert report["frames"] > 10 and report["faces_per_frame"] == 4.0
    assert report["rows_lost"] == 0 and report["rows_in_csv"] == report["rows_expected"] > 0
    assert len(report["samples"]) >= 2 and report["rss_mb_end"] > 0
    assert "| frames |" in soak_summary(report)
    # the check itself: a missing frame and a short frame inside the recorded span are both counted
    from collections import Counter

    assert _lost_rows({1: 4, 2: 4, 3: 1, 4: 4}, Counter({1: 4, 3: 1, 4: 2})) == (13, 6)

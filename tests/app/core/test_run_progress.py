"""The Training tab's whole-run progress: all stages' steps, early stops, and the time left."""

from __future__ import annotations

import pytest

from app.core.training_report import RunProgress, describe_time_left
from model.train import TrainOptions


def test_progress_spans_every_stage_and_an_early_stop_moves_it_on():
    progress = RunProgress(TrainOptions(stages="1+2", epochs=(4, 2)))
    assert progress.fraction() == 0.0 and progress.seconds_left() is None
    progress.stage_started(1, steps_per_epoch=10)  # stage 2 is assumed to take 10 a epoch too
    assert progress.steps_total == 60
    for step in range(1, 11):
        progress.step_done(1, step, now=float(step))  # one step a second
    assert progress.fraction() == pytest.approx(10 / 60)
    assert progress.seconds_left() == pytest.approx(50.0)  # 50 steps left at the measured 1 s each
    progress.stage_done(1, steps=20)  # early stop after 2 of 4 epochs
    assert progress.steps_total == 40 and progress.fraction() == pytest.approx(0.5)
    progress.stage_started(2, steps_per_epoch=5)
    assert progress.steps_total == 30
    progress.step_done(2, 10, now=30.0)
    assert progress.fraction() == 1.0 and progress.seconds_left() == 0.0


def test_max_steps_caps_each_stage_and_the_text_rounds_sensibly():
    progress = RunProgress(TrainOptions(stages="1", epochs=(5, 1), max_steps=7))
    progress.stage_started(1, steps_per_epoch=100)
    assert progress.steps_total == 7
    assert describe_time_left(None) == "" and describe_time_left(42) == "about 40 s left"
    assert describe_time_left(200) == "about 3 min left" and describe_time_left(0.2) == "about 1 s left"

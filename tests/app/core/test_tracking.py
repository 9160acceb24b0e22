"""IoU tracking: stable ids, new ids for new faces, retirement after the timeout."""

from __future__ import annotations

import pytest

from app.core.tracking import IoUTracker, iou


def test_iou():
    assert iou((0, 0, 10, 10), (0, 0, 10, 10)) == 1.0
    assert iou((0, 0, 10, 10), (5, 0, 10, 10)) == pytest.approx(50 / 150)
    assert iou((0, 0, 10, 10), (20, 0, 10, 10)) == 0.0


def test_ids_follow_moving_faces_and_new_faces_get_new_ids():
    tracker = IoUTracker(iou_threshold=0.3, timeout_s=1.0)
    first = tracker.update([(10, 10, 50, 50), (200, 10, 50, 50)], 0.0)
    assert first[0] != first[1]
    for step in range(1, 20):
        # both faces move 5 px per frame; the box order is flipped to show ids follow boxes, not order
        ids = tracker.update([(200 + 5 * step, 10, 50, 50), (10 + 5 * step, 10, 50, 50)], step / 30)
        assert ids == [first[1], first[0]]
    newcomer = tracker.update([(400, 100, 40, 40), (105, 10, 50, 50)], 0.7)
    assert newcomer[0] not in first and newcomer[1] == first[0]


def test_greedy_matching_gives_each_track_one_box():
    tracker = IoUTracker()
    (face,) = tracker.update([(0, 0, 100, 100)], 0.0)
    ids = tracker.update([(40, 0, 100, 100), (5, 0, 100, 100)], 0.1)
    assert ids[1] == face and ids[0] != face  # the better overlap keeps the id


def test_ids_survive_short_gaps_and_retire_after_the_timeout():
    tracker = IoUTracker(timeout_s=0.5)
    (face,) = tracker.update([(10, 10, 50, 50)], 0.0)
    assert tracker.update([], 0.4) == [] and tracker.retired == []
    assert tracker.update([(12, 10, 50, 50)], 0.45) == [face]  # back within the timeout
    tracker.update([], 0.9)
    assert tracker.active_ids == [face]
    tracker.update([], 1.0)  # 0.55 s unseen
    assert tracker.retired == [face] and tracker.active_ids == []
    (again,) = tracker.update([(12, 10, 50, 50)], 1.1)
    assert again != face  # retired ids are never reused


def test_reset_retires_everything():
    tracker = IoUTracker()
    ids = tracker.update([(0, 0, 10, 10), (50, 50, 10, 10)], 0.0)
    tracker.reset()
    assert tracker.retired == sorted(ids) and tracker.active_ids == []


def test_bad_settings_are_rejected():
    with pytest.raises(ValueError, match="iou_threshold"):
        IoUTracker(iou_threshold=0.0)
    with pytest.raises(ValueError, match="timeout_s"):
        IoUTracker(timeout_s=-1)

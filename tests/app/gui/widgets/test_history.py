"""Ring buffers behind the circumplex trails and the timelines."""

from __future__ import annotations

import numpy as np
import pytest

from app.core.face_history import FaceHistories, RingBuffer
from tests.app.gui.widgets.fake_packets import make_face, make_packet


def test_ring_buffer_keeps_the_newest_rows_in_order() -> None:
    ring = RingBuffer(capacity=3, width=2)
    for i in range(5):
        ring.append((i, 10 * i))
    assert len(ring) == 3
    np.testing.assert_array_equal(ring.last(), [[2, 20], [3, 30], [4, 40]])
    np.testing.assert_array_equal(ring.last(2), [[3, 30], [4, 40]])
    with pytest.raises(ValueError, match="capacity"):
        RingBuffer(0, 2)


def test_histories_follow_each_face_and_forget_faces_gone_longer_than_the_window() -> None:
    histories = FaceHistories(window_s=30.0, capacity=100)
    histories.add(make_packet(0.0, make_face(1, 0.2), make_face(2, -0.4)))
    histories.add(make_packet(1.0, make_face(1, 0.6)))
    np.testing.assert_allclose(histories.last(1), [[0.0, 0.2, -0.2, 0.1, -0.1, 0.0],
                                                   [1.0, 0.6, -0.6, 0.3, -0.3, 0.0]])
    assert histories.face_ids() == [1, 2]
    histories.add(make_packet(31.5, make_face(1, 0.0)))  # face 2 unseen for 31.5 s
    assert histories.face_ids() == [1]
    np.testing.assert_allclose(histories.last(1)[:, 0], [0.0, 1.0, 31.5])
    np.testing.assert_allclose(histories.window(1)[:, 0], [31.5])  # the last 30 s only
    assert histories.last(2).shape == (0, 6)


def test_histories_restart_when_a_new_source_restarts_the_clock() -> None:
    histories = FaceHistories()
    histories.add(make_packet(5.0, make_face(1, 0.1)))
    histories.add(make_packet(0.0, make_face(3, 0.1)))
    assert histories.face_ids() == [3]


def test_low_quality_frames_are_kept_faded_in_the_timelines(qtbot) -> None:
    from dataclasses import replace

    from app.core.face_quality import FaceQuality
    from app.gui.widgets.timelines import Timelines

    low = FaceQuality(20.0, 5.0, 120.0, 0.0, 0.0, 0.0, 0.0, ("small", "blurred"))
    histories = FaceHistories()
    for k in range(6):
        face = make_face(1, 0.1 * k)
        histories.add(make_packet(float(k), replace(face, quality=low) if k in (2, 3) else face))
    assert histories.last(1)[:, 5].tolist() == [0, 0, 1, 1, 0, 0]
    timelines = Timelines()
    qtbot.addWidget(timelines)
    timelines.update_from(histories, 1)
    _, bold = timelines.smoothed["valence"].getData()
    _, faded = timelines.faded["valence"].getData()
    assert np.isnan(bold[[2, 3]]).all() and np.isfinite(bold[[0, 1, 4, 5]]).all()  # the bold line breaks
    np.testing.assert_allclose(faded, histories.last(1)[:, 3])  # the faded one keeps every frame

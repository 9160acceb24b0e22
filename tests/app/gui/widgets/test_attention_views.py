"""Attention is shown on a stated scale: the panel's colour bar and the video overlay's transparency."""

from __future__ import annotations

import numpy as np

from app.core.attention_scale import FULL_SCALE, attention_display
from app.gui.widgets.attention_panel import AttentionPanel, scale_ticks
from app.gui.widgets.video_view import OVERLAY_MAX_ALPHA, overlay_lookup_table


def test_the_colour_bar_reads_attention_relative_to_uniform(qtbot):
    panel = AttentionPanel()
    qtbot.addWidget(panel)
    assert scale_ticks() == [(0.0, "0"), (0.25, "1x"), (0.5, "2x"), (0.75, "3x"), (1.0, "4x+")]
    uniform = np.full((7, 7), 1 / 49)
    assert attention_display(uniform)[0, 0] == np.float32(1 / FULL_SCALE)  # uniform sits at the "1x" tick
    assert "uniform" in panel.scale.axis.labelText


def test_the_overlay_tints_only_what_gets_more_than_its_uniform_share():
    lut = overlay_lookup_table()
    assert lut.shape == (256, 4)
    uniform_index = int(255 / FULL_SCALE)
    assert (lut[: uniform_index + 1, 3] == 0).all()  # uniform or less: the face shows through
    assert lut[-1, 3] == OVERLAY_MAX_ALPHA and np.all(np.diff(lut[:, 3].astype(int)) >= 0)


def test_the_video_says_when_the_face_limit_leaves_faces_out(qtbot):
    from dataclasses import replace

    from app.gui.widgets.video_view import VideoView
    from tests.app.gui.widgets.fake_packets import make_face, make_packet

    view = VideoView()
    qtbot.addWidget(view)
    packet = make_packet(0.0, make_face(1, 0.2), make_face(2, -0.1))
    view.update_from(replace(packet, faces_in_view=2))
    assert view.notice.toPlainText() == ""
    view.update_from(replace(packet, faces_in_view=9))
    assert view.notice.toPlainText().startswith("9 faces in view: the 2 most certain are analysed")

"""A face's label in the video says when its reading is shaky."""

from __future__ import annotations

from dataclasses import replace

from app.core.face_quality import FaceQuality
from app.gui.widgets.video_view import face_text
from tests.app.gui.widgets.fake_packets import make_face


def test_a_low_quality_face_says_why_in_its_label() -> None:
    face = make_face(3, 0.4)
    good = FaceQuality(120.0, 150.0, 130.0, 0.0, 1.0, 2.0, 3.0)
    low = FaceQuality(22.0, 8.0, 130.0, 0.0, 1.0, 2.0, 3.0, ("small", "blurred"))
    assert "low" not in face_text(replace(face, quality=good), "measured")
    assert face_text(replace(face, quality=low), "measured").endswith("(low: small, blurred)")
    assert "low" not in face_text(face, "measured")  # not measured: nothing said

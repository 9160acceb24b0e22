"""The circumplex: current points, fading trails, baselines, labels."""

from __future__ import annotations

import numpy as np

from app.core.face_history import FaceHistories
from app.gui.widgets.circumplex import ELLIPSE_SDS, TRAIL_STEPS, CircumplexPlot
from tests.app.gui.widgets.fake_packets import make_face, make_packet


def test_points_trails_and_labels(qtbot) -> None:
    plot = CircumplexPlot(trail_points=10)
    qtbot.addWidget(plot)
    histories = FaceHistories()
    packets = [make_packet(t / 10, make_face(1, 0.1 * t), make_face(2, -0.05 * t)) for t in range(12)]
    for packet in packets:
        histories.add(packet)
    plot.update_from(packets[-1], histories)
    points = plot.current_points()  # the smoothed V/A of the last packet
    assert set(points) == {1, 2}
    np.testing.assert_allclose(points[1], (0.55, -0.55))
    np.testing.assert_allclose(points[2], (-0.275, 0.275))
    assert plot.trail_segments() == 2 * 9  # the last 10 points of each face, joined
    newest = plot.trail_curves[1][TRAIL_STEPS - 1].getData()  # face 1's colour, most opaque step
    oldest = plot.trail_curves[1][0].getData()
    np.testing.assert_allclose(newest[0][-1], 0.55)  # ends at the current point
    np.testing.assert_allclose(oldest[0][0], 0.1)  # 10 points back: t = 2 (valence 0.2 / 2)
    alphas = [curve.opts["pen"].color().alpha() for curve in plot.trail_curves[1]]
    assert alphas == sorted(alphas) and alphas[0] < alphas[-1]  # older segments are more transparent
    assert plot.baselines.getData()[0].size == 0  # nobody calibrated
    plot.set_labels("derived", True)
    assert plot.getPlotItem().titleLabel.text == "V/A derived · untrained model"
    plot.update_from(None, FaceHistories())
    assert plot.current_points() == {} and plot.trail_segments() == 0


def test_a_face_of_low_quality_is_drawn_faded(qtbot) -> None:
    from dataclasses import replace

    from app.core.face_quality import FaceQuality
    from app.gui.widgets.circumplex import LOW_QUALITY_ALPHA

    plot = CircumplexPlot()
    qtbot.addWidget(plot)
    low = FaceQuality(20.0, 5.0, 120.0, 0.0, 0.0, 0.0, 0.0, ("small",))
    packet = make_packet(0.0, make_face(1, 0.2), replace(make_face(2, -0.2), quality=low))
    histories = FaceHistories()
    histories.add(packet)
    plot.update_from(packet, histories)
    alphas = {int(p.data()): p.brush().color().alpha() for p in plot.points.points()}
    assert alphas == {1: 255, 2: LOW_QUALITY_ALPHA}


def test_each_face_with_a_predicted_sd_gets_its_ellipse_and_one_without_gets_none(qtbot) -> None:
    from dataclasses import replace

    plot = CircumplexPlot()
    qtbot.addWidget(plot)
    sure = replace(make_face(1, 0.4), valence_std=0.05, arousal_std=0.10)
    shaky = replace(make_face(2, -0.4), valence_std=0.30, arousal_std=0.20)
    histories = FaceHistories()
    packet = make_packet(0.0, sure, shaky, make_face(3, 0.0))  # face 3: a model without the head
    histories.add(packet)
    plot.update_from(packet, histories)
    ellipses = plot.current_ellipses()
    assert set(ellipses) == {1, 2}
    for face in (sure, shaky):  # centred on the drawn (smoothed) point, half-axes = ELLIPSE_SDS SDs
        expected = (face.valence_smoothed, face.arousal_smoothed, ELLIPSE_SDS * face.valence_std,
                    ELLIPSE_SDS * face.arousal_std)
        assert np.allclose(ellipses[face.face_id], expected, atol=1e-9)
    later = make_packet(0.1, make_face(3, 0.1))  # the faces with an SD left: their ellipses go
    histories.add(later)
    plot.update_from(later, histories)
    assert plot.current_ellipses() == {}
    assert not any(item.isVisible() for item in plot._ellipses)

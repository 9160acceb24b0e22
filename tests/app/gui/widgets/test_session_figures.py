"""The recording's figures draw what the CSV holds and export as valid PNG and SVG files."""

from __future__ import annotations

import pytest
from PySide6.QtGui import QImage

from app.core.session_table import load_session
from app.gui.widgets.session_figures import (
    CircumplexFigure,
    ExpressionFigure,
    SessionView,
    ValenceArousalFigure,
    render_copy,
)
from tests.app.sessions import MARKERS, record_session


@pytest.fixture(scope="module")
def view(tmp_path_factory, astronaut_rgb):
    return SessionView(load_session(record_session(tmp_path_factory.mktemp("figures"), astronaut_rgb)))


def test_figures_export_at_the_chosen_size(qtbot, view, tmp_path):
    figures = ((ValenceArousalFigure, lambda f: f.draw(view)), (ExpressionFigure, lambda f: f.draw(view, 1)),
               (CircumplexFigure, lambda f: f.draw(view, 0.0, 60.0)))
    for kind, draw in figures:
        png = render_copy(kind, draw, (640, 400), tmp_path / f"{kind.__name__}.png")
        image = QImage(str(png))
        assert not image.isNull() and image.width() >= 640 and image.height() >= 400
        svg = render_copy(kind, draw, (640, 400), tmp_path / f"{kind.__name__}.svg").read_text()
        assert svg.lstrip().startswith("<?xml") and "</svg>" in svg


def test_the_timeline_shows_every_face_and_marker(qtbot, view):
    figure = ValenceArousalFigure()
    qtbot.addWidget(figure)
    figure.draw(view)
    assert sorted(face for name, face in figure.curves if name == "valence") == [1, 2]
    assert figure.marker_texts() == list(MARKERS)


def test_the_circumplex_shares_add_up_to_one(qtbot, view):
    figure = CircumplexFigure()
    qtbot.addWidget(figure)
    figure.draw(view, 0.0, 60.0)
    assert sum(figure.shares.values()) == pytest.approx(1.0, abs=1e-12)

"""Face labels stay inside the frame and clear of each other."""

from __future__ import annotations

from app.core.label_layout import place_labels


def _overlap(a, b) -> bool:
    return a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]


def test_a_label_at_the_right_edge_is_shifted_into_the_frame():
    [(x, y)] = place_labels([(600, 200, 30, 30)], [(120, 16)], (640, 480))
    assert x + 120 <= 640 and y == 184  # above the box, moved left


def test_neighbours_labels_never_overlap_and_a_face_at_the_top_gets_its_label_below():
    boxes = [(100, 0, 60, 60), (130, 5, 60, 60), (160, 2, 60, 60)]  # three faces in a row, at the top
    sizes = [(140, 18)] * 3
    places = place_labels(boxes, sizes, (640, 480))
    rects = [(x, y, w, h) for (x, y), (w, h) in zip(places, sizes, strict=True)]
    assert all(0 <= r[0] and r[0] + r[2] <= 640 and 0 <= r[1] and r[1] + r[3] <= 480 for r in rects)
    assert not any(_overlap(a, b) for i, a in enumerate(rects) for b in rects[i + 1:])
    assert places[0][1] == 60  # no room above the first face: below its box

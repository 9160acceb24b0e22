"""Where each face's label goes: beside its box, inside the frame, not over another face's label.

    positions = place_labels(boxes, label_sizes, frame_size)   # top-left (x, y) of each label

Tried in order: above the box, below it, inside its top edge, then stacked above or below a label placed
before; each is shifted left or right so the label stays inside the frame. The first place that overlaps
no earlier label is taken, else the one that overlaps least. Used by the live view, the Images preview
and annotated images, so labels read the same everywhere.
"""

from __future__ import annotations

from collections.abc import Sequence

Box = tuple[float, float, float, float]  # x, y, w, h


def _overlap(a: Box, b: Box) -> float:
    """Area shared by two (x, y, w, h) rectangles."""
    w = min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0])
    h = min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1])
    return max(0.0, w) * max(0.0, h)


def place_labels(
    boxes: Sequence[Sequence[float]],
    sizes: Sequence[tuple[float, float]],
    frame_size: tuple[float, float],
) -> list[tuple[float, float]]:
    """Top-left corners of labels of `sizes` (w, h) beside `boxes` (x, y, w, h) in a (width, height) frame."""
    width, height = frame_size
    placed: list[Box] = []
    out = []
    for (x, y, _bw, bh), (lw, lh) in zip(boxes, sizes, strict=True):
        lx = min(max(0.0, float(x)), max(0.0, width - lw))
        candidates = [(lx, y - lh), (lx, y + bh), (lx, max(0.0, float(y)))]
        candidates += [(lx, p[1] + p[3]) for p in placed] + [(lx, p[1] - lh) for p in placed]  # stacked
        inside = [c for c in candidates if 0 <= c[1] and c[1] + lh <= height] or candidates[2:3]
        best = min(inside, key=lambda c: sum(_overlap((c[0], c[1], lw, lh), p) for p in placed))
        placed.append((best[0], best[1], lw, lh))
        out.append(best)
    return out

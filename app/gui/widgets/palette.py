"""One colour per face id, shared by the video boxes, the circumplex, the timelines and the bars."""

from __future__ import annotations

from PySide6.QtGui import QColor

# Colour-blind-friendly qualitative palette (Okabe-Ito, plus two extra), one entry per face id modulo 8.
FACE_COLORS: tuple[tuple[int, int, int], ...] = (
    (230, 159, 0),
    (86, 180, 233),
    (0, 158, 115),
    (240, 228, 66),
    (204, 121, 167),
    (213, 94, 0),
    (0, 114, 178),
    (200, 200, 200),
)

CAUTION_TEXT = "#c88a10"  # chart notes such as "V/A derived": amber that reads on dark and light charts


def face_rgb(face_id: int) -> tuple[int, int, int]:
    """The (r, g, b) colour of a face id (ids beyond the palette wrap around)."""
    return FACE_COLORS[int(face_id) % len(FACE_COLORS)]


def face_color(face_id: int, alpha: int = 255) -> QColor:
    """The QColor of a face id with the given alpha (0..255)."""
    r, g, b = face_rgb(face_id)
    return QColor(r, g, b, int(alpha))

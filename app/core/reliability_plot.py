"""The reliability diagram of `evaluate` as a PNG (OpenCV drawing: no plotting stack needed headless).

    write_reliability_png(report["expression"]["calibration"], "REPORT_reliability.png")

Bars: the accuracy of each confidence bin (model.calibration.reliability), drawn over the diagonal a
calibrated model would follow; each bar's width is its bin, its shade its share of the images. The
title gives the expected calibration error before and after temperature scaling.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
import numpy as np

from model.io import write_bytes_atomic

SIDE = 520  # px of the square PNG
MARGIN = 60  # px around the plot area
INK, BAR, GUIDE = (40, 40, 40), (190, 120, 60), (170, 170, 170)  # BGR


def reliability_image(calibration: dict[str, Any]) -> np.ndarray:
    """The diagram as a (SIDE, SIDE, 3) uint8 BGR image."""
    image = np.full((SIDE, SIDE, 3), 255, np.uint8)
    size = SIDE - 2 * MARGIN

    def to_px(x: float, y: float) -> tuple[int, int]:
        return int(round(MARGIN + x * size)), int(round(SIDE - MARGIN - y * size))

    rows = max(1, sum(r[2] for r in calibration["reliability"]))
    for low, high, count, _confidence, accuracy in calibration["reliability"]:
        shade = 0.35 + 0.65 * count / rows
        colour = tuple(int(255 - shade * (255 - c)) for c in BAR)
        cv2.rectangle(image, to_px(low, accuracy), to_px(high, 0.0), colour, cv2.FILLED)
        cv2.rectangle(image, to_px(low, accuracy), to_px(high, 0.0), INK, 1)
    cv2.line(image, to_px(0, 0), to_px(1, 1), GUIDE, 1, cv2.LINE_AA)
    cv2.rectangle(image, to_px(0, 1), to_px(1, 0), INK, 1)
    for tick in (0.0, 0.25, 0.5, 0.75, 1.0):
        x, y = to_px(tick, 0)
        cv2.putText(image, f"{tick:g}", (x - 10, y + 20), cv2.FONT_HERSHEY_SIMPLEX, 0.45, INK, 1, cv2.LINE_AA)
        x, y = to_px(0, tick)
        cv2.putText(image, f"{tick:g}", (x - 40, y + 5), cv2.FONT_HERSHEY_SIMPLEX, 0.45, INK, 1, cv2.LINE_AA)
    font = cv2.FONT_HERSHEY_SIMPLEX
    cv2.putText(
        image, "confidence (top probability)", (MARGIN + 90, SIDE - 15), font, 0.5, INK, 1, cv2.LINE_AA
    )
    cv2.putText(image, "accuracy", (8, MARGIN - 12), font, 0.5, INK, 1, cv2.LINE_AA)
    after = calibration.get("ece_after")
    title = f"ECE {calibration['ece']:.3f}" + (
        f", after temperature scaling {after:.3f}" if after is not None else ""
    )
    cv2.putText(image, title, (MARGIN, 30), font, 0.5, INK, 1, cv2.LINE_AA)
    return image


def write_reliability_png(calibration: dict[str, Any], path: str | Path) -> Path:
    """Write the diagram of `calibration` (model.calibration.calibration_report) to `path`."""
    ok, data = cv2.imencode(".png", reliability_image(calibration))
    if not ok:
        raise ValueError(f"the reliability diagram could not be encoded for {path}")
    return write_bytes_atomic(Path(path), data.tobytes())

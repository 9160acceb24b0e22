"""Reading face images: cheap size probes from file headers, and full decoding to RGB.

`probe_size` reads only the first bytes of JPEG, PNG, BMP and GIF files (the formats datasets use) to get
the displayed width and height, honouring the JPEG EXIF orientation the way `cv2.imread` does; other
formats are decoded fully. Datasets call it when they are indexed, so a missing, non-image or
header-broken file is found before training starts without decoding hundreds of thousands of images.
"""

from __future__ import annotations

import struct
from pathlib import Path

import cv2
import numpy as np

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff")
_JPEG_SOF_MARKERS = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}
_HEADER_BYTES = 64


def decode_rgb(path: str | Path) -> np.ndarray | None:
    """Decode an image file to uint8 RGB (H,W,3) with EXIF orientation applied; None when unreadable."""
    try:
        data = np.fromfile(str(path), dtype=np.uint8)  # works with non-ASCII paths, unlike cv2.imread
    except OSError:
        return None
    if data.size == 0:
        return None
    image = cv2.imdecode(data, cv2.IMREAD_COLOR_RGB)  # (H,W,3) uint8 or None
    return image


def probe_size(path: str | Path) -> tuple[int, int] | None:
    """(width, height) of the image as `decode_rgb` would return it, or None when it is not a readable image.

    Reads only the header for JPEG/PNG/BMP/GIF; a file whose body is broken behind a valid header is
    only found when it is decoded.
    """
    try:
        with open(path, "rb") as handle:
            head = handle.read(_HEADER_BYTES)
            if head.startswith(b"\xff\xd8"):
                return _jpeg_size(handle)
    except OSError:
        return None
    size = _simple_header_size(head)
    if size is not None:
        return size
    image = decode_rgb(path)
    return None if image is None else (image.shape[1], image.shape[0])


def _simple_header_size(head: bytes) -> tuple[int, int] | None:
    """Size from a PNG, GIF or BMP header, None for other formats."""
    if head.startswith(b"\x89PNG\r\n\x1a\n") and head[12:16] == b"IHDR":
        width, height = struct.unpack(">II", head[16:24])
        return (width, height) if width > 0 and height > 0 else None
    if head[:6] in (b"GIF87a", b"GIF89a"):
        width, height = struct.unpack("<HH", head[6:10])
        return (width, height) if width > 0 and height > 0 else None
    if head.startswith(b"BM") and len(head) >= 26:
        width, height = struct.unpack("<ii", head[18:26])
        return (abs(width), abs(height)) if width != 0 and height != 0 else None
    return None


def _jpeg_size(handle) -> tuple[int, int] | None:
    """Walk the JPEG segments after SOI to the frame header; swap sides for EXIF orientations 5-8."""
    handle.seek(2)
    orientation = 1
    while True:
        marker = handle.read(2)
        if len(marker) < 2 or marker[0] != 0xFF:
            return None
        code = marker[1]
        while code == 0xFF:  # fill bytes
            nxt = handle.read(1)
            if not nxt:
                return None
            code = nxt[0]
        if code in (0xD8, 0x01) or 0xD0 <= code <= 0xD7:  # markers without a length field
            continue
        if code in (0xD9, 0xDA):  # end of image or start of scan before any frame header: broken file
            return None
        raw_length = handle.read(2)
        if len(raw_length) < 2:
            return None
        length = struct.unpack(">H", raw_length)[0]
        if length < 2:
            return None
        if code in _JPEG_SOF_MARKERS:
            frame = handle.read(5)
            if len(frame) < 5:
                return None
            height, width = struct.unpack(">HH", frame[1:5])
            if width == 0 or height == 0:
                return None
            return (height, width) if orientation >= 5 else (width, height)
        if code == 0xE1:
            segment = handle.read(length - 2)
            orientation = _exif_orientation(segment) or orientation
            continue

        handle.seek(length - 2, 1)


def _exif_orientation(segment: bytes) -> int | None:
    """The orientation tag (1-8) of an APP1 Exif segment, None when absent or malformed."""
    if not segment.startswith(b"Exif\x00\x00") or len(segment) < 14:
        return None
    tiff = segment[6:]
    endian = {b"II": "<", b"MM": ">"}.get(tiff[:2])
    if endian is None:
        return None
    try:
        ifd = struct.unpack(endian + "I", tiff[4:8])[0]
        (count,) = struct.unpack(endian + "H", tiff[ifd : ifd + 2])
        for i in range(count):
            entry = tiff[ifd + 2 + 12 * i : ifd + 14 + 12 * i]
            tag, kind = struct.unpack(endian + "HH", entry[:4])
            if tag == 0x0112 and kind == 3:
                value = struct.unpack(endian + "H", entry[8:10])[0]
                return value if 1 <= value <= 8 else None
    except struct.error:
        return None
    return None

"""Image format and size from the file header, without decoding any pixels.

Reads PNG, JPEG, GIF and WebP headers with ``struct``. Layouts follow the
format specifications: PNG IHDR, the JPEG SOFn segment, the GIF logical
screen descriptor and the WebP ``VP8``, ``VP8L`` and ``VP8X`` chunks.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Final

from loomlite.components.ai.png import PngError, is_png, read_header

__all__ = ["ImageSize", "read_image_size"]

# JPEG start-of-frame markers (ITU-T T.81, table B.1): every code from 0xC0 to
# 0xCF except DHT (0xC4), JPG (0xC8) and DAC (0xCC).
_JPEG_SOF_MARKERS: Final = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
# JPEG markers that stand alone, without a length field.
_JPEG_STANDALONE_MARKERS: Final = frozenset({0x01, *range(0xD0, 0xD9)})


@dataclass(frozen=True, slots=True)
class ImageSize:
    """The format name (``png``, ``jpeg``, ``gif``, ``webp``) and pixel size."""

    format: str
    width: int
    height: int


def read_image_size(data: bytes) -> ImageSize | None:
    """Return the format and size, or None when the header is unknown or invalid."""
    if is_png(data):
        return _png_size(data)
    if data[:3] == b"\xff\xd8\xff":
        return _jpeg_size(data)
    if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        width, height = struct.unpack_from("<HH", data, 6)
        return _checked("gif", width, height)
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return _webp_size(data)
    return None


def _checked(format_name: str, width: int, height: int) -> ImageSize | None:
    if width <= 0 or height <= 0:
        return None
    return ImageSize(format_name, width, height)


def _png_size(data: bytes) -> ImageSize | None:
    try:
        header = read_header(data)
    except PngError:
        return None
    return ImageSize("png", header.width, header.height)


def _jpeg_size(data: bytes) -> ImageSize | None:
    position = 2
    while position + 4 <= len(data):
        if data[position] != 0xFF:
            return None
        marker = data[position + 1]
        if marker == 0xFF:  # a fill byte before the marker
            position += 1
            continue
        if marker in _JPEG_STANDALONE_MARKERS:
            position += 2
            continue
        (length,) = struct.unpack_from(">H", data, position + 2)
        if marker in _JPEG_SOF_MARKERS:
            if position + 9 > len(data):
                return None
            height, width = struct.unpack_from(">HH", data, position + 5)
            return _checked("jpeg", width, height)
        if length < 2:
            return None
        position += 2 + length
    return None


def _webp_size(data: bytes) -> ImageSize | None:
    chunk = data[12:16]
    if chunk == b"VP8 " and len(data) >= 30 and data[23:26] == b"\x9d\x01\x2a":
        width, height = struct.unpack_from("<HH", data, 26)
        return _checked("webp", width & 0x3FFF, height & 0x3FFF)
    if chunk == b"VP8L" and len(data) >= 25 and data[20] == 0x2F:
        bits = int.from_bytes(data[21:25], "little")
        return _checked("webp", (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1)
    if chunk == b"VP8X" and len(data) >= 30:
        width = int.from_bytes(data[24:27], "little") + 1
        height = int.from_bytes(data[27:30], "little") + 1
        return _checked("webp", width, height)
    return None

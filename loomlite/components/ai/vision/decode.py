"""Decode image bytes into pixels with OpenCV, with a limit on the pixel count."""

from __future__ import annotations

from typing import Final

import cv2
import numpy as np
import numpy.typing as npt

from loomlite.components.ai.imagesize import read_image_size
from loomlite.errors import ImageFormatError

__all__ = ["DEFAULT_MAX_PIXELS", "decode_image", "quiet_opencv"]

# 40 megapixels is more than a 6K screen or a 36-megapixel photo. A larger
# image costs seconds of inference and gigabytes of memory, so it is rejected.
DEFAULT_MAX_PIXELS: Final = 40_000_000


def decode_image(
    image: bytes, format: str, *, max_pixels: int = DEFAULT_MAX_PIXELS
) -> npt.NDArray[np.uint8]:
    """Decode ``image`` into an array of shape (height, width, 3) in BGR order.

    Any format that OpenCV reads is accepted (PNG, JPEG, WebP, BMP, TIFF);
    ``format`` is only reported in errors. Raises ImageFormatError when the
    data is empty or cannot be decoded, or when the image has more than
    ``max_pixels`` pixels. The size is checked from the header before
    decoding where the header is one that ``read_image_size`` reads.
    """
    if not image:
        raise ImageFormatError(
            f"image declared as {format!r} is empty (0 bytes); expected encoded "
            "image data such as PNG or JPEG",
            format=format,
            size=0,
        )

    header = read_image_size(image)
    if header is not None:
        _check_pixel_count(header.width, header.height, image, format, max_pixels)

    buffer = np.frombuffer(image, dtype=np.uint8)
    try:
        decoded = cv2.imdecode(buffer, cv2.IMREAD_COLOR)
    except cv2.error as error:
        raise _undecodable(image, format, str(error).strip()) from error
    if decoded is None:
        raise _undecodable(image, format, "the data is corrupt or truncated")
    pixels = np.asarray(decoded, dtype=np.uint8)

    height, width = pixels.shape[:2]
    _check_pixel_count(width, height, image, format, max_pixels)
    return pixels


def quiet_opencv() -> None:
    """Stop OpenCV from writing its own warnings about bad images to stderr.

    ``decode_image`` raises ImageFormatError for those images instead. The
    setting is global to the process.
    """
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)


def _check_pixel_count(
    width: int, height: int, image: bytes, format: str, max_pixels: int
) -> None:
    if width * height > max_pixels:
        raise ImageFormatError(
            f"image declared as {format!r} is {width}x{height} pixels, more than "
            f"the limit of {max_pixels} pixels; scale it down or raise max_pixels",
            format=format,
            size=len(image),
        )


def _undecodable(image: bytes, format: str, reason: str) -> ImageFormatError:
    return ImageFormatError(
        f"failed to decode {len(image)} bytes of image data declared as "
        f"{format!r}: {reason}; expected a complete PNG, JPEG, WebP, BMP or "
        "TIFF file",
        format=format,
        size=len(image),
    )

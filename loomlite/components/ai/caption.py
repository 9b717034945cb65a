"""Image captioning and tagging: the stage interface, its result type and a
simulated backend that measures instead of recognising."""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from loomlite.components.ai.backends import Backend
from loomlite.components.ai.imagesize import ImageSize, read_image_size
from loomlite.components.ai.png import PngError, decode_pixels

__all__ = [
    "ImageDescriber",
    "ImageDescription",
    "SimulatedImageDescriber",
]

logger = logging.getLogger(__name__)

# Named reference colours for tags and captions, matched by RGB distance.
_COLOUR_NAMES: Final[tuple[tuple[str, tuple[int, int, int]], ...]] = (
    ("black", (0, 0, 0)),
    ("dark grey", (64, 64, 64)),
    ("grey", (128, 128, 128)),
    ("light grey", (200, 200, 200)),
    ("white", (255, 255, 255)),
    ("red", (200, 30, 30)),
    ("orange", (240, 140, 20)),
    ("yellow", (240, 220, 40)),
    ("green", (40, 160, 60)),
    ("teal", (0, 128, 128)),
    ("blue", (40, 90, 210)),
    ("navy", (20, 30, 90)),
    ("purple", (120, 50, 160)),
    ("pink", (240, 130, 180)),
    ("brown", (120, 75, 40)),
)
_COLOUR_REFERENCES: Final = np.array([rgb for _, rgb in _COLOUR_NAMES], dtype=float)

# Common screen aspect ratios (long side / short side) for the aspect tag.
_ASPECT_RATIOS: Final[tuple[tuple[str, float], ...]] = (
    ("1:1", 1.0),
    ("4:3", 4 / 3),
    ("3:2", 3 / 2),
    ("16:10", 16 / 10),
    ("16:9", 16 / 9),
    ("19.5:9", 19.5 / 9),
    ("20:9", 20 / 9),
)

# A colour bin must cover this share of the pixels to count as dominant.
_MIN_DOMINANT_SHARE: Final = 0.05


@dataclass(frozen=True, slots=True)
class ImageDescription:
    """A one-sentence caption, tags and the dominant colours of one image."""

    caption: str
    tags: tuple[str, ...]
    dominant_colours: tuple[str, ...]
    """``#rrggbb`` values, most common first. Empty when pixels were not read."""


@runtime_checkable
class ImageDescriber(Backend, Protocol):
    """A captioning backend. Components call ``describe`` in a worker thread."""

    def describe(self, image: bytes, format: str) -> ImageDescription:
        """Describe ``image``, encoded as ``format`` (``png``, ``jpeg``, ...).

        The simulated backend describes zero bytes and undecodable data
        instead of raising. A backend that reads pixels raises
        ImageFormatError for them.
        """
        ...


class SimulatedImageDescriber:
    """Captions and tags from what can be measured without a model.

    This backend recognises no objects or scenes. It reads the format and the
    size from the file header (PNG, JPEG, GIF, WebP) and tags the orientation
    and a common aspect ratio. For an 8-bit, non-interlaced RGB or RGBA PNG it
    also decodes the pixels. It then adds the dominant colours and their names,
    dark or light, low or high contrast and transparency as tags, and the mean
    colour to the caption. Every other image, and a PNG with more than
    ``max_sequential_bytes`` bytes in slow Average or Paeth rows, gets tags
    from byte statistics instead: the file size and whether its byte entropy
    is that of compressed data. The caption is a template filled with these
    values.
    """

    name = "simulated"
    simulated = True

    def __init__(self, *, max_sequential_bytes: int = 1_500_000) -> None:
        if max_sequential_bytes < 0:
            raise ValueError(
                f"max_sequential_bytes must be 0 or more, got {max_sequential_bytes!r}"
            )
        self.max_sequential_bytes = max_sequential_bytes

    def describe(self, image: bytes, format: str) -> ImageDescription:
        """Return the measured description, as the class docstring describes."""
        if not image:
            return ImageDescription("Empty image (0 bytes).", ("empty",), ())

        size = read_image_size(image)
        if size is None:
            return _describe_unknown(image, format)

        tags = [size.format, *_shape_tags(size)]
        pixels = self._try_decode(image, size)
        if pixels is None:
            tags.extend(_byte_tags(image))
            caption = f"{_shape_phrase(size)}; colours not measured."
            return ImageDescription(caption, tuple(tags), ())

        colours, colour_names = _dominant_colours(pixels)
        tags.extend(_pixel_tags(pixels))
        tags.extend(name for name in colour_names if name not in tags)
        caption = f"{_shape_phrase(size)}, {_colour_phrase(colour_names)}"
        mean = _mean_colour(pixels)
        if mean is not None:
            caption += f" (mean colour {mean})"
        return ImageDescription(f"{caption}.", tuple(tags), colours)

    def _try_decode(
        self, image: bytes, size: ImageSize
    ) -> npt.NDArray[np.uint8] | None:
        if size.format != "png":
            return None
        try:
            return decode_pixels(image, max_sequential_bytes=self.max_sequential_bytes)
        except PngError as error:
            logger.debug("describing a PNG without its pixels: %s", error)
            return None


def _describe_unknown(image: bytes, format: str) -> ImageDescription:
    caption = (
        f"Unrecognised image data of {len(image)} bytes (declared format {format!r})."
    )
    return ImageDescription(caption, ("unknown-format", *_byte_tags(image)), ())


def _shape_tags(size: ImageSize) -> list[str]:
    tags = [_orientation(size)]
    long_side = max(size.width, size.height)
    short_side = min(size.width, size.height)
    for label, ratio in _ASPECT_RATIOS:
        if abs(long_side / short_side - ratio) <= 0.015 * ratio:
            tags.append(f"aspect-{label}")
            break
    return tags


def _orientation(size: ImageSize) -> str:
    if size.width > size.height:
        return "landscape"
    if size.width < size.height:
        return "portrait"
    return "square"


def _shape_phrase(size: ImageSize) -> str:
    orientation = _orientation(size).capitalize()
    return (
        f"{orientation} {size.format.upper()} image, {size.width}x{size.height} pixels"
    )


def _byte_tags(image: bytes) -> list[str]:
    tags = ["pixels-not-decoded"]
    if len(image) < 100_000:
        tags.append("file-under-100kb")
    elif len(image) < 1_000_000:
        tags.append("file-under-1mb")
    else:
        tags.append("file-over-1mb")

    # Deflate and JPEG output looks nearly random: close to 8 bits per byte.
    if _entropy_bits(image) >= 7.5:
        tags.append("high-entropy")
    return tags


def _entropy_bits(image: bytes) -> float:
    """Return the Shannon entropy of the byte values, in bits per byte."""
    counts = np.bincount(np.frombuffer(image, dtype=np.uint8), minlength=256)
    probabilities = counts[counts > 0] / len(image)
    return float(-np.sum(probabilities * np.log2(probabilities)))


def _opaque_rgb(pixels: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    rgb = pixels[..., :3].reshape(-1, 3)
    if pixels.shape[2] == 4:
        return rgb[pixels[..., 3].reshape(-1) > 0]
    return rgb


# Pixels per step of the colour statistics. Whole-image arrays of int64 bins
# and float luma added about 4 MB to the peak memory of captioning one
# 800x480 screenshot.
_PIXELS_PER_STEP: Final = 65_536

# Rec. 709 luma weights on the gamma-encoded values, on a 0-255 scale.
_LUMA_WEIGHTS: Final = np.array([0.2126, 0.7152, 0.0722], np.float32)


def _pixel_steps(rgb: npt.NDArray[np.uint8]) -> Iterator[npt.NDArray[np.uint8]]:
    for start in range(0, len(rgb), _PIXELS_PER_STEP):
        yield rgb[start : start + _PIXELS_PER_STEP]


def _pixel_tags(pixels: npt.NDArray[np.uint8]) -> list[str]:
    tags = []
    if pixels.shape[2] == 4 and bool(np.any(pixels[..., 3] < 255)):
        tags.append("transparent")
    rgb = _opaque_rgb(pixels)
    if rgb.size == 0:
        return tags

    # The mean and standard deviation of the luma, from sums in float64.
    luma_sum = 0.0
    luma_squares = 0.0
    for step in _pixel_steps(rgb):
        luma = (step.astype(np.float32) @ _LUMA_WEIGHTS).astype(np.float64)
        luma_sum += float(luma.sum())
        luma_squares += float(np.dot(luma, luma))
    mean_luma = luma_sum / len(rgb)
    if mean_luma < 85:
        tags.append("dark")
    elif mean_luma > 170:
        tags.append("light")
    spread = math.sqrt(max(luma_squares / len(rgb) - mean_luma**2, 0.0))
    if spread < 20:
        tags.append("low-contrast")
    elif spread > 80:
        tags.append("high-contrast")
    return tags


def _dominant_colours(
    pixels: npt.NDArray[np.uint8],
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Return up to three dominant colours as ``#rrggbb`` and their names.

    Pixels fall into 512 bins (the top 3 bits of each channel). A bin that
    covers at least 5 % of the opaque pixels is dominant, and its colour is
    the mean of its pixels.
    """
    rgb = _opaque_rgb(pixels)
    if rgb.size == 0:
        return (), ()
    counts = np.zeros(512, np.int64)
    sums = np.zeros((3, 512), np.float64)
    for step in _pixel_steps(rgb):
        quantised = (step >> 5).astype(np.intp)
        bins = quantised[:, 0] * 64 + quantised[:, 1] * 8 + quantised[:, 2]
        counts += np.bincount(bins, minlength=512)
        for channel in range(3):
            sums[channel] += np.bincount(bins, weights=step[:, channel], minlength=512)

    colours: list[str] = []
    names: list[str] = []
    for index in np.argsort(-counts, kind="stable")[:3]:
        if counts[index] < _MIN_DOMINANT_SHARE * len(rgb):
            break
        mean = [round(sums[c][index] / counts[index]) for c in range(3)]
        colours.append("#{:02x}{:02x}{:02x}".format(*mean))
        names.append(_colour_name(mean))
    return tuple(colours), tuple(dict.fromkeys(names))


def _colour_name(rgb: list[int]) -> str:
    distances = np.sum((_COLOUR_REFERENCES - np.array(rgb, dtype=float)) ** 2, axis=1)
    return _COLOUR_NAMES[int(np.argmin(distances))][0]


def _mean_colour(pixels: npt.NDArray[np.uint8]) -> str | None:
    """Return the mean colour of the opaque pixels as ``#rrggbb``, if any."""
    rgb = _opaque_rgb(pixels)
    if rgb.size == 0:
        return None
    mean = np.rint(rgb.mean(axis=0)).astype(int).tolist()
    return "#{:02x}{:02x}{:02x}".format(*mean)


def _colour_phrase(names: tuple[str, ...]) -> str:
    if not names:
        return "fully transparent"
    if len(names) == 1:
        return f"mostly {names[0]}"
    return f"mostly {names[0]} with {' and '.join(names[1:])}"

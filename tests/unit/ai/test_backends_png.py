"""The standard-library PNG reader behind the simulated OCR and captioner."""

from __future__ import annotations

import json
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest

from loomlite._fixtures import fixture_path
from loomlite.components.ai.png import (
    FILTER_AVERAGE,
    FILTER_NONE,
    FILTER_PAETH,
    FILTER_SUB,
    FILTER_UP,
    PngError,
    decode_pixels,
    encode_png,
    iter_chunks,
    read_header,
    read_text,
)

FILTERS = (FILTER_NONE, FILTER_SUB, FILTER_UP, FILTER_AVERAGE, FILTER_PAETH)


def random_pixels(channels: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, size=(7, 11, channels), dtype=np.uint8)


def png_with_header(
    width: int, height: int, bit_depth: int, colour_type: int, interlace: int = 0
) -> bytes:
    """A PNG whose IHDR has the given fields, with an empty IDAT."""

    def chunk(kind: bytes, payload: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + payload))
        return struct.pack(">I", len(payload)) + kind + payload + crc

    header = struct.pack(
        ">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, interlace
    )
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b""))
        + chunk(b"IEND", b"")
    )


@pytest.mark.parametrize("channels", [3, 4], ids=["rgb", "rgba"])
@pytest.mark.parametrize("filter_type", FILTERS)
def test_png_round_trip_each_filter(channels: int, filter_type: int) -> None:
    pixels = random_pixels(channels, seed=filter_type)

    decoded = decode_pixels(encode_png(pixels, filter_type=filter_type))

    assert decoded.dtype == np.uint8
    assert np.array_equal(decoded, pixels)


@pytest.mark.parametrize(
    "path", sorted(fixture_path("images").glob("*.png")), ids=lambda path: path.stem
)
def test_png_decodes_fixture_like_pillow(path: Path) -> None:
    expected = json.loads(path.with_suffix(".json").read_text("utf-8"))

    pixels = decode_pixels(path.read_bytes())

    assert pixels.shape == (expected["height"], expected["width"], 3)
    mean = pixels.reshape(-1, 3).mean(axis=0)
    assert mean == pytest.approx(expected["mean_rgb"], abs=1e-3)


def test_png_header_fields() -> None:
    header = read_header(encode_png(random_pixels(4)))

    assert (header.width, header.height) == (11, 7)
    assert header.bit_depth == 8
    assert header.colour_type == 6
    assert header.interlaced is False


def test_png_text_round_trip() -> None:
    image = encode_png(random_pixels(3), text={"a": "Latin-1: é", "b": "UTF-8: š"})

    assert read_text(image, "a") == "Latin-1: é"
    assert read_text(image, "b") == "UTF-8: š"
    assert read_text(image, "c") is None


def test_png_chunks_end_at_iend() -> None:
    image = encode_png(random_pixels(3)) + b"trailing bytes"

    kinds = [kind for kind, _ in iter_chunks(image)]

    assert kinds == [b"IHDR", b"IDAT", b"IEND"]


@pytest.mark.parametrize(
    ("image", "message"),
    [
        (b"not a png", "PNG signature"),
        (encode_png(random_pixels(3))[:40], "truncated chunk header at byte 33"),
        (
            encode_png(random_pixels(3))[:60],
            r"declares \d+ bytes but the data ends first",
        ),
        (encode_png(random_pixels(3))[:-12], "no IEND chunk"),
    ],
    ids=["signature", "truncated-header", "truncated-payload", "missing-iend"],
)
def test_png_rejects_malformed_data(image: bytes, message: str) -> None:
    with pytest.raises(PngError, match=message):
        decode_pixels(image)


@pytest.mark.parametrize(
    ("image", "message"),
    [
        (png_with_header(4, 4, 8, 3), "colour type 3"),
        (png_with_header(4, 4, 16, 2), "bit depth 16"),
        (png_with_header(4, 4, 8, 2, interlace=1), "interlaced=True"),
        (png_with_header(4, 4, 8, 2), "image data has 0 bytes, expected 52"),
    ],
    ids=["palette", "16-bit", "interlaced", "empty-idat"],
)
def test_png_rejects_unsupported_layout(image: bytes, message: str) -> None:
    with pytest.raises(PngError, match=message):
        decode_pixels(image)


def test_png_rejects_zero_size() -> None:
    with pytest.raises(PngError, match="invalid image size 0x4"):
        read_header(png_with_header(0, 4, 8, 2))


def test_png_pixel_limit() -> None:
    image = encode_png(random_pixels(3))

    with pytest.raises(PngError, match="exceeds the maximum of 50 pixels"):
        decode_pixels(image, max_pixels=50)


def test_png_sequential_filter_limit() -> None:
    image = encode_png(random_pixels(3), filter_type=FILTER_PAETH)

    with pytest.raises(PngError, match="231 bytes use the Average or Paeth filter"):
        decode_pixels(image, max_sequential_bytes=100)
    assert decode_pixels(image, max_sequential_bytes=231).shape == (7, 11, 3)


def test_png_encoder_rejects_wrong_shape() -> None:
    with pytest.raises(ValueError, match="shape"):
        encode_png(np.zeros((4, 4), dtype=np.uint8))

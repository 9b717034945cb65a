"""The simulated captioner: measured tags, colours and byte statistics."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import pytest

from loomlite._fixtures import fixture_path
from loomlite.components.ai.caption import ImageDescriber, SimulatedImageDescriber
from loomlite.components.ai.png import FILTER_PAETH, encode_png

SCREENSHOTS = sorted(fixture_path("images").glob("*.png"))


def solid(colour: tuple[int, ...], width: int = 40, height: int = 30) -> np.ndarray:
    return np.tile(np.array(colour, dtype=np.uint8), (height, width, 1))


def jpeg_header(width: int, height: int) -> bytes:
    """SOI, an APP0 segment and a baseline SOF0 segment: enough for the size."""
    app0 = (
        b"\xff\xe0"
        + struct.pack(">H", 16)
        + b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    )
    sof0 = (
        b"\xff\xc0" + struct.pack(">HBHHB", 11, 8, height, width, 1) + b"\x01\x11\x00"
    )
    return b"\xff\xd8" + app0 + sof0


def test_caption_name_says_simulated() -> None:
    describer = SimulatedImageDescriber()

    assert describer.name.startswith("simulated")
    assert describer.simulated is True
    assert isinstance(describer, ImageDescriber)


@pytest.mark.parametrize("path", SCREENSHOTS, ids=lambda path: path.stem)
def test_caption_describes_fixture(path: Path) -> None:
    expected = json.loads(path.with_suffix(".json").read_text("utf-8"))
    width, height = expected["width"], expected["height"]
    orientation = "landscape" if width > height else "portrait"

    description = SimulatedImageDescriber().describe(path.read_bytes(), "png")

    assert description.tags[:2] == ("png", orientation)
    assert f"{width}x{height} pixels" in description.caption
    assert description.caption.startswith(orientation.capitalize())
    assert 1 <= len(description.dominant_colours) <= 3
    assert "pixels-not-decoded" not in description.tags


def test_caption_same_image_same_description() -> None:
    image = SCREENSHOTS[0].read_bytes()

    first = SimulatedImageDescriber().describe(image, "png")
    second = SimulatedImageDescriber().describe(image, "png")

    assert first == second


def test_caption_solid_colour() -> None:
    image = encode_png(solid((200, 30, 30), width=64, height=64))

    description = SimulatedImageDescriber().describe(image, "png")

    assert description.dominant_colours == ("#c81e1e",)
    assert description.caption == (
        "Square PNG image, 64x64 pixels, mostly red (mean colour #c81e1e)."
    )
    assert description.tags == (
        "png",
        "square",
        "aspect-1:1",
        "dark",
        "low-contrast",
        "red",
    )


def test_caption_dark_and_light_tags() -> None:
    dark = SimulatedImageDescriber().describe(encode_png(solid((10, 10, 20))), "png")
    light = SimulatedImageDescriber().describe(
        encode_png(solid((250, 250, 245))), "png"
    )

    assert "dark" in dark.tags
    assert "black" in dark.tags
    assert "light" in light.tags
    assert "white" in light.tags


def test_caption_two_colour_image() -> None:
    pixels = solid((255, 255, 255), width=60, height=40)
    pixels[:, :20] = (20, 30, 90)

    description = SimulatedImageDescriber().describe(encode_png(pixels), "png")

    assert description.dominant_colours == ("#ffffff", "#141e5a")
    assert description.caption.endswith("mostly white with navy (mean colour #b1b4c8).")
    assert "high-contrast" in description.tags
    assert "aspect-3:2" in description.tags


def test_caption_transparency() -> None:
    pixels = solid((0, 128, 0, 255))
    pixels[:15, :, 3] = 0

    description = SimulatedImageDescriber().describe(encode_png(pixels), "png")

    assert "transparent" in description.tags
    assert description.dominant_colours == ("#008000",)


def test_caption_fully_transparent() -> None:
    description = SimulatedImageDescriber().describe(
        encode_png(solid((0, 0, 0, 0))), "png"
    )

    assert description.dominant_colours == ()
    assert description.caption.endswith("fully transparent.")
    assert "transparent" in description.tags


def test_caption_zero_bytes() -> None:
    description = SimulatedImageDescriber().describe(b"", "png")

    assert description.caption == "Empty image (0 bytes)."
    assert description.tags == ("empty",)
    assert description.dominant_colours == ()


def test_caption_unknown_bytes() -> None:
    description = SimulatedImageDescriber().describe(b"plain text", "heic")

    assert "Unrecognised image data of 10 bytes" in description.caption
    assert "'heic'" in description.caption
    assert description.tags[0] == "unknown-format"
    assert "pixels-not-decoded" in description.tags


def test_caption_jpeg_uses_header_and_bytes() -> None:
    image = jpeg_header(1080, 2340) + np.random.default_rng(0).bytes(20_000)

    description = SimulatedImageDescriber().describe(image, "jpeg")

    assert description.caption == (
        "Portrait JPEG image, 1080x2340 pixels; colours not measured."
    )
    assert description.tags[:2] == ("jpeg", "portrait")
    assert "pixels-not-decoded" in description.tags
    assert "high-entropy" in description.tags
    assert "file-under-100kb" in description.tags
    assert description.dominant_colours == ()


@pytest.mark.parametrize(
    ("image", "expected"),
    [
        (b"GIF89a" + struct.pack("<HH", 320, 240) + b"\x00" * 8, ("gif", 320, 240)),
        (
            b"RIFF\x00\x00\x00\x00WEBPVP8X"
            + b"\x00" * 8
            + (1919).to_bytes(3, "little")
            + (1079).to_bytes(3, "little"),
            ("webp", 1920, 1080),
        ),
    ],
    ids=["gif", "webp"],
)
def test_caption_reads_other_headers(
    image: bytes, expected: tuple[str, int, int]
) -> None:
    format_name, width, height = expected

    description = SimulatedImageDescriber().describe(image, format_name)

    assert description.tags[:2] == (format_name, "landscape")
    assert f"{width}x{height} pixels" in description.caption


def test_caption_falls_back_when_decoding_is_too_slow() -> None:
    image = encode_png(solid((200, 30, 30)), filter_type=FILTER_PAETH)

    description = SimulatedImageDescriber(max_sequential_bytes=0).describe(image, "png")

    assert description.dominant_colours == ()
    assert "pixels-not-decoded" in description.tags
    assert "40x30 pixels; colours not measured" in description.caption


def test_caption_rejects_negative_limit() -> None:
    with pytest.raises(ValueError, match="max_sequential_bytes must be 0 or more"):
        SimulatedImageDescriber(max_sequential_bytes=-1)

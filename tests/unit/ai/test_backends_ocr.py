"""The simulated OCR backend reads the text chunk of loomlite's screenshots."""

from __future__ import annotations

import json
import logging
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest

from loomlite._fixtures import fixture_path
from loomlite.components.ai.ocr import (
    TEXT_KEYWORD,
    SimulatedTextRecognizer,
    TextRecognizer,
)
from loomlite.components.ai.png import encode_png

SCREENSHOTS = sorted(fixture_path("images").glob("*.png"))


def small_image() -> np.ndarray:
    return np.full((4, 6, 3), 200, dtype=np.uint8)


def test_ocr_name_says_simulated() -> None:
    recognizer = SimulatedTextRecognizer()

    assert recognizer.name.startswith("simulated")
    assert recognizer.simulated is True
    assert isinstance(recognizer, TextRecognizer)


def test_ocr_fixture_set_is_present() -> None:
    assert 4 <= len(SCREENSHOTS) <= 16
    assert sum(path.stat().st_size for path in SCREENSHOTS) < 500_000


@pytest.mark.parametrize("path", SCREENSHOTS, ids=lambda path: path.stem)
def test_ocr_reads_fixture_text_exactly(path: Path) -> None:
    expected = json.loads(path.with_suffix(".json").read_text("utf-8"))

    result = SimulatedTextRecognizer().recognize(path.read_bytes(), "png")

    assert result.text == expected["text"]
    assert [line.text for line in result.lines] == [
        line["text"] for line in expected["lines"]
    ]
    assert result.confidence == 1.0
    assert all(line.confidence == 1.0 for line in result.lines)
    assert all(line.box is None for line in result.lines)


def test_ocr_same_image_same_result() -> None:
    image = SCREENSHOTS[0].read_bytes()

    first = SimulatedTextRecognizer().recognize(image, "png")
    second = SimulatedTextRecognizer().recognize(image, "png")

    assert first == second


def test_ocr_png_without_chunk_is_empty() -> None:
    image = encode_png(small_image())

    result = SimulatedTextRecognizer().recognize(image, "png")

    assert result.text == ""
    assert result.lines == ()
    assert result.confidence == 0.0


def test_ocr_ignores_other_keywords() -> None:
    image = encode_png(small_image(), text={"Comment": "not the drawn text"})

    assert SimulatedTextRecognizer().recognize(image, "png").text == ""


@pytest.mark.parametrize(
    "image",
    [
        b"",
        b"\xff\xd8\xff\xe0\x00\x10JFIF\x00",
        b"GIF89a\x02\x00\x02\x00",
        bytes(range(256)),
    ],
    ids=["zero-bytes", "jpeg", "gif", "random"],
)
def test_ocr_non_png_is_empty(image: bytes) -> None:
    result = SimulatedTextRecognizer().recognize(image, "jpeg")

    assert result.text == ""
    assert result.confidence == 0.0


def test_ocr_corrupt_chunk_is_empty_and_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    image = bytearray(encode_png(small_image(), text={TEXT_KEYWORD: "hello"}))
    image[image.index(b"hello")] ^= 0x20  # "Hello": the chunk's CRC no longer fits

    with caplog.at_level(logging.WARNING, logger="loomlite.components.ai.ocr"):
        result = SimulatedTextRecognizer().recognize(bytes(image), "png")

    assert result.text == ""
    assert result.confidence == 0.0
    assert "CRC mismatch" in caplog.text


def test_ocr_reads_utf8_text_from_itxt() -> None:
    text = "Vršič Pass\nČaj ob 16:00"
    image = encode_png(small_image(), text={TEXT_KEYWORD: text})

    result = SimulatedTextRecognizer().recognize(image, "png")

    assert b"iTXt" in image
    assert result.text == text
    assert [line.text for line in result.lines] == ["Vršič Pass", "Čaj ob 16:00"]


def test_ocr_reads_compressed_ztxt() -> None:
    payload = TEXT_KEYWORD.encode() + b"\x00\x00" + zlib.compress(b"Caf\xe9 menu")
    chunk = struct.pack(">I", len(payload)) + b"zTXt" + payload
    chunk += struct.pack(">I", zlib.crc32(b"zTXt" + payload))
    plain = encode_png(small_image())
    image = plain[:33] + chunk + plain[33:]  # after the signature and IHDR

    assert SimulatedTextRecognizer().recognize(image, "png").text == "Café menu"


def test_ocr_skips_blank_lines_in_line_list() -> None:
    text = "First line\n\n   \nSecond line"
    image = encode_png(small_image(), text={TEXT_KEYWORD: text})

    result = SimulatedTextRecognizer().recognize(image, "png")

    assert result.text == text
    assert [line.text for line in result.lines] == ["First line", "Second line"]


def test_ocr_whitespace_only_text_is_empty() -> None:
    image = encode_png(small_image(), text={TEXT_KEYWORD: " \n "})

    result = SimulatedTextRecognizer().recognize(image, "png")

    assert result.text == ""
    assert result.confidence == 0.0

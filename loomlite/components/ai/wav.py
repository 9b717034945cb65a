"""Reading and writing of WAV (RIFF/WAVE) files.

``read_wav`` walks the RIFF chunks instead of assuming that samples start at
byte 44. It supports integer PCM with 8, 16, 24 or 32 bits, IEEE float with 32
or 64 bits, and the WAVE_FORMAT_EXTENSIBLE header around either.
"""

from __future__ import annotations

import logging
import struct
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from loomlite.errors import AudioFormatError

__all__ = ["WavFormat", "encode_wav", "read_wav", "scale_samples"]

logger = logging.getLogger(__name__)

_WAVE_FORMAT_PCM: Final = 0x0001
_WAVE_FORMAT_IEEE_FLOAT: Final = 0x0003
_WAVE_FORMAT_EXTENSIBLE: Final = 0xFFFE
# Integer PCM in WAV files, by bits per sample: numpy dtype and full scale.
# ``<i3`` marks packed 24-bit samples, which numpy cannot read directly.
_INTEGER_ENCODINGS: Final[dict[int, tuple[str, float]]] = {
    8: ("u1", 128.0),
    16: ("<i2", 32768.0),
    24: ("<i3", 2.0**23),
    32: ("<i4", 2.0**31),
}
# Streaming writers put one of these in the data chunk's size field when the
# length is unknown at the time they write the header.
_UNKNOWN_DATA_SIZES: Final = frozenset({0, 0xFFFFFFFF})


@dataclass(frozen=True, slots=True)
class WavFormat:
    """The fields of a ``fmt `` chunk that decoding needs."""

    format_tag: int
    channels: int
    sample_rate: int
    block_align: int
    bits_per_sample: int


def encode_wav(
    samples: npt.NDArray[np.integer] | npt.NDArray[np.floating],
    sample_rate: int,
) -> bytes:
    """Encode samples as a canonical 16-bit PCM WAV file with a 44-byte header.

    ``samples`` is 1-D for mono or 2-D with shape (frames, channels). An int16
    array is written as it is. A float array is read as full scale [-1.0, 1.0]
    and clipped to that range.
    """
    if sample_rate <= 0:
        raise ValueError(f"sample_rate must be positive, got {sample_rate!r}")
    pcm = _to_int16(np.asarray(samples))
    channels = 1 if pcm.ndim == 1 else pcm.shape[1]
    payload = pcm.astype("<i2").tobytes()
    block_align = 2 * channels

    header = b"RIFF" + struct.pack("<I", 36 + len(payload)) + b"WAVE"
    fmt_body = struct.pack(
        "<HHIIHH",
        _WAVE_FORMAT_PCM,
        channels,
        sample_rate,
        sample_rate * block_align,
        block_align,
        16,
    )
    fmt_chunk = b"fmt " + struct.pack("<I", len(fmt_body)) + fmt_body
    data_chunk = b"data" + struct.pack("<I", len(payload)) + payload
    return header + fmt_chunk + data_chunk


def _to_int16(array: npt.NDArray[np.generic]) -> npt.NDArray[np.int16]:
    if array.ndim not in (1, 2):
        raise ValueError(
            f"samples must be 1-D (mono) or 2-D (frames, channels), got {array.ndim}-D"
        )
    if array.dtype == np.int16:
        return array.astype(np.int16, copy=False)
    if np.issubdtype(array.dtype, np.floating):
        scaled = np.clip(array.astype(np.float64), -1.0, 1.0) * 32767.0
        return np.round(scaled).astype(np.int16)
    raise ValueError(
        f"samples must be int16 or floating point, got dtype {array.dtype}; "
        "convert other integer types to int16 first"
    )


def read_wav(data: bytes) -> tuple[WavFormat, npt.NDArray[np.float64]]:
    """Parse a WAV file and return its format and its interleaved samples.

    The samples are float64 scaled so that full scale is 32768, whatever the
    sample encoding. Raises AudioFormatError when the bytes are not a WAV file,
    are truncated or use an unsupported encoding.
    """
    if len(data) < 12:
        raise AudioFormatError(
            f"WAV data is truncated: {len(data)} bytes is shorter than the "
            "12-byte RIFF header"
        )
    if data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise AudioFormatError(
            f"the bytes are not a WAV file: they start with {data[:4]!r} and have "
            f"form type {data[8:12]!r}, expected b'RIFF' and b'WAVE'"
        )

    wav_format, payload = _read_chunks(data)
    return wav_format, _samples_from_wav(wav_format, payload)


def _read_chunks(data: bytes) -> tuple[WavFormat, bytes]:
    """Walk the RIFF chunks and return the parsed ``fmt `` chunk and the samples.

    Chunks may come in any order, and each odd-sized chunk is followed by one
    pad byte. Unknown chunks (``LIST``, ``fact``, ``bext``…) are skipped.
    """
    wav_format: WavFormat | None = None
    payload: bytes | None = None
    offset = 12

    while offset + 8 <= len(data):
        chunk_id = data[offset : offset + 4]
        (size,) = struct.unpack_from("<I", data, offset + 4)
        body_start = offset + 8
        body_end = body_start + size

        if chunk_id == b"data":
            payload = _data_chunk_body(data, body_start, size)
            body_end = body_start + len(payload)
        elif body_end > len(data):
            if payload is not None and wav_format is not None:
                logger.debug("ignoring truncated trailing %r chunk", chunk_id)
                break
            raise AudioFormatError(
                f"WAV data is truncated: chunk {chunk_id!r} at byte {offset} "
                f"declares {size} bytes but only {len(data) - body_start} remain"
            )
        elif chunk_id == b"fmt ":
            wav_format = _parse_fmt(data[body_start:body_end])

        offset = body_end + (size & 1)

    if wav_format is None:
        raise AudioFormatError("WAV data has no 'fmt ' chunk, so it cannot be decoded")
    if payload is None:
        raise AudioFormatError(
            "WAV data has no 'data' chunk, so it contains no samples"
        )
    return wav_format, payload


def _data_chunk_body(data: bytes, body_start: int, size: int) -> bytes:
    remaining = len(data) - body_start
    if size <= remaining:
        return data[body_start : body_start + size]
    if size in _UNKNOWN_DATA_SIZES:
        logger.debug("data chunk size is the placeholder %#x; reading to the end", size)
        return data[body_start:]
    raise AudioFormatError(
        f"WAV data is truncated: the 'data' chunk declares {size} bytes but only "
        f"{remaining} remain"
    )


def _parse_fmt(body: bytes) -> WavFormat:
    if len(body) < 16:
        raise AudioFormatError(
            f"WAV 'fmt ' chunk is {len(body)} bytes, expected at least 16"
        )
    format_tag, channels, sample_rate, _, block_align, bits = struct.unpack_from(
        "<HHIIHH", body
    )
    # WAVE_FORMAT_EXTENSIBLE keeps the real format tag in the first two bytes of
    # the sub-format GUID, which starts at byte 24 of the chunk body.
    if format_tag == _WAVE_FORMAT_EXTENSIBLE:
        if len(body) < 40:
            raise AudioFormatError(
                f"WAV 'fmt ' chunk is {len(body)} bytes, but WAVE_FORMAT_EXTENSIBLE "
                "needs 40"
            )
        (format_tag,) = struct.unpack_from("<H", body, 24)

    if channels == 0 or sample_rate == 0:
        raise AudioFormatError(
            f"WAV header is invalid: channel count {channels} and sample rate "
            f"{sample_rate} Hz must both be positive"
        )
    expected_align = channels * ((bits + 7) // 8)
    if block_align != expected_align:
        raise AudioFormatError(
            f"WAV header is invalid: block align is {block_align} bytes but "
            f"{channels} channel(s) of {bits} bits need {expected_align}"
        )
    return WavFormat(format_tag, channels, sample_rate, block_align, bits)


def _samples_from_wav(wav_format: WavFormat, payload: bytes) -> npt.NDArray[np.float64]:
    """Return the interleaved samples scaled so that full scale is 32768."""
    dtype, full_scale = _wav_encoding(wav_format)
    usable = len(payload) - len(payload) % wav_format.block_align
    if usable != len(payload):
        logger.debug(
            "dropping %d trailing bytes that do not fill a sample frame",
            len(payload) - usable,
        )
    if dtype == "<i3":
        return scale_samples(_int24_to_int32(payload[:usable]), full_scale)
    count = usable // np.dtype(dtype).itemsize
    return scale_samples(np.frombuffer(payload, dtype=dtype, count=count), full_scale)


def _wav_encoding(wav_format: WavFormat) -> tuple[str, float]:
    """Return the numpy dtype of one sample and the value of full scale."""
    tag, bits = wav_format.format_tag, wav_format.bits_per_sample
    if tag == _WAVE_FORMAT_PCM and bits in _INTEGER_ENCODINGS:
        return _INTEGER_ENCODINGS[bits]
    if tag == _WAVE_FORMAT_IEEE_FLOAT and bits in (32, 64):
        return ("<f4" if bits == 32 else "<f8"), 1.0
    raise AudioFormatError(
        f"unsupported WAV encoding: format tag {tag:#06x} with {bits} bits per "
        "sample; supported are integer PCM (tag 0x0001) with 8, 16, 24 or 32 bits "
        "and IEEE float (tag 0x0003) with 32 or 64 bits",
        field="format",
        actual=f"tag {tag:#06x}, {bits} bits",
    )


def _int24_to_int32(payload: bytes) -> npt.NDArray[np.int32]:
    triples = np.frombuffer(payload, dtype=np.uint8).reshape(-1, 3).astype(np.int32)
    values = triples[:, 0] | (triples[:, 1] << 8) | (triples[:, 2] << 16)
    return np.where(values >= 1 << 23, values - (1 << 24), values).astype(np.int32)


def scale_samples(
    samples: npt.NDArray[np.generic], full_scale: float
) -> npt.NDArray[np.float64]:
    """Convert samples whose full scale is ``full_scale`` to int16 units.

    8-bit samples are unsigned with silence at 128, so they are centred first.
    """
    values = samples.astype(np.float64)
    if samples.dtype == np.uint8:
        values -= 128.0
    return values * (32768.0 / full_scale)

"""Decoding of audio chunks to mono 16-bit PCM, and WAV encoding for simulators.

Devices post audio either as a WAV file or as headerless PCM whose format,
sample rate and channel count travel beside the bytes. ``decode_audio`` turns
both into a ``PcmAudio``: mono int16 samples plus the sample rate. It reads the
WAV header instead of assuming that samples start at byte 44, and it raises
``AudioFormatError`` when the declared values disagree with the bytes.
"""

from __future__ import annotations

import logging
import struct
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from loomlite.errors import AudioFormatError

__all__ = [
    "RAW_FORMATS",
    "WAV_FORMATS",
    "PcmAudio",
    "decode_audio",
    "encode_wav",
]

logger = logging.getLogger(__name__)

Int16Array = npt.NDArray[np.int16]

WAV_FORMATS: Final = frozenset({"wav", "wave", "audio/wav", "audio/x-wav"})

# Headerless sample encodings, keyed by the names clients send, mapped to the
# numpy dtype of one sample. Every encoding is little-endian.
RAW_FORMATS: Final[dict[str, str]] = {
    "pcm": "<i2",
    "raw": "<i2",
    "pcm_s16le": "<i2",
    "s16le": "<i2",
    "pcm_u8": "u1",
    "u8": "u1",
    "pcm_s32le": "<i4",
    "pcm_f32le": "<f4",
    "f32le": "<f4",
}

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
_RAW_FULL_SCALE: Final[dict[str, float]] = {
    "<i2": 32768.0,
    "|u1": 128.0,
    "<i4": 2.0**31,
    "<f4": 1.0,
}
# Streaming writers put one of these in the data chunk's size field when the
# length is unknown at the time they write the header.
_UNKNOWN_DATA_SIZES: Final = frozenset({0, 0xFFFFFFFF})


@dataclass(frozen=True, slots=True, eq=False)
class PcmAudio:
    """Mono audio as int16 samples (full scale 32767) at ``sample_rate`` Hz."""

    samples: Int16Array
    sample_rate: int

    def __post_init__(self) -> None:
        if self.samples.dtype != np.int16 or self.samples.ndim != 1:
            raise ValueError(
                "PcmAudio.samples must be a 1-D int16 array, got "
                f"{self.samples.ndim}-D {self.samples.dtype}"
            )
        if self.sample_rate <= 0:
            raise ValueError(
                f"PcmAudio.sample_rate must be positive, got {self.sample_rate!r}"
            )

    @property
    def duration_s(self) -> float:
        """Length in seconds."""
        return len(self.samples) / self.sample_rate

    def as_float32(self) -> npt.NDArray[np.float32]:
        """Return the samples scaled to [-1.0, 1.0) as float32."""
        return self.samples.astype(np.float32) / np.float32(32768.0)


@dataclass(frozen=True, slots=True)
class _WavFormat:
    """The fields of a ``fmt `` chunk that decoding needs."""

    format_tag: int
    channels: int
    sample_rate: int
    block_align: int
    bits_per_sample: int


def decode_audio(
    data: bytes,
    *,
    declared_format: str | None = None,
    declared_sample_rate: int | None = None,
    declared_channels: int | None = None,
) -> PcmAudio:
    """Decode a WAV file or headerless PCM to mono int16 samples.

    Without a declared format, bytes that start with a RIFF header decode as
    WAV. Headerless PCM needs a declared format from ``RAW_FORMATS`` and a
    declared sample rate, and is taken as mono unless ``declared_channels``
    gives another count. Multi-channel audio is mixed to mono by averaging.

    Raises AudioFormatError when the bytes are invalid or truncated, when the
    format is unsupported, or when a declared format, sample rate or channel
    count disagrees with the WAV header. The message names both values.
    """
    format_name = _normalise_format(declared_format)
    has_riff_header = data[:4] == b"RIFF"

    if format_name is None:
        if not has_riff_header:
            raise AudioFormatError(
                f"audio format is missing and the bytes have no RIFF header "
                f"(first bytes {data[:8]!r}); declare the format, e.g. "
                "'pcm_s16le' for headerless 16-bit PCM",
                field="format",
            )
        format_name = "wav"

    if format_name in WAV_FORMATS:
        if not has_riff_header:
            raise AudioFormatError(
                f"declared format {declared_format!r} does not match the bytes: "
                f"a WAV file starts with b'RIFF' but these start with {data[:8]!r}",
                field="format",
                declared=declared_format,
                actual="no RIFF header",
            )
        return _decode_wav(data, declared_sample_rate, declared_channels)

    if format_name in RAW_FORMATS:
        if has_riff_header and data[8:12] == b"WAVE":
            raise AudioFormatError(
                f"declared format {declared_format!r} does not match the bytes: "
                "they are a WAV file; declare the format 'wav'",
                field="format",
                declared=declared_format,
                actual="wav",
            )
        return _decode_raw(data, format_name, declared_sample_rate, declared_channels)

    supported = ", ".join(sorted(WAV_FORMATS | RAW_FORMATS.keys()))
    raise AudioFormatError(
        f"unsupported audio format {declared_format!r}; supported formats: {supported}",
        field="format",
        declared=declared_format,
    )


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


def _to_int16(array: npt.NDArray[np.generic]) -> Int16Array:
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


def _normalise_format(declared_format: str | None) -> str | None:
    if declared_format is None:
        return None
    name = declared_format.strip().lower()
    return name or None


# -- WAV ----------------------------------------------------------------------


def _decode_wav(
    data: bytes, declared_sample_rate: int | None, declared_channels: int | None
) -> PcmAudio:
    if len(data) < 12:
        raise AudioFormatError(
            f"WAV data is truncated: {len(data)} bytes is shorter than the "
            "12-byte RIFF header"
        )
    if data[8:12] != b"WAVE":
        raise AudioFormatError(
            f"RIFF form type is {data[8:12]!r}, expected b'WAVE'; the bytes are "
            "not a WAV file"
        )

    wav_format, payload = _read_chunks(data)
    _check_declared(wav_format, declared_sample_rate, declared_channels)
    interleaved = _samples_from_wav(wav_format, payload)
    return PcmAudio(
        _mix_to_mono(interleaved, wav_format.channels), wav_format.sample_rate
    )


def _read_chunks(data: bytes) -> tuple[_WavFormat, bytes]:
    """Walk the RIFF chunks and return the parsed ``fmt `` chunk and the samples.

    Chunks may come in any order, and each odd-sized chunk is followed by one
    pad byte. Unknown chunks (``LIST``, ``fact``, ``bext``…) are skipped.
    """
    wav_format: _WavFormat | None = None
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


def _parse_fmt(body: bytes) -> _WavFormat:
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
    return _WavFormat(format_tag, channels, sample_rate, block_align, bits)


def _check_declared(
    wav_format: _WavFormat,
    declared_sample_rate: int | None,
    declared_channels: int | None,
) -> None:
    if (
        declared_sample_rate is not None
        and declared_sample_rate != wav_format.sample_rate
    ):
        raise AudioFormatError(
            f"declared sample rate {declared_sample_rate} Hz does not match the WAV "
            f"header's {wav_format.sample_rate} Hz",
            field="sample_rate",
            declared=declared_sample_rate,
            actual=wav_format.sample_rate,
        )
    if declared_channels is not None and declared_channels != wav_format.channels:
        raise AudioFormatError(
            f"declared channel count {declared_channels} does not match the WAV "
            f"header's {wav_format.channels}",
            field="channels",
            declared=declared_channels,
            actual=wav_format.channels,
        )


def _samples_from_wav(
    wav_format: _WavFormat, payload: bytes
) -> npt.NDArray[np.float64]:
    """Return the interleaved samples scaled so that full scale is 32768."""
    dtype, full_scale = _wav_encoding(wav_format)
    usable = len(payload) - len(payload) % wav_format.block_align
    if usable != len(payload):
        logger.debug(
            "dropping %d trailing bytes that do not fill a sample frame",
            len(payload) - usable,
        )
    if dtype == "<i3":
        return _scale(_int24_to_int32(payload[:usable]), full_scale)
    count = usable // np.dtype(dtype).itemsize
    return _scale(np.frombuffer(payload, dtype=dtype, count=count), full_scale)


def _wav_encoding(wav_format: _WavFormat) -> tuple[str, float]:
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


# -- raw PCM ------------------------------------------------------------------


def _decode_raw(
    data: bytes,
    format_name: str,
    declared_sample_rate: int | None,
    declared_channels: int | None,
) -> PcmAudio:
    if declared_sample_rate is None or declared_sample_rate <= 0:
        raise AudioFormatError(
            f"headerless {format_name!r} audio needs a positive declared sample "
            f"rate, got {declared_sample_rate!r}",
            field="sample_rate",
            declared=declared_sample_rate,
        )
    channels = 1 if declared_channels is None else declared_channels
    if channels <= 0:
        raise AudioFormatError(
            f"declared channel count must be positive, got {channels!r}",
            field="channels",
            declared=declared_channels,
        )

    dtype = np.dtype(RAW_FORMATS[format_name])
    frame_bytes = dtype.itemsize * channels
    if len(data) % frame_bytes:
        raise AudioFormatError(
            f"headerless {format_name!r} audio with {channels} channel(s) needs a "
            f"multiple of {frame_bytes} bytes, got {len(data)}; check the declared "
            "format and channel count",
            field="data",
            actual=len(data),
        )
    interleaved = _scale(np.frombuffer(data, dtype=dtype), _RAW_FULL_SCALE[dtype.str])
    return PcmAudio(_mix_to_mono(interleaved, channels), declared_sample_rate)


# -- conversion ---------------------------------------------------------------


def _scale(
    samples: npt.NDArray[np.generic], full_scale: float
) -> npt.NDArray[np.float64]:
    """Convert samples whose full scale is ``full_scale`` to int16 units.

    8-bit WAV samples are unsigned with silence at 128, so they are centred first.
    """
    values = samples.astype(np.float64)
    if samples.dtype == np.uint8:
        values -= 128.0
    return values * (32768.0 / full_scale)


def _mix_to_mono(interleaved: npt.NDArray[np.float64], channels: int) -> Int16Array:
    """Average the channels of each frame, then round and clip to int16."""
    mixed = interleaved if channels == 1 else interleaved.reshape(-1, channels).mean(1)
    # NaN in float input becomes silence, and infinities clip to full scale.
    finite = np.nan_to_num(mixed, nan=0.0, posinf=32767.0, neginf=-32768.0)
    mono: Int16Array = np.clip(np.round(finite), -32768, 32767).astype(np.int16)
    return mono

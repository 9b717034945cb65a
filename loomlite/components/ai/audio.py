"""Decoding of audio chunks to mono 16-bit PCM, and WAV encoding for simulators.

Devices post audio either as a WAV file or as headerless PCM whose format,
sample rate and channel count travel beside the bytes. ``decode_audio`` turns
both into a ``PcmAudio``: mono int16 samples plus the sample rate. It reads the
WAV header instead of assuming that samples start at byte 44, and it raises
``AudioFormatError`` when the declared values disagree with the bytes.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from loomlite.components.ai.wav import WavFormat, encode_wav, read_wav, scale_samples
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

_RAW_FULL_SCALE: Final[dict[str, float]] = {
    "<i2": 32768.0,
    "|u1": 128.0,
    "<i4": 2.0**31,
    "<f4": 1.0,
}


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
        wav_format, interleaved = read_wav(data)
        _check_declared(wav_format, declared_sample_rate, declared_channels)
        mono = _mix_to_mono(interleaved, wav_format.channels)
        return PcmAudio(mono, wav_format.sample_rate)

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


def _normalise_format(declared_format: str | None) -> str | None:
    if declared_format is None:
        return None
    name = declared_format.strip().lower()
    return name or None


# -- WAV ----------------------------------------------------------------------


def _check_declared(
    wav_format: WavFormat,
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
    interleaved = scale_samples(
        np.frombuffer(data, dtype=dtype), _RAW_FULL_SCALE[dtype.str]
    )
    return PcmAudio(_mix_to_mono(interleaved, channels), declared_sample_rate)


# -- conversion ---------------------------------------------------------------


def _mix_to_mono(interleaved: npt.NDArray[np.float64], channels: int) -> Int16Array:
    """Average the channels of each frame, then round and clip to int16."""
    mixed = interleaved if channels == 1 else interleaved.reshape(-1, channels).mean(1)
    # NaN in float input becomes silence, and infinities clip to full scale.
    finite = np.nan_to_num(mixed, nan=0.0, posinf=32767.0, neginf=-32768.0)
    mono: Int16Array = np.clip(np.round(finite), -32768, 32767).astype(np.int16)
    return mono

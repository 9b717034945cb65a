"""Tests of decode_audio and encode_wav on WAV and headerless PCM bytes."""

from __future__ import annotations

import struct

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from loomlite.components.ai.audio import PcmAudio, decode_audio, encode_wav
from loomlite.errors import AudioFormatError, ContractError

FIRST = 1234
SAMPLES = [FIRST, -2000, 3000, -4000]


def chunk(chunk_id: bytes, body: bytes) -> bytes:
    """Return one RIFF chunk, with the pad byte that an odd size needs."""
    pad = b"\x00" if len(body) % 2 else b""
    return chunk_id + struct.pack("<I", len(body)) + body + pad


def fmt_body(
    channels: int = 1,
    rate: int = 16_000,
    bits: int = 16,
    tag: int = 1,
    block_align: int | None = None,
) -> bytes:
    align = channels * bits // 8 if block_align is None else block_align
    return struct.pack("<HHIIHH", tag, channels, rate, rate * align, align, bits)


def riff(*chunks: bytes) -> bytes:
    body = b"WAVE" + b"".join(chunks)
    return b"RIFF" + struct.pack("<I", len(body)) + body


def pcm16(values: list[int]) -> bytes:
    return struct.pack(f"<{len(values)}h", *values)


# -- WAV layouts ----------------------------------------------------------------


def test_wav_list_chunk_before_data() -> None:
    # A 5-byte LIST body is followed by a pad byte, which the parser must skip.
    data = riff(
        chunk(b"fmt ", fmt_body()),
        chunk(b"LIST", b"INFOx"),
        chunk(b"data", pcm16(SAMPLES)),
    )

    audio = decode_audio(data, declared_format="wav", declared_sample_rate=16_000)

    assert audio.samples[0] == FIRST
    assert audio.samples.tolist() == SAMPLES
    assert audio.sample_rate == 16_000


def test_wav_eighteen_byte_fmt_chunk() -> None:
    body = fmt_body() + struct.pack("<H", 0)  # cbSize = 0
    data = riff(chunk(b"fmt ", body), chunk(b"data", pcm16(SAMPLES)))

    audio = decode_audio(data, declared_format="wav")

    assert len(body) == 18
    assert audio.samples[0] == FIRST
    assert audio.samples.tolist() == SAMPLES


def test_wav_extensible_fmt_chunk() -> None:
    # cbSize 22, valid bits, channel mask, then the KSDATAFORMAT_SUBTYPE_PCM GUID.
    guid = struct.pack("<H", 1) + bytes.fromhex("000000001000800000aa00389b71")
    body = fmt_body(tag=0xFFFE) + struct.pack("<HHI", 22, 16, 4) + guid
    data = riff(chunk(b"fmt ", body), chunk(b"data", pcm16(SAMPLES)))

    audio = decode_audio(data)

    assert len(body) == 40
    assert audio.samples[0] == FIRST


def test_wav_fmt_after_data_and_fact() -> None:
    data = riff(
        chunk(b"data", pcm16(SAMPLES)),
        chunk(b"fact", struct.pack("<I", len(SAMPLES))),
        chunk(b"fmt ", fmt_body()),
    )

    audio = decode_audio(data, declared_format="WAV")

    assert audio.samples.tolist() == SAMPLES


def test_wav_odd_sized_data_chunk_padding() -> None:
    # 8-bit mono with 3 samples has an odd data size and one pad byte after it.
    body = bytes([128 + 10, 128, 128 - 10])
    data = riff(
        chunk(b"fmt ", fmt_body(bits=8)), chunk(b"data", body), chunk(b"LIST", b"ab")
    )

    audio = decode_audio(data)

    assert audio.samples.tolist() == [10 * 256, 0, -10 * 256]


def test_wav_stereo_mixes_to_mono() -> None:
    interleaved = [1000, 3000, -1000, -3001, 5, 6]
    data = riff(
        chunk(b"fmt ", fmt_body(channels=2)), chunk(b"data", pcm16(interleaved))
    )

    audio = decode_audio(data, declared_channels=2)

    assert audio.samples.tolist() == [2000, -2000, 6]


def test_wav_float32_samples() -> None:
    values = struct.pack("<3f", 0.5, -1.0, 2.0)
    data = riff(chunk(b"fmt ", fmt_body(bits=32, tag=3)), chunk(b"data", values))

    audio = decode_audio(data)

    assert audio.samples.tolist() == [16384, -32768, 32767]


def test_wav_24_bit_samples() -> None:
    def int24(value: int) -> bytes:
        return (value & 0xFFFFFF).to_bytes(3, "little")

    body = int24(FIRST * 256) + int24(-(1 << 23)) + int24(256 * 100 + 127)
    data = riff(chunk(b"fmt ", fmt_body(bits=24)), chunk(b"data", body))

    audio = decode_audio(data)

    assert audio.samples.tolist() == [FIRST, -32768, 100]


def test_wav_placeholder_data_size_reads_to_end() -> None:
    header = riff(chunk(b"fmt ", fmt_body()))
    data = header + b"data" + struct.pack("<I", 0xFFFFFFFF) + pcm16(SAMPLES)

    audio = decode_audio(data)

    assert audio.samples.tolist() == SAMPLES


def test_wav_partial_trailing_frame_dropped() -> None:
    body = pcm16([FIRST, 7, 8]) + b"\x01"
    data = riff(chunk(b"fmt ", fmt_body(channels=2)), chunk(b"data", body))

    audio = decode_audio(data)

    assert audio.samples.tolist() == [round((FIRST + 7) / 2)]


def test_wav_without_declared_format() -> None:
    audio = decode_audio(
        riff(chunk(b"fmt ", fmt_body()), chunk(b"data", pcm16(SAMPLES)))
    )

    assert audio.samples[0] == FIRST


# -- headerless PCM --------------------------------------------------------------


@pytest.mark.parametrize("name", ["pcm", "pcm_s16le", "raw", "s16le", " PCM "])
def test_raw_pcm_first_sample(name: str) -> None:
    audio = decode_audio(
        pcm16(SAMPLES), declared_format=name, declared_sample_rate=8_000
    )

    assert audio.samples[0] == FIRST
    assert audio.samples.tolist() == SAMPLES
    assert audio.sample_rate == 8_000


def test_raw_pcm_stereo_mixes_to_mono() -> None:
    audio = decode_audio(
        pcm16([100, 300, -50, -150]),
        declared_format="pcm_s16le",
        declared_sample_rate=16_000,
        declared_channels=2,
    )

    assert audio.samples.tolist() == [200, -100]


def test_raw_pcm_float32() -> None:
    audio = decode_audio(
        struct.pack("<2f", 0.25, -0.5),
        declared_format="pcm_f32le",
        declared_sample_rate=16_000,
    )

    assert audio.samples.tolist() == [8192, -16384]


def test_raw_pcm_empty_is_empty_audio() -> None:
    audio = decode_audio(b"", declared_format="pcm", declared_sample_rate=16_000)

    assert len(audio.samples) == 0
    assert audio.duration_s == 0.0


# -- declared values that disagree with the bytes --------------------------------


def test_declared_wav_without_riff_header() -> None:
    with pytest.raises(AudioFormatError) as caught:
        decode_audio(pcm16(SAMPLES), declared_format="wav", declared_sample_rate=16_000)

    error = caught.value
    assert error.field == "format"
    assert error.declared == "wav"
    assert error.actual == "no RIFF header"
    assert "'wav'" in str(error)
    assert "RIFF" in str(error)


def test_declared_rate_disagrees_with_header() -> None:
    data = riff(chunk(b"fmt ", fmt_body(rate=44_100)), chunk(b"data", pcm16(SAMPLES)))

    with pytest.raises(AudioFormatError) as caught:
        decode_audio(data, declared_format="wav", declared_sample_rate=16_000)

    error = caught.value
    assert error.field == "sample_rate"
    assert error.declared == 16_000
    assert error.actual == 44_100
    assert "16000" in str(error)
    assert "44100" in str(error)


def test_declared_channels_disagree_with_header() -> None:
    data = riff(chunk(b"fmt ", fmt_body(channels=2)), chunk(b"data", pcm16(SAMPLES)))

    with pytest.raises(AudioFormatError) as caught:
        decode_audio(data, declared_channels=1)

    assert caught.value.field == "channels"
    assert caught.value.declared == 1
    assert caught.value.actual == 2


def test_declared_raw_but_bytes_are_wav() -> None:
    data = encode_wav(np.array(SAMPLES, dtype=np.int16), 16_000)

    with pytest.raises(AudioFormatError) as caught:
        decode_audio(data, declared_format="pcm_s16le", declared_sample_rate=16_000)

    assert caught.value.declared == "pcm_s16le"
    assert caught.value.actual == "wav"
    assert "'pcm_s16le'" in str(caught.value)


def test_unsupported_format_lists_supported() -> None:
    with pytest.raises(AudioFormatError) as caught:
        decode_audio(b"ID3\x03", declared_format="mp3")

    assert "'mp3'" in str(caught.value)
    assert "pcm_s16le" in str(caught.value)
    assert "wav" in str(caught.value)


def test_missing_format_and_no_header() -> None:
    with pytest.raises(AudioFormatError, match="declare the format"):
        decode_audio(pcm16(SAMPLES))


def test_raw_pcm_without_rate() -> None:
    with pytest.raises(AudioFormatError) as caught:
        decode_audio(pcm16(SAMPLES), declared_format="pcm")

    assert caught.value.field == "sample_rate"


def test_raw_pcm_odd_byte_count() -> None:
    with pytest.raises(AudioFormatError, match="multiple of 4 bytes, got 6"):
        decode_audio(
            pcm16([1, 2, 3]),
            declared_format="pcm",
            declared_sample_rate=16_000,
            declared_channels=2,
        )


def test_audio_format_error_is_contract_error() -> None:
    assert issubclass(AudioFormatError, ContractError)


# -- truncated and garbage bytes -------------------------------------------------

VALID = riff(chunk(b"fmt ", fmt_body()), chunk(b"data", pcm16(SAMPLES)))

BROKEN = {
    "empty": b"",
    "riff only": b"RIFF",
    "riff without form": b"RIFF\x00\x00\x00\x00",
    "not wave": b"RIFF\x04\x00\x00\x00AVI ",
    "no chunks": riff(),
    "no fmt": riff(chunk(b"data", pcm16(SAMPLES))),
    "no data": riff(chunk(b"fmt ", fmt_body())),
    "short fmt": riff(chunk(b"fmt ", fmt_body()[:12]), chunk(b"data", pcm16(SAMPLES))),
    "cut in fmt": VALID[:30],
    "cut in data": VALID[:-3],
    "zero channels": riff(chunk(b"fmt ", fmt_body(channels=0)), chunk(b"data", b"")),
    "zero rate": riff(chunk(b"fmt ", fmt_body(rate=0)), chunk(b"data", b"")),
    "bad block align": riff(
        chunk(b"fmt ", fmt_body(block_align=3)), chunk(b"data", pcm16(SAMPLES))
    ),
    "12-bit": riff(
        chunk(b"fmt ", fmt_body(bits=12, block_align=2)), chunk(b"data", b"ab")
    ),
    "a-law": riff(chunk(b"fmt ", fmt_body(bits=8, tag=6)), chunk(b"data", b"ab")),
    "short extensible": riff(
        chunk(b"fmt ", fmt_body(tag=0xFFFE) + b"\x00\x00"), chunk(b"data", b"ab")
    ),
    "garbage": b"RIFF\xff\xff\xff\xffWAVE\x00\x01\x02garbage",
}


@pytest.mark.parametrize("data", BROKEN.values(), ids=BROKEN.keys())
def test_broken_wav_raises_format_error(data: bytes) -> None:
    with pytest.raises(AudioFormatError) as caught:
        decode_audio(data, declared_format="wav")

    assert str(caught.value)


@settings(max_examples=300, deadline=None)
@given(tail=st.binary(max_size=200), cut=st.integers(min_value=0, max_value=80))
def test_random_wav_bytes_never_crash(tail: bytes, cut: int) -> None:
    for data in (VALID[:cut] + tail, b"RIFF" + tail, VALID + tail):
        try:
            audio = decode_audio(data, declared_format="wav")
        except AudioFormatError:
            continue
        assert audio.samples.dtype == np.int16


# -- encode_wav ------------------------------------------------------------------


def test_encode_wav_round_trip() -> None:
    samples = np.array([0, 1, -1, 32767, -32768], dtype=np.int16)

    data = encode_wav(samples, 22_050)
    audio = decode_audio(data, declared_format="wav", declared_sample_rate=22_050)

    assert len(data) == 44 + 2 * len(samples)
    assert np.array_equal(audio.samples, samples)


def test_encode_wav_float_is_clipped() -> None:
    audio = decode_audio(encode_wav(np.array([0.5, 1.5, -2.0]), 16_000))

    assert audio.samples.tolist() == [16384, 32767, -32767]


def test_encode_wav_stereo_header() -> None:
    stereo = np.array([[100, 300], [-100, -300]], dtype=np.int16)

    data = encode_wav(stereo, 16_000)

    channels = struct.unpack_from("<H", data, 22)[0]
    assert channels == 2
    assert decode_audio(data).samples.tolist() == [200, -200]


def test_encode_wav_rejects_int32() -> None:
    with pytest.raises(ValueError, match="int16 or floating point"):
        encode_wav(np.array([1, 2], dtype=np.int32), 16_000)


def test_pcm_audio_rejects_float_samples() -> None:
    with pytest.raises(ValueError, match="1-D int16"):
        PcmAudio(np.zeros(4, dtype=np.float32), 16_000)  # type: ignore[arg-type]

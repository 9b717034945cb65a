"""Tests of the per-device VAD streams: chunking, devices, event time, segmentation."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pytest
from pydantic import ValidationError

from loomlite.components.ai.audio import PcmAudio
from loomlite.components.ai.vad import (
    EnergyVad,
    SimulatedVad,
    SpeechSegment,
    VadBackend,
    VadParameters,
)
from loomlite.errors import AudioFormatError
from tests.unit.ai.signals import (
    FRAME,
    RATE,
    START,
    chunks,
    noise,
    speech_fixtures,
    speech_like,
    to_pcm,
)

BACKENDS = [EnergyVad, SimulatedVad]


def run(
    backend: VadBackend, device: str, pieces: list[tuple[PcmAudio, datetime]]
) -> list[SpeechSegment]:
    segments = []
    for pcm, start in pieces:
        segments += backend.process(device, pcm, start)
    return segments + backend.flush(device)


def bursts(*frame_spans: tuple[int, int], total_frames: int = 100) -> PcmAudio:
    """Digital silence with a loud tone in each (first, last) frame span, inclusive.

    SimulatedVad marks exactly the tone frames as voiced, so segment edges can
    be computed in frames.
    """
    signal = np.zeros(total_frames * FRAME)
    time = np.arange(len(signal)) / RATE
    tone = 8000 * np.sin(2 * np.pi * 440 * time)
    for first, last in frame_spans:
        signal[first * FRAME : (last + 1) * FRAME] = tone[
            first * FRAME : (last + 1) * FRAME
        ]
    return to_pcm(signal)


# -- chunking ----------------------------------------------------------------------


@pytest.mark.parametrize("backend_class", BACKENDS)
@pytest.mark.parametrize("sizes", [[1600], [37], [37, 0, 1601, 0, 5], [4800, 1]])
def test_chunking_gives_identical_segments(
    backend_class: type[VadBackend], sizes: list[int]
) -> None:
    pcm = speech_like()
    whole = backend_class(record_decisions=True)
    cut = backend_class(record_decisions=True)

    expected = run(whole, "phone", [(pcm, START)])
    actual = run(cut, "phone", chunks(pcm, sizes))

    assert len(expected) == 2
    assert actual == expected
    assert np.array_equal(cut.frame_decisions("phone"), whole.frame_decisions("phone"))


def test_chunking_fixture_identical_segments() -> None:
    fixture = speech_fixtures()[0]
    whole = EnergyVad()
    cut = EnergyVad()

    expected = run(whole, "phone", [(fixture.pcm, START)])
    actual = run(cut, "phone", chunks(fixture.pcm, [1600, 37, 2999]))

    assert len(expected) == len(fixture.intervals)
    assert actual == expected


def test_remainder_carried_into_next_chunk() -> None:
    backend = SimulatedVad(record_decisions=True)
    pcm = bursts((0, 20), total_frames=40)

    backend.process("phone", PcmAudio(pcm.samples[: FRAME - 1], RATE), START)
    frames_before = len(backend.frame_decisions("phone"))
    one_more = PcmAudio(pcm.samples[FRAME - 1 : FRAME], RATE)
    backend.process("phone", one_more, START + timedelta(seconds=(FRAME - 1) / RATE))
    frames_after = len(backend.frame_decisions("phone"))

    assert frames_before == 0
    assert frames_after == 1
    assert backend.stream("phone").samples_received == FRAME


def test_empty_chunk_changes_nothing() -> None:
    backend = EnergyVad(record_decisions=True)

    segments = backend.process("phone", PcmAudio(np.zeros(0, np.int16), RATE), START)

    assert segments == []
    assert backend.stream("phone").samples_received == 0
    assert backend.stream("phone").sample_rate is None
    assert len(backend.frame_decisions("phone")) == 0


@pytest.mark.parametrize("backend_class", BACKENDS)
@pytest.mark.parametrize("sizes", [[1600], [37], [4800, 0]])
@pytest.mark.parametrize("dbfs", [None, -70.0, -45.0])
def test_silence_yields_no_speech(
    backend_class: type[VadBackend], sizes: list[int], dbfs: float | None
) -> None:
    signal = np.zeros(3 * RATE) if dbfs is None else noise(3.0, dbfs, seed=3)
    backend = backend_class(record_decisions=True)

    segments = run(backend, "quiet", chunks(to_pcm(signal), sizes))

    assert segments == []
    assert not backend.frame_decisions("quiet").any()


# -- devices -----------------------------------------------------------------------


@pytest.mark.parametrize("backend_class", BACKENDS)
def test_silent_device_interleaved_with_speaker(
    backend_class: type[VadBackend],
) -> None:
    speaker = chunks(speech_like(), [1600, 37])
    silent = chunks(to_pcm(noise(4.0, -65.0, seed=11)), [800, 41])
    alone = backend_class()
    shared = backend_class()

    expected = run(alone, "speaker", speaker)
    speaker_segments: list[SpeechSegment] = []
    silent_segments: list[SpeechSegment] = []
    for index in range(max(len(speaker), len(silent))):
        if index < len(silent):
            silent_segments += shared.process("silent", *silent[index])
        if index < len(speaker):
            speaker_segments += shared.process("speaker", *speaker[index])
    silent_segments += shared.flush("silent")
    speaker_segments += shared.flush("speaker")

    assert len(expected) == 2
    assert speaker_segments == expected
    assert silent_segments == []
    assert shared.devices == ("silent", "speaker")


def test_segments_carry_device_id() -> None:
    backend = SimulatedVad()

    segments = run(backend, "watch-7", [(bursts((10, 30)), START)])

    assert [segment.device_id for segment in segments] == ["watch-7"]


# -- sample rates ------------------------------------------------------------------


def test_rate_change_raises_naming_both() -> None:
    backend = EnergyVad()
    backend.process("phone", to_pcm(noise(0.1, -50.0)), START)

    with pytest.raises(AudioFormatError) as caught:
        backend.process("phone", to_pcm(noise(0.1, -50.0, rate=44_100), 44_100), START)

    error = caught.value
    assert error.field == "sample_rate"
    assert error.declared == 16_000
    assert error.actual == 44_100
    assert "16000 Hz" in str(error)
    assert "44100 Hz" in str(error)
    assert "'phone'" in str(error)


def test_rate_change_keeps_stream_state() -> None:
    pcm = speech_like()
    pieces = chunks(pcm, [1600])
    clean = EnergyVad()
    disturbed = EnergyVad()
    expected = run(clean, "phone", pieces)

    segments = []
    for index, (piece, start) in enumerate(pieces):
        if index == 5:
            with pytest.raises(AudioFormatError):
                disturbed.process("phone", PcmAudio(piece.samples, 8_000), start)
        segments += disturbed.process("phone", piece, start)
    segments += disturbed.flush("phone")

    assert segments == expected


def test_flush_allows_new_rate() -> None:
    backend = EnergyVad()
    backend.process("phone", to_pcm(noise(0.1, -50.0)), START)
    backend.flush("phone")

    backend.process("phone", to_pcm(noise(0.1, -50.0, rate=8_000), 8_000), START)

    assert backend.stream("phone").sample_rate == 8_000


@pytest.mark.parametrize("rate", [8_000, 22_050, 44_100, 48_000])
def test_energy_detects_speech_at_rate(rate: int) -> None:
    backend = EnergyVad()

    segments = run(backend, "phone", chunks(speech_like(rate), [rate // 10]))

    starts = [segment.start_offset / rate for segment in segments]
    ends = [segment.end_offset / rate for segment in segments]
    assert len(segments) == 2
    assert starts == pytest.approx([1.0, 2.4], abs=0.1)
    assert ends == pytest.approx([1.6, 3.0], abs=0.2)


# -- event time --------------------------------------------------------------------


def test_segment_times_follow_offsets() -> None:
    backend = SimulatedVad()

    segments = run(backend, "phone", chunks(bursts((10, 30), (60, 80)), [1000]))

    assert len(segments) == 2
    for segment in segments:
        assert segment.start_time == START + timedelta(
            seconds=segment.start_offset / RATE
        )
        assert segment.end_time == START + timedelta(seconds=segment.end_offset / RATE)


def test_naive_start_time_is_utc() -> None:
    aware = SimulatedVad()
    naive = SimulatedVad()
    pcm = bursts((10, 30))

    expected = run(aware, "phone", [(pcm, START)])
    actual = run(naive, "phone", [(pcm, START.replace(tzinfo=None))])

    assert actual == expected
    assert actual[0].start_time.tzinfo is not None


def test_segment_samples_match_input() -> None:
    pcm = bursts((10, 30))
    backend = SimulatedVad()

    (segment,) = run(backend, "phone", chunks(pcm, [333]))

    expected = pcm.samples[segment.start_offset : segment.end_offset]
    assert np.array_equal(segment.samples, expected)
    assert segment.sample_rate == RATE
    assert segment.duration_ms == pytest.approx(1000 * len(expected) / RATE)


def test_time_gap_closes_open_segment() -> None:
    backend = SimulatedVad()
    pcm = bursts((10, 40), total_frames=41)
    later = START + timedelta(minutes=5)

    first = backend.process("phone", pcm, START)
    at_gap = backend.process("phone", bursts((5, 39), total_frames=40), later)
    rest = backend.flush("phone")

    assert first == []
    assert len(at_gap) == 1
    assert at_gap[0].end_offset == 41 * FRAME
    assert at_gap[0].end_time == START + timedelta(seconds=41 * FRAME / RATE)
    assert len(rest) == 1
    assert rest[0].start_offset == 41 * FRAME + 3 * FRAME
    assert rest[0].start_time == later + timedelta(seconds=3 * FRAME / RATE)


def test_small_time_jitter_keeps_recording() -> None:
    pcm = bursts((10, 60))
    pieces = chunks(pcm, [1600])
    jittered = [
        (piece, start + timedelta(milliseconds=40)) for piece, start in pieces[1:]
    ]
    steady = SimulatedVad()
    shaky = SimulatedVad()

    expected = run(steady, "phone", pieces)
    actual = run(shaky, "phone", [pieces[0], *jittered])

    assert actual == expected


# -- segmentation parameters -------------------------------------------------------

PARAMETERS = VadParameters(
    min_speech_ms=90, min_silence_ms=300, hangover_ms=120, pre_roll_ms=60
)


def test_segment_edges_use_pre_roll_and_hangover() -> None:
    backend = SimulatedVad(PARAMETERS)

    (segment,) = run(backend, "phone", [(bursts((20, 40)), START)])

    assert segment.start_offset == (20 - 2) * FRAME
    assert segment.end_offset == (40 + 1 + 4) * FRAME


def test_short_click_is_dropped() -> None:
    backend = SimulatedVad(PARAMETERS, record_decisions=True)

    segments = run(backend, "phone", [(bursts((20, 21)), START)])

    assert segments == []
    assert not backend.frame_decisions("phone").any()


def test_short_pause_stays_inside_segment() -> None:
    backend = SimulatedVad(PARAMETERS)

    segments = run(backend, "phone", [(bursts((20, 30), (40, 50)), START)])

    assert len(segments) == 1
    assert segments[0].start_offset == 18 * FRAME
    assert segments[0].end_offset == 55 * FRAME


def test_long_pause_splits_segments() -> None:
    backend = SimulatedVad(PARAMETERS)

    segments = run(backend, "phone", [(bursts((20, 30), (41, 50)), START)])

    assert [(s.start_offset // FRAME, s.end_offset // FRAME) for s in segments] == [
        (18, 35),
        (39, 55),
    ]


def test_max_speech_splits_long_speech() -> None:
    parameters = VadParameters(max_speech_ms=900, hangover_ms=0, pre_roll_ms=0)
    backend = SimulatedVad(parameters, record_decisions=True)

    segments = run(backend, "phone", [(bursts((0, 99)), START)])

    spans = [(s.start_offset // FRAME, s.end_offset // FRAME) for s in segments]
    assert spans == [(0, 30), (30, 60), (60, 90), (90, 100)]
    assert backend.frame_decisions("phone").all()


def test_open_segment_decisions_are_false() -> None:
    backend = SimulatedVad(PARAMETERS, record_decisions=True)

    backend.process("phone", bursts((20, 40), total_frames=42), START)
    before_flush = backend.frame_decisions("phone").copy()
    backend.flush("phone")
    after_flush = backend.frame_decisions("phone")

    assert not before_flush.any()
    assert after_flush[18:42].all()
    assert not after_flush[:18].any()


def test_hangover_above_min_silence_rejected() -> None:
    with pytest.raises(ValidationError, match="hangover_ms"):
        VadParameters(hangover_ms=400, min_silence_ms=300)


def test_unknown_parameter_rejected() -> None:
    with pytest.raises(ValidationError):
        VadParameters(hangover=1)  # type: ignore[call-arg]


# -- frame decisions ---------------------------------------------------------------


def test_decisions_need_recording() -> None:
    backend = EnergyVad()
    backend.process("phone", to_pcm(noise(0.1, -50.0)), START)

    with pytest.raises(ValueError, match="record_decisions=True"):
        backend.frame_decisions("phone")


def test_decisions_unknown_device() -> None:
    backend = EnergyVad(record_decisions=True)
    backend.process("phone", to_pcm(noise(0.1, -50.0)), START)

    with pytest.raises(KeyError, match="'watch'"):
        backend.frame_decisions("watch")


def test_close_forgets_device() -> None:
    backend = SimulatedVad()
    backend.process("phone", bursts((20, 99)), START)

    segments = backend.close("phone")

    assert len(segments) == 1
    assert backend.devices == ()
    assert backend.flush("phone") == []

"""Tests of the EnergyVad and SimulatedVad backends on speech fixtures and signals."""

from __future__ import annotations

import numpy as np
import pytest

from loomlite.components.ai.vad import (
    EnergyParameters,
    EnergyVad,
    SimulatedVad,
    SpeechSegment,
    VadBackend,
    frame_agreement,
)
from tests.unit.ai.signals import (
    RATE,
    START,
    SpeechFixture,
    chunks,
    noise,
    speech_fixtures,
    speech_like,
    to_pcm,
    vowel,
)

FIXTURES = speech_fixtures()


def run(backend: VadBackend, fixture: SpeechFixture) -> list[SpeechSegment]:
    segments = []
    for pcm, start in chunks(fixture.pcm, [1600]):
        segments += backend.process(fixture.name, pcm, start)
    return segments + backend.flush(fixture.name)


def test_fixtures_present() -> None:
    assert len(FIXTURES) == 3
    for fixture in FIXTURES:
        assert fixture.pcm.sample_rate == RATE
        assert 15.0 <= fixture.pcm.duration_s <= 30.0


# -- EnergyVad -----------------------------------------------------------------------


@pytest.mark.parametrize("fixture", FIXTURES, ids=[f.name for f in FIXTURES])
def test_energy_agreement_on_fixture(fixture: SpeechFixture) -> None:
    backend = EnergyVad(record_decisions=True)

    run(backend, fixture)
    decisions = backend.frame_decisions(fixture.name)
    agreement = frame_agreement(decisions, fixture.intervals, 30)

    assert agreement > 0.90, f"{fixture.name}: frame agreement {agreement:.4f}"


@pytest.mark.parametrize("fixture", FIXTURES, ids=[f.name for f in FIXTURES])
def test_energy_one_segment_per_utterance(fixture: SpeechFixture) -> None:
    backend = EnergyVad()

    segments = run(backend, fixture)

    assert len(segments) == len(fixture.intervals)
    for segment, (start_ms, end_ms) in zip(segments, fixture.intervals, strict=True):
        assert segment.start_offset * 1000 / RATE < end_ms
        assert segment.end_offset * 1000 / RATE > start_ms
        assert 0.5 <= segment.confidence <= 1.0


def test_energy_rejects_loud_broadband_noise() -> None:
    signal = np.concatenate(
        (
            noise(1.0, -50.0, seed=1),
            noise(0.6, -20.0, seed=2),
            noise(1.0, -50.0, seed=3),
        )
    )
    backend = EnergyVad(record_decisions=True)

    segments = backend.process("phone", to_pcm(signal), START) + backend.flush("phone")

    assert segments == []
    assert not backend.frame_decisions("phone").any()


def test_energy_accepts_harmonic_burst() -> None:
    signal = noise(2.6, -50.0, seed=1)
    burst = vowel(0.6, -20.0)
    signal[RATE : RATE + len(burst)] += burst
    backend = EnergyVad()

    segments = backend.process("phone", to_pcm(signal), START) + backend.flush("phone")

    assert len(segments) == 1
    assert segments[0].start_offset / RATE == pytest.approx(1.0, abs=0.09)
    assert segments[0].end_offset / RATE == pytest.approx(1.6, abs=0.15)


def test_energy_spectral_cue_can_be_disabled() -> None:
    # With both spectral thresholds at their extremes every frame passes the
    # spectral cue, so the loud noise burst counts as speech.
    permissive = EnergyParameters(band_share=0.01, max_flatness=0.99)
    signal = np.concatenate((noise(1.0, -50.0, seed=1), noise(0.6, -20.0, seed=2)))
    backend = EnergyVad(energy=permissive)

    segments = backend.process("phone", to_pcm(signal), START) + backend.flush("phone")

    assert len(segments) == 1


def test_energy_ignores_louder_noise_background() -> None:
    # The background steps up by 20 dB and stays there. Only the vowel that
    # follows 3 s later is speech.
    signal = np.concatenate((noise(1.0, -60.0, seed=1), noise(4.0, -40.0, seed=2)))
    burst = vowel(0.6, -15.0)
    signal[4 * RATE : 4 * RATE + len(burst)] += burst
    backend = EnergyVad()

    segments = backend.process("phone", to_pcm(signal), START) + backend.flush("phone")

    assert len(segments) == 1
    assert segments[0].start_offset / RATE == pytest.approx(4.0, abs=0.09)


def test_energy_names() -> None:
    assert EnergyVad.name == "energy"
    assert EnergyVad.simulated is False


def test_energy_band_must_be_ordered() -> None:
    with pytest.raises(ValueError, match="band_low_hz"):
        EnergyParameters(band_low_hz=4000, band_high_hz=300)


# -- SimulatedVad --------------------------------------------------------------------


def test_simulated_is_deterministic() -> None:
    pcm = speech_like()
    first = SimulatedVad(seed=5, record_decisions=True)
    second = SimulatedVad(seed=5, record_decisions=True)

    expected = first.process("phone", pcm, START) + first.flush("phone")
    actual = second.process("phone", pcm, START) + second.flush("phone")

    assert len(expected) == 2
    assert actual == expected
    assert np.array_equal(
        first.frame_decisions("phone"), second.frame_decisions("phone")
    )


def test_simulated_seed_changes_confidence_only() -> None:
    pcm = speech_like()
    first = SimulatedVad(seed=1)
    second = SimulatedVad(seed=2)

    one = first.process("phone", pcm, START) + first.flush("phone")
    two = second.process("phone", pcm, START) + second.flush("phone")

    assert [s.start_offset for s in one] == [s.start_offset for s in two]
    assert [s.end_offset for s in one] == [s.end_offset for s in two]
    assert [s.confidence for s in one] != [s.confidence for s in two]
    for segment in one + two:
        assert 0.5 <= segment.confidence < 1.0


@pytest.mark.parametrize("fixture", FIXTURES, ids=[f.name for f in FIXTURES])
def test_simulated_agreement_on_fixture(fixture: SpeechFixture) -> None:
    # Loud frames are speech for this backend, and every fixture's noise is at
    # least 5 dB below its default level of -30 dBFS.
    backend = SimulatedVad(record_decisions=True)

    run(backend, fixture)
    agreement = frame_agreement(
        backend.frame_decisions(fixture.name), fixture.intervals, 30
    )

    assert agreement > 0.90, f"{fixture.name}: frame agreement {agreement:.4f}"


def test_simulated_names() -> None:
    assert SimulatedVad.name == "simulated"
    assert SimulatedVad.simulated is True

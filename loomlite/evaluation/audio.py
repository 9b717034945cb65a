"""Scores of the audio backends on the speech fixtures in ``fixtures/audio``.

- VAD: frame agreement of each detector's segments with the ground-truth
  speech intervals, pooled over every frame of the three recordings, with
  precision and recall of the speech frames. The detectors run with their
  default segmentation parameters.
- STT: word error rate (see ``loomlite.evaluation.wer``) of each recording's
  transcript against its script. The recordings are cut the way the
  real-models profile cuts them: Silero VAD segments with 288 ms of audio
  kept before and after the speech. Each segment is transcribed on its own.

A backend named in ``backends`` whose extra is missing raises the registry's
ConfigurationError. Without ``backends`` every audio backend is scored, and
those whose extra is missing are skipped with a warning.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

import numpy as np

from loomlite._fixtures import fixture_path
from loomlite.components.ai.audio import PcmAudio, decode_audio
from loomlite.components.ai.backends import check_backend, load_backend
from loomlite.components.ai.vad import VadBackend, VadParameters, truth_frames
from loomlite.errors import ConfigurationError
from loomlite.evaluation.score import Score
from loomlite.evaluation.wer import word_error_rate

__all__ = ["RECORDINGS", "STAGES", "SpeechRecording", "evaluate", "load_recordings"]

logger = logging.getLogger(__name__)

STAGES: Final = ("vad", "stt")
RECORDINGS: Final = (
    "speech_us_male_25db",
    "speech_gb_female_20db",
    "speech_us_fast_15db",
)
FIXTURES: Final = "fixtures/audio"

VAD_THRESHOLDS: Final[dict[str, float | None]] = {
    "silero": 0.95,
    "energy": 0.90,
    # WebRTC marks part of the fixtures' white noise as speech (precision
    # 0.92), so it has no target and is scored for comparison only.
    "webrtc": None,
    "simulated": None,
}
STT_THRESHOLDS: Final[dict[str, float | None]] = {
    "faster-whisper": 0.20,
    "simulated": None,
}
_PRE_ROLL_MS: Final = 288
_HANGOVER_MS: Final = 288
_START: Final = datetime(2025, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class SpeechRecording:
    """One speech fixture: its audio, its sentences and their intervals."""

    name: str
    audio: PcmAudio
    sentences: tuple[str, ...]
    intervals_ms: tuple[tuple[int, int], ...]


def load_recordings() -> list[SpeechRecording]:
    """Load the speech fixtures named in ``RECORDINGS``."""
    recordings = []
    for name in RECORDINGS:
        audio = decode_audio(fixture_path("audio", f"{name}.wav").read_bytes())
        truth: dict[str, Any] = json.loads(
            fixture_path("audio", f"{name}.json").read_text("utf-8")
        )
        utterances = truth["utterances"]
        recordings.append(
            SpeechRecording(
                name=name,
                audio=audio,
                sentences=tuple(item["text"] for item in utterances),
                intervals_ms=tuple(
                    (int(item["start_ms"]), int(item["end_ms"])) for item in utterances
                ),
            )
        )
    return recordings


def evaluate(backends: Sequence[str] | None = None) -> list[Score]:
    """Score the VAD and STT backends; see the module docstring."""
    recordings = load_recordings()
    scores = []
    for name in _chosen("vad", VAD_THRESHOLDS, backends):
        scores.append(_score_vad(name, recordings))
    for name in _stt_chosen(backends):
        scores.append(_score_stt(name, recordings))
    return scores


def _stt_chosen(backends: Sequence[str] | None) -> list[str]:
    """Return the STT backends to score, which all need Silero to cut the audio."""
    chosen = _chosen("stt", STT_THRESHOLDS, backends)
    if not chosen:
        return chosen
    try:
        check_backend("vad", "silero")
    except ConfigurationError as error:
        if backends is not None:
            raise ConfigurationError(
                "scoring stt backends needs the silero VAD to cut the "
                f"recordings into segments: {error}"
            ) from error
        logger.warning(
            "skipped stt backends %s: the recordings are cut by the silero VAD, and %s",
            ", ".join(repr(name) for name in chosen),
            error,
        )
        return []
    return chosen


def _chosen(
    stage: str, thresholds: dict[str, float | None], backends: Sequence[str] | None
) -> list[str]:
    if backends is not None:
        chosen = [name for name in thresholds if name in backends]
        for name in chosen:
            check_backend(stage, name)
        return chosen
    available = []
    for name in thresholds:
        try:
            check_backend(stage, name)
        except ConfigurationError as error:
            logger.warning("skipped %s backend %r: %s", stage, name, error)
            continue
        available.append(name)
    return available


def _score_vad(name: str, recordings: Sequence[SpeechRecording]) -> Score:
    started = time.perf_counter()
    vad = load_backend("vad", name, record_decisions=True)
    frame_ms = vad.parameters.frame_ms
    matches = speech_hits = voiced_total = truth_total = frames_total = 0
    details: dict[str, float] = {}
    processed_seconds = 0.0

    for recording in recordings:
        inference_started = time.perf_counter()
        vad.process(recording.name, recording.audio, _START)
        vad.flush(recording.name)
        processed_seconds += time.perf_counter() - inference_started

        decisions = vad.frame_decisions(recording.name)
        truth = truth_frames(recording.intervals_ms, len(decisions), frame_ms)
        agreement = float(np.mean(decisions == truth))
        details[f"agreement_{recording.name}"] = round(agreement, 4)
        matches += int(np.sum(decisions == truth))
        speech_hits += int(np.sum(decisions & truth))
        voiced_total += int(np.sum(decisions))
        truth_total += int(np.sum(truth))
        frames_total += len(decisions)

    audio_seconds = sum(recording.audio.duration_s for recording in recordings)
    details["precision"] = round(speech_hits / max(voiced_total, 1), 4)
    details["recall"] = round(speech_hits / max(truth_total, 1), 4)
    details["real_time_factor"] = round(processed_seconds / audio_seconds, 5)
    return Score(
        stage="vad",
        backend=name,
        metric="frame_agreement",
        value=round(matches / frames_total, 4),
        threshold=VAD_THRESHOLDS[name],
        higher_is_better=True,
        items=len(recordings),
        fixtures=FIXTURES,
        seconds=time.perf_counter() - started,
        details=details,
    )


def _score_stt(name: str, recordings: Sequence[SpeechRecording]) -> Score:
    started = time.perf_counter()
    vad = _segmenting_vad()
    stt = load_backend("stt", name)
    references: list[str] = []
    hypotheses: list[str] = []
    details: dict[str, float] = {}
    transcribe_seconds = 0.0
    for recording in recordings:
        segments = vad.process(recording.name, recording.audio, _START)
        segments += vad.flush(recording.name)
        inference_started = time.perf_counter()
        texts = [
            stt.transcribe(segment.samples, segment.sample_rate).text
            for segment in segments
        ]
        transcribe_seconds += time.perf_counter() - inference_started
        reference = " ".join(recording.sentences)
        hypothesis = " ".join(texts)
        references.append(reference)
        hypotheses.append(hypothesis)
        details[f"wer_{recording.name}"] = round(
            word_error_rate([reference], [hypothesis]), 4
        )
        logger.info("%s on %s: %r", name, recording.name, hypothesis)
    audio_seconds = sum(recording.audio.duration_s for recording in recordings)
    details["real_time_factor"] = round(transcribe_seconds / audio_seconds, 4)
    return Score(
        stage="stt",
        backend=name,
        metric="word_error_rate",
        value=round(word_error_rate(references, hypotheses), 4),
        threshold=STT_THRESHOLDS[name],
        higher_is_better=False,
        items=sum(len(recording.sentences) for recording in recordings),
        fixtures=FIXTURES,
        seconds=time.perf_counter() - started,
        details=details,
    )


def _segmenting_vad() -> VadBackend:
    parameters = VadParameters(pre_roll_ms=_PRE_ROLL_MS, hangover_ms=_HANGOVER_MS)
    return load_backend("vad", "silero", parameters=parameters)

"""Speed of each real model backend, for the ``backends`` benchmark.

Every registry backend that is not simulated and whose extra is installed
runs a fixed workload: audio stages report the real-time factor (processing
seconds per second of audio, lower is better), the others items per second.
The model is loaded and called once to warm up before the timed runs, and
the median of ``repeats`` runs is reported. Backends whose extra is missing
are skipped and named in every result's description.
"""

from __future__ import annotations

import logging
import statistics
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any, Final

import numpy as np

from loomlite._fixtures import fixture_path
from loomlite.components.ai.backends import DEFAULT_REGISTRY
from loomlite.errors import ConfigurationError

__all__ = ["measure_backends"]

logger = logging.getLogger(__name__)

_GEOCODE_POINTS: Final = 5_000
_EMBED_TEXTS: Final = 200


@dataclass(frozen=True, slots=True)
class BackendSpeed:
    """The median speed of one backend on its stage's workload."""

    stage: str
    backend: str
    unit: str
    value: float
    target: float
    higher_is_better: bool
    workload: str
    samples: list[float]


@dataclass(frozen=True, slots=True)
class _Workload:
    """A stage's timed call, its size and the target of its backends."""

    description: str
    unit: str
    target: float
    higher_is_better: bool
    run: Callable[[Any], float]
    """Calls the backend once over the workload and returns the measured value."""


def _speech() -> list[tuple[np.ndarray[Any, Any], int]]:
    from loomlite.evaluation.audio import load_recordings

    return [
        (recording.audio.samples, recording.audio.sample_rate)
        for recording in load_recordings()
    ]


def _real_time_factor(
    call: Callable[[np.ndarray[Any, Any], int], object],
    clips: list[tuple[np.ndarray[Any, Any], int]],
) -> float:
    audio_seconds = sum(len(samples) / rate for samples, rate in clips)
    started = time.perf_counter()
    for samples, rate in clips:
        call(samples, rate)
    return (time.perf_counter() - started) / audio_seconds


def _vad_run(clips: list[tuple[np.ndarray[Any, Any], int]]) -> Callable[[Any], float]:
    from datetime import UTC, datetime

    from loomlite.components.ai.audio import PcmAudio

    start = datetime(2025, 1, 1, tzinfo=UTC)

    def run(vad: Any) -> float:
        def detect(samples: np.ndarray[Any, Any], rate: int) -> object:
            segments = vad.process("bench", PcmAudio(samples, rate), start)
            return segments + vad.close("bench")

        return _real_time_factor(detect, clips)

    return run


def _images() -> list[tuple[bytes, str]]:
    paths = sorted(fixture_path("images").glob("*.png"))
    return [(path.read_bytes(), "png") for path in paths]


def _items_per_second(count: int, call: Callable[[], object]) -> float:
    started = time.perf_counter()
    call()
    return count / (time.perf_counter() - started)


def _workloads() -> dict[str, _Workload]:
    clips = _speech()
    images = _images()
    texts = [
        sentence for recording_texts in _sentences() for sentence in recording_texts
    ]
    texts = (texts * (_EMBED_TEXTS // max(len(texts), 1) + 1))[:_EMBED_TEXTS]
    rng = np.random.default_rng(0)
    points = list(
        zip(
            rng.uniform(-60.0, 70.0, _GEOCODE_POINTS).tolist(),
            rng.uniform(-180.0, 180.0, _GEOCODE_POINTS).tolist(),
            strict=True,
        )
    )
    audio_seconds = sum(len(samples) / rate for samples, rate in clips)
    speech = f"the {len(clips)} speech fixtures ({audio_seconds:.1f} s of audio)"
    # NOTE: the targets are rough floors for a 2-core laptop CPU, set from
    # single runs, not service-level requirements.
    return {
        "vad": _Workload(speech, "x real time", 0.05, False, _vad_run(clips)),
        "stt": _Workload(
            speech,
            "x real time",
            0.5,
            False,
            lambda stt: _real_time_factor(stt.transcribe, clips),
        ),
        "emotion": _Workload(
            speech,
            "x real time",
            0.05,
            False,
            lambda scorer: _real_time_factor(scorer.score, clips),
        ),
        "ocr": _Workload(
            f"{len(images)} screenshot fixtures",
            "images/s",
            0.5,
            True,
            lambda ocr: _items_per_second(
                len(images), lambda: [ocr.recognize(*image) for image in images]
            ),
        ),
        "caption": _Workload(
            f"{len(images)} screenshot fixtures",
            "images/s",
            0.5,
            True,
            lambda caption: _items_per_second(
                len(images), lambda: [caption.describe(*image) for image in images]
            ),
        ),
        "faces": _Workload(
            f"{len(images)} screenshot fixtures",
            "images/s",
            0.5,
            True,
            lambda faces: _items_per_second(
                len(images), lambda: [faces.detect(*image) for image in images]
            ),
        ),
        "embed": _Workload(
            f"{len(texts)} sentences in one batch",
            "texts/s",
            20.0,
            True,
            lambda embedder: _items_per_second(
                len(texts), lambda: embedder.embed(texts)
            ),
        ),
        "geocode": _Workload(
            f"{len(points):,} random points in one batch",
            "points/s",
            1_000.0,
            True,
            lambda geocoder: _items_per_second(
                len(points), lambda: geocoder.lookup_many(points)
            ),
        ),
    }


def _sentences() -> list[tuple[str, ...]]:
    from loomlite.evaluation.audio import load_recordings

    return [recording.sentences for recording in load_recordings()]


def measure_backends(
    repeats: int, stages: Collection[str] | None = None
) -> tuple[list[BackendSpeed], list[str]]:
    """Measure every installed real backend, or those of ``stages``; return
    the speeds and the skipped.

    Skipped backends are named ``stage/name (extra)``. Raises
    ConfigurationError when no real backend is installed.
    """
    workloads = _workloads()
    speeds: list[BackendSpeed] = []
    skipped: list[str] = []
    for stage in DEFAULT_REGISTRY.stages():
        if stages is not None and stage not in stages:
            continue
        workload = workloads.get(stage)
        for name in DEFAULT_REGISTRY.names(stage):
            spec = DEFAULT_REGISTRY.spec(stage, name)
            if spec.simulated:
                continue
            if workload is None:
                logger.warning("no benchmark workload for stage %r", stage)
                skipped.append(f"{stage}/{name} (no workload)")
                continue
            try:
                backend = DEFAULT_REGISTRY.load(stage, name)
            except ConfigurationError as error:
                logger.warning("skipped %s backend %r: %s", stage, name, error)
                skipped.append(f"{stage}/{name} (loomlite[{spec.extra}])")
                continue
            workload.run(backend)  # warm-up: lazy loading, caches, threads
            samples = [workload.run(backend) for _ in range(repeats)]
            speeds.append(
                BackendSpeed(
                    stage=stage,
                    backend=name,
                    unit=workload.unit,
                    value=statistics.median(samples),
                    target=workload.target,
                    higher_is_better=workload.higher_is_better,
                    workload=workload.description,
                    samples=samples,
                )
            )
    if not speeds:
        raise ConfigurationError(
            f"no real model backend is installed (skipped: {', '.join(skipped)}); "
            "run: pip install 'loomlite[models]'"
        )
    return speeds, skipped

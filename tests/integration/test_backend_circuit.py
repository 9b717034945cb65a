"""The ai component with a speech-to-text backend forced to fail or hang.

The backend's circuit opens, its messages go to ``processing.errors.stt``,
the other stages keep up, and the circuit closes when the backend recovers.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

import numpy.typing as npt
import pytest

from loomlite.components.ai import backends as backends_module
from loomlite.components.ai.backends import BackendRegistry, BackendSpec
from loomlite.components.ai.component import INPUT_TOPICS, AiComponent
from loomlite.components.ai.stt import SimulatedSpeechToText, Transcript
from loomlite.components.monitor import MonitorComponent
from loomlite.contract.models import AudioEmotion, ProcessingError, Transcription
from loomlite.runtime import Component
from loomlite.testing import Pipeline, pipeline
from tests.integration.support import fast_settings
from tests.integration.test_ai_component import (
    AUDIO,
    EMOTIONS,
    SPEECH,
    TRANSCRIPTS,
    audio_chunk,
    speech_samples,
    speech_truth,
)

START = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
STT_ERRORS = "processing.errors.stt"


class ControlledSpeechToText:
    """Simulated transcripts, or a failure or a hang, as the test sets."""

    name = "controlled"
    simulated = True
    mode: ClassVar[str] = "ok"
    release: ClassVar[threading.Event] = threading.Event()

    def __init__(self) -> None:
        self._inner = SimulatedSpeechToText()

    def transcribe(self, samples: npt.ArrayLike, sample_rate: int) -> Transcript:
        if self.mode == "fail":
            raise RuntimeError("speech model crashed")
        if self.mode == "hang":
            self.release.wait(timeout=60)
        return self._inner.transcribe(samples, sample_rate)


class FakeClock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture(autouse=True)
def controlled_registry(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    registry = BackendRegistry(
        [
            *(
                backends_module.DEFAULT_REGISTRY.spec(stage, name)
                for stage in backends_module.DEFAULT_REGISTRY.stages()
                for name in backends_module.DEFAULT_REGISTRY.names(stage)
            ),
            BackendSpec(
                "stt", "controlled", f"{__name__}:ControlledSpeechToText", True
            ),
        ]
    )
    monkeypatch.setattr(backends_module, "DEFAULT_REGISTRY", registry)
    ControlledSpeechToText.mode = "ok"
    ControlledSpeechToText.release = threading.Event()
    yield
    ControlledSpeechToText.release.set()


def make_runtime(
    *extra_components: Component,
    state_dir: Path | None = None,
    **inference: Any,
) -> tuple[Pipeline, AiComponent]:
    component = AiComponent()
    settings = fast_settings(
        {
            "ai": {
                "stt_backend": "controlled",
                "inference": {
                    "failure_threshold": 2,
                    "open_seconds": 30.0,
                    **inference,
                },
            }
        }
    )
    if state_dir is not None:
        settings = settings.model_copy(update={"state_dir": state_dir})
    runtime = pipeline(
        settings=settings,
        components=[component, *extra_components],
        inputs=INPUT_TOPICS,
        db=None,
        start=START,
    )
    return runtime, component


def recording_chunk(name: str, offset: timedelta) -> Any:
    return audio_chunk(speech_samples(name), START + offset)


@pytest.mark.anyio
async def test_failing_backend_opens_and_recovers() -> None:
    runtime, component = make_runtime()
    utterances = len(speech_truth(SPEECH[0]))

    async with runtime:
        ControlledSpeechToText.mode = "fail"
        await runtime.publish(AUDIO, recording_chunk(SPEECH[0], timedelta(0)))
        await runtime.run_until_idle(timeout=30)
        guard = component.guards["stt"]
        clock = FakeClock(guard.breaker.clock())
        guard.breaker.clock = clock

        # Opened after two failures; the rest were rejected without a call.
        assert guard.counters.circuit == "open"
        assert guard.counters.failures == 2
        assert guard.counters.rejected == utterances - 2
        errors: list[ProcessingError] = runtime.messages(STT_ERRORS)
        assert len(errors) == utterances
        assert "speech model crashed" in errors[0].error_message
        assert "circuit of stt backend 'controlled' is open" in errors[-1].error_message
        # The emotion stage reads the same segments and kept up.
        emotions: list[AudioEmotion] = runtime.messages(EMOTIONS)
        assert len(emotions) == utterances
        assert runtime.messages(TRANSCRIPTS) == []

        ControlledSpeechToText.mode = "ok"
        clock.now += 30.0
        await runtime.publish(AUDIO, recording_chunk(SPEECH[0], timedelta(minutes=5)))
        await runtime.run_until_idle(timeout=30)

        assert guard.counters.circuit == "closed"
        transcripts: list[Transcription] = runtime.messages(TRANSCRIPTS)
        assert len(transcripts) == utterances
        statistics = runtime.statistics().components["ai"]
        stt = next(item for item in statistics.backends if item.stage == "stt")
        assert stt.circuit_opened == 1
        assert stt.circuit == "closed"


@pytest.mark.anyio
async def test_hung_backend_times_out_without_stalling_others() -> None:
    runtime, component = make_runtime(stage_timeouts={"stt": 0.2})
    utterances = len(speech_truth(SPEECH[1]))

    async with runtime:
        ControlledSpeechToText.mode = "hang"
        await runtime.publish(AUDIO, recording_chunk(SPEECH[1], timedelta(0)))
        await runtime.wait_for(
            lambda: len(runtime.records(STT_ERRORS)) >= utterances, timeout=30
        )
        guard = component.guards["stt"]

        assert guard.counters.timeouts == 2
        assert guard.counters.circuit == "open"
        errors: list[ProcessingError] = runtime.messages(STT_ERRORS)
        assert "timed out after 0.2 s" in errors[0].error_message
        # Segments and emotions were published while the speech model hung.
        assert len(runtime.messages(EMOTIONS)) == utterances
        assert runtime.messages(TRANSCRIPTS) == []
        ControlledSpeechToText.release.set()
        await runtime.run_until_idle(timeout=30)


@pytest.mark.anyio
async def test_monitor_sees_circuit_state() -> None:
    runtime, _ = make_runtime()

    async with runtime:
        ControlledSpeechToText.mode = "fail"
        await runtime.publish(AUDIO, recording_chunk(SPEECH[0], timedelta(0)))
        await runtime.run_until_idle(timeout=30)
        statistics = runtime.statistics()

    ai = statistics.components["ai"]
    by_stage = {backend.stage: backend for backend in ai.backends}
    assert by_stage["stt"].circuit == "open"
    assert by_stage["stt"].last_error == "RuntimeError: speech model crashed"
    assert by_stage["vad"].circuit == "closed"
    assert by_stage["vad"].calls >= 1
    assert statistics.loop_lag is not None


@pytest.mark.anyio
async def test_monitor_shows_lag_of_slow_model(tmp_path: Path) -> None:
    monitor = MonitorComponent()
    runtime, component = make_runtime(
        monitor, state_dir=tmp_path, stage_timeouts={"stt": 60.0}
    )
    utterances = len(speech_truth(SPEECH[0]))

    async with runtime:
        ControlledSpeechToText.mode = "hang"
        await runtime.publish(AUDIO, recording_chunk(SPEECH[0], timedelta(0)))
        # Emotion runs on every segment while stt hangs. Its group commits
        # just after its last output is published, so the wait covers both.
        await runtime.wait_for(
            lambda: (
                len(runtime.records(EMOTIONS)) >= utterances
                and runtime.statistics().broker.lag("ai.emotion") == 0
            ),
            timeout=30,
        )
        slow = await monitor.sample()
        ControlledSpeechToText.release.set()
        await runtime.run_until_idle(timeout=30)
        caught_up = await monitor.sample()

    # The first segment is in the hung call, the others wait behind it.
    assert slow.groups["ai.stt"].lag == utterances
    assert slow.groups["ai.emotion"].lag == 0
    assert slow.components["ai"].in_flight >= 1
    assert caught_up.groups["ai.stt"].lag == 0
    stt = next(b for b in caught_up.components["ai"].backends if b.stage == "stt")
    assert stt.calls == utterances
    assert stt.max_call_seconds > 0
    assert caught_up.loop_lag_max is not None
    assert component.guards["stt"].counters.timeouts == 0

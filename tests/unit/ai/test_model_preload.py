"""Backends that run real models load before the pipeline starts, once."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path

import anyio
import pytest

from loomlite.components.ai import backends as backends_module
from loomlite.components.ai import loading
from loomlite.components.ai.backends import BackendRegistry, BackendSpec
from loomlite.components.ai.caption import SimulatedImageDescriber
from loomlite.components.ai.component import INPUT_TOPICS, AiComponent
from loomlite.runtime.profiles import load_settings
from loomlite.session import run_session
from loomlite.testing import pipeline


class CountingDescriber(SimulatedImageDescriber):
    """A caption backend registered as a model, which counts its loads."""

    name = "counting"
    simulated = False
    loads = 0

    def __init__(self) -> None:
        super().__init__()
        CountingDescriber.loads += 1


@pytest.fixture
def counting_model(monkeypatch: pytest.MonkeyPatch) -> None:
    default = backends_module.DEFAULT_REGISTRY
    specs = [
        default.spec(stage, name)
        for stage in default.stages()
        for name in default.names(stage)
    ]
    specs.append(
        BackendSpec(
            "caption",
            "counting",
            f"{__name__}:CountingDescriber",
            False,
            extra="faces",
        )
    )
    registry = BackendRegistry(specs)
    monkeypatch.setattr(backends_module, "DEFAULT_REGISTRY", registry)
    monkeypatch.setattr(loading.check_profile_backends, "__defaults__", (registry,))
    monkeypatch.setattr(loading.model_backends, "__defaults__", (registry,))
    CountingDescriber.loads = 0


def test_model_backends_lists_backends_with_an_extra() -> None:
    chosen = loading.model_backends(load_settings("real-models"))

    assert ("stt", "faster-whisper") in chosen
    assert ("ocr", "rapidocr") in chosen
    assert ("geocode", "reverse-geocoder") in chosen
    assert ("emotion", "prosody-heuristic") not in chosen
    assert loading.model_backends(load_settings("demo")) == []


def test_model_backends_skips_disabled_components() -> None:
    settings = load_settings("real-models", components={"ai": {"enabled": False}})

    assert loading.model_backends(settings) == [("geocode", "reverse-geocoder")]


@pytest.mark.anyio
async def test_given_backends_serve_first_setup_only() -> None:
    settings = load_settings("demo", broker="memory", simulators={"enabled": False})
    loaded = loading.load_ai_backends(settings.components.ai)
    component = AiComponent(loaded)
    harness = pipeline(
        settings=settings,
        components=[component],
        inputs=INPUT_TOPICS,
        db=None,
        start=datetime(2025, 6, 2, 7, 0, tzinfo=UTC),
    )

    async with harness:
        assert component.backends is loaded
        # A restart sets the component up again, with fresh backends.
        await component.setup()
        assert component.backends is not loaded
        assert component.backends.vad is not loaded.vad


@pytest.mark.usefixtures("counting_model")
def test_session_loads_models_before_components_start(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    profile = tmp_path / "profile.toml"
    profile.write_text(
        'broker = "memory"\nclock = "manual"\nstart = 2025-06-02T07:00:00Z\n'
        'duration = "PT2M"\n'
        "[simulators]\nenabled = true\ndevices = 1\n"
        '[components.ai]\ncaption_backend = "counting"\n'
    )
    settings = load_settings(profile, state_dir=tmp_path / "state")

    with caplog.at_level(logging.INFO):
        anyio.run(lambda: run_session(settings, virtual=True))

    assert CountingDescriber.loads == 1
    messages = [record.getMessage() for record in caplog.records]
    loading_at = messages.index("loading model backends: caption=counting")
    first_running = next(
        index for index, text in enumerate(messages) if text.startswith("component ")
    )
    assert loading_at < first_running

"""The backend registry: names, errors and loading of every registered backend."""

from __future__ import annotations

import os

import pytest

from loomlite.components.ai.backends import (
    DEFAULT_REGISTRY,
    Backend,
    BackendRegistry,
    BackendSpec,
    backend_names,
    load_backend,
)
from loomlite.components.ai.caption import ImageDescriber
from loomlite.components.ai.embed import TextEmbedder
from loomlite.components.ai.emotion import EmotionScorer
from loomlite.components.ai.ocr import TextRecognizer
from loomlite.components.ai.stt import SpeechToText
from loomlite.components.ai.vision.faces import FaceDetector
from loomlite.components.enrich.geocode import ReverseGeocoder
from loomlite.errors import ConfigurationError

STAGE_PROTOCOLS: dict[str, type] = {
    "stt": SpeechToText,
    "ocr": TextRecognizer,
    "caption": ImageDescriber,
    "embed": TextEmbedder,
    "emotion": EmotionScorer,
    "geocode": ReverseGeocoder,
    "faces": FaceDetector,
}


def test_registry_lists_every_stage() -> None:
    assert DEFAULT_REGISTRY.stages() == (
        "caption",
        "embed",
        "emotion",
        "faces",
        "geocode",
        "ocr",
        "stt",
        "vad",
    )


def test_registry_lists_names_per_stage() -> None:
    assert backend_names("stt") == ("faster-whisper", "simulated")
    assert backend_names("emotion") == ("prosody-heuristic", "simulated-prosody")
    assert backend_names("geocode") == ("reverse-geocoder", "simulated-places")
    assert backend_names("vad") == ("energy", "silero", "simulated", "webrtc")


def test_unknown_stage_lists_valid_stages() -> None:
    with pytest.raises(ConfigurationError) as caught:
        load_backend("translate", "simulated")

    message = str(caught.value)
    assert "'translate'" in message
    for stage in DEFAULT_REGISTRY.stages():
        assert stage in message
    assert caught.value.key == "stage"


def test_unknown_name_lists_valid_names() -> None:
    with pytest.raises(ConfigurationError) as caught:
        load_backend("vad", "cobra")

    message = str(caught.value)
    assert "'cobra'" in message
    assert "energy, silero, simulated, webrtc" in message
    assert caught.value.key == "vad.backend"


def test_missing_extra_names_pip_command() -> None:
    registry = BackendRegistry(
        [
            BackendSpec(
                "stt",
                "faster-whisper",
                "loomlite.components.ai.stt:SimulatedSpeechToText",
                simulated=False,
                extra="stt",
                requires=("loomlite_test_module_that_is_not_installed",),
            )
        ]
    )

    with pytest.raises(ConfigurationError) as caught:
        registry.load("stt", "faster-whisper")

    message = str(caught.value)
    assert "pip install 'loomlite[stt]'" in message
    assert "loomlite_test_module_that_is_not_installed" in message


def test_missing_modules_are_listed_in_plural() -> None:
    registry = BackendRegistry(
        [
            BackendSpec(
                "vad",
                "silero",
                "loomlite.components.ai.vad:SimulatedVad",
                simulated=False,
                extra="vad",
                requires=("loomlite_absent_one", "loomlite_absent_two"),
            )
        ]
    )

    with pytest.raises(ConfigurationError) as caught:
        registry.load("vad", "silero")

    message = str(caught.value)
    assert "Python modules loomlite_absent_one, loomlite_absent_two" in message
    assert "which are not installed" in message


def test_failed_import_names_pip_command() -> None:
    registry = BackendRegistry(
        [
            BackendSpec(
                "ocr",
                "rapidocr",
                "loomlite_test_module_that_is_not_installed.engine:Recognizer",
                simulated=False,
                extra="ocr",
            )
        ]
    )

    with pytest.raises(ConfigurationError) as caught:
        registry.load("ocr", "rapidocr")

    message = str(caught.value)
    assert "failed to import" in message
    assert "pip install 'loomlite[ocr]'" in message
    assert isinstance(caught.value.__cause__, ImportError)


def test_failed_import_without_extra_propagates() -> None:
    registry = BackendRegistry(
        [BackendSpec("ocr", "broken", "loomlite_test_missing.engine:X", True)]
    )

    with pytest.raises(ModuleNotFoundError):
        registry.load("ocr", "broken")


def test_unknown_option_lists_accepted_options() -> None:
    with pytest.raises(ConfigurationError) as caught:
        load_backend("stt", "simulated", beam_size=5)

    message = str(caught.value)
    assert "beam_size" in message
    assert "word_ms" in message
    assert "threshold_dbfs" in message


def test_invalid_option_value_raises_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="word_ms 1 is out of range"):
        load_backend("stt", "simulated", word_ms=1)


def test_options_reach_backend() -> None:
    embedder = load_backend("embed", "simulated-hashing", dimensions=64)

    assert embedder.dimensions == 64
    assert len(embedder.embed(["one text"])[0]) == 64


@pytest.mark.parametrize(
    ("stage", "name"),
    [
        (stage, name)
        for stage in DEFAULT_REGISTRY.stages()
        for name in DEFAULT_REGISTRY.names(stage)
    ],
)
def test_registered_backend_loads(stage: str, name: str) -> None:
    spec = DEFAULT_REGISTRY.spec(stage, name)
    try:
        backend = load_backend(stage, name)
    except ConfigurationError as error:
        # A real backend may need a package or program (such as tesseract)
        # that a developer has not installed. CI installs all of them.
        if spec.simulated or os.environ.get("CI"):
            raise
        pytest.skip(str(error))

    assert isinstance(backend, Backend)
    assert backend.name == name
    assert backend.simulated is spec.simulated
    assert name.startswith("simulated") is backend.simulated
    if stage in STAGE_PROTOCOLS:
        assert isinstance(backend, STAGE_PROTOCOLS[stage])


def test_duplicate_registration_raises() -> None:
    spec = BackendSpec("ocr", "simulated", "loomlite.components.ai.ocr:X", True)
    registry = BackendRegistry([spec])

    with pytest.raises(ValueError, match="already registered"):
        registry.register(spec)


def test_spec_rejects_target_without_attribute() -> None:
    with pytest.raises(ValueError, match=r"expected 'package\.module:attribute'"):
        BackendSpec("ocr", "simulated", "loomlite.components.ai.ocr", True)


def test_spec_rejects_requirements_without_extra() -> None:
    with pytest.raises(ValueError, match="no extra"):
        BackendSpec("ocr", "real", "a.b:C", False, requires=("rapidocr",))

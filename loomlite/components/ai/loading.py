"""Load the backends of every ai stage from AiSettings."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from loomlite.components.ai.backends import (
    DEFAULT_REGISTRY,
    BackendRegistry,
    load_backend,
)
from loomlite.components.ai.caption import ImageDescriber
from loomlite.components.ai.embed import TextEmbedder
from loomlite.components.ai.emotion import EmotionScorer
from loomlite.components.ai.ocr import TextRecognizer
from loomlite.components.ai.stt import SpeechToText
from loomlite.components.ai.vad import EnergyParameters, VadBackend, VadParameters
from loomlite.errors import ConfigurationError
from loomlite.runtime.settings import AiSettings, LoomliteSettings

__all__ = [
    "AiBackends",
    "check_profile_backends",
    "load_ai_backends",
    "model_backends",
    "vad_options",
]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class AiBackends:
    """One loaded backend per ai stage."""

    vad: VadBackend
    stt: SpeechToText
    emotion: EmotionScorer
    ocr: TextRecognizer
    caption: ImageDescriber
    embed: TextEmbedder


def load_ai_backends(settings: AiSettings) -> AiBackends:
    """Load every stage's backend with its options from ``backend_options``.

    Raises the registry's ConfigurationError for an unknown backend name, a
    missing optional dependency or an invalid option.
    """
    options = settings.backend_options
    backends = AiBackends(
        vad=load_backend(
            "vad",
            settings.vad_backend,
            **vad_options(settings.vad_backend, options.get("vad", {})),
        ),
        stt=load_backend("stt", settings.stt_backend, **options.get("stt", {})),
        emotion=load_backend(
            "emotion", settings.emotion_backend, **options.get("emotion", {})
        ),
        ocr=load_backend("ocr", settings.ocr_backend, **options.get("ocr", {})),
        caption=load_backend(
            "caption", settings.caption_backend, **options.get("caption", {})
        ),
        embed=load_backend("embed", settings.embed_backend, **options.get("embed", {})),
    )
    return backends


def check_profile_backends(
    settings: LoomliteSettings, registry: BackendRegistry = DEFAULT_REGISTRY
) -> None:
    """Check that every backend the settings name exists and is installed.

    Covers the ai stages and the enrich geocoder, of enabled components only.
    Nothing is imported or loaded, so this is fast enough to run before a
    session starts. Raises one ConfigurationError that lists every problem,
    each with the pip command that fixes it.
    """
    problems: list[ConfigurationError] = []
    for stage, name in _chosen_backends(settings):
        try:
            registry.check(stage, name)
        except ConfigurationError as error:
            problems.append(error)
    if len(problems) == 1:
        raise problems[0]
    if problems:
        listed = "; ".join(str(problem) for problem in problems)
        raise ConfigurationError(
            f"{len(problems)} backends cannot start: {listed}",
            key=problems[0].key,
        )


def model_backends(
    settings: LoomliteSettings, registry: BackendRegistry = DEFAULT_REGISTRY
) -> list[tuple[str, str]]:
    """Return ``(stage, name)`` of each chosen backend that runs a real model.

    These are the backends an extra installs, of enabled components only.
    Raises ConfigurationError for an unknown backend name.
    """
    return [
        (stage, name)
        for stage, name in _chosen_backends(settings)
        if registry.spec(stage, name).extra is not None
    ]


def _chosen_backends(settings: LoomliteSettings) -> list[tuple[str, str]]:
    """Return ``(stage, name)`` of the backend of every stage that will run."""
    components = settings.components
    chosen: list[tuple[str, str]] = []
    if components.ai.enabled:
        ai = components.ai
        chosen += [
            ("vad", ai.vad_backend),
            ("stt", ai.stt_backend),
            ("emotion", ai.emotion_backend),
            ("ocr", ai.ocr_backend),
            ("caption", ai.caption_backend),
            ("embed", ai.embed_backend),
        ]
    if components.enrich.enabled:
        chosen.append(("geocode", components.enrich.geocode_backend))
    return chosen


def vad_options(backend: str, options: dict[str, Any]) -> dict[str, Any]:
    """Return the keyword options of a VAD backend from flat settings.

    VadParameters fields (``min_silence_ms``, ...) become the ``parameters``
    option, and for the energy backend EnergyParameters fields
    (``margin_db``, ...) become ``energy``. A ``parameters`` or ``energy``
    table is merged with the flat fields, which take precedence. Other keys
    pass through unchanged. Raises ConfigurationError naming the key of an
    invalid value.
    """
    remaining = dict(options)
    result: dict[str, Any] = {}
    lifted: list[tuple[str, type[BaseModel]]] = [("parameters", VadParameters)]
    if backend == "energy":
        lifted.append(("energy", EnergyParameters))

    for option, model in lifted:
        nested = remaining.pop(option, None)
        fields = {
            key: remaining.pop(key)
            for key in list(remaining)
            if key in model.model_fields
        }
        if isinstance(nested, dict):
            fields = {**nested, **fields}
        elif nested is not None:
            result[option] = nested
        if fields:
            result[option] = _validate(model, fields)

    result.update(remaining)
    return result


def _validate(model: type[BaseModel], fields: dict[str, Any]) -> BaseModel:
    try:
        return model.model_validate(fields)
    except ValidationError as error:
        first = error.errors()[0]
        key = ".".join(str(part) for part in first["loc"]) or model.__name__
        raise ConfigurationError(
            f"invalid VAD option {key!r}: {first['msg']} (got {first.get('input')!r})",
            key=f"components.ai.backend_options.vad.{key}",
        ) from error

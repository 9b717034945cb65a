"""Load the backends of every ai stage from AiSettings."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from loomlite.components.ai.backends import load_backend
from loomlite.components.ai.caption import ImageDescriber
from loomlite.components.ai.embed import TextEmbedder
from loomlite.components.ai.emotion import EmotionScorer
from loomlite.components.ai.ocr import TextRecognizer
from loomlite.components.ai.stt import SpeechToText
from loomlite.components.ai.vad import EnergyParameters, VadBackend, VadParameters
from loomlite.errors import ConfigurationError
from loomlite.runtime.settings import AiSettings

__all__ = ["AiBackends", "load_ai_backends", "vad_options"]

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

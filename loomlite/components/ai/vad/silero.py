"""Silero VAD: a small recurrent speech model, run on onnxruntime without torch.

The model file is ``silero_vad_v6.onnx`` from faster-whisper's ``assets``
folder (MIT licence, Silero team). It scores 32 ms windows of 16 kHz audio
(512 samples) and needs the last 64 samples of the previous window in front
of each window, so its inputs are 576 samples wide. Its LSTM state (``h`` and
``c``, each 1x1x128) runs over the batch axis, so a call over N windows in
order equals N calls of one window. Each device stream keeps its own context
and state, which makes the scores independent of how audio is cut into
chunks.
"""

from __future__ import annotations

import importlib.util
import logging
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from loomlite.components.ai.vad.backend import FrameClassifier, VadBackend
from loomlite.components.ai.vad.parameters import VadParameters

__all__ = ["SILERO_FRAME_MS", "SileroVad", "silero_model_path"]

logger = logging.getLogger(__name__)

SILERO_FRAME_MS: Final = 32
"""Window length the model was trained on: 512 samples at 16 kHz."""

_MODEL_RATE: Final = 16_000
_WINDOW: Final = 512
_CONTEXT: Final = 64
_STATE_SHAPE: Final = (1, 1, 128)
_MODEL_FILE: Final = "silero_vad_v6.onnx"
# Segmentation defaults for this model. Its scores already rise before a
# word and fall after it, so one frame of pre-roll and hangover suffices,
# while the energy VAD's 60 and 120 ms widen segments past the speech.
_DEFAULTS: Final = {
    "frame_ms": SILERO_FRAME_MS,
    "pre_roll_ms": SILERO_FRAME_MS,
    "hangover_ms": SILERO_FRAME_MS,
}


def silero_model_path() -> Path:
    """Return the path of the Silero model that faster-whisper ships.

    The package is located without importing it, because importing
    faster-whisper loads CTranslate2 and PyAV. Raises FileNotFoundError when
    the package or its model file is missing.
    """
    spec = importlib.util.find_spec("faster_whisper")
    locations = None if spec is None else spec.submodule_search_locations
    if not locations:
        raise FileNotFoundError(
            "faster-whisper is not installed, so the Silero VAD model is missing; "
            "run: pip install 'loomlite[vad]'"
        )
    path = Path(locations[0]) / "assets" / _MODEL_FILE
    if not path.is_file():
        raise FileNotFoundError(
            f"Silero VAD model {path} is missing from the installed faster-whisper; "
            "reinstall it with: pip install --force-reinstall 'loomlite[vad]'"
        )
    return path


class SileroVad(VadBackend):
    """Voice-activity detection with the Silero ONNX model.

    Frames must be 32 ms, the model's window, so ``parameters.frame_ms``
    defaults to 32 here and any other explicit value raises ValueError.
    ``pre_roll_ms`` and ``hangover_ms`` default to one frame.
    Audio at another sample rate than 16 kHz is resampled per chunk by linear
    interpolation. ``threads`` sets onnxruntime's intra-op threads.
    """

    name = "silero"
    simulated = False

    def __init__(
        self,
        parameters: VadParameters | None = None,
        *,
        model_path: str | None = None,
        threads: int = 1,
        record_decisions: bool = False,
    ) -> None:
        parameters = _with_model_frames(parameters or VadParameters())
        super().__init__(parameters, record_decisions=record_decisions)
        if threads < 1:
            raise ValueError(f"threads must be at least 1, got {threads!r}")
        path = Path(model_path) if model_path is not None else silero_model_path()
        self.model_path = path
        self._session = _open_session(path, threads)

    def create_classifier(self) -> FrameClassifier:
        return _SileroClassifier(self._session)


def _with_model_frames(parameters: VadParameters) -> VadParameters:
    unset = {
        key: value
        for key, value in _DEFAULTS.items()
        if key not in parameters.model_fields_set
    }
    if parameters.frame_ms != SILERO_FRAME_MS and "frame_ms" not in unset:
        raise ValueError(
            f"frame_ms {parameters.frame_ms} does not match the Silero model's "
            f"{SILERO_FRAME_MS} ms window; leave frame_ms unset or set it to "
            f"{SILERO_FRAME_MS}"
        )
    # Validate again, because the new defaults must fit the explicit fields.
    fields = parameters.model_dump(include=parameters.model_fields_set)
    return VadParameters.model_validate({**unset, **fields})


def _open_session(path: Path, threads: int) -> Any:
    import onnxruntime  # type: ignore[import-untyped]

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    try:
        session = onnxruntime.InferenceSession(
            str(path), sess_options=options, providers=["CPUExecutionProvider"]
        )
    except Exception as error:
        raise ValueError(f"cannot load Silero VAD model {path}: {error}") from error
    names = {node.name for node in session.get_inputs()}
    if names != {"input", "h", "c"}:
        raise ValueError(
            f"Silero VAD model {path} has inputs {sorted(names)}, but the "
            "faster-whisper model with inputs c, h and input is expected"
        )
    logger.info("loaded Silero VAD model %s", path)
    return session


class _SileroClassifier:
    """One device's model state: the LSTM state and the last 64 samples."""

    def __init__(self, session: Any) -> None:
        self._session = session
        self._h = np.zeros(_STATE_SHAPE, dtype=np.float32)
        self._c = np.zeros(_STATE_SHAPE, dtype=np.float32)
        self._context = np.zeros(_CONTEXT, dtype=np.float32)

    def score(
        self, frames: npt.NDArray[np.float32], sample_rate: int
    ) -> npt.NDArray[np.float64]:
        windows = _to_model_windows(frames, sample_rate)
        if len(windows) == 0:
            return np.zeros(0)
        contexts = np.empty((len(windows), _CONTEXT), dtype=np.float32)
        contexts[0] = self._context
        contexts[1:] = windows[:-1, -_CONTEXT:]
        batch = np.concatenate((contexts, windows), axis=1)
        probabilities, self._h, self._c = self._session.run(
            None, {"input": batch, "h": self._h, "c": self._c}
        )
        self._context = windows[-1, -_CONTEXT:].copy()
        scores: npt.NDArray[np.float64] = np.asarray(
            probabilities, dtype=np.float64
        ).reshape(len(windows))
        return scores


def _to_model_windows(
    frames: npt.NDArray[np.float32], sample_rate: int
) -> npt.NDArray[np.float32]:
    """Return the frames as 512-sample windows at 16 kHz, one per frame."""
    count, length = frames.shape
    if sample_rate == _MODEL_RATE and length == _WINDOW:
        return np.ascontiguousarray(frames, dtype=np.float32)
    # NOTE: linear interpolation has no anti-aliasing filter, so in audio
    # sampled above 16 kHz, content above 8 kHz folds into the model's band.
    signal = frames.reshape(-1).astype(np.float64)
    source_times = np.arange(len(signal)) / sample_rate
    window_seconds = length / sample_rate
    target_times = (np.arange(count * _WINDOW) + 0.5) * window_seconds / _WINDOW
    resampled = np.interp(target_times, source_times, signal)
    windows: npt.NDArray[np.float32] = resampled.astype(np.float32)
    return windows.reshape(count, _WINDOW)

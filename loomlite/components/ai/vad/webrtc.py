"""The WebRTC VAD (``webrtcvad-wheels``): a light fallback with no model file.

It decides speech or not per frame with a Gaussian mixture model on band
energies. It needs no weights and ran about ten times faster than Silero on
the speech fixtures, but it also marks noise bursts and clicks as speech.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt

from loomlite.components.ai.vad.backend import FrameClassifier, VadBackend
from loomlite.components.ai.vad.parameters import VadParameters
from loomlite.errors import AudioFormatError

__all__ = ["WebRtcVad"]

SAMPLE_RATES: Final = (8_000, 16_000, 32_000, 48_000)
FRAME_MS: Final = (10, 20, 30)


class WebRtcVad(VadBackend):
    """Voice-activity detection with the WebRTC VAD.

    ``aggressiveness`` is WebRTC's mode from 0 (keeps the most speech) to 3
    (rejects the most noise). Frames must be 10, 20 or 30 ms and the sample
    rate 8, 16, 32 or 48 kHz. Each frame scores 1.0 (speech) or 0.0.
    """

    name = "webrtc"
    simulated = False

    def __init__(
        self,
        parameters: VadParameters | None = None,
        *,
        aggressiveness: int = 3,
        record_decisions: bool = False,
    ) -> None:
        parameters = parameters or VadParameters()
        if parameters.frame_ms not in FRAME_MS:
            raise ValueError(
                f"frame_ms {parameters.frame_ms} is not supported by the WebRTC "
                f"VAD; expected one of {', '.join(map(str, FRAME_MS))}"
            )
        if aggressiveness not in range(4):
            raise ValueError(
                f"aggressiveness {aggressiveness!r} is out of range; expected 0-3"
            )
        super().__init__(parameters, record_decisions=record_decisions)
        self.aggressiveness = aggressiveness

    def create_classifier(self) -> FrameClassifier:
        import webrtcvad  # type: ignore[import-untyped]

        return _WebRtcClassifier(webrtcvad.Vad(self.aggressiveness))


class _WebRtcClassifier:
    def __init__(self, vad: object) -> None:
        self._vad = vad

    def score(
        self, frames: npt.NDArray[np.float32], sample_rate: int
    ) -> npt.NDArray[np.float64]:
        if sample_rate not in SAMPLE_RATES:
            raise AudioFormatError(
                f"sample rate {sample_rate} Hz is not supported by the WebRTC VAD; "
                f"expected one of {', '.join(map(str, SAMPLE_RATES))} Hz",
                field="sample_rate",
                actual=sample_rate,
            )
        pcm = np.clip(np.round(frames * 32768.0), -32768, 32767).astype("<i2")
        is_speech = self._vad.is_speech  # type: ignore[attr-defined]
        return np.array(
            [1.0 if is_speech(row.tobytes(), sample_rate) else 0.0 for row in pcm]
        )

"""Voice-activity detection: backends, per-device streams and scoring.

``EnergyVad`` is a real signal-processing detector and ``SimulatedVad`` a fast
deterministic stand-in. Both share ``VadParameters`` for segmentation and
emit ``SpeechSegment`` objects.
"""

from loomlite.components.ai.vad.agreement import frame_agreement, truth_frames
from loomlite.components.ai.vad.backend import FrameClassifier, VadBackend
from loomlite.components.ai.vad.energy import EnergyParameters, EnergyVad
from loomlite.components.ai.vad.parameters import VadParameters
from loomlite.components.ai.vad.segment import SpeechSegment
from loomlite.components.ai.vad.simulated import SimulatedVad
from loomlite.components.ai.vad.stream import VadStream

__all__ = [
    "EnergyParameters",
    "EnergyVad",
    "FrameClassifier",
    "SimulatedVad",
    "SpeechSegment",
    "VadBackend",
    "VadParameters",
    "VadStream",
    "frame_agreement",
    "truth_frames",
]

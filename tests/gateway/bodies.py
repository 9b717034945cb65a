"""Production-shaped request bodies, one builder per kind of payload."""

from __future__ import annotations

import base64
import io
import math
import struct
import uuid
import wave
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.gateway.server import DEVICE

__all__ = [
    "PNG_1X1",
    "consumer_activity",
    "envelope",
    "now_iso",
    "wav_base64",
]

# A valid 1x1 PNG, enough for models that only check base64.
PNG_1X1 = base64.b64encode(
    bytes.fromhex(
        "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
        "1f15c4890000000d49444154789c6360000002000105e27d2e0000000049454e44ae426082"
    )
).decode()


def now_iso(offset: timedelta = timedelta(0)) -> str:
    """Return the current UTC time plus ``offset`` as ISO 8601 text with Z."""
    moment = datetime.now(UTC) + offset
    return moment.isoformat().replace("+00:00", "Z")


def envelope(**fields: Any) -> dict[str, Any]:
    """Return the REST envelope production's mobile app sent, plus ``fields``."""
    return {
        "device_id": DEVICE,
        "recorded_at": now_iso(),
        "timestamp": None,
        "message_id": str(uuid.uuid4()),
        "trace_id": None,
        "services_encountered": ["mobile-client"],
        **fields,
    }


def wav_base64(seconds: float, rate: int = 16_000, frequency: float = 440.0) -> str:
    """Return a mono 16-bit sine WAV of ``seconds`` at ``rate`` Hz, as base64."""
    frames = int(seconds * rate)
    samples = (
        int(12_000 * math.sin(2 * math.pi * frequency * index / rate))
        for index in range(frames)
    )
    pcm = struct.pack(f"<{frames}h", *samples)
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(rate)
        writer.writeframes(pcm)
    return base64.b64encode(buffer.getvalue()).decode()


def consumer_activity(
    consumer_id: str = "stt-worker-1", **reports: Any
) -> dict[str, Any]:
    """Return a consumer activity report; without ``reports``, one that names
    the last message the consumer read."""
    if not reports:
        reports = {
            "last_consumed": {
                "topic": "device.audio.raw",
                "message": {"device_id": DEVICE, "duration_ms": 500},
                "timestamp": now_iso(),
            }
        }
    return {"consumer_id": consumer_id, **reports}

"""Run simulators on a ManualClock and collect what they emit."""

from __future__ import annotations

import base64
import functools
import hashlib
import io
import json
import wave
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import anyio
import numpy as np

from loomlite.clock import ManualClock
from simulators import Simulator, run_simulators

Emitted = list[tuple[str, dict[str, Any]]]


def collect(
    simulators: Sequence[Simulator], start: datetime, until: datetime
) -> Emitted:
    """Run ``simulators`` from ``start`` to ``until``; return (topic, payload)s.

    ``run_simulators`` moves the ManualClock to each next sleeper deadline
    once every task is blocked, so nothing sleeps in real time.
    """
    clock = ManualClock(start)
    emitted: Emitted = []

    async def emit(topic: str, payload: dict[str, Any]) -> None:
        assert clock.now() <= until
        emitted.append((topic, payload))

    anyio.run(functools.partial(run_simulators, simulators, clock, emit, until=until))
    return emitted


def digests(emitted: Emitted) -> list[str]:
    """Return one SHA-256 per message, over its topic and canonical JSON."""
    return [
        hashlib.sha256(
            json.dumps([topic, payload], sort_keys=True).encode("utf-8")
        ).hexdigest()
        for topic, payload in emitted
    ]


def of_topic(emitted: Emitted, topic: str) -> list[dict[str, Any]]:
    return [payload for name, payload in emitted if name == topic]


def audio_field(payload: dict[str, Any]) -> str:
    """Return the base64 audio of a flat, unified or macOS audio payload."""
    body = payload.get("data")
    if isinstance(body, dict):
        return str(body["chunk_data"])
    if "chunk_data" in payload:
        return str(payload["chunk_data"])
    return str(body)


def read_wav(encoded: str) -> tuple[Any, np.ndarray]:
    """Decode base64 WAV text with the standard library's wave module."""
    with wave.open(io.BytesIO(base64.b64decode(encoded)), "rb") as reader:
        params = reader.getparams()
        frames = reader.readframes(params.nframes)
    return params, np.frombuffer(frames, dtype="<i2")

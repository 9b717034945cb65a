"""The audio WebSocket ``/audio/stream/{device_id}`` and ``/audio/connections``.

A client sends JSON text frames ``{"message_type": ..., "data": {...}}``.
``audio_chunk`` frames carry the audio upload's fields (``data`` or
``chunk_data`` as base64, ``sample_rate``, ``duration_ms``, ``recorded_at``
...) without ``device_id``, which the path gives. Each chunk is published to
``device.audio.raw`` and acknowledged with ``{"type": "ack", ...}`` after the
broker stored it. ``ping``, with or without ``data``, gets
``{"type": "pong"}``; anything else gets
``{"type": "error", "message": ...}`` and the connection stays open.

Production left this socket without authentication. Here the handshake
needs ``X-API-Key`` like every write endpoint. A handshake without it, or
with a device id that is not a UUID, is closed (code 1008) before it is
accepted. uvicorn then responds to the handshake with HTTP 403, so the
client sees neither the code nor the reason.
"""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any

from fastapi import Depends, FastAPI, Request, WebSocket, WebSocketDisconnect

from loomlite.errors import LoomliteError, MessageValidationError
from loomlite.gateway.auth import API_KEY_HEADER, key_matches, require_api_key
from loomlite.gateway.body import error_entries
from loomlite.gateway.publisher import check_device_id
from loomlite.gateway.routes.common import trace_fields
from loomlite.gateway.state import GatewayState, gateway_state
from loomlite.gateway.tracing import SERVICE_NAME, RequestTrace, request_trace

__all__ = ["AUDIO_TOPIC", "add_stream_routes"]

logger = logging.getLogger(__name__)

AUDIO_TOPIC = "device.audio.raw"
_STREAM_SERVICE = "websocket-audio"
_POLICY_VIOLATION = 1008


def _error(message: str, **extra: Any) -> dict[str, Any]:
    return {"type": "error", "message": message, **extra}


async def _handle_frame(
    state: GatewayState, device_id: str, text: str
) -> dict[str, Any]:
    """Return the reply to one text frame."""
    try:
        frame = json.loads(text)
    except (ValueError, RecursionError):
        return _error("Invalid JSON format")
    if not isinstance(frame, dict):
        return _error("expected an object with 'message_type' and a 'data' object")
    kind, data = frame.get("message_type"), frame.get("data", {})
    if not isinstance(data, dict):
        return _error("expected an object with 'message_type' and a 'data' object")
    if kind == "ping":
        return {"type": "pong", "timestamp": data.get("timestamp")}
    if kind != "audio_chunk":
        return _error(f"Unknown message type: {str(kind)[:100]}")
    if "data" not in frame:
        return _error("an audio_chunk frame needs a 'data' object with the chunk")
    if data.get("device_id", device_id) != device_id:
        return _error("data.device_id differs from the device id in the path")
    # Production gave every chunk a new trace.
    trace = RequestTrace(str(uuid.uuid4()), (_STREAM_SERVICE, SERVICE_NAME))
    try:
        accepted = await state.publisher.submit(
            AUDIO_TOPIC, {**data, "device_id": device_id}, trace
        )
    except MessageValidationError as exc:
        return _error(
            f"invalid audio_chunk: {len(exc.errors)} field(s) failed",
            errors=error_entries(exc.errors),
        )
    except LoomliteError as exc:
        logger.error("audio chunk of device %s not stored: %s", device_id, exc)
        return _error("Failed to process audio data: the pipeline is not accepting")
    return {
        "type": "ack",
        "message_id": accepted.message_id,
        "status": "success",
        "topic": accepted.topic,
        "trace_id": trace.trace_id,
        "services_encountered": list(trace.services),
    }


async def audio_stream(websocket: WebSocket, device_id: str) -> None:
    state = gateway_state(websocket)
    if not key_matches(websocket.headers.get(API_KEY_HEADER), state.api_key):
        state.metrics.rejected("invalid_api_key")
        await websocket.close(_POLICY_VIOLATION, "missing or invalid X-API-Key")
        return
    if check_device_id(device_id) is not None:
        state.metrics.rejected("invalid_payload")
        await websocket.close(_POLICY_VIOLATION, "device_id must be a UUID")
        return
    await websocket.accept()
    state.connections[device_id] = state.connections.get(device_id, 0) + 1
    state.metrics.websocket_connections += 1
    logger.info("audio stream of device %s opened", device_id)
    try:
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                break
            text = message.get("text")
            if text is None:
                reply = _error("expected text frames holding JSON, got binary")
            else:
                reply = await _handle_frame(state, device_id, text)
            await websocket.send_json(reply)
    except WebSocketDisconnect:
        pass
    finally:
        state.metrics.websocket_connections -= 1
        remaining = state.connections.get(device_id, 1) - 1
        if remaining:
            state.connections[device_id] = remaining
        else:
            state.connections.pop(device_id, None)
        logger.info("audio stream of device %s closed", device_id)


def add_stream_routes(app: FastAPI) -> None:
    app.add_api_websocket_route("/audio/stream/{device_id}", audio_stream)

    async def audio_connections(request: Request) -> dict[str, Any]:
        """Return the open audio streams per device."""
        state = gateway_state(request)
        trace = request_trace(request)
        return {
            "active_connections": sum(state.connections.values()),
            "connected_devices": sorted(state.connections),
            **trace_fields(trace),
        }

    app.add_api_route(
        "/audio/connections",
        audio_connections,
        methods=["GET"],
        dependencies=[Depends(require_api_key)],
        tags=["audio"],
    )

"""The audio WebSocket: a stream of JSON frames from a test client."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidStatus

from tests.gateway.bodies import now_iso, wav_base64
from tests.gateway.server import API_KEY, DEVICE, GatewayRun

pytestmark = pytest.mark.anyio

CHUNKS = 20


def _stream_url(run: GatewayRun, device: str = DEVICE) -> str:
    return f"ws://127.0.0.1:{run.gateway.port}/audio/stream/{device}"


def _open(run: GatewayRun, key: str = API_KEY, device: str = DEVICE) -> Any:
    return connect(
        _stream_url(run, device),
        additional_headers={"X-API-Key": key},
        proxy=None,
        max_size=None,
    )


async def _ask(socket: ClientConnection, frame: Any) -> dict[str, Any]:
    await socket.send(frame if isinstance(frame, str | bytes) else json.dumps(frame))
    answer: dict[str, Any] = json.loads(await socket.recv())
    return answer


def _chunk(index: int, audio: str) -> dict[str, Any]:
    recorded = now_iso(timedelta(milliseconds=100 * index - 60_000))
    return {
        "message_type": "audio_chunk",
        "data": {
            "chunk_data": audio,
            "sample_rate": 16_000,
            "channels": 1,
            "duration_ms": 100,
            "format": "wav",
            "recorded_at": recorded,
            "file_id": f"chunk_{index}",
        },
    }


async def test_stream_chunks_land_as_rows(stored_gateway: GatewayRun) -> None:
    audio = wav_base64(0.1)
    async with _open(stored_gateway) as socket:
        acks = [await _ask(socket, _chunk(index, audio)) for index in range(CHUNKS)]

    assert [ack["type"] for ack in acks] == ["ack"] * CHUNKS
    assert {ack["topic"] for ack in acks} == {"device.audio.raw"}
    rows = await stored_gateway.rows("device_audio_raw", "message_id, device_id")
    assert sorted(row[0] for row in rows) == sorted(ack["message_id"] for ack in acks)
    assert {row[1] for row in rows} == {DEVICE}


async def test_stream_answers_each_frame(gateway: GatewayRun) -> None:
    audio = wav_base64(0.1)
    async with _open(gateway) as socket:
        pong = await _ask(socket, {"message_type": "ping", "data": {"timestamp": 7}})
        unknown = await _ask(socket, {"message_type": "video", "data": {}})
        broken = await _ask(socket, "{not json")
        binary = await _ask(socket, b"\x00\x01")
        invalid = await _ask(
            socket, {"message_type": "audio_chunk", "data": {"chunk_data": audio}}
        )
        other_device = await _ask(
            socket,
            {
                "message_type": "audio_chunk",
                "data": {**_chunk(0, audio)["data"], "device_id": "someone-else"},
            },
        )
        ack = await _ask(socket, _chunk(1, audio))

    assert pong == {"type": "pong", "timestamp": 7}
    assert unknown == {"type": "error", "message": "Unknown message type: video"}
    assert broken == {"type": "error", "message": "Invalid JSON format"}
    assert binary["type"] == "error"
    assert {entry["path"] for entry in invalid["errors"]} == {
        "sample_rate",
        "duration_ms",
        "recorded_at",
    }
    assert other_device["type"] == "error"
    assert ack["type"] == "ack"
    assert ack["services_encountered"] == ["websocket-audio", "ingestion-api"]
    assert gateway.published("device.audio.raw") == 1


async def test_stream_without_key_rejected(gateway: GatewayRun) -> None:
    with pytest.raises(InvalidStatus) as raised:
        async with _open(gateway, key="wrong"):
            pass

    assert raised.value.response.status_code == 403
    assert gateway.published("device.audio.raw") == 0


async def test_stream_bad_device_rejected(gateway: GatewayRun) -> None:
    with pytest.raises(InvalidStatus):
        async with _open(gateway, device="macos-laptop"):
            pass


async def test_stream_listed_in_connections(gateway: GatewayRun) -> None:
    async with _open(gateway) as socket:
        await _ask(socket, {"message_type": "ping", "data": {}})
        listing = (await gateway.client.get("/audio/connections")).json()

    assert listing["active_connections"] == 1
    assert listing["connected_devices"] == [DEVICE]


async def test_stream_frames_without_data(gateway: GatewayRun) -> None:
    async with _open(gateway) as socket:
        pong = await _ask(socket, {"message_type": "ping"})
        unknown = await _ask(socket, {"message_type": "video"})
        chunk = await _ask(socket, {"message_type": "audio_chunk"})
        listed = await _ask(socket, [])

    assert pong == {"type": "pong", "timestamp": None}
    assert unknown == {"type": "error", "message": "Unknown message type: video"}
    assert chunk["type"] == "error"
    assert "'data' object" in chunk["message"]
    assert listed["type"] == "error"
    assert "'message_type'" in listed["message"]

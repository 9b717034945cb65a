"""Authentication, body size limits and bodies that are not JSON.

Every rejection here happens before the broker: the tests check that no
topic, the ingest error topic included, received a record.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import anyio
import httpx
import psutil
import pytest

from loomlite.gateway.routes.media import UPLOADS
from loomlite.gateway.routes.readings import READINGS
from tests.gateway.bodies import envelope, wav_base64
from tests.gateway.server import API_KEY, GatewayRun, run_gateway

pytestmark = pytest.mark.anyio

LIMIT = 4 * 1024 * 1024
HUGE = 300 * 1024 * 1024
MEGABYTE = 1024 * 1024

WRITE_PATHS = [
    *(reading.path for reading in READINGS),
    *(upload.path for upload in UPLOADS),
    "/sensor/batch",
    "/images/batch",
    "/notes/batch",
    "/documents/batch",
    "/ingest/message",
]


def total_published(run: GatewayRun) -> int:
    statistics = run.runtime.broker.statistics()
    return sum(topic.published_total for topic in statistics.topics.values())


@pytest.fixture
async def limited(tmp_path: Path) -> AsyncIterator[GatewayRun]:
    """A gateway whose body limit is 4 MiB."""
    async with run_gateway(tmp_path, max_body_bytes=LIMIT) as run:
        yield run


@pytest.mark.parametrize("path", WRITE_PATHS)
async def test_write_without_key_rejected(gateway: GatewayRun, path: str) -> None:
    async with httpx.AsyncClient(base_url=gateway.url, trust_env=False) as client:
        response = await client.post(path, json=envelope(latitude=1.0, longitude=1.0))

    assert response.status_code == 401
    assert response.json()["detail"].startswith("Missing API key")
    assert response.headers["www-authenticate"] == "ApiKey"
    assert total_published(gateway) == 0


@pytest.mark.parametrize(
    ("key", "detail"),
    [("", "Missing API key"), ("wrong", "Invalid API key")],
    ids=["empty", "wrong"],
)
@pytest.mark.parametrize("path", ["/sensor/gps", "/notes/batch", "/ingest/message"])
async def test_write_with_bad_key_rejected(
    gateway: GatewayRun, path: str, key: str, detail: str
) -> None:
    headers = {"X-API-Key": key}
    async with httpx.AsyncClient(
        base_url=gateway.url, headers=headers, trust_env=False
    ) as client:
        response = await client.post(path, json=envelope(latitude=1.0, longitude=1.0))

    assert response.status_code == 401
    assert response.json()["detail"].startswith(detail)
    assert total_published(gateway) == 0


async def test_key_of_other_length_rejected(gateway: GatewayRun) -> None:
    headers = {"X-API-Key": API_KEY + "x"}
    response = await gateway.client.post(
        "/sensor/gps", json=envelope(latitude=1.0, longitude=1.0), headers=headers
    )

    assert response.status_code == 401
    assert total_published(gateway) == 0


async def test_read_routes_need_no_key(gateway: GatewayRun) -> None:
    async with httpx.AsyncClient(base_url=gateway.url, trust_env=False) as client:
        for path in ("/healthz", "/readyz", "/metrics", "/docs", "/openapi.json"):
            assert (await client.get(path)).status_code == 200, path


def _complete(answer: bytes) -> bool:
    """Return whether ``answer`` contains a whole response with Content-Length."""
    head, separator, body = answer.partition(b"\r\n\r\n")
    if not separator:
        return False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return len(body) >= int(value)
    return True


async def _send_large_body(
    run: GatewayRun,
    *,
    chunked: bool,
    on_progress: Callable[[int], Awaitable[None]] | None = None,
) -> tuple[bytes, int]:
    """Offer a 300 MiB body on a raw connection and return the response and
    the bytes sent before it arrived.

    The body is one 64 KiB block sent again and again, so the test never
    keeps more than that in memory. Reading runs beside writing, because the
    server responds while the client is still sending.
    """
    block = b" " * (64 * 1024)
    framing = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {HUGE}"
    head = (
        "POST /audio/upload HTTP/1.1\r\n"
        f"Host: 127.0.0.1:{run.gateway.port}\r\n"
        f"X-API-Key: {API_KEY}\r\n"
        "Content-Type: application/json\r\n"
        f"{framing}\r\n\r\n"
    ).encode()
    answer = bytearray()
    sent = 0
    stream = await anyio.connect_tcp("127.0.0.1", run.gateway.port)

    async def read(group: anyio.abc.TaskGroup) -> None:
        try:
            while not _complete(answer):
                answer.extend(await stream.receive())
        except (anyio.EndOfStream, anyio.BrokenResourceError, OSError):
            pass
        group.cancel_scope.cancel()

    async def write() -> None:
        nonlocal sent
        frame = f"{len(block):x}\r\n".encode() + block + b"\r\n" if chunked else block
        try:
            await stream.send(head)
            if on_progress is not None:
                await on_progress(sent)
            while sent < HUGE:
                await stream.send(frame)
                sent += len(block)
                if on_progress is not None:
                    await on_progress(sent)
        except (anyio.BrokenResourceError, OSError):
            pass  # the server closed the connection after its response

    async with stream:
        with anyio.fail_after(60):
            async with anyio.create_task_group() as group:
                group.start_soon(read, group)
                group.start_soon(write)
    return bytes(answer), sent


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
async def test_huge_body_rejected_early(limited: GatewayRun, chunked: bool) -> None:
    process = psutil.Process()
    rss_before = process.memory_info().rss
    served: list[int] = []
    result: list[tuple[bytes, int]] = []
    underway = anyio.Event()
    # The server rejects a declared length at once, so that upload can end
    # before its first block. A chunked one goes on until the limit.
    threshold = MEGABYTE if chunked else 0

    async def note_progress(sent: int) -> None:
        if sent >= threshold:
            underway.set()

    async def upload() -> None:
        result.append(
            await _send_large_body(limited, chunked=chunked, on_progress=note_progress)
        )
        underway.set()

    async with anyio.create_task_group() as group:
        group.start_soon(upload)
        await underway.wait()
        # Another request gets its full response while the upload runs.
        response = await limited.client.post(
            "/sensor/gps", json=envelope(latitude=1.0, longitude=2.0)
        )
        served.append(response.status_code)
    answer, sent = result[0]
    growth = process.memory_info().rss - rss_before

    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert b"limit of 4194304 bytes" in answer
    assert sent < 64 * MEGABYTE
    assert growth < 64 * MEGABYTE
    assert served == [201]
    assert limited.published("device.audio.raw") == 0
    assert limited.published("processing.errors.ingest") == 0


async def test_ten_second_wav_passes(limited: GatewayRun) -> None:
    data = wav_base64(10.0, rate=44_100)
    body = envelope(
        data=data, sample_rate=44_100, channels=1, duration_ms=10_000, format="wav"
    )
    response = await limited.client.post("/audio/upload", json=body)

    assert len(data) > 1_150_000
    assert response.status_code == 201, response.text[:500]
    [message] = await limited.records("device.audio.raw")
    assert message.data == base64.b64decode(data)


MARKER = b"RAW-BODY-MARKER"
NOT_JSON: list[tuple[str, bytes, str, int]] = [
    ("binary", b"\x89PNG\r\n\x1a\n\x00\xff" + MARKER, "application/json", 400),
    ("latin-1", b'{"note": "caf\xe9 ' + MARKER + b'"}', "application/json", 400),
    ("broken-json", b'{"latitude": ' + MARKER, "application/json", 400),
    ("octet-stream", b"\x00\x01" + MARKER, "application/octet-stream", 415),
    ("form", b"latitude=1&note=" + MARKER, "application/x-www-form-urlencoded", 415),
    ("huge-integer", b'{"latitude": ' + b"9" * 5000 + b"}", "application/json", 400),
    (
        "lone-surrogate",
        b'{"content": "\\ud800' + MARKER + b'"}',
        "application/json",
        400,
    ),
    ("deep-nesting", b"[" * 100_000 + b"]" * 100_000, "application/json", 400),
    ("empty", b"", "application/json", 400),
]


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [case[1:] for case in NOT_JSON],
    ids=[case[0] for case in NOT_JSON],
)
async def test_non_json_body_rejected(
    gateway: GatewayRun, body: bytes, content_type: str, status: int
) -> None:
    response = await gateway.client.post(
        "/notes/upload", content=body, headers={"Content-Type": content_type}
    )

    assert response.status_code == status, response.text[:300]
    assert response.headers["content-type"] == "application/json"
    assert MARKER not in response.content
    assert isinstance(response.json()["detail"], str)
    assert total_published(gateway) == 0


async def test_multipart_upload_rejected(gateway: GatewayRun) -> None:
    files = {"file": ("photo.png", b"\x89PNG\x00" + MARKER, "image/png")}
    response = await gateway.client.post("/images/upload", files=files)

    assert response.status_code == 415
    assert "multipart/form-data" in response.json()["detail"]
    assert MARKER not in response.content
    assert total_published(gateway) == 0


async def test_json_without_content_type_accepted(gateway: GatewayRun) -> None:
    body = httpx.Request("POST", "/", json=envelope(lux=2.0)).content
    response = await gateway.client.post(
        "/sensor/light", content=body, headers={"Content-Type": ""}
    )

    assert response.status_code == 201, response.text


class _GatewayLogRecords(logging.Handler):
    """Collect the gateway's log records and signal the first one."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []
        self.first = anyio.Event()

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)
        self.first.set()


async def test_client_gone_mid_body_logged_briefly(gateway: GatewayRun) -> None:
    records = _GatewayLogRecords()
    logger = logging.getLogger("loomlite.gateway.app")
    logger.addHandler(records)
    previous_level = logger.level
    logger.setLevel(logging.DEBUG)
    head = (
        "POST /sensor/gps HTTP/1.1\r\n"
        f"Host: 127.0.0.1:{gateway.gateway.port}\r\n"
        f"X-API-Key: {API_KEY}\r\n"
        "Content-Type: application/json\r\n"
        "Content-Length: 500\r\n\r\n"
    ).encode()
    try:
        stream = await anyio.connect_tcp("127.0.0.1", gateway.gateway.port)
        async with stream:
            await stream.send(head + b'{"latitude": 1.0,')
        with anyio.fail_after(10):
            await records.first.wait()
    finally:
        logger.removeHandler(records)
        logger.setLevel(previous_level)
    response = await gateway.client.post(
        "/sensor/gps", json=envelope(latitude=1.0, longitude=2.0)
    )

    assert [record.levelno for record in records.records] == [logging.INFO]
    assert records.records[0].exc_info is None
    assert "disconnected" in records.records[0].getMessage()
    assert "POST /sensor/gps" in records.records[0].getMessage()
    assert response.status_code == 201

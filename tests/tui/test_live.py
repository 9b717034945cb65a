"""The TUI on a pipeline running in this process: follow, trace, redrive,
long work in workers, and refresh under load."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Sequence
from datetime import timedelta
from typing import Any

import anyio
import pytest
from textual.widgets import DataTable, ProgressBar, Static

import loomlite.testing
from loomlite.broker.base import Record
from loomlite.clock import ManualClock
from loomlite.components.enrich.component import EnrichComponent
from loomlite.contract import encode
from loomlite.contract.models import GPSReading
from loomlite.runtime import Runtime
from loomlite.runtime.context import Context
from loomlite.sink.writer import Sink
from loomlite.tui.app import LoomliteApp
from loomlite.tui.screens.errors import ErrorsScreen
from loomlite.tui.screens.messages import MessagesScreen
from loomlite.tui.screens.trace import TraceScreen
from loomlite.tui.sink_reader import SinkReader
from loomlite.tui.source import LiveSource
from loomlite.tui.trace import find_trace
from loomlite.tui.widgets import ConfirmScreen, PayloadView
from tests.tui.conftest import (
    AUDIO,
    GEOCODING_ERRORS,
    GPS,
    GPS_PARTITION,
    START,
    Pipeline,
    gps_fix,
    sink_statistics,
    speech_chunk,
)
from tests.tui.helpers import (
    column,
    finish_workers,
    finish_workers_of,
    show,
    static_text,
)

pytestmark = pytest.mark.anyio

SIZE = (160, 48)


def live_app(
    pipeline: Pipeline, *, refresh_interval: float = 0.1, row_limit: int = 200
) -> LoomliteApp:
    source = LiveSource(
        pipeline.runtime,
        db_url=pipeline.db_url,
        sink_statistics=sink_statistics(pipeline),
    )
    return LoomliteApp(source, refresh_interval=refresh_interval, row_limit=row_limit)


class GatedSource(LiveSource):
    """The runtime's source, whose reads wait at ``gate`` once ``after``
    records were read, so a test can act while a scan is under way."""

    def __init__(self, runtime: Runtime, after: int) -> None:
        super().__init__(runtime)
        self.after = after
        self.read_so_far = 0
        self.reached = anyio.Event()
        self.gate = anyio.Event()

    async def read(
        self, topic: str, partition: int, offset: int, limit: int
    ) -> list[Record]:
        if self.read_so_far >= self.after:
            self.reached.set()
            await self.gate.wait()
        records = await super().read(topic, partition, offset, limit)
        self.read_so_far += len(records)
        return records


class TrimmingSource(LiveSource):
    """The runtime's source, where retention deletes the first six GPS fixes
    right after the GPS partitions are listed, as it does on a busy run
    between a scan's listing and its first read."""

    def __init__(self, pipeline: Pipeline) -> None:
        super().__init__(pipeline.runtime, db_url=pipeline.db_url)
        self.trimmed = False

    async def partitions(self, topic: str) -> list[tuple[int, int, int]]:
        ranges = await super().partitions(topic)
        if topic == GPS and not self.trimmed:
            self.trimmed = True
            clock = self.runtime.clock
            assert isinstance(clock, ManualClock)
            # GPS fixes are kept 30 days, and fix i was recorded at START + 30 s * i.
            clock.set(START + timedelta(days=30, minutes=3))
            assert await self.runtime.broker.enforce_retention() >= 6
        return ranges


def count_rows(pipeline: Pipeline, table: str) -> int:
    path = pipeline.state_dir / "loomlite.db"
    with sqlite3.connect(path) as connection:
        (count,) = connection.execute(f"SELECT COUNT(*) FROM {table}").fetchone()
    return int(count)


async def test_follow_shows_new_messages(live_pipeline: Pipeline) -> None:
    app = live_app(live_pipeline)
    async with app.run_test(size=SIZE) as pilot:
        await show(pilot, "3")
        screen = app.screen
        assert isinstance(screen, MessagesScreen)
        screen.load(GPS, "end")
        await finish_workers(pilot)
        table = screen.query_one("#messages", DataTable)
        assert table.row_count == 12

        await pilot.press("f")
        for index in range(12, 15):
            await live_pipeline.runtime.publish(GPS, gps_fix(index))
        with anyio.fail_after(10):
            while table.row_count < 15:
                await app.wait_for_ticks(1)
                await finish_workers(pilot)
        assert column(table, "partition@offset")[-1].endswith("@14")


async def test_markup_in_data_is_shown_as_text(live_pipeline: Pipeline) -> None:
    # A device id like these is Rich markup that DataTable would parse: the
    # first fails to render, the second would colour the cell.
    for index, device in enumerate(("[/]phone", "[red]phone")):
        await live_pipeline.runtime.publish(GPS, gps_fix(100 + index, device))
    app = live_app(live_pipeline)
    async with app.run_test(size=SIZE) as pilot:
        await show(pilot, "3")
        screen = app.screen
        assert isinstance(screen, MessagesScreen)
        screen.load(GPS, "end")
        await finish_workers(pilot)
        table = screen.query_one("#messages", DataTable)
        assert column(table, "key")[-2:] == ["[/]phone", "[red]phone"]
        await pilot.pause()
        assert app.is_running


async def test_trace_audio_chunk_to_transcript_rows(live_pipeline: Pipeline) -> None:
    chunk = speech_chunk()
    await live_pipeline.runtime.publish(AUDIO, chunk)
    await live_pipeline.runtime.run_until_idle(timeout=60)

    app = live_app(live_pipeline)
    async with app.run_test(size=SIZE) as pilot:
        await show(pilot, "4")
        screen = app.screen
        assert isinstance(screen, TraceScreen)
        screen.start_lookup(chunk.trace_id)
        await finish_workers(pilot)
        hops = screen.query_one("#hops", DataTable)
        where = column(hops, "where")
        kinds = column(hops, "kind")
        topics = [
            w.split("[")[0] for w, k in zip(where, kinds, strict=True) if k == "message"
        ]
        tables = [w for w, k in zip(where, kinds, strict=True) if k == "row"]

        assert where[0].startswith("device.audio.raw[")
        assert "media.audio.vad_filtered" in topics
        assert "media.text.transcribed.words" in topics
        assert "analysis.text.embedded.transcripts" in topics
        assert "device_audio_raw" in tables
        assert "media_text_transcribed_words" in tables
        assert "analysis_text_embedded_transcripts" in tables
        # Each message follows its input: audio, segment, transcript, embedding.
        assert topics.index("media.audio.vad_filtered") < topics.index(
            "media.text.transcribed.words"
        )
        assert topics.index("media.text.transcribed.words") < topics.index(
            "analysis.text.embedded.transcripts"
        )
        latencies = column(hops, "hop latency")
        message_latencies = [
            latency
            for latency, kind in zip(latencies, kinds, strict=True)
            if kind == "message"
        ]
        assert message_latencies[0] == "—"
        assert all(value == "+0 ms" for value in message_latencies[1:])
        assert {
            latency
            for latency, kind in zip(latencies, kinds, strict=True)
            if kind == "row"
        } == {"—"}

        # The audio bytes are summarised, never dumped.
        hops.move_cursor(row=0)
        await pilot.pause()
        payload = static_text(screen.query_one(PayloadView))
        assert "<audio/wav, " in payload
        assert chunk.model_dump(mode="json")["data"][:40] not in payload


async def test_redrive_from_errors_stores_rows(
    live_pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = EnrichComponent.on_fixes_for_geocoding
    broken = {"on": True}

    async def geocode(
        self: EnrichComponent, messages: Sequence[GPSReading], context: Context
    ) -> None:
        if broken["on"]:
            raise RuntimeError("geocoder unavailable")
        await original(self, messages, context)

    monkeypatch.setattr(EnrichComponent, "on_fixes_for_geocoding", geocode)
    runtime = live_pipeline.runtime
    geocoded_before = count_rows(live_pipeline, "location_address_geocoded")
    for index in range(20, 25):
        await runtime.publish(GPS, gps_fix(index, device="phone-7"))
    await runtime.run_until_idle(timeout=30)
    assert count_rows(live_pipeline, "location_address_geocoded") == geocoded_before

    app = live_app(live_pipeline)
    async with app.run_test(size=SIZE) as pilot:
        await show(pilot, "5")
        await finish_workers(pilot)
        screen = app.screen
        assert isinstance(screen, ErrorsScreen)
        table = screen.query_one("#errors", DataTable)
        assert table.row_count >= 1
        assert set(column(table, "error topic")) == {GEOCODING_ERRORS}
        assert set(column(table, "status")) == {"pending"}

        broken["on"] = False
        await pilot.press("R")
        await finish_workers(pilot)
        await runtime.run_until_idle(timeout=30)

        assert set(column(table, "status")) == {"redriven"}
        assert count_rows(live_pipeline, "location_address_geocoded") == (
            geocoded_before + 5
        )
        await app.wait_for_ticks(1)
        await finish_workers(pilot)
        assert set(column(table, "status")) == {"redriven"}


async def test_discard_all_after_confirmation(
    live_pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def geocode(
        self: EnrichComponent, messages: Sequence[GPSReading], context: Context
    ) -> None:
        raise RuntimeError("geocoder unavailable")

    monkeypatch.setattr(EnrichComponent, "on_fixes_for_geocoding", geocode)
    runtime = live_pipeline.runtime
    for index in range(30, 33):
        await runtime.publish(GPS, gps_fix(index, device="phone-8"))
    await runtime.run_until_idle(timeout=30)

    app = live_app(live_pipeline)
    async with app.run_test(size=SIZE) as pilot:
        await show(pilot, "5")
        await finish_workers(pilot)
        screen = app.screen
        assert isinstance(screen, ErrorsScreen)
        table = screen.query_one("#errors", DataTable)

        await pilot.press("D")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        await finish_workers(pilot)

        assert set(column(table, "status")) == {"discarded"}
        lag = runtime.broker.statistics().lag("loomlite.redrive", GEOCODING_ERRORS)
        assert lag == 0


# Offsets of the phone-9 fixes in the 100,000 records of long_topic.
EARLY_PHONE_9 = 10_000
LATE_PHONE_9 = 99_999
LONG_TOPIC_RECORDS = 100_000


@pytest.fixture
async def long_topic() -> AsyncIterator[loomlite.testing.Pipeline]:
    """A pipeline whose GPS topic contains 100,000 records, all from phone-0
    but two from phone-9, and whose database has the schema but no rows."""
    harness = loomlite.testing.pipeline(
        components=[], inputs=[GPS], start=START, observe_handlers=False
    )
    async with harness as running:
        broker = running.broker
        value = encode(gps_fix(0, device="phone-0"))
        markers = {
            EARLY_PHONE_9: encode(gps_fix(2, device="phone-9")),
            LATE_PHONE_9: encode(gps_fix(1, device="phone-9")),
        }
        for offset in range(LONG_TOPIC_RECORDS):
            await broker.publish(GPS, markers.get(offset, value), key="phone-0")
        yield running


class GatedSinkReader(SinkReader):
    """A sink reader whose queries wait at ``gate`` once ``after`` queries
    ran, so a test can act while a trace lookup reads the tables."""

    def __init__(self, url: str, after: int) -> None:
        super().__init__(url)
        self.after = after
        self.queries = 0
        self.reached = anyio.Event()
        self.gate = anyio.Event()

    async def _fetch(self, statement: Any) -> Any:
        if self.queries >= self.after:
            self.reached.set()
            await self.gate.wait()
        self.queries += 1
        return await super()._fetch(statement)


async def write_gps_rows(db_url: str, count: int) -> None:
    """Write ``count`` GPS rows of other traces through the sink."""
    base = gps_fix(0, device="phone-0")
    # The table keeps one row per device and recorded_at, so each row gets
    # its own time.
    messages = [
        base.model_copy(
            update={
                "message_id": f"filler-{index}",
                "trace_id": f"trace-filler-{index}",
                "recorded_at": base.recorded_at - timedelta(seconds=index + 1),
            }
        )
        for index in range(count)
    ]
    async with Sink(db_url, batch_size=1000) as sink:
        for first in range(0, count, 1000):
            await sink.write(GPS, messages[first : first + 1000])


async def test_replay_from_offset_in_worker(
    long_topic: loomlite.testing.Pipeline,
) -> None:
    start = 60_000
    source = GatedSource(long_topic.runtime, after=20_000)
    app = LoomliteApp(source, refresh_interval=0.1)
    async with app.run_test(size=SIZE) as pilot:
        await show(pilot, "3")
        screen = app.screen
        assert isinstance(screen, MessagesScreen)
        progress = screen.query_one(ProgressBar)

        screen.load(GPS, str(start), "device=phone-9")
        with anyio.fail_after(30):
            await source.reached.wait()
        await pilot.press("m")
        await pilot.press("2")

        assert app.masked
        assert app.current_mode == "topics"
        assert progress.display
        assert progress.total == LONG_TOPIC_RECORDS - start
        assert progress.progress == 20_000
        assert [w for w in screen.workers if w.is_running]

        source.gate.set()
        await finish_workers_of(pilot, screen)
        assert source.read_so_far == LONG_TOPIC_RECORDS - start
        assert screen.scanned == LONG_TOPIC_RECORDS - start
        assert not progress.display
        # The phone-9 fix before the start offset is not delivered.
        assert [d.record.offset for d in screen.records] == [LATE_PHONE_9]
        assert [d.trace_id for d in screen.records] == ["trace-gps-phone-9-001"]


async def test_replay_from_offset_delivers_tail(
    long_topic: loomlite.testing.Pipeline,
) -> None:
    app = LoomliteApp(LiveSource(long_topic.runtime), refresh_interval=0.1)
    async with app.run_test(size=SIZE) as pilot:
        await show(pilot, "3")
        screen = app.screen
        assert isinstance(screen, MessagesScreen)

        screen.load(GPS, str(LONG_TOPIC_RECORDS - 10), "")
        await finish_workers(pilot)
        offsets = [d.record.offset for d in screen.records]
        assert offsets == list(range(LONG_TOPIC_RECORDS - 10, LONG_TOPIC_RECORDS))
        devices = [d.payload["device_id"] for d in screen.records]
        assert devices == ["phone-0"] * 9 + ["phone-9"]


async def test_trace_lookup_on_large_database(
    long_topic: loomlite.testing.Pipeline,
) -> None:
    db_url = long_topic.db_url
    assert db_url is not None
    filler = 30_000
    await write_gps_rows(db_url, filler)
    async with Sink(db_url) as sink:
        await sink.write(GPS, [gps_fix(1, device="phone-9")])

    source = GatedSource(long_topic.runtime, after=50_000)
    sink_reader = GatedSinkReader(db_url, after=5)
    source.sink = sink_reader
    app = LoomliteApp(source, refresh_interval=0.1)
    async with app.run_test(size=SIZE) as pilot:
        await show(pilot, "4")
        screen = app.screen
        assert isinstance(screen, TraceScreen)
        progress = screen.query_one(ProgressBar)

        await pilot.press("slash")
        await pilot.press(*"trace-gps-phone-9-001")
        await pilot.press("enter")
        with anyio.fail_after(30):
            await source.reached.wait()
        await pilot.press("m")
        # Messages are the first 80 % of the lookup, tables the last 20 %.
        assert app.masked
        assert progress.display
        assert progress.progress == pytest.approx(40.0)

        source.gate.set()
        with anyio.fail_after(30):
            await sink_reader.reached.wait()
        await pilot.press("m")
        assert not app.masked
        assert progress.display
        in_tables = progress.progress
        assert 80.0 < in_tables < 100.0
        assert [w for w in screen.workers if w.is_running]

        sink_reader.gate.set()
        await finish_workers_of(pilot, screen)
        assert not progress.display
        hops = screen.query_one("#hops", DataTable)
        assert column(hops, "where") == [
            f"{GPS}[{GPS_PARTITION}]@{LATE_PHONE_9}",
            "device_sensor_gps_raw",
        ]
        assert count_rows_at(db_url, "device_sensor_gps_raw") == filler + 1


async def test_scan_skips_records_retention_deleted(
    live_pipeline: Pipeline,
) -> None:
    app = LoomliteApp(TrimmingSource(live_pipeline), refresh_interval=0.1)
    async with app.run_test(size=SIZE) as pilot:
        await show(pilot, "3")
        screen = app.screen
        assert isinstance(screen, MessagesScreen)
        screen.load(GPS, "start")
        await finish_workers(pilot)
        status = static_text(screen.query_one("#messages-status", Static))
        table = screen.query_one("#messages", DataTable)

        assert "out of range" not in status
        assert "6 message(s) shown" in status
        assert [
            offset.split("@")[1] for offset in column(table, "partition@offset")
        ] == [str(index) for index in range(6, 12)]


async def test_trace_skips_records_retention_deleted(
    live_pipeline: Pipeline,
) -> None:
    source = TrimmingSource(live_pipeline)

    hops = await find_trace(source, "trace-gps-phone-0-009")

    assert source.trimmed
    fixes = [hop.where for hop in hops if hop.where.startswith(GPS)]
    assert len(fixes) == 1
    assert fixes[0].endswith("@9")


async def test_masking_hides_personal_data_in_errors(
    live_pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def geocode(
        self: EnrichComponent, messages: Sequence[GPSReading], context: Context
    ) -> None:
        raise RuntimeError("no place; ask ana.novak@example.org on +386 40 123 456")

    monkeypatch.setattr(EnrichComponent, "on_fixes_for_geocoding", geocode)
    runtime = live_pipeline.runtime
    await runtime.publish(GPS, gps_fix(40, device="phone-6"))
    await runtime.run_until_idle(timeout=30)

    app = live_app(live_pipeline)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("m")
        await show(pilot, "5")
        await finish_workers(pilot)
        screen = app.screen
        assert isinstance(screen, ErrorsScreen)
        error_text = static_text(screen.query_one("#error-text", Static))

        await show(pilot, "6")
        components = app.screen.query_one("#components", DataTable)
        components.move_cursor(row=components.get_row_index("enrich"))
        await app.wait_for_ticks(1)
        await pilot.pause()
        last_errors = " ".join(column(components, "last error"))
        pane = static_text(app.screen.query_one("#last-error", Static))

    assert "RuntimeError: no place" in error_text
    assert "no place" in pane
    for text in (error_text, last_errors, pane):
        assert "ana.novak@example.org" not in text
        assert "+386 40 123 456" not in text


async def test_errors_keys_report_nothing_to_do(live_pipeline: Pipeline) -> None:
    app = live_app(live_pipeline)
    statuses: dict[str, str] = {}
    async with app.run_test(size=SIZE) as pilot:
        await show(pilot, "5")
        await finish_workers(pilot)
        screen = app.screen
        assert isinstance(screen, ErrorsScreen)
        for key in ("r", "R", "d", "D"):
            await pilot.press(key)
            await finish_workers(pilot)
            statuses[key] = static_text(screen.query_one("#errors-status", Static))

    assert "no error message selected" in statuses["r"]
    assert "no pending error message" in statuses["R"]
    assert "no error message selected" in statuses["d"]
    assert "no pending error message" in statuses["D"]


def count_rows_at(db_url: str, table: str) -> int:
    path = db_url.removeprefix("sqlite:///")
    with sqlite3.connect(path) as connection:
        (count,) = connection.execute(f"SELECT COUNT(*) FROM {table}").fetchone()
    return int(count)

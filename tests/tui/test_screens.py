"""Each screen opened with the pilot, on a frozen state directory (attached)."""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from pathlib import Path

import pytest
from textual.widgets import DataTable, Input, Static, Tree

from loomlite.contract import CATALOG
from loomlite.tui.app import LoomliteApp
from loomlite.tui.payload import MASK
from loomlite.tui.screens.components import ComponentsScreen
from loomlite.tui.screens.errors import ErrorsScreen
from loomlite.tui.screens.messages import MessagesScreen
from loomlite.tui.screens.sink import SinkScreen
from loomlite.tui.screens.topics import TopicsScreen
from loomlite.tui.screens.topology import TopologyScreen
from loomlite.tui.screens.trace import TraceScreen
from loomlite.tui.source import AttachSource
from loomlite.tui.widgets import ConfirmScreen, PayloadView
from tests.tui.helpers import column, finish_workers, show, static_text, tree_labels

pytestmark = pytest.mark.anyio

SIZE = (160, 48)


def attached(state_dir: Path) -> LoomliteApp:
    return LoomliteApp(AttachSource(state_dir), refresh_interval=0.1)


async def load_messages(pilot, topic: str, position: str, filters: str = "") -> None:
    screen = pilot.app.screen
    assert isinstance(screen, MessagesScreen)
    screen.load(topic, position, filters)
    await finish_workers(pilot)


async def test_topology_shows_components_and_tables(frozen_state_dir: Path) -> None:
    app = attached(frozen_state_dir)
    async with app.run_test(size=SIZE) as pilot:
        await show(pilot, "1")
        assert isinstance(app.screen, TopologyScreen)
        tree = app.screen.query_one(Tree)
        labels = tree_labels(tree)

        assert any(label.startswith("ai [running]") for label in labels)
        assert any(label.startswith("enrich [running]") for label in labels)
        assert any(
            "publishes location.address.geocoded 1.6/s ⇒ location_address_geocoded"
            in label
            for label in labels
        )
        assert any("consumes device.sensor.gps.raw 1.6/s" in label for label in labels)
        assert any("errors processing.errors.geocoding 2" in label for label in labels)
        assert any(label.startswith("orphans") for label in labels)

        await pilot.press("c")
        assert not any(child.is_expanded for child in tree.root.children)
        await pilot.press("e")
        assert all(child.is_expanded for child in tree.root.children)


async def test_topics_lists_rates_and_lag(frozen_state_dir: Path) -> None:
    app = attached(frozen_state_dir)
    async with app.run_test(size=SIZE) as pilot:
        await show(pilot, "2")
        assert isinstance(app.screen, TopicsScreen)
        topics = app.screen.query_one("#topics", DataTable)
        names = column(topics, "topic")
        gps = names.index("device.sensor.gps.raw")

        assert column(topics, "published")[gps] == "16"
        assert column(topics, "rate")[gps] == "1.6/s"
        assert column(topics, "trend")[gps] == "▂▅▃▇▆█"
        assert column(topics, "retained")[gps] == "16"
        assert "processing.errors.geocoding" in names

        topics.move_cursor(row=gps)
        await pilot.pause()
        lag = app.screen.query_one("#lag", DataTable)
        groups = column(lag, "group")
        assert "persist.device.sensor.gps.raw" in groups
        assert set(column(lag, "lag")) == {"0"}

        await pilot.press("a")
        assert topics.row_count == len(CATALOG)
        await pilot.press("a", "s")
        rates = [float(rate.removesuffix("/s")) for rate in column(topics, "rate")]
        assert rates == sorted(rates, reverse=True)


async def test_messages_browse_and_filter(frozen_state_dir: Path) -> None:
    app = attached(frozen_state_dir)
    async with app.run_test(size=SIZE) as pilot:
        await show(pilot, "3")
        screen = app.screen
        assert isinstance(screen, MessagesScreen)
        table = screen.query_one("#messages", DataTable)

        await load_messages(pilot, "device.sensor.gps.raw", "start")
        assert table.row_count == 16

        await load_messages(pilot, "device.sensor.gps.raw", "start", "device=phone-1")
        assert table.row_count == 8
        assert set(column(table, "key")) == {"phone-1"}

        await load_messages(pilot, "device.sensor.gps.raw", "2025-06-02T08:03:00Z")
        times = column(table, "time")
        assert len(times) == 4
        assert min(times) == "2025-06-02T08:03:00.000+00:00"

        await load_messages(pilot, "device.sensor.gps.raw", "start", "provider=network")
        assert table.row_count == 0


async def test_messages_topic_typed_on_open(frozen_state_dir: Path) -> None:
    app = attached(frozen_state_dir)
    async with app.run_test(size=SIZE) as pilot:
        await show(pilot, "3")
        screen = app.screen
        assert isinstance(screen, MessagesScreen)
        topic_input = screen.query_one("#topic-input", Input)
        assert app.focused is topic_input

        # "n" and "t" are screen keys too; typed into the field they are text.
        for key in "device.sensor.gps.raw":
            await pilot.press("full_stop" if key == "." else key)
        await pilot.press("enter")
        await finish_workers(pilot)

        assert topic_input.value == "device.sensor.gps.raw"
        assert screen.query_one("#messages", DataTable).row_count > 0
        await pilot.press("escape", "o")
        assert app.focused is topic_input


async def test_messages_reject_bad_input(frozen_state_dir: Path) -> None:
    app = attached(frozen_state_dir)
    async with app.run_test(size=SIZE) as pilot:
        await show(pilot, "3")
        status = app.screen.query_one("#messages-status", Static)

        await load_messages(pilot, "device.sensor.nothing", "end")
        assert "unknown topic 'device.sensor.nothing'" in static_text(status)

        await load_messages(pilot, "device.sensor.gps.raw", "yesterday")
        assert "invalid start position 'yesterday'" in static_text(status)

        await load_messages(pilot, "device.sensor.gps.raw", "end", "phone-0")
        assert "invalid filter 'phone-0'" in static_text(status)


async def test_masking_hides_personal_fields(frozen_state_dir: Path) -> None:
    app = attached(frozen_state_dir)
    async with app.run_test(size=SIZE) as pilot:
        await show(pilot, "3")
        await load_messages(pilot, "external.email.events.raw", "start")
        payload = app.screen.query_one(PayloadView)
        assert "ana.novak@example.org" in static_text(payload)

        await pilot.press("m")
        shown = static_text(payload)
        assert app.masked
        assert "ana.novak@example.org" not in shown
        assert "+386 40 123 456" not in shown
        assert "Dinner on day" not in shown
        assert MASK in shown
        fields = " ".join(
            column(app.screen.query_one("#messages", DataTable), "fields")
        )
        assert "Dinner" not in fields

        await load_messages(pilot, "device.sensor.gps.raw", "start")
        shown = static_text(payload)
        assert "46.434981" not in shown
        assert '"46.4…"' in shown


async def test_trace_from_selected_message(frozen_state_dir: Path) -> None:
    app = attached(frozen_state_dir)
    async with app.run_test(size=SIZE) as pilot:
        await show(pilot, "3")
        await load_messages(pilot, "device.sensor.gps.raw", "start", "device=phone-0")
        await pilot.press("t")
        await finish_workers(pilot)

        assert isinstance(app.screen, TraceScreen)
        assert app.screen.trace_id == "trace-gps-phone-0-000"
        hops = app.screen.query_one("#hops", DataTable)
        where = column(hops, "where")
        assert where[0].startswith("device.sensor.gps.raw[")
        assert where[0].endswith("]@0")
        assert where[1] == "device_sensor_gps_raw"
        assert any(w.startswith("location.address.geocoded[") for w in where)
        assert "location_address_geocoded" in where
        assert column(hops, "kind").count("row") == 2


async def test_errors_lists_and_asks_before_discard(frozen_state_dir: Path) -> None:
    app = attached(frozen_state_dir)
    async with app.run_test(size=SIZE) as pilot:
        await show(pilot, "5")
        await finish_workers(pilot)
        screen = app.screen
        assert isinstance(screen, ErrorsScreen)
        table = screen.query_one("#errors", DataTable)
        assert column(table, "stage") == ["geocoding", "geocoding"]
        assert column(table, "exception") == ["RuntimeError", "RuntimeError"]
        assert column(table, "status") == ["pending", "pending"]
        assert "geocoder unavailable" in static_text(screen.query_one("#error-text"))

        await pilot.press("d")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("n")
        assert app.screen is screen
        assert column(table, "status") == ["pending", "pending"]

        # Attached, the broker belongs to the other process.
        await pilot.press("r")
        await finish_workers(pilot)
        assert column(table, "status") == ["pending", "pending"]


async def test_components_show_counters(frozen_state_dir: Path) -> None:
    app = attached(frozen_state_dir)
    async with app.run_test(size=SIZE) as pilot:
        await show(pilot, "6")
        assert isinstance(app.screen, ComponentsScreen)
        table = app.screen.query_one("#components", DataTable)
        assert column(table, "component") == ["ai", "enrich", "monitor", "persist"]
        assert set(column(table, "state")) == {"running"}
        assert column(table, "p99")[0] == "2.30 ms"
        assert "ai: no error so far" in static_text(app.screen.query_one("#last-error"))


async def test_sink_counts_rows(frozen_state_dir: Path) -> None:
    app = attached(frozen_state_dir)
    async with app.run_test(size=SIZE) as pilot:
        await show(pilot, "7")
        assert isinstance(app.screen, SinkScreen)
        table = app.screen.query_one("#tables", DataTable)
        names = column(table, "table")
        assert "device_sensor_gps_raw" in names
        gps = names.index("device_sensor_gps_raw")
        assert column(table, "rows written")[gps] == "16"
        assert column(table, "rows stored")[gps] == "—"

        await pilot.press("c")
        await finish_workers(pilot)
        assert column(table, "rows stored")[gps] == "16"


async def test_command_palette_opens_screens(frozen_state_dir: Path) -> None:
    app = attached(frozen_state_dir)
    async with app.run_test(size=SIZE) as pilot:
        await app.wait_for_ticks(1)
        await pilot.press("ctrl+p")
        await pilot.press(*"Sink screen")
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, SinkScreen)


async def test_digit_keys_type_into_inputs(frozen_state_dir: Path) -> None:
    app = attached(frozen_state_dir)
    async with app.run_test(size=SIZE) as pilot:
        await show(pilot, "3")
        app.screen.query_one("#position-input", Input).focus()
        await pilot.press("1", "2")
        assert isinstance(app.screen, MessagesScreen)
        assert app.screen.query_one("#position-input", Input).value == "12"
        await pilot.press("escape", "1")
        assert isinstance(app.screen, TopologyScreen)


async def test_header_warns_of_stale_statistics(
    frozen_state_dir: Path, tmp_path: Path
) -> None:
    """A ``loomlite up`` killed with SIGKILL leaves its last statistics.json
    behind, so the header shows when the file stopped changing."""
    statistics = tmp_path / "statistics.json"
    shutil.copy(frozen_state_dir / "statistics.json", statistics)
    # The frozen run's monitor samples every 2 s, so a minute is 30 samples.
    old = time.time() - 60
    os.utime(statistics, (old, old))
    # The timer never fires, so each refresh_now reads the file once.
    app = LoomliteApp(AttachSource(tmp_path), refresh_interval=3600)
    async with app.run_test(size=SIZE) as pilot:
        await app.refresh_now()
        stale_title = app.sub_title
        os.utime(statistics)
        await app.refresh_now()
        await pilot.pause()
        fresh_title = app.sub_title

    assert stale_title.startswith(f"attached to {tmp_path}")
    assert re.search(r"statistics\.json not updated for \d+ s", stale_title)
    assert "loomlite up" in stale_title
    assert fresh_title == f"attached to {tmp_path}"


async def test_trace_empty_id_prompts_for_one(frozen_state_dir: Path) -> None:
    app = attached(frozen_state_dir)
    async with app.run_test(size=SIZE) as pilot:
        await show(pilot, "4")
        screen = app.screen
        assert isinstance(screen, TraceScreen)
        screen.start_lookup("trace-gps-phone-0-000")
        await finish_workers(pilot)
        trace_input = screen.query_one("#trace-input", Input)
        trace_input.focus()
        trace_input.value = "   "
        await pilot.press("enter")
        await finish_workers(pilot)
        status = static_text(screen.query_one("#trace-status", Static))
        rows = screen.query_one("#hops", DataTable).row_count

    assert "enter a trace_id" in status
    assert "trace-gps-phone-0-000" not in status
    assert rows == 0


async def test_next_page_walks_every_message(frozen_state_dir: Path) -> None:
    app = LoomliteApp(AttachSource(frozen_state_dir), refresh_interval=0.1, row_limit=5)
    pages: list[list[str]] = []
    async with app.run_test(size=SIZE) as pilot:
        await show(pilot, "3")
        await load_messages(pilot, "device.sensor.gps.raw", "start")
        table = app.screen.query_one("#messages", DataTable)
        pages.append(column(table, "partition@offset"))
        for _ in range(4):
            await pilot.press("n")
            await finish_workers(pilot)
            pages.append(column(table, "partition@offset"))
        status = static_text(app.screen.query_one("#messages-status", Static))

    positions = [position for page in pages[:4] for position in page]
    assert [len(page) for page in pages[:4]] == [5, 5, 5, 1]
    assert len(set(positions)) == 16
    # Past the last message, the last page stays on screen.
    assert pages[4] == pages[3]
    assert "no more messages" in status


@pytest.mark.parametrize(
    "document",
    [
        {"version": 1, "components": []},
        {"version": 1, "topics": {"x": None}},
        {"version": 1, "groups": {"g": 1}},
        {"version": 1, "clock_time": 5},
    ],
    ids=["list-for-object", "null-topic", "number-for-group", "number-for-time"],
)
async def test_malformed_statistics_keep_app_running(
    tmp_path: Path, document: dict[str, object]
) -> None:
    (tmp_path / "statistics.json").write_text(json.dumps(document), encoding="utf-8")
    source = AttachSource(tmp_path)
    with pytest.raises(ValueError, match=r"statistics\.json is malformed"):
        await source.snapshot()

    app = LoomliteApp(AttachSource(tmp_path), refresh_interval=3600)
    async with app.run_test(size=SIZE) as pilot:
        await app.refresh_now()
        await pilot.pause()
        running = app.is_running

    assert running


async def test_trace_without_broker_file_shows_rows(
    frozen_state_dir: Path, tmp_path: Path
) -> None:
    """A run on the memory broker leaves no broker.sqlite3, but its rows are
    in the database, so the trace shows the rows and why messages are missing."""
    for name in ("loomlite.db", "statistics.json", "topology.json"):
        shutil.copy(frozen_state_dir / name, tmp_path / name)
    app = attached(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await show(pilot, "4")
        screen = app.screen
        assert isinstance(screen, TraceScreen)
        screen.start_lookup("trace-gps-phone-0-000")
        await finish_workers(pilot)
        status = static_text(screen.query_one("#trace-status", Static))
        hops = screen.query_one("#hops", DataTable)
        kinds = column(hops, "kind")
        where = column(hops, "where")

    assert kinds == ["row", "row"]
    assert "device_sensor_gps_raw" in where
    assert "0 message(s), 2 row(s)" in status
    assert "no broker.sqlite3" in status

"""The loomlite TUI: screens that inspect a running pipeline.

A fixed-rate timer takes one statistics snapshot from the source per tick
and hands it to the visible screen inside one ``batch_update``, so a tick
costs one redraw whatever the message rate. Long work (replays, trace
lookups, redrives) runs in Textual workers, so keys are handled meanwhile.

A pipeline that the app runs itself gets an event loop of its own in another
thread: at ``--speed max`` its handlers keep that loop busy, and the app's
loop keeps drawing from the snapshots the pipeline publishes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial

import anyio
import anyio.to_thread
from textual.app import App, ScreenStackError, SystemCommand
from textual.binding import Binding
from textual.css.query import NoMatches
from textual.reactive import reactive
from textual.screen import Screen

from loomlite.errors import LoomliteError
from loomlite.runtime.settings import LoomliteSettings
from loomlite.session import SessionReport
from loomlite.tui.screens.base import LoomliteScreen
from loomlite.tui.screens.components import ComponentsScreen
from loomlite.tui.screens.errors import ErrorsScreen
from loomlite.tui.screens.messages import MessagesScreen
from loomlite.tui.screens.sink import SinkScreen
from loomlite.tui.screens.topics import TopicsScreen
from loomlite.tui.screens.topology import TopologyScreen
from loomlite.tui.screens.trace import TraceScreen
from loomlite.tui.snapshot import Snapshot
from loomlite.tui.source import Source, ThreadedLiveSource

__all__ = ["SCREENS", "LoomliteApp", "SessionOptions"]

logger = logging.getLogger(__name__)

# (mode name, key, title, screen class) in the order of their keys.
SCREENS: tuple[tuple[str, str, str, type[LoomliteScreen]], ...] = (
    ("topology", "1", "Topology", TopologyScreen),
    ("topics", "2", "Topics", TopicsScreen),
    ("messages", "3", "Messages", MessagesScreen),
    ("trace", "4", "Trace", TraceScreen),
    ("errors", "5", "Errors", ErrorsScreen),
    ("components", "6", "Components", ComponentsScreen),
    ("sink", "7", "Sink", SinkScreen),
)

# Frame intervals kept for the p50/p99 that ``loomlite bench`` reports.
_FRAME_HISTORY = 10_000
# Real seconds the app waits for its pipeline to drain when it exits other
# than with q.
_CANCEL_DRAIN_SECONDS = 30.0


@dataclass(frozen=True, slots=True)
class SessionOptions:
    """A pipeline for the app to run in-process, as ``loomlite up`` would."""

    settings: LoomliteSettings
    virtual: bool = False


def _settle_future(
    future: asyncio.Future[SessionReport],
    *,
    result: SessionReport | None = None,
    error: BaseException | None = None,
) -> None:
    """Set ``future``'s exception or result unless it is done already."""
    if future.done():
        return
    if error is not None:
        future.set_exception(error)
    else:
        assert result is not None
        future.set_result(result)


class LoomliteApp(App[None]):
    """Inspect a pipeline: pass a ready ``source``, or ``session`` to run one.

    ``refresh_interval`` is the real seconds between snapshot ticks and
    ``row_limit`` caps the rows any table renders.
    """

    TITLE = "loomlite"
    MODES = {name: screen for name, _, _, screen in SCREENS}
    BINDINGS = [
        *(
            Binding(key, f"app.switch_mode('{name}')", title)
            for name, key, title, _ in SCREENS
        ),
        Binding("m", "toggle_mask", "Mask"),
        Binding("q", "quit", "Quit"),
    ]

    masked: reactive[bool] = reactive(False)

    def __init__(
        self,
        source: Source | None = None,
        *,
        session: SessionOptions | None = None,
        refresh_interval: float = 0.5,
        row_limit: int = 200,
        start_mode: str = "topics",
    ) -> None:
        super().__init__()
        if (source is None) == (session is None):
            raise ValueError("pass exactly one of source and session")
        if not 0 < refresh_interval < math.inf:
            raise ValueError(
                "refresh_interval must be a positive, finite number of seconds, "
                f"got {refresh_interval!r}"
            )
        self.source = source
        self.session = session
        self.refresh_interval = refresh_interval
        self.row_limit = row_limit
        self.start_mode = start_mode
        self.latest: Snapshot | None = None
        # Seconds between frames drawn after a tick, and when the last one
        # was drawn (time.monotonic), for ``loomlite bench``.
        self.frame_intervals: deque[float] = deque(maxlen=_FRAME_HISTORY)
        self.last_frame_at: float | None = None
        self.ticks = 0
        self.batched_updates = 0
        self.session_error: BaseException | None = None
        self.session_report: SessionReport | None = None
        self.session_done = asyncio.Event()
        # A trace_id for the Trace screen to look up once it is shown.
        self.pending_trace: str | None = None
        self._frame_pending = False
        self._taking_snapshot = False
        self._tick_event = asyncio.Event()
        self._stop = anyio.Event()
        # Sets the stop event in the pipeline's own loop, once that runs.
        self._stop_pipeline: Callable[[], object] | None = None
        self._snapshot_failures = 0
        self._notice: str | None = None
        self._finished: asyncio.Future[SessionReport] | None = None
        self._pipeline_thread: threading.Thread | None = None

    # -- lifecycle ----------------------------------------------------------

    def on_mount(self) -> None:
        self.sub_title = "starting" if self.source is None else self.source.description
        self.switch_mode(self.start_mode)
        if self.session is not None:
            self.run_worker(self._run_session(), name="session", group="session")
        self.set_interval(self.refresh_interval, self._tick)

    async def _run_session(self) -> None:
        app_loop = asyncio.get_running_loop()
        finished: asyncio.Future[SessionReport] = app_loop.create_future()
        self._finished = finished

        def settle(outcome: Callable[[], object]) -> None:
            # A closed app loop raises RuntimeError: the app has exited already.
            with contextlib.suppress(RuntimeError):
                app_loop.call_soon_threadsafe(outcome)

        def run_pipeline() -> None:
            try:
                report = anyio.run(self._pipeline, app_loop)
            except BaseException as exc:  # handed to the app's loop as is
                error = exc
                settle(partial(_settle_future, finished, error=error))
            else:
                settle(partial(_settle_future, finished, result=report))

        thread = threading.Thread(
            target=run_pipeline, name="loomlite-pipeline", daemon=True
        )
        self._pipeline_thread = thread
        thread.start()
        try:
            await asyncio.shield(finished)
        except asyncio.CancelledError:
            # Textual cancels workers on exit, so on_unmount waits for the drain.
            self._request_stop()
            raise
        except (LoomliteError, OSError):
            pass  # _take_outcome reports it
        except BaseException:
            self.session_done.set()
            raise
        self._take_outcome(finished)

    def _take_outcome(self, finished: asyncio.Future[SessionReport]) -> None:
        """Store and show the report or error of a finished pipeline."""
        self.session_done.set()
        error = finished.exception()
        if error is not None:
            if not isinstance(error, LoomliteError | OSError):
                raise error
            self.session_error = error
            logger.error(
                "the pipeline stopped with an error: %s", error, exc_info=error
            )
            self.notify(
                f"the pipeline stopped: {error}",
                severity="error",
                timeout=30,
                markup=False,
            )
            return
        report = finished.result()
        self.session_report = report
        self.sub_title = f"{self.sub_title} (finished)"
        self.notify(
            f"run finished: {sum(report.messages.values()):,} messages, "
            f"{sum(report.rows.values()):,} rows, {report.total_errors} errors",
            timeout=10,
        )

    async def on_unmount(self) -> None:
        """Drain a pipeline that is still running when the app exits without q.

        Textual cancels the session worker on exit without waiting for it, so
        without this wait the process could end before the database is flushed.
        """
        finished = self._finished
        if finished is None:
            return
        if not finished.done():
            self._request_stop()
            logger.info("the app is exiting: draining the pipeline")
            await asyncio.wait([finished], timeout=_CANCEL_DRAIN_SECONDS)
        if not finished.done():
            logger.error(
                "the pipeline did not drain within %s s of the app's exit; "
                "rows it had not written yet are lost",
                _CANCEL_DRAIN_SECONDS,
            )
            return
        if not self.session_done.is_set():
            try:
                self._take_outcome(finished)
            except Exception as exc:  # an unmount handler must not raise
                self.session_error = exc
                logger.error("the pipeline failed: %s", exc, exc_info=exc)
        thread = self._pipeline_thread
        if thread is not None:
            # The thread ends right after it hands over the outcome.
            await anyio.to_thread.run_sync(thread.join)

    async def _pipeline(self, app_loop: asyncio.AbstractEventLoop) -> SessionReport:
        """Run the session; this runs in the pipeline's thread and loop."""
        from loomlite._collector import freeze_startup_objects
        from loomlite.session import run_session

        options = self.session
        assert options is not None
        settings = options.settings
        loop = asyncio.get_running_loop()
        stop = anyio.Event()
        self._stop_pipeline = partial(loop.call_soon_threadsafe, stop.set)
        if self._stop.is_set():
            stop.set()
        source: ThreadedLiveSource | None = None

        def on_start(runtime: object, clock: object, persist: object) -> None:
            nonlocal source
            freeze_startup_objects()
            source = ThreadedLiveSource(
                runtime,  # type: ignore[arg-type]
                loop,
                interval=self.refresh_interval,
                db_url=settings.db_url,
                sink_statistics=persist.sink_statistics,  # type: ignore[attr-defined]
            )
            source.start_publishing()
            # A closed app loop raises RuntimeError: the app has exited.
            with contextlib.suppress(RuntimeError):
                app_loop.call_soon_threadsafe(self._use_source, source)

        try:
            return await run_session(
                settings, virtual=options.virtual, stop=stop, on_start=on_start
            )
        finally:
            if source is not None:
                source.stop_publishing()

    def _use_source(self, source: Source) -> None:
        self.source = source
        self.sub_title = source.description

    def _request_stop(self) -> None:
        self._stop.set()
        stop_pipeline = self._stop_pipeline
        if stop_pipeline is not None:
            # A closed pipeline loop raises RuntimeError: it has stopped.
            with contextlib.suppress(RuntimeError):
                stop_pipeline()

    async def action_quit(self) -> None:
        """Stop an in-process pipeline (drain and flush), then exit."""
        if self.session is not None and not self._stop.is_set():
            self._request_stop()
            self.notify("stopping: draining the pipeline and flushing the database")
            await self.workers.wait_for_complete()
        if self.source is not None:
            await self.source.close()
        self.exit()

    # -- refresh ------------------------------------------------------------

    async def refresh_now(self) -> None:
        """Take and draw a snapshot now, outside the timer's schedule."""
        await self._tick()

    async def _tick(self) -> None:
        # A snapshot still in flight (a slow disk in attached mode) makes the
        # timer skip this tick rather than queue a second read.
        if self.source is None or self._taking_snapshot:
            return
        self._taking_snapshot = True
        try:
            snapshot = await self.source.snapshot()
        except (OSError, ValueError, KeyError, LoomliteError) as exc:
            self._report_snapshot_failure(exc)
            return
        finally:
            self._taking_snapshot = False
        self._snapshot_failures = 0
        self._show_notice(self.source)
        self.latest = snapshot
        try:
            screen = self.screen
        except ScreenStackError:
            return  # the app is shutting down and has popped its screens
        if isinstance(screen, LoomliteScreen) and screen.is_mounted:
            try:
                with self.batch_update():
                    screen.show_snapshot(snapshot)
            except NoMatches:
                # The screen's widgets are gone: the app is shutting down.
                return
            self.batched_updates += 1
            if not self._frame_pending:
                # Textual (8.2) runs call_after_refresh callbacks once the
                # screen has composited its pending update, so the frame
                # interval includes the drawing.
                self._frame_pending = True
                self.call_after_refresh(self._frame_drawn)
        self.ticks += 1
        self._tick_event.set()
        self._tick_event = asyncio.Event()

    def _show_notice(self, source: Source) -> None:
        """Put the source's notice, if any, into the header beside its name."""
        notice = source.notice
        if notice == self._notice:
            return
        if notice is not None and self._notice is None:
            logger.warning("%s: %s", source.description, notice)
        self._notice = notice
        description = source.description
        self.sub_title = description if notice is None else f"{description}: {notice}"

    def _frame_drawn(self) -> None:
        self._frame_pending = False
        now = time.monotonic()
        if self.last_frame_at is not None:
            self.frame_intervals.append(now - self.last_frame_at)
        self.last_frame_at = now

    def _report_snapshot_failure(self, error: BaseException) -> None:
        self._snapshot_failures += 1
        # Logged and shown once per run of failures, not on every tick.
        if self._snapshot_failures == 1:
            logger.warning("reading statistics failed: %s", error, exc_info=error)
            self.notify(
                f"reading statistics failed: {error}", severity="warning", markup=False
            )

    async def wait_for_ticks(self, count: int = 1) -> None:
        """Wait until ``count`` more snapshots have been drawn."""
        target = self.ticks + count
        while self.ticks < target:
            await self._tick_event.wait()

    # -- actions ------------------------------------------------------------

    def action_toggle_mask(self) -> None:
        self.masked = not self.masked

    def watch_masked(self, masked: bool) -> None:
        screen = self.screen
        if isinstance(screen, LoomliteScreen):
            screen.mask_changed(masked)
        self.notify("masking on: personal fields hidden" if masked else "masking off")

    def trace(self, trace_id: str) -> None:
        """Open the Trace screen and look up ``trace_id``."""
        self.pending_trace = trace_id
        self.switch_mode("trace")

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        for name, key, title, _ in SCREENS:
            yield SystemCommand(
                f"{title} screen",
                f"Show the {title} screen (key {key})",
                lambda name=name: self.switch_mode(name),
            )
        yield SystemCommand(
            "Toggle masking",
            "Hide or show message text, emails, phone numbers and coordinates (key m)",
            self.action_toggle_mask,
        )

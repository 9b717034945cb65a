"""The supervisor: runs every component and restarts those that crash.

A crash is an exception outside a handler: in ``setup``, in ``run``, from the
broker, or from a dispatcher that could not write an error topic. Handler
exceptions never get here, because dispatchers send those records to error
topics. A crashed component restarts after an exponential backoff while the
other components keep running.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

import anyio
from anyio.abc import TaskGroup, TaskStatus

from loomlite.runtime.activity import Activity
from loomlite.runtime.codec import Codec
from loomlite.runtime.component import Component
from loomlite.runtime.context import ComponentContext
from loomlite.runtime.dispatcher import Dispatcher
from loomlite.runtime.settings import SupervisorSettings
from loomlite.runtime.statistics import ComponentState, ComponentStatistics
from loomlite.runtime.topology import Route

__all__ = ["ComponentRunner", "Supervisor", "restart_delay"]

logger = logging.getLogger(__name__)


def restart_delay(attempt: int, settings: SupervisorSettings) -> float:
    """Return the backoff in seconds before restart ``attempt`` (counting from 1).

    The delay starts at ``restart_initial_delay`` and doubles with each
    consecutive crash up to ``restart_max_delay``.
    """
    delay = settings.restart_initial_delay * 2.0 ** (attempt - 1)
    return float(min(delay, settings.restart_max_delay))


def _leaf_exceptions(error: BaseException) -> list[BaseException]:
    if isinstance(error, BaseExceptionGroup):
        leaves: list[BaseException] = []
        for inner in error.exceptions:
            leaves.extend(_leaf_exceptions(inner))
        return leaves
    return [error]


def describe_crash(error: BaseException) -> tuple[str, BaseException]:
    """Return a one-line description of a crash and the exception to log.

    Task groups wrap exceptions in exception groups, and a group of one is
    unwrapped.
    """
    leaves = _leaf_exceptions(error)
    shown = leaves[0] if len(leaves) == 1 else error
    text = "; ".join(f"{type(leaf).__name__}: {leaf}" for leaf in leaves)
    return text, shown


class ComponentRunner:
    """Supervises one component: starts it, restarts it after crashes, stops it."""

    def __init__(
        self,
        component: Component,
        groups: dict[str, tuple[Route, ...]],
        context: ComponentContext,
        codec: Codec,
        settings: SupervisorSettings,
        activity: Activity,
    ) -> None:
        self.component = component
        self.groups = groups
        self.context = context
        self.counters = context.counters
        self.dispatchers: tuple[Dispatcher, ...] = ()
        self._codec = codec
        self._settings = settings
        self._activity = activity
        self._stop = anyio.Event()
        self._background = anyio.CancelScope()

    @property
    def name(self) -> str:
        return self.component.name

    @property
    def state(self) -> ComponentState:
        return self.counters.state

    def _set_state(self, state: ComponentState) -> None:
        self.counters.state = state
        self._activity.notify()

    def stop(self) -> None:
        """Ask the component to stop: cancel ``run`` and stop taking records."""
        self._stop.set()
        self._background.cancel()
        for dispatcher in self.dispatchers:
            dispatcher.stop()

    async def supervise(self) -> None:
        """Run the component until ``stop``, restarting it after each crash."""
        self.component.bind(self.context)
        try:
            await self._supervise()
        finally:
            if self.state is not ComponentState.FAILED:
                self._set_state(ComponentState.STOPPED)
                logger.info(
                    "component %r stopped", self.name, extra={"component": self.name}
                )

    async def _supervise(self) -> None:
        consecutive = 0
        while not self._stop.is_set():
            self._set_state(ComponentState.STARTING)
            started = time.monotonic()
            try:
                await self._run_once()
            except Exception as exc:
                if self._stop.is_set():
                    self._log_crash_while_stopping(exc)
                    return
                # A component that ran long enough counts as healthy again.
                if time.monotonic() - started >= self._settings.restart_healthy_after:
                    consecutive = 0
                consecutive += 1
                if not await self._restart_after(exc, consecutive):
                    return

    async def _restart_after(self, error: BaseException, attempt: int) -> bool:
        """Log a crash and wait out the backoff. Return False once FAILED."""
        text, shown = describe_crash(error)
        self.counters.last_error = text
        limit = self._settings.restart_max_attempts
        extra = {"component": self.name, "attempt": attempt}
        if limit is not None and attempt > limit:
            logger.error(
                "component %r crashed %d times in a row, more than the limit of "
                "%d; it stays FAILED until the runtime restarts: %s",
                self.name,
                attempt,
                limit,
                text,
                exc_info=shown,
                extra=extra,
            )
            self._set_state(ComponentState.FAILED)
            return False

        delay = restart_delay(attempt, self._settings)
        self.counters.restarts += 1
        logger.warning(
            "component %r crashed (%s); restart attempt %d in %.2f s",
            self.name,
            text,
            attempt,
            delay,
            exc_info=shown,
            extra=extra,
        )
        self._set_state(ComponentState.RESTARTING)
        # Backoff uses real time (anyio), not the runtime clock, because it
        # paces the process's recovery, not event time. A stop ends it early.
        with anyio.move_on_after(delay):
            await self._stop.wait()
        return True

    def _log_crash_while_stopping(self, error: BaseException) -> None:
        text, shown = describe_crash(error)
        self.counters.last_error = text
        logger.warning(
            "component %r raised while stopping: %s",
            self.name,
            text,
            exc_info=shown,
            extra={"component": self.name},
        )

    async def _run_once(self) -> None:
        """Set the component up, run it until ``stop``, then tear it down."""
        await self.component.setup()
        try:
            async with anyio.create_task_group() as group:
                await self._start_tasks(group)
                self._set_state(ComponentState.RUNNING)
                logger.info(
                    "component %r running", self.name, extra={"component": self.name}
                )
                await self._stop.wait()
                # Again, for dispatchers created after an early stop request.
                self.stop()
            # Only a clean stop gets here: the dispatchers have finished.
            await self._drain()
        finally:
            self.dispatchers = ()
            with anyio.CancelScope(shield=True):
                await self._teardown()

    async def _start_tasks(self, group: TaskGroup) -> None:
        self.dispatchers = tuple(
            Dispatcher(
                name,
                routes,
                self.context,
                self._codec,
                self._settings,
                self._activity,
            )
            for name, routes in self.groups.items()
        )
        for dispatcher in self.dispatchers:
            group.start_soon(dispatcher.run, name=f"{self.name}:{dispatcher.group}")
        if self.component.has_background_loop:
            self._background = anyio.CancelScope()
            group.start_soon(self._run_background, name=f"{self.name}:run")
        for dispatcher in self.dispatchers:
            await dispatcher.ready.wait()

    async def _run_background(self) -> None:
        with self._background:
            await self.component.run()
            logger.info(
                "background loop of component %r finished",
                self.name,
                extra={"component": self.name},
            )

    async def _drain(self) -> None:
        try:
            await self.component.drain()
        except Exception as exc:
            # The component is stopping anyway, so the failure is logged and
            # teardown still runs. What drain did not publish is lost.
            logger.error(
                "drain of component %r failed: %s: %s",
                self.name,
                type(exc).__name__,
                exc,
                exc_info=exc,
                extra={"component": self.name},
            )

    async def _teardown(self) -> None:
        try:
            await self.component.teardown()
        except Exception as exc:
            logger.warning(
                "teardown of component %r failed: %s: %s",
                self.name,
                type(exc).__name__,
                exc,
                exc_info=exc,
                extra={"component": self.name},
            )


class Supervisor:
    """Runs one ComponentRunner per component in a task group."""

    def __init__(
        self,
        runners: Sequence[ComponentRunner],
        settings: SupervisorSettings,
        activity: Activity,
    ) -> None:
        self.runners = {runner.name: runner for runner in runners}
        self._settings = settings
        self._activity = activity
        self._started = False
        self._finished = anyio.Event()
        self._scope: anyio.CancelScope | None = None

    async def run(
        self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED
    ) -> None:
        """Supervise every component until ``stop``; signal once all are launched."""
        self._started = True
        try:
            async with anyio.create_task_group() as group:
                self._scope = group.cancel_scope
                for runner in self.runners.values():
                    group.start_soon(runner.supervise, name=f"supervise:{runner.name}")
                task_status.started()
        finally:
            self._finished.set()
            self._activity.notify()

    async def stop(self, timeout: float | None = None) -> None:
        """Stop every component and wait for them, at most ``timeout`` seconds.

        Handlers already running finish first. When the timeout passes, the
        remaining work is cancelled and its records stay uncommitted.
        """
        timeout = self._settings.drain_timeout if timeout is None else timeout
        for runner in self.runners.values():
            runner.stop()
        if not self._started:
            return
        with anyio.move_on_after(timeout) as deadline:
            await self._finished.wait()
        if deadline.cancelled_caught and self._scope is not None:
            busy = [
                name
                for name, runner in self.runners.items()
                if runner.counters.in_flight
            ]
            logger.warning(
                "components did not stop within %.1f s (handlers still running in "
                "%s); cancelling them",
                timeout,
                ", ".join(busy) or "none",
            )
            self._scope.cancel()
            await self._finished.wait()

    def statistics(self) -> dict[str, ComponentStatistics]:
        return {
            name: runner.counters.snapshot() for name, runner in self.runners.items()
        }

    @property
    def finished(self) -> bool:
        return self._finished.is_set()

"""The Component base class that every pipeline component derives from."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, ClassVar

from loomlite.errors import ComponentError, LifecycleError
from loomlite.runtime.subscription import Subscription, declared_subscriptions

if TYPE_CHECKING:
    from loomlite.runtime.context import ComponentContext

__all__ = ["Component"]

_NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_-]*$")


class Component:
    """A unit of the pipeline that the supervisor starts, watches and restarts.

    A subclass sets ``name`` and ``publishes`` (the topics it may publish to)
    and marks its handlers with ``@subscribe``. It may override ``setup`` and
    ``teardown``, which run around every start and restart, ``run``, a
    background loop for simulators and fetchers that runs beside the handlers,
    and ``drain``, which publishes held state when the runtime stops.

    The supervisor binds a ComponentContext before ``setup``; ``self.context``
    gives the clock, settings, logger and direct publishing from then on.
    """

    name: str = ""
    publishes: tuple[str, ...] = ()
    subscriptions: ClassVar[tuple[Subscription, ...]] = ()

    _context: ComponentContext | None = None

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        cls.subscriptions = declared_subscriptions(cls)
        if isinstance(cls.publishes, str):
            raise ComponentError(
                f"{cls.__name__}.publishes must be a tuple of topic names, got the "
                f"string {cls.publishes!r}; write ({cls.publishes!r},)"
            )

    @property
    def context(self) -> ComponentContext:
        """Runtime services for this component, available from ``setup`` on."""
        if self._context is None:
            raise LifecycleError(
                f"component {self.name!r}", "not bound to a runtime", "use its context"
            )
        return self._context

    def bind(self, context: ComponentContext) -> None:
        """Attach the runtime services; the supervisor calls this before setup."""
        self._context = context

    def validate_declaration(self) -> None:
        """Raise ComponentError when the component's name is invalid."""
        if not _NAME_PATTERN.match(self.name):
            raise ComponentError(
                f"component {type(self).__name__} has invalid name {self.name!r}: "
                "set 'name' to lower-case letters, digits, '_' or '-'"
            )

    @property
    def has_background_loop(self) -> bool:
        """Whether the subclass overrides ``run``."""
        return type(self).run is not Component.run

    async def setup(self) -> None:
        """Prepare resources before the handlers and ``run`` start."""

    async def teardown(self) -> None:
        """Release what ``setup`` took.

        Runs after each stop or crash that follows a successful ``setup``.
        """

    async def drain(self) -> None:
        """Publish what the component still holds when the runtime stops.

        Stateful components override it to flush event-time windows and open
        segments through ``self.context.publish``. It runs once per clean
        stop, after the handlers have stopped taking records and before
        ``teardown``, while the broker is still open. It does not run after a
        crash, so a restart loses the held state. ``Runtime.flush`` also
        calls it, possibly several times, while the handlers still run, so
        it must not conflict with a running handler and must leave the
        component able to take more input.
        """

    async def run(self) -> None:
        """Produce messages in the background. The base class has no loop.

        The supervisor cancels the loop when the runtime stops. If it returns,
        the component keeps running its handlers. If it raises, the whole
        component restarts.
        """

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}>"

"""Serving the gateway with uvicorn inside the runtime's event loop.

uvicorn runs as a task of the ingest component, not as a process of its own.
It installs no signal handlers, because the process that owns the runtime
(``loomlite up``, a test) handles signals and stops the runtime. Stopping
cancels the task, and the server then closes its socket and lets the
requests in progress finish before the broker closes.
"""

from __future__ import annotations

import contextlib
import logging
import socket
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import anyio
import uvicorn
from starlette.types import ASGIApp

from loomlite import __version__
from loomlite.clock import Clock
from loomlite.components.intake import Intake
from loomlite.contract.catalog import Catalog
from loomlite.errors import ConfigurationError
from loomlite.gateway.app import create_app
from loomlite.gateway.metrics import Metrics
from loomlite.gateway.publisher import Publisher
from loomlite.gateway.state import GatewayState
from loomlite.runtime.settings import HttpSettings

if TYPE_CHECKING:
    from loomlite.runtime.runtime import RuntimeStatistics
    from loomlite.sink import Sink

__all__ = ["Gateway", "open_socket", "serve_app"]

logger = logging.getLogger(__name__)

# Seconds that a stop waits for requests in progress before cancelling them.
_GRACEFUL_SHUTDOWN = 5


def open_socket(host: str, port: int) -> socket.socket:
    """Bind a listening TCP socket; raise ConfigurationError when it cannot."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP, not the default 0: asyncio turns Nagle's algorithm off
    # only on sockets whose protocol is TCP. With it on, every response on a
    # kept-alive connection waited about 40 ms for a delayed ACK on Linux.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ConfigurationError(
            f"the HTTP gateway cannot listen on {host}:{port}: {exc.strerror or exc}; "
            "choose another address with --http HOST:PORT or the [http] table",
            key="http.port",
        ) from exc
    sock.set_inheritable(True)
    return sock


def _no_sink() -> None:
    return None


class _EmbeddedServer(uvicorn.Server):
    """A uvicorn server that leaves signal handling to the process owner."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class Gateway:
    """The HTTP gateway of one ingest component.

    ``open`` binds the socket, so a busy port fails the start at once;
    ``serve`` then handles requests until it is cancelled. ``url`` and
    ``port`` are known from ``open`` on, which matters when port 0 picks a
    free one.
    """

    def __init__(self, settings: HttpSettings, *, api_key: str) -> None:
        self.settings = settings
        self.api_key = api_key
        self.metrics = Metrics()
        self.started = anyio.Event()
        self.state: GatewayState | None = None
        self._socket: socket.socket | None = None

    @property
    def port(self) -> int:
        if self._socket is None:
            return self.settings.port
        port: int = self._socket.getsockname()[1]
        return port

    @property
    def url(self) -> str:
        host = self.settings.host
        shown = f"[{host}]" if ":" in host else host
        return f"http://{shown}:{self.port}"

    def open(
        self,
        intake: Intake,
        clock: Clock,
        catalog: Catalog,
        ready: Callable[[], bool],
        *,
        sink: Callable[[], Sink | None] | None = None,
        statistics: Callable[[], RuntimeStatistics] | None = None,
    ) -> None:
        """Bind the socket and build the application around ``intake``.

        ``sink`` returns the running sink of the database endpoints, or None
        while there is none. Without a sink they respond with 503.
        ``statistics`` returns the runtime's snapshot.
        """
        if self.started.is_set():
            self.started = anyio.Event()  # a restart opens the gateway again
        if self._socket is None:
            self._socket = open_socket(self.settings.host, self.settings.port)
        self.state = GatewayState(
            publisher=Publisher(intake, self.metrics, catalog),
            api_key=self.api_key,
            metrics=self.metrics,
            clock=clock,
            catalog=catalog,
            max_body_bytes=self.settings.max_body_bytes,
            ready=ready,
            version=__version__,
            sink=sink or _no_sink,
            statistics=statistics,
        )

    def close(self) -> None:
        """Close the socket if ``serve`` did not take it over."""
        sock, self._socket = self._socket, None
        if sock is not None:
            sock.close()

    async def serve(self) -> None:
        """Handle requests until cancelled, then shut down gracefully."""
        if self.state is None or self._socket is None:
            raise RuntimeError("Gateway.open must run before Gateway.serve")
        url = self.url
        try:
            await serve_app(
                create_app(self.state),
                self._socket,
                max_body_bytes=self.settings.max_body_bytes,
                started=self.started,
            )
        finally:
            self.close()
            logger.info("HTTP gateway on %s stopped", url)


async def serve_app(
    app: ASGIApp, sock: socket.socket, *, max_body_bytes: int, started: anyio.Event
) -> None:
    """Serve ``app`` on the bound ``sock`` until cancelled.

    ``started`` is set once the server accepts connections. A cancellation
    stops taking connections and lets requests in progress finish, for at
    most five seconds, before it ends the call.
    """
    config = uvicorn.Config(
        app,
        log_config=None,
        access_log=False,
        lifespan="off",
        ws_max_size=max_body_bytes,
        timeout_graceful_shutdown=_GRACEFUL_SHUTDOWN,
    )
    config.load()
    server = _EmbeddedServer(config)
    server.lifespan = config.lifespan_class(config)
    try:
        await server.startup(sockets=[sock])
        host, port = sock.getsockname()[:2]
        logger.info("HTTP server listening on %s port %d", host, port)
        started.set()
        await server.main_loop()
    finally:
        with anyio.CancelScope(shield=True):
            if server.started:
                await server.shutdown()

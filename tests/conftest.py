"""Fixtures shared by every test package."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator
from typing import Any

import pytest


@pytest.fixture
def anyio_backend() -> str:
    """Run every ``@pytest.mark.anyio`` test on asyncio, the runtime's loop."""
    return "asyncio"


class NetworkAccessError(OSError):
    """A test opened a connection to an address other than loopback."""


def _check_loopback(sock: socket.socket, address: Any) -> None:
    if sock.family not in (socket.AF_INET, socket.AF_INET6):
        return
    host = address[0]
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = host == "localhost"
    if not loopback:
        raise NetworkAccessError(
            f"a test connected to {host!r}: tests and the model backends "
            "must reach only loopback addresses"
        )


@pytest.fixture(autouse=True, scope="session")
def loopback_only() -> Iterator[None]:
    """Reject every connection from the test process to a host other than
    loopback, so that a backend reaching for the network fails its test."""
    connect = socket.socket.connect
    connect_ex = socket.socket.connect_ex

    def checked_connect(sock: socket.socket, address: Any) -> None:
        _check_loopback(sock, address)
        connect(sock, address)

    def checked_connect_ex(sock: socket.socket, address: Any) -> int:
        _check_loopback(sock, address)
        return connect_ex(sock, address)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(socket.socket, "connect", checked_connect)
        patch.setattr(socket.socket, "connect_ex", checked_connect_ex)
        yield

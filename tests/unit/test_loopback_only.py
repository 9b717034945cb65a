"""Tests reach only loopback addresses: the suite's guard rejects the rest."""

from __future__ import annotations

import re
import socket

import pytest

from tests.conftest import NetworkAccessError


def test_connection_to_public_address_rejected() -> None:
    # TEST-NET-1 (192.0.2.0/24) is reserved for documentation. Nothing is
    # sent, because the guard raises before the connect.
    with (
        socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock,
        pytest.raises(NetworkAccessError, match=re.escape("'192.0.2.1'")),
    ):
        sock.connect(("192.0.2.1", 80))


def test_connection_to_loopback_allowed() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        with socket.create_connection(server.getsockname(), timeout=5) as client:
            assert client.getpeername() == server.getsockname()

"""Local network helpers: a free TCP port, the static test web server (tests/fixtures/sources)."""

from __future__ import annotations

import socket

from support.paths import FIXTURES, load_module


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on (bound, read, released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


StaticServer = load_module(FIXTURES / "sources" / "static_server.py").StaticServer

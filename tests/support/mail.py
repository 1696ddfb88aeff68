"""A real SMTP server (aiosmtpd) on 127.0.0.1 and an inbox that keeps what it receives."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from support.net import free_port


class Inbox:
    """An aiosmtpd handler: ``messages`` is a list of (recipients, raw message bytes)."""

    def __init__(self):
        self.messages: list[tuple[list[str], bytes]] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd handler API
        self.messages.append((list(envelope.rcpt_tos), envelope.original_content or envelope.content))
        return "250 OK"


@contextmanager
def smtp_server(handler: Any) -> Iterator[int]:
    """An aiosmtpd server on 127.0.0.1 delivering to ``handler`` (e.g. an Inbox); yields its port."""
    from aiosmtpd.controller import Controller

    port = free_port()
    ctl = Controller(handler, hostname="127.0.0.1", port=port)
    ctl.start()
    try:
        yield port
    finally:
        ctl.stop()

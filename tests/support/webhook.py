"""A local webhook endpoint (HTTP on 127.0.0.1) that records the alert POSTs it receives."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

from listening.delivery import notify


class Hook:
    """A local HTTP server that records webhook POSTs (and can be told to fail)."""

    def __init__(self, answer: tuple[int, dict] = (200, {"ok": True})):
        self.bodies: list[dict] = []
        self.queries: list[dict] = []
        self.answer = answer
        hook = self

        class H(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server API
                n = int(self.headers.get("Content-Length", 0))
                hook.queries.append(parse_qs(urlparse(self.path).query))
                hook.bodies.append(json.loads(self.rfile.read(n).decode("utf-8")))
                code, body = hook.answer
                data = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def webhook(self, fmt: str = "slack", secret: str | None = None) -> notify.Webhook:
        return notify.Webhook(f"http://127.0.0.1:{self.port}/hook?access_token=t", fmt, secret, 5.0)

"""A polite HTTP client shared by the connectors.

* retries with exponential backoff and full jitter on 429, 5xx, timeouts and
  connection errors, honouring ``Retry-After`` (seconds or an HTTP date);
* a per-host minimum interval between requests (rate limit);
* a cap on the response size (the body is streamed and cut off with an error);
* cookies and headers from the caller (an Airflow connection) that are never logged.
"""

from __future__ import annotations

import email.utils
import logging
import random
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import httpx

log = logging.getLogger(__name__)

RETRY_STATUS = {429, 500, 502, 503, 504}
DEFAULT_UA = "listening-bot/0.1 (+https://example.invalid/listening; social-listening pipeline)"


class FetchError(RuntimeError):
    """A request that failed for good (after retries); ``reason`` is short and loggable."""

    def __init__(self, url: str, reason: str, status: int | None = None):
        self.url = url
        self.reason = reason
        self.status = status
        super().__init__(f"{reason} ({_safe_url(url)})")


def _safe_url(url: str) -> str:
    """URL without query secrets such as tokens: keep path and parameter names only."""
    parts = urlsplit(url)
    if not parts.query:
        return url
    names = [p.split("=", 1)[0] for p in parts.query.split("&")]
    redacted = "&".join(n + "=…" if n.lower() in {"token", "access_token", "cookie", "sub"} else n for n in names)
    return f"{parts.scheme}://{parts.netloc}{parts.path}?{redacted}"


@dataclass
class Response:
    url: str
    status: int
    headers: dict[str, str]
    body: bytes
    fetched_at: datetime
    attempts: int
    elapsed_ms: int

    @property
    def text(self) -> str:
        return self.body.decode(self.encoding or "utf-8", errors="replace")

    @property
    def encoding(self) -> str | None:
        ctype = self.headers.get("content-type", "")
        for part in ctype.split(";"):
            part = part.strip()
            if part.lower().startswith("charset="):
                return part.split("=", 1)[1].strip("\"' ") or None
        return None


def _retry_after(value: str | None, now: float) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        dt = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if dt is None:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return max(0.0, dt.timestamp() - now)


@dataclass
class HttpClient:
    headers: dict[str, str] = field(default_factory=dict)
    cookies: dict[str, str] = field(default_factory=dict)
    timeout: float = 20.0
    retries: int = 4
    backoff: float = 1.0
    max_backoff: float = 60.0
    max_bytes: int = 20 * 1024 * 1024
    min_interval: float = 0.0  # seconds between requests to one host
    sleep: Any = time.sleep
    _last: dict[str, float] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        h = {"User-Agent": DEFAULT_UA, "Accept-Encoding": "gzip, deflate"}
        h.update(self.headers)
        self._client = httpx.Client(
            headers=h, cookies=self.cookies, timeout=self.timeout, follow_redirects=True
        )

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:  # never show cookies or headers
        return f"HttpClient(timeout={self.timeout}, retries={self.retries})"

    def _throttle(self, url: str) -> None:
        if self.min_interval <= 0:
            return
        host = urlsplit(url).netloc
        with self._lock:
            wait = self._last.get(host, 0.0) + self.min_interval - time.monotonic()
            if wait > 0:
                self.sleep(wait)
            self._last[host] = time.monotonic()

    def get(self, url: str, params: dict[str, Any] | None = None, headers: dict[str, str] | None = None,
            ok_status: tuple[int, ...] = (200,)) -> Response:
        """GET with retries. Returns a :class:`Response` whose status is in ``ok_status``."""
        attempt = 0
        last_reason = ""
        last_status: int | None = None
        while True:
            attempt += 1
            self._throttle(url)
            t0 = time.monotonic()
            delay: float | None = None
            try:
                with self._client.stream("GET", url, params=params, headers=headers) as r:
                    full_url = str(r.url)
                    declared = r.headers.get("content-length")
                    if declared and declared.isdigit() and int(declared) > self.max_bytes:
                        raise FetchError(full_url, f"response too large ({declared} bytes > {self.max_bytes})")
                    chunks = []
                    size = 0
                    if r.status_code in ok_status:
                        for chunk in r.iter_bytes():
                            size += len(chunk)
                            if size > self.max_bytes:
                                raise FetchError(full_url, f"response larger than {self.max_bytes} bytes")
                            chunks.append(chunk)
                    status = r.status_code
                    rheaders = {k.lower(): v for k, v in r.headers.items()}
                if status in ok_status:
                    return Response(
                        url=full_url,
                        status=status,
                        headers=rheaders,
                        body=b"".join(chunks),
                        fetched_at=datetime.now(UTC),
                        attempts=attempt,
                        elapsed_ms=int((time.monotonic() - t0) * 1000),
                    )
                last_status = status
                last_reason = f"HTTP {status}"
                if status not in RETRY_STATUS:
                    raise FetchError(full_url, last_reason, status)
                delay = _retry_after(rheaders.get("retry-after"), time.time())
            except httpx.TimeoutException:
                last_reason, last_status = "timeout", None
            except httpx.TransportError as exc:
                last_reason, last_status = f"connection error: {type(exc).__name__}", None
            if attempt > self.retries:
                raise FetchError(url, f"{last_reason} after {attempt} attempts", last_status)
            if delay is None:
                delay = random.uniform(0, min(self.max_backoff, self.backoff * 2 ** (attempt - 1)))
            delay = min(delay, self.max_backoff)
            log.warning("retrying %s in %.1fs (attempt %d: %s)", _safe_url(url), delay, attempt, last_reason)
            self.sleep(delay)

"""A polite HTTP client shared by the connectors.

* retries with exponential backoff and full jitter on 429, 5xx, timeouts and
  connection errors, honouring ``Retry-After`` (seconds or an HTTP date) up to
  ``max_retry_after`` seconds; a longer demand fails the request with that reason
  instead of hammering the site;
* a per-host minimum interval between requests (rate limit); robots.txt
  ``Crawl-delay`` raises it for one host (:meth:`HttpClient.set_host_interval`);
* a cap on the response size (the body is streamed and cut off with an error);
* cookies and headers from the caller (an Airflow connection) that are never logged,
  never part of ``repr`` and never stored with the raw responses.
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
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx

log = logging.getLogger(__name__)

RETRY_STATUS = {429, 500, 502, 503, 504}
DEFAULT_UA = "listening-bot/0.1 (+https://example.invalid/listening; social-listening pipeline)"
#: query parameters whose values are secrets: never logged, never stored in the lake
SECRET_PARAMS = {"token", "access_token", "cookie", "sub", "subp", "key", "api_key", "apikey", "signature",
                 "sig", "password", "passwd", "session", "sessionid", "auth", "authorization", "secret",
                 "client_secret", "gsid"}
#: statuses that mean "blocked" or "logged out" rather than "try later"
BLOCK_HINTS = {
    401: "login required: check the cookies/token in the source's Airflow connection",
    403: "forbidden: the site blocks the crawler or the login expired (refresh the connection's cookies)",
    418: "the site blocks the crawler (Weibo's anti-crawl answer): slow down or refresh the login cookies",
    432: "the site blocks the crawler (Weibo's anti-crawl answer): slow down or refresh the login cookies",
}


class FetchError(RuntimeError):
    """A request that failed for good (after retries); ``reason`` is short and loggable."""

    def __init__(self, url: str, reason: str, status: int | None = None):
        self.url = redact_url(url)
        self.reason = reason
        self.status = status
        super().__init__(f"{reason} ({_safe_url(url)})")


def _safe_url(url: str) -> str:
    """URL for logs: path and parameter names only (no values at all)."""
    parts = urlsplit(url)
    if not parts.query:
        return url
    names = [p.split("=", 1)[0] for p in parts.query.split("&")]
    redacted = "&".join(n + "=…" if n.lower() in SECRET_PARAMS else n for n in names)
    return f"{parts.scheme}://{parts.netloc}{parts.path}?{redacted}"


def redact_url(url: str) -> str:
    """URL for the lake: every parameter kept except the values of secret ones; no userinfo."""
    parts = urlsplit(url)
    netloc = parts.netloc.rsplit("@", 1)[-1]
    if not parts.query:
        return urlunsplit((parts.scheme, netloc, parts.path, "", ""))
    pairs = [(k, "REDACTED" if k.lower() in SECRET_PARAMS else v)
             for k, v in parse_qsl(parts.query, keep_blank_values=True)]
    return urlunsplit((parts.scheme, netloc, parts.path, urlencode(pairs), ""))


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
        return charset_of(self.headers.get("content-type", ""))


def charset_of(content_type: str) -> str | None:
    for part in content_type.split(";"):
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


def host_of(url: str) -> str:
    return urlsplit(url).netloc.rsplit("@", 1)[-1].lower()


@dataclass
class HttpClient:
    headers: dict[str, str] = field(default_factory=dict)
    cookies: dict[str, str] = field(default_factory=dict)
    timeout: float = 20.0
    retries: int = 4
    backoff: float = 1.0
    max_backoff: float = 60.0
    max_retry_after: float = 300.0  # a longer Retry-After fails the request (with that reason)
    max_bytes: int = 20 * 1024 * 1024
    min_interval: float = 0.0  # seconds between requests to one host
    sleep: Any = time.sleep
    clock: Any = None  # () -> aware datetime of the fetch (tests pin it); default: the wall clock
    _last: dict[str, float] = field(default_factory=dict, repr=False)
    _host_interval: dict[str, float] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        h = {"User-Agent": DEFAULT_UA, "Accept-Encoding": "gzip, deflate"}
        h.update(self.headers)
        self.user_agent = next((v for k, v in h.items() if k.lower() == "user-agent"), DEFAULT_UA)
        self._client = httpx.Client(
            headers=h, cookies=self.cookies, timeout=self.timeout, follow_redirects=True
        )
        #: counters for the crawl summary: requests sent, retries made, seconds slept for politeness
        self.stats = {"requests": 0, "retries": 0, "throttled_s": 0.0}

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:  # never show cookies or headers
        return f"HttpClient(timeout={self.timeout}, retries={self.retries})"

    def set_host_interval(self, host: str, seconds: float) -> None:
        """At least ``seconds`` between two requests to ``host`` (e.g. robots.txt Crawl-delay)."""
        with self._lock:
            self._host_interval[host.lower()] = max(0.0, float(seconds))

    def interval_for(self, host: str) -> float:
        return max(self.min_interval, self._host_interval.get(host.lower(), 0.0))

    def _throttle(self, url: str) -> None:
        host = host_of(url)
        interval = self.interval_for(host)
        with self._lock:
            wait = self._last.get(host, -1e12) + interval - time.monotonic()
            if interval > 0 and wait > 0:
                self.stats["throttled_s"] += wait
                self.sleep(wait)
            self._last[host] = time.monotonic()  # always: a Crawl-delay learnt later counts from here

    def get(self, url: str, params: dict[str, Any] | None = None, headers: dict[str, str] | None = None,
            ok_status: tuple[int, ...] = (200,)) -> Response:
        """GET with retries. Returns a :class:`Response` whose status is in ``ok_status``."""
        attempt = 0
        last_reason = ""
        last_status: int | None = None
        while True:
            attempt += 1
            self._throttle(url)
            self.stats["requests"] += 1
            t0 = time.monotonic()
            delay: float | None = None
            try:
                with self._client.stream("GET", url, params=params, headers=headers) as r:
                    full_url = str(r.url)
                    declared = r.headers.get("content-length")
                    if (r.status_code in ok_status and declared and declared.isdigit()
                            and int(declared) > self.max_bytes):
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
                        url=redact_url(full_url),
                        status=status,
                        headers=rheaders,
                        body=b"".join(chunks),
                        fetched_at=self.clock() if self.clock else datetime.now(UTC),
                        attempts=attempt,
                        elapsed_ms=int((time.monotonic() - t0) * 1000),
                    )
                last_status = status
                last_reason = f"HTTP {status}"
                if status not in RETRY_STATUS:
                    hint = BLOCK_HINTS.get(status)
                    raise FetchError(full_url, f"{last_reason}: {hint}" if hint else last_reason, status)
                delay = _retry_after(rheaders.get("retry-after"), time.time())
                if delay is not None and delay > self.max_retry_after:
                    raise FetchError(full_url, f"{last_reason} with Retry-After {delay:.0f}s, longer than the "
                                               f"{self.max_retry_after:.0f}s a crawl waits", status)
            except httpx.TimeoutException:
                last_reason, last_status = "timeout", None
            except httpx.TransportError as exc:
                last_reason, last_status = f"connection error: {type(exc).__name__}", None
            except httpx.DecodingError as exc:  # a broken gzip stream, for example
                last_reason, last_status = f"undecodable response: {type(exc).__name__}", None
            if attempt > self.retries:
                raise FetchError(url, f"{last_reason} after {attempt} attempts", last_status)
            if delay is None:
                delay = random.uniform(0, min(self.max_backoff, self.backoff * 2 ** (attempt - 1)))
            self.stats["retries"] += 1
            log.warning("retrying %s in %.1fs (attempt %d: %s)", _safe_url(url), delay, attempt, last_reason)
            self.sleep(delay)

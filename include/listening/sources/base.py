"""The small interface every connector implements.

``fetch(window, cursor)`` crawls one data interval and returns every raw response
(with fetch metadata, so the interval can be re-parsed without crawling again), the
new cursor, and a coverage report: one :class:`Slice` per piece of the window, each

* ``complete``: everything the site has for that piece was fetched;
* ``capped``: the site stopped paging before the end (a page cap) and the piece could
  not be split any further: posts are missing, and the slice says where;
* ``partial``: part of the piece is out of reach (a feed that no longer reaches back to
  the window start, malformed rows in a vendor file, long texts that failed);
* ``failed``: nothing usable for the piece, with the reason (HTTP status, timeout,
  ``ok: 0`` with the site's message, "robots.txt disallows", ...);
* ``split``: the piece hit the cap and was re-crawled as smaller pieces (its own results
  are kept; the smaller pieces decide the coverage).

``parse(records, window)`` turns the raw responses of an interval into canonical
:class:`~listening.model.Mention` objects (pure: no network).
"""

from __future__ import annotations

import base64
import dataclasses
from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from listening.config import Config, Source
from listening.model import Mention, Window, iso, utc
from listening.sources.http import HttpClient, Response

#: response headers kept with the raw body (never Set-Cookie or anything request-side)
KEEP_HEADERS = ("content-type", "content-length", "etag", "last-modified", "date", "content-encoding",
                "retry-after")
STATUS_ORDER = ("complete", "partial", "capped", "failed")

#: the fields every canonical mention line carries (``listening crawl --out``, ``listening parse``)
CANONICAL_FIELDS = ("source", "native_id", "url", "text", "published_at", "author_id", "author_name",
                    "author_followers", "author_verified", "author_verified_type", "reposts", "comments",
                    "likes", "brands", "matched_terms", "retweet_of", "title", "quoted_text", "is_spam",
                    "truncated", "story_id")


@dataclass
class Slice:
    start: datetime
    end: datetime
    status: str  # complete | capped | partial | failed | split (re-crawled as smaller slices)
    pages: int = 0
    items: int = 0
    detail: str = ""
    query: str = ""

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["start"], d["end"] = iso(self.start), iso(self.end)
        return d


@dataclass
class FetchResult:
    records: list[dict[str, Any]] = field(default_factory=list)
    cursor: dict[str, Any] = field(default_factory=dict)
    coverage: list[Slice] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    pages: int = 0

    @property
    def status(self) -> str:
        """The worst slice status: failed > capped > partial > complete (``split`` slices do not count)."""
        worst = "complete"
        for s in self.coverage:
            if s.status == "split":
                continue
            if STATUS_ORDER.index(s.status) > STATUS_ORDER.index(worst):
                worst = s.status
        return worst


@dataclass
class ParseResult:
    mentions: list[Mention] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def raw_record(source: Source, resp: Response, purpose: str, **meta: Any) -> dict[str, Any]:
    """One raw lake line: the response body plus what is needed to re-parse it later.

    The URL is already redacted by the client (no secret parameter values, no userinfo);
    request headers and cookies are never part of a record.
    """
    rec: dict[str, Any] = {
        "source": source.id,
        "kind": source.kind,
        "purpose": purpose,
        "url": resp.url,
        "status": resp.status,
        "headers": {k: resp.headers[k] for k in KEEP_HEADERS if k in resp.headers},
        "fetched_at": iso(resp.fetched_at),
        "attempts": resp.attempts,
        "elapsed_ms": resp.elapsed_ms,
        "meta": meta,
    }
    set_body(rec, resp.body)
    return rec


def set_body(rec: dict[str, Any], body: bytes) -> None:
    """UTF-8 bodies are stored as text (readable in the lake), anything else as base64 bytes."""
    rec.pop("body", None)
    rec.pop("body_b64", None)
    try:
        rec["body"] = body.decode("utf-8")
    except UnicodeDecodeError:
        rec["body_b64"] = base64.b64encode(body).decode("ascii")


def record_body(rec: dict[str, Any]) -> bytes:
    if "body" in rec:
        return rec["body"].encode("utf-8")
    if "body_b64" in rec:
        return base64.b64decode(rec["body_b64"])
    return b""


def canonical(m: Mention) -> dict[str, Any]:
    """The canonical JSON line of a mention: the fields above plus any kind-specific extras
    (a comment's ``status_id``, ``like_count``, ``owned_account`` ...)."""
    d = m.to_json()
    out = {k: d.get(k) for k in CANONICAL_FIELDS}
    base = {f.name for f in dataclasses.fields(Mention)}
    for f in dataclasses.fields(m):
        if f.name not in base:
            out[f.name] = d.get(f.name)
    return out


def local_hour_floor(dt: datetime, tz: ZoneInfo) -> datetime:
    """The start of the local hour holding ``dt``, in UTC."""
    local = utc(dt).astimezone(tz)
    return utc(local.replace(minute=0, second=0, microsecond=0))


def local_hour_ceil(dt: datetime, tz: ZoneInfo) -> datetime:
    floor = local_hour_floor(dt, tz)
    return floor if floor == utc(dt) else floor + timedelta(hours=1)


class Connector(ABC):
    kind: str = ""
    #: True when the site itself restricts results to the window; otherwise the
    #: pipeline keeps only the mentions published inside it.
    windowed: bool = False
    #: True for comment connectors: their records are interactions with a post (fct_interaction)
    produces_interactions: bool = False

    def __init__(self, source: Source, config: Config, base_url: str, client: HttpClient,
                 lake: Any = None):
        self.source = source
        self.config = config
        self.base_url = (base_url or "").rstrip("/")
        self.client = client
        self.lake = lake
        if client is not None and "max_retry_after" in source.params:
            client.max_retry_after = float(source.params["max_retry_after"])

    @property
    def params(self) -> dict[str, Any]:
        return self.source.params

    @abstractmethod
    def fetch(self, window: Window, cursor: dict[str, Any] | None = None) -> FetchResult:
        ...

    @abstractmethod
    def parse(self, records: list[dict[str, Any]], window: Window | None = None) -> ParseResult:
        ...

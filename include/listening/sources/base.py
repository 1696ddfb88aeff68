"""The small interface every connector implements.

``fetch(window, cursor)`` crawls one data interval and returns every raw HTTP
response (with fetch metadata, so the interval can be re-parsed without
crawling again), the new cursor, and a coverage report: one :class:`Slice` per
piece of the window, each ``complete``, ``capped`` (the site stopped paging
before the end), ``partial`` (the source cannot reach back that far) or
``failed`` (with the reason).  ``parse(records, window)`` turns the raw
responses of an interval into canonical :class:`~listening.model.Mention`.
"""

from __future__ import annotations

import base64
from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from listening.config import Config, Source
from listening.model import Mention, Window, iso
from listening.sources.http import HttpClient, Response

KEEP_HEADERS = ("content-type", "etag", "last-modified", "date", "content-encoding", "retry-after")


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
        """The worst slice status: failed > capped > partial > complete."""
        order = ["complete", "partial", "capped", "failed"]
        worst = "complete"
        for s in self.coverage:
            if s.status == "split":
                continue
            if order.index(s.status) > order.index(worst):
                worst = s.status
        return worst


@dataclass
class ParseResult:
    mentions: list[Mention] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def raw_record(source: Source, resp: Response, purpose: str, **meta: Any) -> dict[str, Any]:
    """One raw lake line: the response body plus what is needed to re-parse it later."""
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
    try:
        rec["body"] = resp.body.decode("utf-8")
    except UnicodeDecodeError:
        rec["body_b64"] = base64.b64encode(resp.body).decode("ascii")
    return rec


def record_body(rec: dict[str, Any]) -> bytes:
    if "body" in rec:
        return rec["body"].encode("utf-8")
    if "body_b64" in rec:
        return base64.b64decode(rec["body_b64"])
    return b""


class Connector(ABC):
    kind: str = ""
    #: True when the site itself restricts results to the window; otherwise the
    #: pipeline keeps only the mentions published inside it.
    windowed: bool = False

    def __init__(self, source: Source, config: Config, base_url: str, client: HttpClient,
                 lake: Any = None):
        self.source = source
        self.config = config
        self.base_url = base_url.rstrip("/")
        self.client = client
        self.lake = lake

    @abstractmethod
    def fetch(self, window: Window, cursor: dict[str, Any] | None = None) -> FetchResult:
        ...

    @abstractmethod
    def parse(self, records: list[dict[str, Any]], window: Window | None = None) -> ParseResult:
        ...

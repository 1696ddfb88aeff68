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
:class:`~listening.core.model.Mention` objects (pure: no network).
"""

from __future__ import annotations

import base64
import dataclasses
import json
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar
from zoneinfo import ZoneInfo

from listening.core.fields import type_name
from listening.core.model import Mention, Window, iso, utc
from listening.sources.http import HttpClient, Response
from listening.sources.params import Fail, check_params

if TYPE_CHECKING:  # the typed configuration is built from what connectors declare (config imports us)
    from listening.config import Config, Source

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


def json_page(rec: dict[str, Any], i: int, bad_pages: list[tuple[int, str]]) -> dict[str, Any] | None:
    """The JSON document of a raw page with ``ok: 1``; None for an error page (the crawl already
    reported it) or a body that is not JSON (noted in ``bad_pages``)."""
    try:
        doc = json.loads(record_body(rec))
    except ValueError:
        bad_pages.append((i, "raw page is not JSON"))
        return None
    return doc if isinstance(doc, dict) and doc.get("ok") == 1 else None


def json_pages(records: list[dict[str, Any]], purpose: str | None,
               bad_pages: list[tuple[int, str]]) -> Iterator[tuple[int, dict[str, Any]]]:
    """``(record number, document)`` of the raw JSON pages of ``purpose`` with ``ok: 1`` (see :func:`json_page`)."""
    for i, rec in enumerate(records):
        if rec.get("purpose") != purpose:
            continue
        doc = json_page(rec, i, bad_pages)
        if doc is not None:
            yield i, doc


def item_fields(d: dict[str, Any], names: Iterable[str]) -> dict[str, Any]:
    """The named (dotted) fields of a raw item, flattened (``user.id`` -> ``user_id``), each with
    its ``<name>__type`` column: the row a raw GX suite checks."""
    out: dict[str, Any] = {}
    for n in names:
        cur: Any = d
        for part in n.split("."):
            cur = cur.get(part) if isinstance(cur, dict) else None
        out[n.replace(".", "_")] = cur
        out[f"{n.replace('.', '_')}__type"] = type_name(cur)
    return out


class Connector(ABC):
    """One source kind.  A subclass declares, besides ``fetch`` and ``parse``:

    * ``kind`` (the ``kind:`` of brands.yaml) -- the registry finds the class by it;
    * ``params_schema`` / ``required_params``: its own ``params`` (see :mod:`listening.sources.params`),
      checked when the configuration loads; :meth:`check_config` for checks across keys or sources;
    * ``crawl_stage``: ``first`` crawls the site; ``after`` reads what the first stage landed;
    * ``raw_suite`` / ``raw_page_purpose`` / :meth:`raw_items`: its raw quality gate (optional).
    """

    kind: str = ""
    #: True when the site itself restricts results to the window; otherwise the
    #: pipeline keeps only the mentions published inside it.
    windowed: bool = False
    #: True for comment connectors: their records are interactions with a post (fct_interaction)
    produces_interactions: bool = False
    params_schema: ClassVar[dict[str, str]] = {}
    required_params: ClassVar[tuple[str, ...]] = ()
    crawl_stage: ClassVar[str] = "first"
    #: the GX suite (include/gx/expectations/<name>.json) of the raw gate; None: no raw gate
    raw_suite: ClassVar[str | None] = None
    #: the raw records (``purpose``) whose items the raw suite checks
    raw_page_purpose: ClassVar[str | None] = None

    @classmethod
    def check_params(cls, params: dict[str, Any], key: str, fail: Fail) -> None:
        """Check the source's ``params`` mapping; raise ``fail(key, problem)`` on the first problem."""
        check_params(cls.params_schema, cls.required_params, cls.kind, params, key, fail)

    @classmethod
    def check_config(cls, index: int, source: Source, sources: list[Source], fail: Fail) -> None:
        """Checks that need the other configured sources (``sources[index]`` is this one)."""
        return None

    @classmethod
    def raw_items(cls, records: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[tuple[int, str]]]:
        """One row per item of the raw pages (``record_no``, ``native_id``, ``_item`` and the
        fields of :func:`item_fields`), and the pages that are malformed (record number, why)."""
        return [], []

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

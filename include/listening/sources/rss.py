"""RSS 2.0 / Atom feeds (feedparser), with conditional GET.

A feed is not windowed by the site: the connector fetches it and the pipeline
keeps the items published inside the data interval.  When the run moves
forward (the window ends after the cursor's last window), the request carries
``If-None-Match`` / ``If-Modified-Since``; a ``304`` reuses the body stored in
the lake by the previous fetch, so an item published just after the previous
window is never lost.  Re-runs and backfills fetch unconditionally.  When the
oldest item in the feed is newer than the window start, the slice is reported
``partial``: the feed no longer reaches back that far.  robots.txt of the feed's host is
honoured (a disallowed feed is a ``failed`` slice "robots.txt disallows ...", never fetched).
"""

from __future__ import annotations

import calendar
import logging
from datetime import UTC, datetime
from typing import Any

from listening.core.model import Mention, Window, parse_iso
from listening.core.text import squeeze, strip_html
from listening.sources.base import (
    Connector,
    FetchResult,
    ParseResult,
    Slice,
    item_fields,
    raw_record,
    record_body,
)
from listening.sources.http import FetchError
from listening.sources.robots import Robots

log = logging.getLogger(__name__)


def _entry_time(entry: Any) -> datetime | None:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        st = entry.get(key)
        if st:
            return datetime.fromtimestamp(calendar.timegm(st), UTC)
    return None


RSS_FIELDS = ("id", "link", "title", "published", "updated", "summary")


class RssFeed(Connector):
    kind = "rss"
    windowed = False
    params_schema = {"path": "string", "respect_robots": "bool", "max_crawl_delay": "positive"}
    raw_suite = "raw_rss"
    raw_page_purpose = "feed"

    @classmethod
    def raw_items(cls, records: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[tuple[int, str]]]:
        import feedparser

        items: list[dict[str, Any]] = []
        bad_pages: list[tuple[int, str]] = []
        for i, rec in enumerate(records):
            if rec.get("purpose") != cls.raw_page_purpose or not record_body(rec):
                continue
            feed = feedparser.parse(record_body(rec))
            if feed.bozo and not feed.entries:
                bad_pages.append((i, f"feed does not parse ({type(feed.bozo_exception).__name__})"))
                continue
            for e in feed.entries:
                d = {k: e.get(k) for k in RSS_FIELDS}
                items.append({"record_no": i, "native_id": str(e.get("id") or e.get("guid") or e.get("link") or ""),
                              "_item": d, **item_fields(d, RSS_FIELDS),
                              "has_time": bool(e.get("published_parsed") or e.get("updated_parsed"))})
        return items, bad_pages

    @property
    def url(self) -> str:
        path = self.source.params.get("path", "")
        return self.base_url + path if path else self.base_url

    def fetch(self, window: Window, cursor: dict[str, Any] | None = None) -> FetchResult:
        cursor = dict(cursor or {})
        res = FetchResult(cursor=cursor)
        headers: dict[str, str] = {}
        last_end = cursor.get("last_window_end")
        forward = last_end is None or window.end > parse_iso(last_end)
        if forward and cursor.get("body_key") and self.lake is not None:
            if cursor.get("etag"):
                headers["If-None-Match"] = cursor["etag"]
            if cursor.get("last_modified"):
                headers["If-Modified-Since"] = cursor["last_modified"]
        sl = Slice(start=window.start, end=window.end, status="complete", query=self.url)
        robots = Robots(self.client, enabled=bool(self.params.get("respect_robots", True)),
                        max_crawl_delay=float(self.params.get("max_crawl_delay", 60)),
                        on_response=lambda r: res.records.append(raw_record(self.source, r, "robots")))
        refusal = robots.refusal(self.url)
        if refusal:
            sl.status, sl.detail = "failed", refusal
            res.errors.append(f"{self.url}: {refusal}")
            res.coverage.append(sl)
            return res
        try:
            resp = self.client.get(self.url, headers=headers or None, ok_status=(200, 304))
        except FetchError as exc:
            sl.status, sl.detail = "failed", exc.reason
            res.errors.append(f"{self.url}: {exc.reason}")
            res.coverage.append(sl)
            return res
        res.pages = sl.pages = 1
        rec = raw_record(self.source, resp, "feed")
        if resp.status == 304:
            prev = self._previous_body(cursor)
            if prev is None:
                # cannot reuse: fetch again without the conditional headers
                try:
                    resp = self.client.get(self.url)
                except FetchError as exc:
                    sl.status, sl.detail = "failed", exc.reason
                    res.errors.append(f"{self.url}: {exc.reason}")
                    res.coverage.append(sl)
                    return res
                rec = raw_record(self.source, resp, "feed")
            else:
                rec["body"] = prev
                rec["meta"]["not_modified_reused"] = cursor["body_key"]
                sl.detail = "304 Not Modified: previous body reused"
        res.records.append(rec)
        if resp.status == 200:
            cursor["etag"] = resp.headers.get("etag")
            cursor["last_modified"] = resp.headers.get("last-modified")
        if forward:
            cursor["last_window_end"] = window.end.isoformat()
        parsed = self.parse([rec])
        sl.items = sum(1 for m in parsed.mentions if window.contains(m.published_at))
        if parsed.mentions:
            oldest = min(m.published_at for m in parsed.mentions)
            if oldest > window.start:
                sl.status = "partial"
                sl.detail = f"feed reaches back only to {oldest.isoformat()}"
        res.coverage.append(sl)
        return res

    def _previous_body(self, cursor: dict[str, Any]) -> str | None:
        key = cursor.get("body_key")
        if not key or self.lake is None:
            return None
        try:
            for rec in self.lake.get_jsonl(key):
                if rec.get("purpose") == "feed" and rec.get("body"):
                    return rec["body"]
        except FileNotFoundError:
            return None
        return None

    def parse(self, records: list[dict[str, Any]], window: Window | None = None) -> ParseResult:
        import feedparser

        out = ParseResult()
        seen: set[str] = set()
        for i, rec in enumerate(records):
            if rec.get("purpose") != "feed":
                continue
            body = record_body(rec)
            if not body:
                out.problems.append(f"record {i}: empty feed body")
                continue
            feed = feedparser.parse(body)
            if feed.bozo and not feed.entries:
                out.problems.append(f"record {i}: not a feed ({type(feed.bozo_exception).__name__})")
                continue
            fetched_at = parse_iso(rec["fetched_at"])
            for entry in feed.entries:
                nid = entry.get("id") or entry.get("guid") or entry.get("link")
                if not nid or nid in seen:
                    continue
                seen.add(nid)
                published = _entry_time(entry)
                if published is None:
                    out.problems.append(f"entry {nid}: no publish time")
                    continue
                title = squeeze(strip_html(entry.get("title", "")))
                summary = ""
                if entry.get("content"):
                    summary = entry["content"][0].get("value", "")
                summary = summary or entry.get("summary", "")
                body_text = squeeze(strip_html(summary))
                text = f"{title}\n{body_text}" if title and body_text else (title or body_text)
                out.mentions.append(
                    Mention(
                        source=self.source.id,
                        native_id=str(nid),
                        url=entry.get("link") or str(nid),
                        text=text,
                        title=title or None,
                        published_at=published,
                        author_id=entry.get("author") or None,
                        author_name=entry.get("author") or None,
                        raw_ref=rec.get("url"),
                        fetched_at=fetched_at,
                    )
                )
        return out

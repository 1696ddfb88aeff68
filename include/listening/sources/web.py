"""Web pages: news articles and forum threads, one mention per page.

What to fetch: the ``pages`` listed in the params (paths under the base URL, or absolute
URLs), plus the links found on the ``index`` pages (listing pages) whose absolute URL
matches ``link_pattern`` (a regular expression; default: any page of the same host), at
most ``max_articles`` a crawl (more is reported ``capped``).  robots.txt is honoured for
every URL (a disallowed one is a ``failed`` slice "robots.txt disallows ...", never
fetched), and its Crawl-delay slows the host down.

Pages are not windowed by the site: each page's publish time is extracted and the
pipeline keeps the pages published inside the window.  Incremental: the cursor remembers
the publish time of every page seen (``seen``), and a page known to be published outside
the window is not fetched again; a page published inside it is, so a re-run of the
interval lands the same raw responses.

Each page lands raw (bytes as served, base64 when not UTF-8, with its Content-Type);
parsing finds the encoding, the title, author, publish time and main text, and removes
conversion artefacts (see :mod:`listening.sources.webtext`).
"""

from __future__ import annotations

import logging
import re
from datetime import datetime
from typing import Any
from urllib.parse import urldefrag, urljoin, urlsplit
from zoneinfo import ZoneInfo

from listening.core.model import Mention, Window, iso, parse_iso
from listening.sources.base import Connector, FetchResult, ParseResult, Slice, raw_record, record_body
from listening.sources.http import FetchError, host_of
from listening.sources.params import Fail
from listening.sources.robots import Robots
from listening.sources.webtext import decode_html, extract_article

log = logging.getLogger(__name__)

MAX_SEEN = 5000


class WebPages(Connector):
    kind = "web"
    windowed = False
    params_schema = {"pages": "strings", "index": "strings", "link_pattern": "regex", "max_articles": "positive_int",
                     "timezone": "timezone", "encoding": "codec", "selectors": "string_map",
                     "respect_robots": "bool", "max_crawl_delay": "positive"}

    @classmethod
    def check_params(cls, params: dict[str, Any], key: str, fail: Fail) -> None:
        super().check_params(params, key, fail)
        if not (params.get("pages") or params.get("index")):
            raise fail(key, "a web source needs 'pages' (article URLs) or 'index' (listing pages), or both")

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.params["timezone"]) if self.params.get("timezone") else self.config.tz

    def _abs(self, path: str) -> str:
        if re.match(r"^https?://", path):
            return path
        return urljoin(self.base_url + "/", path.lstrip("/"))

    def _links(self, body: bytes, content_type: str, page_url: str) -> list[str]:
        from selectolax.lexbor import LexborHTMLParser as HTMLParser

        pattern = re.compile(self.params["link_pattern"]) if self.params.get("link_pattern") else None
        host = host_of(page_url)
        out: list[str] = []
        tree = HTMLParser(decode_html(body, content_type, self.params.get("encoding")).text)
        for a in tree.css("a[href]"):
            href = (a.attributes.get("href") or "").strip()
            if not href or href.startswith(("javascript:", "mailto:", "#")):
                continue
            url = urldefrag(urljoin(page_url, href))[0]
            if urlsplit(url).scheme not in ("http", "https"):
                continue
            if pattern is not None:
                if not pattern.search(url):
                    continue
            elif host_of(url) != host:
                continue
            if url not in out:
                out.append(url)
        return out

    def fetch(self, window: Window, cursor: dict[str, Any] | None = None) -> FetchResult:
        cursor = dict(cursor or {})
        res = FetchResult(cursor=cursor)
        robots = Robots(self.client, enabled=bool(self.params.get("respect_robots", True)),
                        max_crawl_delay=float(self.params.get("max_crawl_delay", 60)),
                        on_response=lambda r: res.records.append(raw_record(self.source, r, "robots")))
        seen: dict[str, str] = dict(cursor.get("seen") or {})
        index_urls = [self._abs(p) for p in self.params.get("index") or []]
        targets: list[str] = [self._abs(p) for p in self.params.get("pages") or []]
        for url in index_urls:
            sl = Slice(window.start, window.end, "complete", query=url)
            res.coverage.append(sl)
            refusal = robots.refusal(url)
            if refusal:
                sl.status, sl.detail = "failed", refusal
                res.errors.append(f"{url}: {refusal}")
                continue
            try:
                resp = self.client.get(url)
            except FetchError as exc:
                sl.status, sl.detail = "failed", exc.reason
                res.errors.append(f"{url}: {exc.reason}")
                continue
            res.records.append(raw_record(self.source, resp, "index", url=url))
            res.pages += 1
            sl.pages = 1
            links = [u for u in self._links(resp.body, resp.headers.get("content-type", ""), url)
                     if u not in index_urls]
            sl.items = len(links)
            targets += [u for u in links if u not in targets]
        # pages known to be published outside the window need no fetch
        todo, skipped = [], 0
        for url in targets:
            known = seen.get(url)
            if known and not window.contains(parse_iso(known)):
                skipped += 1
                continue
            todo.append(url)
        max_articles = int(self.params.get("max_articles", 100))
        summary = Slice(window.start, window.end, "complete", query="(pages)")
        res.coverage.append(summary)
        if len(todo) > max_articles:
            summary.status = "capped"
            summary.detail = f"{len(todo)} pages to fetch, max_articles {max_articles}: the rest not fetched. "
            res.errors.append(f"capped: {len(todo) - max_articles} page(s) beyond max_articles not fetched")
            todo = todo[:max_articles]
        notes: list[str] = []
        for url in todo:
            refusal = robots.refusal(url)
            if refusal:
                res.coverage.append(Slice(window.start, window.end, "failed", query=url, detail=refusal))
                res.errors.append(f"{url}: {refusal}")
                continue
            try:
                resp = self.client.get(url)
            except FetchError as exc:
                res.coverage.append(Slice(window.start, window.end, "failed", query=url, detail=exc.reason))
                res.errors.append(f"{url}: {exc.reason}")
                continue
            res.records.append(raw_record(self.source, resp, "page", url=url))
            res.pages += 1
            summary.pages += 1
            art = extract_article(resp.body, url, self.tz, resp.headers.get("content-type"),
                                  self.params.get("encoding"), self.params.get("selectors"))
            if art.notes:
                notes.append(f"{urlsplit(url).path}: {'; '.join(art.notes)}")
            if art.published_at is not None:
                seen[url] = iso(art.published_at)
                summary.items += window.contains(art.published_at)
            else:
                notes.append(f"{urlsplit(url).path}: no publish time found")
        parts = [summary.detail.strip()] if summary.detail else []
        if skipped:
            parts.append(f"{skipped} page(s) known to be published outside the window not fetched")
        parts += notes[:20]
        summary.detail = "; ".join(p for p in parts if p)[:2000]
        if len(seen) > MAX_SEEN:
            seen = dict(sorted(seen.items(), key=lambda kv: kv[1])[-MAX_SEEN:])
        res.cursor["seen"] = seen
        res.cursor["last_window_end"] = iso(window.end)
        return res

    def parse(self, records: list[dict[str, Any]], window: Window | None = None) -> ParseResult:
        out = ParseResult()
        seen: set[str] = set()
        for rec in records:
            if rec.get("purpose") != "page" or (rec.get("meta") or {}).get("superseded"):
                continue
            url = (rec.get("meta") or {}).get("url") or rec.get("url")
            body = record_body(rec)
            if not body:
                out.problems.append(f"{url}: empty page")
                continue
            art = extract_article(body, url, self.tz, (rec.get("headers") or {}).get("content-type"),
                                  self.params.get("encoding"), self.params.get("selectors"))
            if art.url in seen:
                continue
            seen.add(art.url)
            if art.published_at is None:
                out.problems.append(f"{url}: no publish time found; page skipped")
                continue
            if not art.text:
                out.problems.append(f"{url}: no text extracted")
            out.mentions.append(Mention(
                source=self.source.id,
                native_id=art.url,
                url=art.url,
                text=art.text,
                title=art.title,
                published_at=art.published_at,
                author_id=art.author,
                author_name=art.author,
                raw_ref=rec.get("url"),
                fetched_at=parse_iso(rec["fetched_at"]) if rec.get("fetched_at") else datetime.now().astimezone(),
            ))
        return out

"""Weibo mobile search (m.weibo.cn ``/api/container/getIndex``).

Per search keyword and time slice it pages through
``containerid=100103type=1&q=KW&page_type=searchall&page=N`` (plus
``timescope=custom:YYYY-MM-DD-H:YYYY-MM-DD-H`` in local hours, as Weibo's
advanced search takes it), reading ``card_type`` 9 cards and the cards inside
``card_type`` 11 groups, until ``data.cardlistInfo.page`` is null or ``ok`` is 0.
A slice that is still paging when the site's page cap is reached is split in
two (day → hours) and re-crawled; a one-hour slice that is still capped is
reported ``capped`` so the gap is visible.  Long posts (``isLongText``) are
completed from ``/statuses/extend``.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta
from typing import Any

from listening.fields import FieldError, parse_count, parse_weibo_time
from listening.model import Mention, Window, parse_iso
from listening.sources.base import Connector, FetchResult, ParseResult, Slice, raw_record, record_body
from listening.sources.http import FetchError
from listening.text import strip_html

log = logging.getLogger(__name__)

SEARCH_PATH = "/api/container/getIndex"
EXTEND_PATH = "/statuses/extend"


class WeiboSearch(Connector):
    kind = "weibo_search"
    windowed = True

    @property
    def max_pages(self) -> int:
        return int(self.source.params.get("max_pages", 50))

    @property
    def page_size(self) -> int:
        return int(self.source.params.get("page_size", 10))

    def keywords(self) -> list[str]:
        kws: list[str] = list(self.source.params.get("keywords") or [])
        if not kws:
            for b in self.config.brands:
                kws.extend(k for k in b.search_keywords if k not in kws)
        return kws

    # ---- fetching -------------------------------------------------------------------------------
    def _timescope(self, start: datetime, end: datetime) -> str:
        tz = self.config.tz
        a = start.astimezone(tz)
        b = (end - timedelta(seconds=1)).astimezone(tz)  # the scope's end hour is inclusive
        return f"custom:{a:%Y-%m-%d}-{a.hour}:{b:%Y-%m-%d}-{b.hour}"

    def fetch(self, window: Window, cursor: dict[str, Any] | None = None) -> FetchResult:
        res = FetchResult(cursor=dict(cursor or {}))
        start = window.start.replace(minute=0, second=0, microsecond=0)
        end = window.end
        if end.minute or end.second or end.microsecond:
            end = end.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
        for kw in self.keywords():
            queue = [(start, end)]
            while queue:
                s, e = queue.pop(0)
                sl = self._crawl_slice(kw, s, e, res)
                hours = int((e - s).total_seconds() // 3600)
                if sl.status == "capped" and hours >= 2:
                    mid = s + timedelta(hours=hours // 2)
                    log.info("weibo %r %s..%s hit the page cap: splitting", kw, s, e)
                    # its results are kept; the two halves decide the coverage
                    sl.status, sl.detail = "split", "page cap reached: split in two"
                    queue[:0] = [(s, mid), (mid, e)]
                res.coverage.append(sl)
        res.cursor["last_window_end"] = window.end.isoformat()
        return res

    def _crawl_slice(self, kw: str, s: datetime, e: datetime, res: FetchResult) -> Slice:
        scope = self._timescope(s, e)
        sl = Slice(start=s, end=e, status="complete", query=kw)
        page = 1
        announced_next = False
        while True:
            params = {
                "containerid": f"100103type=1&q={kw}",
                "page_type": "searchall",
                "page": page,
                "timescope": scope,
            }
            try:
                resp = self.client.get(self.base_url + SEARCH_PATH, params=params)
            except FetchError as exc:
                sl.status, sl.detail = "failed", f"page {page}: {exc.reason}"
                res.errors.append(f"{kw} {scope} page {page}: {exc.reason}")
                return sl
            rec = raw_record(self.source, resp, "search", keyword=kw, page=page, timescope=scope)
            res.records.append(rec)
            res.pages += 1
            sl.pages += 1
            try:
                doc = json.loads(resp.body)
            except ValueError:
                # a truncated or garbled page: try it once more before giving up on the slice
                try:
                    resp = self.client.get(self.base_url + SEARCH_PATH, params=params)
                    doc = json.loads(resp.body)
                    rec = raw_record(self.source, resp, "search", keyword=kw, page=page, timescope=scope)
                    res.records.append(rec)
                except (FetchError, ValueError) as exc:
                    reason = getattr(exc, "reason", "invalid JSON")
                    sl.status, sl.detail = "failed", f"page {page}: {reason}"
                    res.errors.append(f"{kw} {scope} page {page}: {reason}")
                    return sl
            if not isinstance(doc, dict) or doc.get("ok") != 1:
                msg = str(doc.get("msg", "")) if isinstance(doc, dict) else "not an object"
                if announced_next:
                    # the previous page promised more, the site refuses: the page cap
                    sl.status, sl.detail = "capped", f"ok=0 at page {page}: {msg}"
                else:
                    sl.detail = f"ok=0 at page {page}: {msg}" if page > 1 else (msg or "no results")
                return sl
            data = doc.get("data") or {}
            mblogs = list(_iter_mblogs(data.get("cards") or []))
            sl.items += len(mblogs)
            for m in mblogs:
                if m.get("isLongText") and m.get("id"):
                    self._fetch_long(str(m["id"]), res)
            nxt = (data.get("cardlistInfo") or {}).get("page")
            if nxt in (None, "", 0, "0") or not mblogs:
                return sl
            if page >= self.max_pages:
                sl.status, sl.detail = "capped", f"still paging at page {page} (max_pages {self.max_pages})"
                return sl
            announced_next = True
            page = int(nxt) if str(nxt).isdigit() and int(nxt) > page else page + 1

    def _fetch_long(self, mid: str, res: FetchResult) -> None:
        try:
            resp = self.client.get(self.base_url + EXTEND_PATH, params={"id": mid})
        except FetchError as exc:
            res.errors.append(f"long text {mid}: {exc.reason}")
            return
        res.records.append(raw_record(self.source, resp, "longtext", id=mid))

    # ---- parsing --------------------------------------------------------------------------------
    def parse(self, records: list[dict[str, Any]], window: Window | None = None) -> ParseResult:
        out = ParseResult()
        long_text: dict[str, str] = {}
        pages: list[tuple[dict[str, Any], dict[str, Any]]] = []
        for i, rec in enumerate(records):
            try:
                doc = json.loads(record_body(rec))
            except ValueError:
                out.problems.append(f"record {i} ({rec.get('purpose')}): invalid JSON")
                continue
            if rec.get("purpose") == "longtext":
                d = (doc or {}).get("data") or {}
                if doc.get("ok") == 1 and d.get("longTextContent"):
                    long_text[str(rec["meta"]["id"])] = d["longTextContent"]
                else:
                    out.problems.append(f"long text {rec['meta'].get('id')}: {doc.get('msg', 'missing')}")
            elif rec.get("purpose") == "search" and isinstance(doc, dict) and doc.get("ok") == 1:
                pages.append((rec, doc))
        seen: set[str] = set()
        for rec, doc in pages:
            fetched_at = parse_iso(rec["fetched_at"])
            for mb in _iter_mblogs((doc.get("data") or {}).get("cards") or []):
                mid = str(mb.get("id") or mb.get("mid") or "")
                if not mid or mid in seen:
                    continue
                seen.add(mid)
                try:
                    out.mentions.append(self._mention(mb, fetched_at, long_text, rec))
                except (FieldError, KeyError, TypeError, ValueError) as exc:
                    out.problems.append(f"mblog {mid}: {exc}")
        return out

    def _mention(self, mb: dict[str, Any], fetched_at: datetime, long_text: dict[str, str],
                 rec: dict[str, Any]) -> Mention:
        mid = str(mb.get("id") or mb.get("mid"))
        html_text = long_text.get(mid) or mb.get("text") or ""
        user = mb.get("user") or {}
        rt = mb.get("retweeted_status") or None
        m = Mention(
            source=self.source.id,
            native_id=mid,
            url=f"https://m.weibo.cn/detail/{mid}",
            text=strip_html(html_text),
            published_at=parse_weibo_time(mb["created_at"], fetched_at, self.config.tz),
            author_id=str(user["id"]) if user.get("id") is not None else None,
            author_name=user.get("screen_name"),
            author_followers=parse_count(user.get("followers_count")),
            author_verified=bool(user.get("verified")) if "verified" in user else None,
            author_verified_type=int(user["verified_type"]) if user.get("verified_type") is not None else None,
            reposts=parse_count(mb.get("reposts_count")),
            comments=parse_count(mb.get("comments_count")),
            likes=parse_count(mb.get("attitudes_count")),
            retweet_of=str(rt.get("id")) if isinstance(rt, dict) and rt.get("id") else None,
            raw_ref=f"{rec.get('url')}",
            fetched_at=fetched_at,
        )
        if isinstance(rt, dict):
            m.quoted_text = strip_html(long_text.get(str(rt.get("id")), rt.get("text") or ""))
        if mb.get("isLongText") and mid not in long_text:
            m.truncated = True
        return m


def _iter_mblogs(cards: list[Any]):
    for c in cards:
        if not isinstance(c, dict):
            continue
        if c.get("card_type") == 9 and isinstance(c.get("mblog"), dict):
            yield c["mblog"]
        elif c.get("card_type") == 11:
            yield from _iter_mblogs(c.get("card_group") or [])


"""Weibo mobile search (m.weibo.cn ``/api/container/getIndex``).

Per search keyword and time slice it pages through
``containerid=100103type=1&q=KW&page_type=searchall&page=N`` (plus
``timescope=custom:YYYY-MM-DD-H:YYYY-MM-DD-H`` in local hours, as Weibo's advanced
search takes it), reading ``card_type`` 9 cards and the cards inside ``card_type`` 11
groups, until ``data.cardlistInfo.page`` is null or ``ok`` is 0 (its ``msg`` is
recorded in the slice).

Page caps: a slice that is still paging when ``max_pages`` is reached, or that the site
refuses to page any further although the previous page announced more (``ok: 0``), is
*capped*.  A capped slice is split (several days → days, a day or less → hours) and
re-crawled; a one-hour slice that is still capped cannot be split (the time scope takes
whole hours) and is reported ``capped`` with the page it stopped at, so the gap shows
in ``etl_coverage`` and in the report footer.

Other faults: HTTP errors, 429 and timeouts are retried by the client (Retry-After
honoured); a truncated or non-JSON page is fetched again (twice) and otherwise fails the
slice; ``ok: 0`` with a message other than "no (more) content" fails the slice with that
message; runs of empty pages while the site keeps announcing more end the slice as capped.

Long posts (``isLongText``, of a post or of the original it reposts) are completed from
``/statuses/extend``; a post whose long text could not be fetched is kept with
``truncated: true`` (the "…全文" marker removed) and counted in a ``partial`` slice.

Parsing: counts such as ``"1万+"``, ``"3.2万"``, ``"1亿"`` and plain strings become
integers (a count that cannot be read is reported and taken as 0, the post is kept);
``created_at`` in every form Weibo uses is resolved against the page's fetch time in
the configured time zone and stored in UTC.  Relative forms are imprecise ("3小时前" is
3-4 hours ago, "01-05" is a whole day): when that range overlaps the time slice the
site returned the post for, the time is moved into the slice, so a post is never pushed
out of the window by rounding.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from listening.core.fields import FieldError, parse_count, parse_weibo_time
from listening.core.model import Mention, Window, iso, parse_iso, utc
from listening.core.text import strip_html
from listening.sources.base import (
    Connector,
    FetchResult,
    ParseResult,
    Slice,
    item_fields,
    json_pages,
    local_hour_ceil,
    local_hour_floor,
    raw_record,
    record_body,
)
from listening.sources.http import FetchError, Response

log = logging.getLogger(__name__)

SEARCH_PATH = "/api/container/getIndex"
EXTEND_PATH = "/statuses/extend"
DETAIL_URL = "https://m.weibo.cn/detail/{}"
#: what the site says when a query has no (more) results
END_MESSAGES = ("这里还没有内容", "没有更多内容", "暂无结果", "没有内容", "还没有人")
MAX_EMPTY_PAGES = 3
BAD_JSON_RETRIES = 2
_MORE_RE = re.compile(r"(\.\.\.|…)\s*全文\s*$")


# ---- shared helpers (also used by the comments connector) ---------------------------------------------
def get_json(conn: Connector, url: str, params: dict[str, Any], res: FetchResult, purpose: str,
             **meta: Any) -> tuple[Any, Response | None, str | None]:
    """GET a JSON document; every response lands in ``res.records``.

    A body that is not JSON (truncated, an HTML login or captcha page) is fetched again up to
    ``BAD_JSON_RETRIES`` times; the bad bodies stay in the lake marked ``superseded``.
    Returns (document, response, None) or (None, last response, reason).
    """
    reason = ""
    resp: Response | None = None
    for attempt in range(BAD_JSON_RETRIES + 1):
        try:
            resp = conn.client.get(url, params=params)
        except FetchError as exc:
            return None, resp, exc.reason
        rec = raw_record(conn.source, resp, purpose, **meta)
        res.records.append(rec)
        res.pages += 1
        try:
            return json.loads(resp.body), resp, None
        except ValueError:
            ctype = resp.headers.get("content-type", "?")
            if "html" in ctype:
                reason = (f"not JSON but {ctype.split(';')[0]} from {resp.url.split('?')[0]} "
                          "(a login or captcha page? refresh the cookies in the source's connection)")
            else:
                reason = f"invalid JSON ({len(resp.body)} bytes, truncated?)"
            rec["meta"]["superseded"] = reason
            log.warning("%s %s: %s (attempt %d)", conn.source.id, purpose, reason, attempt + 1)
            if attempt < BAD_JSON_RETRIES:
                conn.client.sleep(min(conn.client.max_backoff, conn.client.backoff * 2 ** attempt))
    return None, resp, reason


def lenient_count(value: Any, what: str, problems: list[str]) -> int:
    try:
        return parse_count(value)
    except (FieldError, OverflowError, ValueError) as exc:  # parse_count(inf) raises OverflowError
        problems.append(f"{what}: not a count ({exc or value!r}); taken as 0")
        return 0


def time_range(value: str, resolved: datetime) -> tuple[datetime, datetime]:
    """The range of true times a Weibo ``created_at`` form stands for, given its resolution."""
    s = value.strip()
    if s == "刚刚":
        return resolved - timedelta(minutes=1), resolved
    m = re.match(r"^(\d+)\s*(秒|分钟|小时)前$", s)
    if m:
        unit = {"秒": timedelta(seconds=1), "分钟": timedelta(minutes=1), "小时": timedelta(hours=1)}[m.group(2)]
        return resolved - unit, resolved
    if re.match(r"^(今天|昨天)\s*\d{1,2}:\d{2}$", s) or re.match(r"^(\d{4}-)?\d{1,2}-\d{1,2}\s+\d{1,2}:\d{2}$", s):
        return resolved, resolved + timedelta(seconds=59)
    if re.match(r"^(\d{4}-)?\d{1,2}-\d{1,2}$", s):
        return resolved, resolved + timedelta(days=1, seconds=-1)
    return resolved, resolved


def resolve_time(value: Any, fetched_at: datetime, tz: Any, slice_start: datetime | None = None,
                 slice_end: datetime | None = None) -> datetime:
    """``created_at`` → UTC; an imprecise form is moved into the slice the site returned it for."""
    t = parse_weibo_time(value, fetched_at, tz)
    if slice_start is None or slice_end is None:
        return t
    lo, hi = time_range(str(value), t)
    lo, hi = max(lo, slice_start), min(hi, slice_end - timedelta(seconds=1))
    if lo > hi:  # the site returned it for another slice: keep the resolved time (visible downstream)
        return t
    return min(max(t, lo), hi)


def _suspicious(doc: Any) -> bool:
    if not isinstance(doc, dict) or doc.get("ok") != 1:
        return False
    data = doc.get("data")
    if not isinstance(data, dict) or not isinstance(data.get("cardlistInfo"), dict):
        return True
    more = data["cardlistInfo"].get("page") not in (None, "", 0, "0")
    return more and not any(True for _ in iter_mblogs(data.get("cards") or []))


def iter_mblogs(cards: list[Any]) -> Iterator[dict[str, Any]]:
    for c in cards:
        if not isinstance(c, dict):
            continue
        if c.get("card_type") == 9 and isinstance(c.get("mblog"), dict):
            yield c["mblog"]
        elif c.get("card_type") == 11:
            yield from iter_mblogs(c.get("card_group") or [])


def user_fields(user: Any, what: str, problems: list[str]) -> dict[str, Any]:
    user = user if isinstance(user, dict) else {}
    vt = user.get("verified_type")
    try:
        vtype = int(vt) if vt not in (None, "") else None
    except (TypeError, ValueError):
        problems.append(f"{what}: verified_type {vt!r} is not a number")
        vtype = None
    return {
        "author_id": str(user["id"]) if user.get("id") not in (None, "") else None,
        "author_name": user.get("screen_name"),
        "author_followers": (lenient_count(user.get("followers_count"), f"{what} followers_count", problems)
                             if user.get("followers_count") is not None else None),
        "author_verified": bool(user.get("verified")) if "verified" in user else None,
        "author_verified_type": vtype,
    }


#: the fields of a post (mblog) the raw suite checks
WEIBO_FIELDS = ("id", "created_at", "text", "user", "user.id", "user.screen_name", "user.followers_count",
                "reposts_count", "comments_count", "attitudes_count")


class WeiboSearch(Connector):
    kind = "weibo_search"
    windowed = True
    params_schema = {"max_pages": "positive_int", "page_size": "positive_int", "keywords": "strings"}
    raw_suite = "raw_weibo_search"
    raw_page_purpose = "search"

    @classmethod
    def raw_items(cls, records: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[tuple[int, str]]]:
        items: list[dict[str, Any]] = []
        bad_pages: list[tuple[int, str]] = []
        for i, doc in json_pages(records, cls.raw_page_purpose, bad_pages):
            cards = (doc.get("data") or {}).get("cards") if isinstance(doc.get("data"), dict) else None
            if not isinstance(cards, list):
                bad_pages.append((i, "search page without data.cards list"))
                continue
            for mb in iter_mblogs(cards):
                items.append({"record_no": i, "native_id": str(mb.get("id") or mb.get("mid") or ""),
                              "_item": mb, **item_fields(mb, WEIBO_FIELDS)})
        return items, bad_pages

    @property
    def max_pages(self) -> int:
        return int(self.params.get("max_pages", 50))

    def keywords(self) -> list[str]:
        kws: list[str] = list(self.params.get("keywords") or [])
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

    def _split(self, s: datetime, e: datetime) -> list[tuple[datetime, datetime]]:
        """Several days → days; a day or less → hours; an hour → nothing (the finest time scope)."""
        span = e - s
        if span <= timedelta(hours=1):
            return []
        step = timedelta(days=1) if span > timedelta(days=1) else timedelta(hours=1)
        out, a = [], s
        while a < e:
            b = min(a + step, e)
            out.append((a, b))
            a = b
        return out

    def fetch(self, window: Window, cursor: dict[str, Any] | None = None) -> FetchResult:
        res = FetchResult(cursor=dict(cursor or {}))
        tz = self.config.tz
        start, end = local_hour_floor(window.start, tz), local_hour_ceil(window.end, tz)
        self._long_done: set[str] = set()
        self._long_failed: list[str] = []
        for kw in self.keywords():
            queue = [(start, end)]
            while queue:
                s, e = queue.pop(0)
                sl = self._crawl_slice(kw, s, e, res)
                if sl.status == "capped":
                    parts = self._split(s, e)
                    if parts:
                        log.info("weibo %r %s..%s hit the page cap: split into %d", kw, iso(s), iso(e), len(parts))
                        sl.status = "split"
                        sl.detail = f"{sl.detail}; split into {len(parts)} slices"
                        queue[:0] = parts
                    else:
                        sl.detail = (f"{sl.detail}; one hour is the finest time scope the search takes: "
                                     "posts beyond the cap are missing")
                        res.errors.append(f"{kw} {self._timescope(s, e)}: capped ({sl.detail})")
                res.coverage.append(sl)
        if self._long_failed:
            n = len(self._long_failed)
            res.coverage.append(Slice(start, end, "partial", items=n, query="(long text)",
                                      detail=f"{n} long text(s) not fetched, kept truncated: "
                                             + ", ".join(self._long_failed[:10])))
        res.cursor["last_window_end"] = iso(window.end)
        return res

    def _crawl_slice(self, kw: str, s: datetime, e: datetime, res: FetchResult) -> Slice:
        scope = self._timescope(s, e)
        sl = Slice(start=s, end=e, status="complete", query=kw)
        page = 1
        announced_next = False
        empty_run = 0
        url = self.base_url + SEARCH_PATH
        while True:
            params = {
                "containerid": f"100103type=1&q={kw}",
                "page_type": "searchall",
                "page": page,
                "timescope": scope,
            }
            meta = {"keyword": kw, "page": page, "timescope": scope, "slice_start": iso(s), "slice_end": iso(e)}
            doc, _resp, reason = get_json(self, url, params, res, "search", **meta)
            sl.pages += 1
            if _suspicious(doc):
                # a page without cards or without cardlistInfo, while more was announced (or on page 1 with
                # no answer at all): often a transient glitch, so it is fetched once more
                res.records[-1]["meta"]["superseded"] = "empty or incomplete page: fetched again"
                self.client.sleep(min(self.client.max_backoff, self.client.backoff))
                doc, _resp, reason = get_json(self, url, params, res, "search", **meta)
                sl.pages += 1
            if doc is None:
                sl.status, sl.detail = "failed", f"page {page}: {reason}"
                res.errors.append(f"{kw} {scope} page {page}: {reason}")
                return sl
            if not isinstance(doc, dict) or doc.get("ok") != 1:
                msg = str(doc.get("msg") or "") if isinstance(doc, dict) else "not a JSON object"
                if not isinstance(doc, dict) or (msg and not any(m in msg for m in END_MESSAGES)):
                    sl.status, sl.detail = "failed", f"ok=0 at page {page}: {msg}"
                    res.errors.append(f"{kw} {scope} page {page}: ok=0: {msg}")
                elif announced_next:
                    # the previous page promised more, the site refuses: the page cap
                    sl.status, sl.detail = "capped", f"ok=0 at page {page} although more was announced: {msg}"
                else:
                    sl.detail = f"ok=0 at page {page}: {msg}" if page > 1 else f"no results: {msg or 'ok=0'}"
                return sl
            data = doc.get("data")
            if not isinstance(data, dict) or not isinstance(data.get("cardlistInfo"), dict):
                sl.status, sl.detail = "failed", f"page {page}: ok=1 but no data.cardlistInfo"
                res.errors.append(f"{kw} {scope} page {page}: ok=1 but no data.cardlistInfo")
                return sl
            mblogs = list(iter_mblogs(data.get("cards") or []))
            sl.items += len(mblogs)
            for m in mblogs:
                self._complete_long(m, res)
            nxt = data["cardlistInfo"].get("page")
            if nxt in (None, "", 0, "0"):
                return sl
            empty_run = 0 if mblogs else empty_run + 1
            if empty_run >= MAX_EMPTY_PAGES:
                sl.status = "capped"
                sl.detail = f"{empty_run} empty pages in a row up to page {page} although more was announced"
                return sl
            if page >= self.max_pages:
                sl.status, sl.detail = "capped", f"still paging at page {page} (max_pages {self.max_pages})"
                return sl
            announced_next = True
            page = int(nxt) if str(nxt).isdigit() and int(nxt) > page else page + 1

    def _complete_long(self, mb: dict[str, Any], res: FetchResult) -> None:
        todo = [mb]
        rt = mb.get("retweeted_status")
        if isinstance(rt, dict):
            todo.append(rt)
        for m in todo:
            mid = str(m.get("id") or "")
            if not m.get("isLongText") or not mid or mid in self._long_done:
                continue
            self._long_done.add(mid)
            doc, _resp, reason = get_json(self, self.base_url + EXTEND_PATH, {"id": mid}, res, "longtext", id=mid)
            if doc is None or not isinstance(doc, dict) or doc.get("ok") != 1:
                why = reason or (doc.get("msg") if isinstance(doc, dict) else "") or "ok=0"
                self._long_failed.append(f"{mid} ({why})")
                if reason:  # an ok=0 answer is reported by the parse, which sees the raw response
                    res.errors.append(f"long text {mid}: {reason}")

    # ---- parsing --------------------------------------------------------------------------------
    def parse(self, records: list[dict[str, Any]], window: Window | None = None) -> ParseResult:
        out = ParseResult()
        long_text: dict[str, str] = {}
        pages: list[tuple[dict[str, Any], dict[str, Any]]] = []
        for i, rec in enumerate(records):
            meta = rec.get("meta") or {}
            if meta.get("superseded") or rec.get("purpose") not in ("search", "longtext"):
                continue
            try:
                doc = json.loads(record_body(rec))
            except ValueError:
                out.problems.append(f"record {i} ({rec.get('purpose')}): invalid JSON")
                continue
            if not isinstance(doc, dict):
                out.problems.append(f"record {i} ({rec.get('purpose')}): not a JSON object")
                continue
            if rec.get("purpose") == "longtext":
                d = doc.get("data") or {}
                if doc.get("ok") == 1 and isinstance(d, dict) and d.get("longTextContent"):
                    long_text[str(meta.get("id"))] = d["longTextContent"]
                else:
                    out.problems.append(f"long text {meta.get('id')}: {doc.get('msg') or 'missing'} (kept truncated)")
            elif doc.get("ok") == 1:
                pages.append((rec, doc))
        seen: set[str] = set()
        for rec, doc in pages:
            fetched_at = parse_iso(rec["fetched_at"])
            meta = rec.get("meta") or {}
            bounds = None
            if meta.get("slice_start") and meta.get("slice_end"):
                bounds = (parse_iso(meta["slice_start"]), parse_iso(meta["slice_end"]))
            for mb in iter_mblogs((doc.get("data") or {}).get("cards") or []):
                mid = str(mb.get("id") or mb.get("mid") or "")
                if not mid or mid in seen:
                    continue
                seen.add(mid)
                try:
                    out.mentions.append(self._mention(mb, fetched_at, long_text, rec, bounds, out.problems))
                except (FieldError, KeyError, TypeError, ValueError) as exc:
                    out.problems.append(f"mblog {mid}: {exc}")
        return out

    def _text(self, m: dict[str, Any], long_text: dict[str, str]) -> tuple[str, bool]:
        mid = str(m.get("id") or m.get("mid") or "")
        if mid in long_text:
            return strip_html(long_text[mid]), False
        text = strip_html(m.get("text") or "")
        if m.get("isLongText"):
            return _MORE_RE.sub(r"\1", text), True
        return text, False

    def _mention(self, mb: dict[str, Any], fetched_at: datetime, long_text: dict[str, str],
                 rec: dict[str, Any], bounds: tuple[datetime, datetime] | None, problems: list[str]) -> Mention:
        mid = str(mb.get("id") or mb.get("mid"))
        text, truncated = self._text(mb, long_text)
        what = f"mblog {mid}"
        rt = mb.get("retweeted_status")
        created = resolve_time(mb["created_at"], fetched_at, self.config.tz, *(bounds or (None, None)))
        m = Mention(
            source=self.source.id,
            native_id=mid,
            url=DETAIL_URL.format(mid),
            text=text,
            published_at=utc(created),
            reposts=lenient_count(mb.get("reposts_count"), f"{what} reposts_count", problems),
            comments=lenient_count(mb.get("comments_count"), f"{what} comments_count", problems),
            likes=lenient_count(mb.get("attitudes_count"), f"{what} attitudes_count", problems),
            retweet_of=str(rt.get("id") or rt.get("mid")) if isinstance(rt, dict) and (rt.get("id") or rt.get("mid"))
            else None,
            raw_ref=f"{rec.get('url')}",
            fetched_at=fetched_at,
            truncated=truncated,
            **user_fields(mb.get("user"), what, problems),
        )
        if isinstance(rt, dict):
            m.quoted_text = self._text(rt, long_text)[0]
        return m

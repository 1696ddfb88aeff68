"""Weibo comments of posts (m.weibo.cn ``/comments/hotflow``), so that replies by the
brands' own accounts can be counted.

Which posts: the posts of the ``posts_from`` source (a ``weibo_search`` source; default
the first one configured) that its crawls landed in the lake during the last
``lookback_hours`` (and the current window), that match a brand (``brands_only``) and have
at least ``min_comments`` comments, the most commented first, at most ``max_posts``; or a
fixed list of ``status_ids``.  Reading the lake instead of searching again costs no
request, and keeps the comment crawl a separate source: its own pool, rate limit, cursor
and failure, so comment pages never hold up or fail the search crawl.

Per post it pages ``/comments/hotflow?id=ID&mid=ID&max_id_type=T[&max_id=X]`` until
``max_id`` is 0 (``ok: 0`` on the first page means no comments); a post still paging at
``max_pages`` is ``capped``.  Incremental: on a forward run, a post whose ``total_number``
equals the one stored in the cursor *and* whose comments seen so far were all published
before the window has nothing for this window, and only its first page is fetched.  (The
second condition matters for a crawl that runs after its window, a backfill or a replay:
it sees comments published after the window, which that window drops, so the next window
must read them again even though the total did not change.)  A raw interval of
``posts_from`` missing from the lookback (for instance the
current window's, when both crawls run at the same time) is reported as a ``partial``
slice: comments published in the window on the posts of that interval are not crawled.

Comments are not windowed by the site: the pipeline keeps those published in the window.
Each comment carries its post as context (``quoted_text``), so it is attributed to the
brands its post is about, like a repost to its original's.  Inline replies
(``comments`` of a comment) are kept with ``reply_to``; replies beyond the inline ones are
not crawled, and are counted in the slice detail.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from listening.core.fields import FieldError, parse_weibo_time
from listening.core.model import Mention, Window, iso, parse_iso
from listening.core.text import normalise, strip_html
from listening.sources.base import (
    Connector,
    FetchResult,
    ParseResult,
    Slice,
    item_fields,
    json_pages,
    record_body,
)
from listening.sources.params import Fail
from listening.sources.weibo import (
    DETAIL_URL,
    EXTEND_PATH,
    WeiboSearch,
    get_json,
    lenient_count,
    user_fields,
)

log = logging.getLogger(__name__)

HOTFLOW_PATH = "/comments/hotflow"
NO_COMMENTS = ("快来发表你的评论吧", "还没有人评论", "暂无评论", "这里还没有内容")
_INTERVAL_RE = re.compile(r"(\d{8}T\d{4}Z)_(\d{8}T\d{4}Z)\.jsonl\.gz$")


@dataclass
class Comment(Mention):
    """A comment (an interaction with a post), in the mention shape plus its own fields."""

    status_id: str = ""
    like_count: int = 0
    reply_to: str | None = None
    owned_account: bool = False  # written by one of the brands' own accounts
    owned_brand: str | None = None
    interaction: bool = True


def _interval_of(key: str) -> tuple[datetime, datetime] | None:
    m = _INTERVAL_RE.search(key)
    if not m:
        return None
    fmt = "%Y%m%dT%H%MZ"
    return (parse_iso(datetime.strptime(m.group(1), fmt).isoformat()),
            parse_iso(datetime.strptime(m.group(2), fmt).isoformat()))


def _gaps(start: datetime, end: datetime, covered: list[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    out, t = [], start
    for a, b in sorted(covered):
        if b <= t:
            continue
        if a > t:
            out.append((t, min(a, end)))
        t = max(t, b)
        if t >= end:
            break
    if t < end:
        out.append((t, end))
    return [g for g in out if g[0] < g[1]]


#: the fields of a comment the raw suite checks
COMMENT_FIELDS = ("id", "created_at", "text", "user", "user.id", "user.screen_name", "like_count")


class WeiboComments(Connector):
    kind = "weibo_comments"
    windowed = False
    #: the pipeline sends these records to fct_interaction, not fct_mention
    produces_interactions = True
    #: reads the posts the first stage (a weibo_search source) landed in the lake
    crawl_stage = "after"
    params_schema = {"posts_from": "string", "status_ids": "strings", "lookback_hours": "positive",
                     "min_comments": "count", "max_posts": "positive_int", "max_pages": "positive_int",
                     "brands_only": "bool"}
    raw_suite = "raw_weibo_comments"
    raw_page_purpose = "comments"

    @classmethod
    def check_config(cls, index: int, source: Any, sources: list[Any], fail: Fail) -> None:
        parent = source.params.get("posts_from")
        if parent is not None and {x.id: x.kind for x in sources}.get(parent) != WeiboSearch.kind:
            raise fail(f"sources[{index}].params.posts_from", f"{parent!r} is not a configured weibo_search source")

    @classmethod
    def raw_items(cls, records: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[tuple[int, str]]]:
        items: list[dict[str, Any]] = []
        bad_pages: list[tuple[int, str]] = []
        for i, doc in json_pages(records, cls.raw_page_purpose, bad_pages):  # ok: 0 is "no comments"
            data = doc.get("data")
            comments = data.get("data") if isinstance(data, dict) else None
            if not isinstance(comments, list):
                bad_pages.append((i, "comments page without data.data list"))
                continue
            for c in comments:
                inline = c.get("comments") if isinstance(c, dict) and isinstance(c.get("comments"), list) else []
                for item in [c, *inline]:
                    item = item if isinstance(item, dict) else {}
                    items.append({"record_no": i, "native_id": str(item.get("id") or item.get("mid") or ""),
                                  "_item": item, **item_fields(item, COMMENT_FIELDS)})
        return items, bad_pages

    # ---- which posts ------------------------------------------------------------------------------
    def _parent_id(self) -> str | None:
        pid = self.params.get("posts_from")
        if pid:
            return str(pid)
        return next((s.id for s in self.config.sources if s.kind == WeiboSearch.kind), None)

    def _select(self, window: Window, res: FetchResult) -> list[dict[str, Any]]:
        ids = [str(x) for x in self.params.get("status_ids") or []]
        if ids:
            return [{"id": i, "text": None, "brands": [], "comments": None} for i in ids]
        lookback = timedelta(hours=float(self.params.get("lookback_hours", 72)))
        lo, hi = window.start - lookback, window.end
        parent = self._parent_id()
        posts_slice = Slice(lo, hi, "complete", query=f"(posts from {parent})")
        res.coverage.append(posts_slice)
        if parent is None or self.lake is None:
            posts_slice.status = "failed"
            posts_slice.detail = "no weibo_search source to take posts from" if parent is None else "no lake"
            res.errors.append(f"comments: {posts_slice.detail}")
            return []
        keys: list[tuple[str, tuple[datetime, datetime]]] = []
        day = (lo - timedelta(days=1)).date()
        while day <= hi.date():
            for k in self.lake.list(f"raw/source={parent}/date={day:%Y-%m-%d}/"):
                iv = _interval_of(k)
                if iv and iv[0] < hi and iv[1] > lo:
                    keys.append((k, iv))
            day += timedelta(days=1)
        gaps = _gaps(lo, hi, [iv for _k, iv in keys])
        if gaps:
            posts_slice.status = "partial"
            shown = ", ".join(f"{iso(a)}..{iso(b)}" for a, b in gaps[:5])
            posts_slice.detail = (f"no raw/source={parent} objects for {shown}"
                                  f"{' …' if len(gaps) > 5 else ''}: comments on posts of those hours not crawled")
        search = WeiboSearch(self.config.source(parent), self.config, "", self.client, self.lake)
        best: dict[str, Mention] = {}
        for key, _iv in keys:
            try:
                parsed = search.parse(self.lake.get_jsonl(key))
            except (OSError, ValueError) as exc:
                res.errors.append(f"comments: cannot read {key}: {exc}")
                posts_slice.status = "partial"
                continue
            for m in parsed.mentions:
                if not (lo <= m.published_at < hi):
                    continue
                cur = best.get(m.native_id)
                if cur is None or (m.fetched_at or lo) >= (cur.fetched_at or lo):
                    best[m.native_id] = m
        min_comments = int(self.params.get("min_comments", 1))
        brands_only = bool(self.params.get("brands_only", True))
        chosen = []
        for m in best.values():
            if m.comments < min_comments:
                continue
            match_text = normalise(m.text).match
            if m.quoted_text:
                match_text = f"{match_text} // {normalise(m.quoted_text).match}"
            brands = [b.id for b in self.config.brands if b.query.match(match_text, normalised=True) is not None]
            if brands_only and not brands:
                continue
            # a repost's comments are about what it reposts too: both texts are the context
            context = f"{m.text} // {m.quoted_text}" if m.quoted_text else m.text
            chosen.append({"id": m.native_id, "text": context, "brands": brands, "comments": m.comments,
                           "published_at": iso(m.published_at), "author_name": m.author_name})
        chosen.sort(key=lambda p: (-(p["comments"] or 0), p["id"]))
        max_posts = int(self.params.get("max_posts", 200))
        posts_slice.items = len(chosen)
        if len(chosen) > max_posts:
            posts_slice.status = "capped"
            posts_slice.detail = (f"{len(chosen)} posts qualify, max_posts {max_posts}: the "
                                  f"{max_posts} most commented crawled. " + posts_slice.detail).strip()
            chosen = chosen[:max_posts]
        posts_slice.pages = len(keys)
        return chosen

    # ---- fetching -------------------------------------------------------------------------------
    def fetch(self, window: Window, cursor: dict[str, Any] | None = None) -> FetchResult:
        cursor = dict(cursor or {})
        res = FetchResult(cursor=cursor)
        last_end = cursor.get("last_window_end")
        forward = last_end is None or window.end > parse_iso(last_end)
        known: dict[str, int] = dict(cursor.get("totals") or {}) if forward else {}
        known_latest: dict[str, str | None] = dict(cursor.get("latest") or {}) if forward else {}
        totals: dict[str, int] = {}
        latest: dict[str, str | None] = {}
        for post in self._select(window, res):
            sid = post["id"]
            # the post itself, as context for the parse (which brands its comments concern)
            res.records.append({
                "source": self.source.id, "kind": self.kind, "purpose": "post", "url": DETAIL_URL.format(sid),
                "status": None, "headers": {}, "fetched_at": iso(datetime.now(UTC)), "attempts": 0,
                "elapsed_ms": 0, "meta": {k: v for k, v in post.items()},
            })
            if post["text"] is None:  # a configured id: the post's text from the detail endpoint
                get_json(self, self.base_url + EXTEND_PATH, {"id": sid}, res, "longtext", id=sid)
            sl, total, newest = self._crawl_post(sid, window, res, known.get(sid), known_latest.get(sid))
            res.coverage.append(sl)
            if total is not None:
                totals[sid] = total
                latest[sid] = newest
        res.cursor["totals"] = totals
        res.cursor["latest"] = latest
        res.cursor["last_window_end"] = iso(window.end)
        return res

    def _newest(self, items: list[Any], fetched_at: datetime, newest: datetime | None) -> tuple[datetime | None, bool]:
        """The latest ``created_at`` among the comments and their inline replies; False when one
        cannot be read (then the post is never skipped on the strength of its total)."""
        ok = True
        for c in items:
            if not isinstance(c, dict):
                continue
            inline = c.get("comments") if isinstance(c.get("comments"), list) else []
            for item in [c, *inline]:
                if not isinstance(item, dict):
                    continue
                try:
                    t = parse_weibo_time(item["created_at"], fetched_at, self.config.tz)
                except (FieldError, KeyError, TypeError, ValueError):
                    ok = False
                    continue
                newest = t if newest is None or t > newest else newest
        return newest, ok

    def _crawl_post(self, sid: str, window: Window, res: FetchResult, known_total: int | None,
                    known_latest: str | None) -> tuple[Slice, int | None, str | None]:
        """Page one post's comments; returns the slice, the post's total (None when not every
        page was read) and the latest comment time seen (ISO, None when unknown)."""
        sl = Slice(window.start, window.end, "complete", query=f"comments of {sid}")
        max_pages = int(self.params.get("max_pages", 50))
        url = self.base_url + HOTFLOW_PATH
        max_id: Any = 0
        max_id_type: Any = 0
        total: int | None = None
        missing_replies = 0
        newest: datetime | None = None
        readable = True
        while True:
            params: dict[str, Any] = {"id": sid, "mid": sid, "max_id_type": max_id_type}
            if max_id:
                params["max_id"] = max_id
            doc, _resp, reason = get_json(self, url, params, res, "comments", status_id=sid,
                                          page=sl.pages + 1, max_id=str(max_id or 0))
            sl.pages += 1
            if doc is None:
                sl.status, sl.detail = "failed", f"page {sl.pages}: {reason}"
                res.errors.append(f"comments of {sid} page {sl.pages}: {reason}")
                return sl, None, None
            if not isinstance(doc, dict) or doc.get("ok") != 1:
                msg = str(doc.get("msg") or "") if isinstance(doc, dict) else "not a JSON object"
                end_msg = isinstance(doc, dict) and (not msg or any(x in msg for x in NO_COMMENTS))
                if sl.pages == 1 and end_msg:
                    sl.detail = f"no comments: {msg or 'ok=0'}"
                    return sl, 0, None
                sl.status = "capped" if end_msg else "failed"
                sl.detail = f"ok=0 at page {sl.pages}: {msg}"
                if not end_msg:
                    res.errors.append(f"comments of {sid} page {sl.pages}: ok=0: {msg}")
                return sl, None, None
            data = doc.get("data") if isinstance(doc.get("data"), dict) else {}
            items = data.get("data") if isinstance(data.get("data"), list) else []
            sl.items += len(items)
            newest, ok = self._newest(items, datetime.now(UTC), newest)
            readable = readable and ok
            for c in items:
                if isinstance(c, dict):
                    inline = c.get("comments") if isinstance(c.get("comments"), list) else []
                    sl.items += len(inline)
                    with contextlib.suppress(TypeError, ValueError):
                        missing_replies += max(0, int(c.get("total_number") or 0) - len(inline))
            if sl.pages == 1:
                try:
                    total = int(data.get("total_number")) if data.get("total_number") is not None else None
                except (TypeError, ValueError):
                    total = None
                if (total is not None and known_total is not None and total == known_total
                        and known_latest is not None and parse_iso(known_latest) < window.start):
                    sl.detail = (f"unchanged since the last crawl ({total} comments, the latest at "
                                 f"{known_latest}, before the window): first page only")
                    return sl, total, known_latest
            max_id = data.get("max_id") or 0
            max_id_type = data.get("max_id_type") or 0
            if str(max_id) == "0":
                if missing_replies:
                    sl.detail = f"{missing_replies} nested replies beyond the inline ones not crawled"
                return sl, total, (iso(newest) if readable and newest is not None else None)
            if sl.pages >= max_pages:
                sl.status, sl.detail = "capped", f"still paging at page {sl.pages} (max_pages {max_pages})"
                return sl, None, None

    # ---- parsing --------------------------------------------------------------------------------
    def parse(self, records: list[dict[str, Any]], window: Window | None = None) -> ParseResult:
        out = ParseResult()
        context: dict[str, str] = {}
        pages = []
        for i, rec in enumerate(records):
            meta = rec.get("meta") or {}
            purpose = rec.get("purpose")
            if meta.get("superseded"):
                continue
            if purpose == "post":
                if meta.get("text"):
                    context[str(meta.get("id"))] = meta["text"]
                continue
            if purpose not in ("comments", "longtext"):
                continue
            try:
                doc = json.loads(record_body(rec))
            except ValueError:
                out.problems.append(f"record {i} ({purpose}): invalid JSON")
                continue
            if not isinstance(doc, dict) or doc.get("ok") != 1:
                continue
            if purpose == "longtext":
                d = doc.get("data") or {}
                if isinstance(d, dict) and d.get("longTextContent"):
                    context.setdefault(str(meta.get("id")), strip_html(d["longTextContent"]))
            else:
                pages.append((rec, doc))
        owners = {name: b.id for b in self.config.brands for name in b.owned_accounts}
        seen: set[str] = set()
        for rec, doc in pages:
            sid = str((rec.get("meta") or {}).get("status_id"))
            fetched_at = parse_iso(rec["fetched_at"])
            data = doc.get("data") if isinstance(doc.get("data"), dict) else {}
            for c in data.get("data") or []:
                if not isinstance(c, dict):
                    continue
                todo = [(c, None)]
                if isinstance(c.get("comments"), list):
                    todo += [(r, str(c.get("id"))) for r in c["comments"] if isinstance(r, dict)]
                for item, parent in todo:
                    cid = str(item.get("id") or item.get("mid") or "")
                    if not cid or cid in seen:
                        continue
                    seen.add(cid)
                    try:
                        out.mentions.append(self._comment(item, sid, parent, fetched_at, context, owners,
                                                          rec, out.problems))
                    except (FieldError, KeyError, TypeError, ValueError) as exc:
                        out.problems.append(f"comment {cid} of {sid}: {exc}")
        return out

    def _comment(self, c: dict[str, Any], sid: str, parent: str | None, fetched_at: datetime,
                 context: dict[str, str], owners: dict[str, str], rec: dict[str, Any],
                 problems: list[str]) -> Comment:
        cid = str(c.get("id") or c.get("mid"))
        what = f"comment {cid}"
        user = user_fields(c.get("user"), what, problems)
        likes = lenient_count(c.get("like_count", c.get("like_counts")), f"{what} like_count", problems)
        owned_brand = owners.get(user["author_name"] or "")
        return Comment(
            source=self.source.id,
            native_id=cid,
            url=DETAIL_URL.format(sid) + f"#comment-{cid}",
            text=strip_html(c.get("text") or ""),
            published_at=parse_weibo_time(c["created_at"], fetched_at, self.config.tz),
            likes=likes,
            comments=lenient_count(c.get("total_number"), f"{what} total_number", problems),
            quoted_text=context.get(sid),
            raw_ref=f"{rec.get('url')}",
            fetched_at=fetched_at,
            status_id=sid,
            like_count=likes,
            reply_to=parent,
            owned_account=owned_brand is not None,
            owned_brand=owned_brand,
            **user,
        )

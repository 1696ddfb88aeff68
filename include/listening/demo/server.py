"""A local HTTP server that replays the recorded demo corpus the way the live sites answer.

Endpoints (all relative to :attr:`DemoServer.base_url`):

* ``GET /api/container/getIndex?containerid=100103type%3D1%26q%3DKW&page_type=searchall&page=N
  [&timescope=custom:YYYY-MM-DD-H:YYYY-MM-DD-H]`` -- m.weibo.cn search, newest first, 10 mblogs a
  page, some wrapped in ``card_type`` 11 groups, a few non-mblog cards mixed in, at most ``page_cap``
  pages per query;
* ``GET /statuses/extend?id=ID`` -- the full text of a long post;
* ``GET /comments/hotflow?id=ID&mid=ID&max_id_type=0[&max_id=X]`` -- comments, hottest first;
* ``GET /rss/tech.xml`` and ``GET /atom/forum.xml`` -- feeds with ETag / Last-Modified and 304s;
* ``GET /web/index.html`` (also ``/web/``) and the news and forum pages it links to, recorded as
  served: UTF-8, GBK and Big5 pages, one whose header and ``<meta>`` declare UTF-8 over GBK bytes,
  one with pinyin annotations after each character (``include/demo/web/pages.json`` lists them with
  their Content-Type), and a page under ``/private/`` that robots.txt disallows;
* ``GET /robots.txt``.

Every request is logged to :attr:`DemoServer.requests` as ``(method, path_with_query, status)``, and
:meth:`DemoServer.add_fault` makes the next requests under a path fail, stall or come back truncated.
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import hashlib
import html
import json
import math
import random
import re
import socket
import threading
import time
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlsplit

import zhconv

from listening.demo import TZ, default_data_dir

MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
SEARCH_PREFIX = "100103"
NO_CONTENT = {"ok": 0, "msg": "这里还没有内容", "data": {"cards": []}}
ROBOTS = "User-agent: *\nCrawl-delay: 0\nDisallow: /private/\nAllow: /\n"
JSON_TYPE = "application/json; charset=utf-8"
FEEDS = {
    "/rss/tech.xml": ("feeds/tech.xml", "application/rss+xml; charset=utf-8"),
    "/atom/forum.xml": ("feeds/forum.xml", "application/atom+xml; charset=utf-8"),
}
_TAG = re.compile(r"<[^>]+>")
_BR = re.compile(r"<br\s*/?>", re.I)
_SCOPE = re.compile(r"^custom:(\d{4})-(\d{1,2})-(\d{1,2})-(\d{1,2}):(\d{4})-(\d{1,2})-(\d{1,2})-(\d{1,2})$")


def parse_weibo_time(s: str) -> int:
    """``"Sun Nov 01 08:12:33 +0800 2026"`` → unix seconds (locale-independent)."""
    _wd, mon, day, hms, tz, year = s.split()
    h, m, sec = (int(x) for x in hms.split(":"))
    sign = -1 if tz[0] == "-" else 1
    off = sign * (int(tz[1:3]) * 3600 + int(tz[3:5]) * 60)
    naive = datetime(int(year), MONTHS.index(mon) + 1, int(day), h, m, sec)
    return int((naive - datetime(1970, 1, 1)).total_seconds()) - off


def relative_time(created_at: str, now: datetime) -> str:
    """The site's display form of an absolute ``created_at`` seen at ``now`` (local UTC+8)."""
    t = datetime.fromtimestamp(parse_weibo_time(created_at), TZ)
    now = now.astimezone(TZ)
    secs = (now - t).total_seconds()
    if secs < 60:
        return "刚刚"
    if secs < 3600:
        return f"{int(secs // 60)}分钟前"
    if secs < 86400 and t.date() == now.date():
        return f"{int(secs // 3600)}小时前"
    if t.date() == (now - timedelta(days=1)).date():
        return f"昨天 {t:%H:%M}"
    if t.year == now.year:
        return f"{t:%m-%d}"
    return f"{t:%Y-%m-%d}"


def plain_text(markup: str) -> str:
    return html.unescape(_TAG.sub("", _BR.sub("\n", markup)))


def _fold(text: str) -> str:
    return zhconv.convert(text, "zh-cn").lower()


def _strip_private(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if not k.startswith("_")}


def _dump(obj: Any) -> bytes:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def parse_timescope(value: str) -> tuple[int, int] | None:
    """``custom:2026-11-01-0:2026-11-01-23`` → [start, end) unix seconds, end hour inclusive."""
    m = _SCOPE.match(value.strip())
    if not m:
        raise ValueError(value)
    y1, mo1, d1, h1, y2, mo2, d2, h2 = (int(x) for x in m.groups())
    if h1 > 23 or h2 > 23:
        raise ValueError(value)
    a = datetime(y1, mo1, d1, h1, tzinfo=TZ)
    b = datetime(y2, mo2, d2, h2, tzinfo=TZ) + timedelta(hours=1)
    return int(a.timestamp()), int(b.timestamp())


class Corpus:
    """The recorded data, loaded once."""

    def __init__(self, data_dir: Path):
        self.data_dir = Path(data_dir)
        path = self.data_dir / "weibo" / "mblogs.jsonl.gz"
        if not path.exists():
            raise FileNotFoundError(f"{path} is missing: run `python -m listening.demo.generate`")
        recs = []
        with gzip.open(path, "rt", encoding="utf-8") as f:
            for line in f:
                if line.strip():
                    recs.append(json.loads(line))
        self.long_text: dict[str, str] = {}
        self.by_id: dict[str, dict[str, Any]] = {}
        for r in recs:
            mid = str(r["id"])
            self.long_text[mid] = r.get("_longtext") or r.get("text") or ""
            self.by_id[mid] = _strip_private(r)
        entries = []
        for mid, mb in self.by_id.items():
            hay = plain_text(self.long_text[mid])
            rt = mb.get("retweeted_status")
            if isinstance(rt, dict):
                rid = str(rt.get("id"))
                hay += "\n" + plain_text(self.long_text.get(rid) or rt.get("text") or "")
            entries.append((parse_weibo_time(mb["created_at"]), mid, _fold(hay)))
        entries.sort(key=lambda e: (e[0], e[1]), reverse=True)  # newest first
        self.ts = [e[0] for e in entries]
        self.ids = [e[1] for e in entries]
        self.hay = [e[2] for e in entries]
        self.comments: dict[str, list[dict[str, Any]]] = {}
        cpath = self.data_dir / "weibo" / "comments.jsonl.gz"
        if cpath.exists():
            with gzip.open(cpath, "rt", encoding="utf-8") as f:
                for line in f:
                    if line.strip():
                        c = json.loads(line)
                        self.comments.setdefault(str(c.get("_status_id")), []).append(_strip_private(c))
        self.feeds: dict[str, tuple[bytes, str, str, int]] = {}
        for route, (rel, _ctype) in FEEDS.items():
            p = self.data_dir / rel
            if p.exists():
                body = p.read_bytes()
                etag = '"' + hashlib.sha1(body).hexdigest()[:20] + '"'
                self.feeds[route] = (body, etag, *_last_modified(body, p))
        self.web: dict[str, tuple[bytes, str]] = {}
        manifest = self.data_dir / "web" / "pages.json"
        if manifest.exists():
            for route, spec in json.loads(manifest.read_text(encoding="utf-8")).items():
                page = self.data_dir / "web" / spec["file"]
                if page.exists():
                    self.web[route] = (page.read_bytes(), spec.get("content_type") or "text/html")
        self._cache: dict[tuple[str, int | None, int | None], list[int]] = {}
        self._lock = threading.Lock()

    def search(self, q: str, scope: tuple[int, int] | None) -> list[int]:
        """Indices (newest first) of the mblogs whose text or retweeted original contains every term of q."""
        key = (q, *(scope or (None, None)))
        with self._lock:
            hit = self._cache.get(key)
        if hit is not None:
            return hit
        terms = [_fold(t) for t in q.split() if t]
        out = []
        if terms:
            for i, hay in enumerate(self.hay):
                if scope and not (scope[0] <= self.ts[i] < scope[1]):
                    continue
                if all(t in hay for t in terms):
                    out.append(i)
        with self._lock:
            if len(self._cache) > 512:
                self._cache.clear()
            self._cache[key] = out
        return out


def _last_modified(body: bytes, path: Path) -> tuple[str, int]:
    text = body[:4000].decode("utf-8", "replace")
    m = re.search(r"<lastBuildDate>([^<]+)</lastBuildDate>", text) or re.search(r"<updated>([^<]+)</updated>", text)
    ts = None
    if m:
        raw = m.group(1).strip()
        try:
            ts = int(parsedate_to_datetime(raw).timestamp())
        except (TypeError, ValueError):
            try:
                ts = int(datetime.fromisoformat(raw).timestamp())
            except ValueError:
                ts = None
    if ts is None:
        ts = int(path.stat().st_mtime)
    return format_datetime(datetime.fromtimestamp(ts, tz=UTC), usegmt=True), ts


@dataclass
class Fault:
    prefix: str
    status: int | None = None
    headers: dict[str, str] | None = None
    body: Any = None
    delay: float | None = None
    truncate: int | None = None
    remaining: int = 1


class DemoServer:
    """Serves the recorded demo corpus over real HTTP on ``host:port`` (port 0 = any free port)."""

    def __init__(self, data_dir: str | Path | None = None, host: str = "127.0.0.1", port: int = 0, *,
                 page_cap: int = 50, page_size: int = 10, relative_times: bool = False,
                 now: datetime | None = None):
        """``relative_times=True`` serves ``created_at`` the way the site shows recent items
        ("刚刚", "5分钟前", "3小时前", "昨天 08:12", "11-01", "2025-12-31") relative to ``now``
        (default: the wall clock); by default the recorded absolute form is served."""
        self.relative_times = relative_times
        self.now = now
        self.data_dir = Path(data_dir) if data_dir else default_data_dir()
        self.host = host
        self.port = port
        self.page_cap = page_cap
        self.page_size = page_size
        self.corpus = Corpus(self.data_dir)
        self.requests: list[tuple[str, str, int]] = []
        self._faults: list[Fault] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._conns: set[socket.socket] = set()

    # ---- lifecycle -------------------------------------------------------------------------------
    def start(self) -> DemoServer:
        if self._httpd is not None:
            return self
        self._stopping.clear()
        httpd = ThreadingHTTPServer((self.host, self.port), _Handler)
        httpd.daemon_threads = True
        httpd.demo = self  # type: ignore[attr-defined]
        self._httpd = httpd
        self.port = httpd.server_address[1]
        self._thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.1},
                                        name=f"demo-server-{self.port}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        self._stopping.set()
        httpd.shutdown()
        httpd.server_close()
        with self._lock:
            conns = list(self._conns)
        for c in conns:
            with contextlib.suppress(OSError):
                c.shutdown(socket.SHUT_RDWR)
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> DemoServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    # ---- faults ----------------------------------------------------------------------------------
    def add_fault(self, path_prefix: str, *, status: int | None = None, headers: dict[str, str] | None = None,
                  body: Any = None, delay: float | None = None, truncate: int | None = None,
                  times: int = 1) -> None:
        """The next ``times`` requests whose path (with query) starts with ``path_prefix`` get, instead of
        the normal answer: ``status`` (+ ``headers``/``body``); or the normal answer after ``delay``
        seconds; or the normal body cut to ``truncate`` bytes (``headers`` alone are added to it)."""
        with self._lock:
            self._faults.append(Fault(path_prefix, status, dict(headers or {}), body, delay, truncate, times))

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def _take_fault(self, target: str) -> Fault | None:
        with self._lock:
            for f in self._faults:
                if target.startswith(f.prefix) and f.remaining > 0:
                    f.remaining -= 1
                    if f.remaining <= 0:
                        self._faults.remove(f)
                    return f
        return None

    def _log(self, method: str, target: str, status: int) -> None:
        with self._lock:
            self.requests.append((method, target, status))

    # ---- routing ---------------------------------------------------------------------------------
    def handle(self, method: str, target: str, headers: Any) -> tuple[int, dict[str, str], bytes]:
        parts = urlsplit(target)
        path = parts.path
        params = dict(parse_qsl(parts.query, keep_blank_values=True))
        if path == "/api/container/getIndex":
            return self._json(self.search(params))
        if path == "/statuses/extend":
            return self._json(self.extend(params))
        if path == "/comments/hotflow":
            return self._json(self.hotflow(params))
        if path in FEEDS and path in self.corpus.feeds:
            return self.feed(path, headers)
        if path == "/robots.txt":
            return 200, {"Content-Type": "text/plain; charset=utf-8"}, ROBOTS.encode()
        if path == "/web/" or path == "/web":
            path = "/web/index.html"
        if path in self.corpus.web:
            body, ctype = self.corpus.web[path]
            return 200, {"Content-Type": ctype}, body
        return 404, {"Content-Type": "text/plain; charset=utf-8"}, b"404 Not Found\n"

    @staticmethod
    def _json(doc: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
        return 200, {"Content-Type": JSON_TYPE}, _dump(doc)

    def search(self, params: dict[str, str]) -> dict[str, Any]:
        cid = params.get("containerid", "")
        if not cid.startswith(SEARCH_PREFIX):
            return {"ok": 0, "msg": "containerid参数错误", "data": {"cards": []}}
        inner: dict[str, str] = {}
        for piece in cid[len(SEARCH_PREFIX):].split("&"):
            k, _, v = piece.partition("=")
            if k:
                inner[unquote(k)] = unquote(v)
        q = inner.get("q", "").strip()
        scope_raw = params.get("timescope") or inner.get("timescope")
        scope = None
        if scope_raw:
            try:
                scope = parse_timescope(scope_raw)
            except ValueError:
                return {"ok": 0, "msg": "timescope参数错误", "data": {"cards": []}}
        try:
            page = max(1, int(params.get("page") or 1))
        except ValueError:
            page = 1
        if not q or page > self.page_cap:
            return NO_CONTENT
        hits = self.corpus.search(q, scope)
        pages = math.ceil(len(hits) / self.page_size)
        if page > pages:
            return NO_CONTENT
        chunk = hits[(page - 1) * self.page_size: page * self.page_size]
        mblogs = [self._timed(self.corpus.by_id[self.corpus.ids[i]]) for i in chunk]
        lfid = quote(cid, safe="")
        return {
            "ok": 1,
            "data": {
                "cardlistInfo": {
                    "containerid": cid,
                    "v_p": 42,
                    "show_style": 1,
                    "total": len(hits),
                    "can_shared": 0,
                    "page_type": "searchall",
                    "page": page + 1 if page < pages else None,
                    "starttime": int(time.time()),
                },
                "cards": self._cards(mblogs, f"{q}|{scope_raw}|{page}", page, lfid),
                "scheme": f"sinaweibo://searchall?containerid={lfid}",
                "showAppTips": 0,
            },
        }

    def _timed(self, obj: dict[str, Any]) -> dict[str, Any]:
        if not self.relative_times:
            return obj
        now = self.now or datetime.now(TZ)
        out = dict(obj, created_at=relative_time(obj["created_at"], now))
        rt = obj.get("retweeted_status")
        if isinstance(rt, dict):
            out["retweeted_status"] = dict(rt, created_at=relative_time(rt["created_at"], now))
        return out

    @staticmethod
    def _cards(mblogs: list[dict[str, Any]], key: str, page: int, lfid: str) -> list[dict[str, Any]]:
        rnd = random.Random(zlib.crc32(key.encode("utf-8")))

        def card(mb: dict[str, Any]) -> dict[str, Any]:
            bid = mb.get("bid", "")
            return {"card_type": 9, "itemid": f"seqid:{zlib.crc32(key.encode())}|type:1|mid:{mb['id']}",
                    "scheme": f"https://m.weibo.cn/status/{bid}?mblogid={bid}&luicode=10000011&lfid={lfid}",
                    "mblog": mb, "show_type": 0}

        cards: list[dict[str, Any]] = [card(mb) for mb in mblogs]
        if len(cards) >= 3 and rnd.random() < 0.4:
            k = rnd.randint(2, min(4, len(cards)))
            at = rnd.randrange(0, len(cards) - k + 1)
            cards[at:at + k] = [{"card_type": 11, "show_type": 0, "card_group": cards[at:at + k]}]
        if rnd.random() < 0.25:
            hint = rnd.choice([{"card_type": 58, "show_type": 0, "desc": "以下是更多相关微博", "name": ""},
                               {"card_type": 4, "show_type": 0, "desc": "为你推荐以下相关内容", "scheme": ""}])
            cards.insert(rnd.randrange(0, len(cards) + 1), hint)
        if page == 1 and mblogs and rnd.random() < 0.5:
            users = []
            for mb in mblogs[:3]:
                u = mb.get("user") or {}
                users.append({"card_type": 10, "show_type": 0, "user": u, "desc1": u.get("description", ""),
                              "desc2": f"粉丝：{u.get('followers_count')}",
                              "scheme": f"https://m.weibo.cn/u/{u.get('id')}"})
            cards.insert(0, {"card_type": 11, "show_type": 0, "title": "相关用户", "card_group": users})
        return cards

    def extend(self, params: dict[str, str]) -> dict[str, Any]:
        mid = params.get("id", "")
        mb = self.corpus.by_id.get(mid)
        if mb is None:
            return {"ok": 0, "msg": "抱歉，此微博已被作者删除。"}
        return {"ok": 1, "data": {"ok": 1, "longTextContent": self.corpus.long_text[mid],
                                  "reposts_count": mb.get("reposts_count"),
                                  "comments_count": mb.get("comments_count"),
                                  "attitudes_count": mb.get("attitudes_count")}}

    def hotflow(self, params: dict[str, str]) -> dict[str, Any]:
        mid = params.get("id") or params.get("mid") or ""
        comments = self.corpus.comments.get(mid)
        if not comments:
            return {"ok": 0, "msg": "快来发表你的评论吧"}
        start = 0
        max_id = params.get("max_id", "0") or "0"
        if max_id != "0":
            idx = next((i for i, c in enumerate(comments) if str(c["id"]) == max_id), None)
            if idx is None:
                return {"ok": 0, "msg": "快来发表你的评论吧"}
            start = idx
        size = 10 + zlib.crc32(f"{mid}|{start}".encode()) % 11
        page = [self._timed(c) for c in comments[start:start + size]]
        end = start + len(page)
        nxt = int(comments[end]["id"]) if end < len(comments) else 0
        return {"ok": 1, "data": {"data": page, "total_number": len(comments), "max_id": nxt, "max_id_type": 0}}

    def feed(self, path: str, headers: Any) -> tuple[int, dict[str, str], bytes]:
        body, etag, last_modified, lm_ts = self.corpus.feeds[path]
        h = {"Content-Type": FEEDS[path][1], "ETag": etag, "Last-Modified": last_modified}
        inm = headers.get("If-None-Match") if headers is not None else None
        ims = headers.get("If-Modified-Since") if headers is not None else None
        if inm:
            tags = [t.strip() for t in inm.split(",")]
            if "*" in tags or etag in tags or f"W/{etag}" in tags:
                return 304, h, b""
        elif ims:
            try:
                since = parsedate_to_datetime(ims).timestamp()
            except (TypeError, ValueError):
                since = None
            if since is not None and lm_ts <= since:
                return 304, h, b""
        return 200, h, body


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "demo-weibo/1.0"
    sys_version = ""
    timeout = 60

    @property
    def demo(self) -> DemoServer:
        return self.server.demo  # type: ignore[attr-defined]

    def setup(self) -> None:
        super().setup()
        with self.demo._lock:
            self.demo._conns.add(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            with self.demo._lock:
                self.demo._conns.discard(self.connection)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet
        return

    def do_GET(self) -> None:  # noqa: N802
        self._serve(head=False)

    def do_HEAD(self) -> None:  # noqa: N802
        self._serve(head=True)

    def _serve(self, head: bool) -> None:
        demo = self.demo
        target = self.path
        fault = demo._take_fault(target)
        if fault and fault.delay and demo._stopping.wait(fault.delay):
            self.close_connection = True  # the server is stopping
            return
        if fault and fault.status is not None:
            status = fault.status
            hdrs: dict[str, str] = {}
            body = fault.body
            if isinstance(body, dict | list):
                body, hdrs["Content-Type"] = _dump(body), JSON_TYPE
            elif isinstance(body, str):
                body, hdrs["Content-Type"] = body.encode("utf-8"), "text/plain; charset=utf-8"
            elif body is None:
                body, hdrs["Content-Type"] = b"", "text/plain; charset=utf-8"
            hdrs.update(fault.headers or {})
        else:
            try:
                status, hdrs, body = demo.handle("GET", target, self.headers)
            except Exception as exc:  # a bug in the replay must not kill the connection silently
                status, hdrs, body = 500, {"Content-Type": "text/plain; charset=utf-8"}, repr(exc).encode()
            if fault:
                hdrs = {**hdrs, **(fault.headers or {})}
                if fault.truncate is not None:
                    body = body[: fault.truncate]
        demo._log(self.command, target, status)
        try:
            self.send_response(status)
            for k, v in hdrs.items():
                self.send_header(k, str(v))
            if status != 304:
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if not head and status != 304:
                self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError, OSError):
            self.close_connection = True


def serve_forever(port: int = 8765, data_dir: str | Path | None = None, host: str = "127.0.0.1") -> None:
    """Serve the demo corpus until Ctrl-C (the ``listening demo serve`` command)."""
    server = DemoServer(data_dir, host=host, port=port).start()
    print(server.base_url, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m listening.demo.server", description="Serve the demo corpus.")
    ap.add_argument("--port", type=int, default=8765)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--data-dir", type=Path, default=None)
    args = ap.parse_args(argv)
    serve_forever(args.port, args.data_dir, args.host)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

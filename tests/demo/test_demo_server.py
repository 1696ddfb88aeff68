"""The recorded demo corpus and the local server that replays it like the live sites."""

from __future__ import annotations

import gzip
import json
import math
import re
from collections import Counter
from datetime import UTC, datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path

import feedparser
import httpx
import pytest
import zhconv

from listening.demo import default_data_dir
from listening.demo.generate import generate, mid_to_bid
from listening.demo.server import DemoServer

TZ = timezone(timedelta(hours=8))
DATA = default_data_dir()
SEARCH = "/api/container/getIndex"
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
WEIBO_TIME = re.compile(r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) "
                        r"\d\d \d\d:\d\d:\d\d \+0800 \d{4}$")


def wtime(s: str) -> datetime:
    _, mon, day, hms, _, year = s.split()
    h, m, sec = map(int, hms.split(":"))
    return datetime(int(year), MONTHS.index(mon) + 1, int(day), h, m, sec, tzinfo=TZ)


def strip(markup: str) -> str:
    return re.sub(r"<[^>]+>", "", markup)


def read_jsonl(path: Path) -> list[dict]:
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def count(v: int | str) -> int:
    if isinstance(v, int):
        return v
    v = v.rstrip("+")
    if v.endswith("亿"):
        return int(float(v[:-1]) * 100_000_000)
    if v.endswith("万"):
        return int(float(v[:-1]) * 10_000)
    return int(v)


@pytest.fixture(scope="module")
def mblogs() -> list[dict]:
    return read_jsonl(DATA / "weibo" / "mblogs.jsonl.gz")


@pytest.fixture(scope="module")
def truth() -> list[dict]:
    return read_jsonl(DATA / "truth.jsonl.gz")


@pytest.fixture()
def client(server):
    server.clear_faults()
    with httpx.Client(base_url=server.base_url, timeout=10) as c:
        yield c


def search(client: httpx.Client, q: str, page: int = 1, scope: str | None = None) -> dict:
    params = {"containerid": f"100103type=1&q={q}", "page_type": "searchall", "page": page}
    if scope:
        params["timescope"] = scope
    r = client.get(SEARCH, params=params)
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json; charset=utf-8"
    return r.json()


def flatten(cards: list[dict]) -> list[dict]:
    out = []
    for c in cards:
        if c.get("card_type") == 9 and "mblog" in c:
            out.append(c["mblog"])
        elif c.get("card_type") == 11:
            out.extend(flatten(c.get("card_group") or []))
    return out


def crawl(client: httpx.Client, q: str, scope: str | None = None) -> tuple[list[dict], list[dict]]:
    """Every mblog of a query (following cardlistInfo.page) and every response."""
    page, found, docs = 1, [], []
    while True:
        doc = search(client, q, page, scope)
        docs.append(doc)
        if doc["ok"] != 1:
            break
        found += flatten(doc["data"]["cards"])
        nxt = doc["data"]["cardlistInfo"]["page"]
        if nxt is None:
            break
        assert nxt == page + 1
        page = nxt
    return found, docs


def expected(mblogs: list[dict], q: str, start: datetime | None = None, end: datetime | None = None) -> list[str]:
    by_id = {m["id"]: m for m in mblogs}
    out = []
    for m in mblogs:
        hay = strip(m.get("_longtext") or m["text"])
        rt = m.get("retweeted_status")
        if rt:
            orig = by_id.get(rt["id"], rt)
            hay += "\n" + strip(orig.get("_longtext") or orig["text"])
        t = wtime(m["created_at"])
        if start and not (start <= t < end):
            continue
        if zhconv.convert(q, "zh-cn").lower() in zhconv.convert(hay, "zh-cn").lower():
            out.append(m["id"])
    return out


# ---- search ------------------------------------------------------------------------------------------
def test_search_pagination_and_last_page(client, mblogs):
    scope = "custom:2026-11-01-0:2026-11-05-23"
    found, docs = crawl(client, "蓝山", scope)
    ids = [m["id"] for m in found]
    total = docs[0]["data"]["cardlistInfo"]["total"]
    lo = datetime(2026, 11, 1, tzinfo=TZ)
    assert total == len(expected(mblogs, "蓝山", lo, lo + timedelta(days=5))) == len(ids) == len(set(ids)) > 100
    assert len(docs) == math.ceil(total / 10) <= 50
    assert all(d["ok"] == 1 for d in docs)
    assert docs[-1]["data"]["cardlistInfo"]["page"] is None
    assert all(len(flatten(d["data"]["cards"])) == 10 for d in docs[:-1])
    # newest first across pages
    times = [wtime(m["created_at"]) for m in found]
    assert times == sorted(times, reverse=True)
    # beyond the last page, and a query without hits
    beyond = search(client, "蓝山", len(docs) + 1, scope)
    assert beyond == {"ok": 0, "msg": "这里还没有内容", "data": {"cards": []}}
    assert search(client, "完全不存在的关键词xyz")["ok"] == 0
    assert search(client, "蓝山", len(docs), scope)["data"]["cardlistInfo"]["page"] is None
    info = docs[0]["data"]["cardlistInfo"]
    assert info["containerid"] == "100103type=1&q=蓝山" and info["v_p"] == 42 and info["page_type"] == "searchall"
    assert isinstance(info["starttime"], int)


def test_page_cap_answers_ok_0():
    with DemoServer(page_cap=3) as s, httpx.Client(base_url=s.base_url) as c:
        p3 = search(c, "极光", 3)
        assert p3["ok"] == 1 and p3["data"]["cardlistInfo"]["page"] == 4  # the site still promises more...
        assert p3["data"]["cardlistInfo"]["total"] > 30
        assert search(c, "极光", 4)["ok"] == 0  # ...and then refuses
    with DemoServer() as s, httpx.Client(base_url=s.base_url) as c:
        assert search(c, "极光", 50)["ok"] == 1
        assert search(c, "极光", 51)["ok"] == 0


def test_search_matches_case_insensitive_traditional_and_reposts(client, mblogs):
    # the English brand name, any case
    assert search(client, "aurora")["data"]["cardlistInfo"]["total"] == search(client, "AURORA")["data"][
        "cardlistInfo"]["total"] > 0
    # a simplified keyword finds traditional posts
    trad, _ = crawl(client, "极光", "custom:2026-11-02-0:2026-11-02-23")
    assert any("極光" in strip(m["text"]) for m in trad)
    # reposts whose own text lacks the keyword come back through their original
    assert any("极光" not in strip(m["text"]) and "極光" not in strip(m["text"]) and m.get("retweeted_status")
               for m in trad)


def test_timescope_filters_local_hours(client, mblogs):
    scope = "custom:2026-11-03-8:2026-11-03-11"
    found, docs = crawl(client, "极光", scope)
    assert found and all(d["ok"] == 1 for d in docs)
    lo, hi = datetime(2026, 11, 3, 8, tzinfo=TZ), datetime(2026, 11, 3, 12, tzinfo=TZ)
    assert all(lo <= wtime(m["created_at"]) < hi for m in found)
    assert sorted(m["id"] for m in found) == sorted(expected(mblogs, "极光", lo, hi))
    # a whole local day
    day, _ = crawl(client, "星辰", "custom:2026-11-06-0:2026-11-06-23")
    assert all(wtime(m["created_at"]).date().isoformat() == "2026-11-06" for m in day)
    assert search(client, "极光", scope="custom:bad")["ok"] == 0


def test_card_groups_flatten_to_each_mblog_exactly_once(client, mblogs):
    kinds: Counter = Counter()
    for q, day in (("极光", 2), ("极光", 7), ("星辰", 5), ("蓝山", 12)):
        scope = f"custom:2026-11-{day:02d}-0:2026-11-{day:02d}-23"
        found, docs = crawl(client, q, scope)
        ids = [m["id"] for m in found]
        assert len(ids) == len(set(ids)), "duplicates across pages"
        lo = datetime(2026, 11, day, tzinfo=TZ)
        assert sorted(ids) == sorted(expected(mblogs, q, lo, lo + timedelta(days=1))), "missing or extra mblogs"
        for d in docs:
            for c in d["data"]["cards"]:
                kinds[c["card_type"]] += 1
                if c["card_type"] == 11:
                    kinds["group_with_mblog" if any("mblog" in g for g in c["card_group"]) else "group_other"] += 1
    assert kinds[9] and kinds["group_with_mblog"], kinds
    assert kinds[4] + kinds[58] + kinds["group_other"] > 0, kinds  # cards to ignore


def test_spike_day_needs_more_than_the_page_cap(client):
    doc = search(client, "极光", scope="custom:2026-11-10-0:2026-11-10-23")
    assert doc["data"]["cardlistInfo"]["total"] > 50 * 10
    normal = search(client, "极光", scope="custom:2026-11-03-0:2026-11-03-23")
    assert normal["data"]["cardlistInfo"]["total"] < 50 * 10


# ---- long text and comments ---------------------------------------------------------------------------
def test_extend_returns_long_text(client, mblogs):
    longs = [m for m in mblogs if m["isLongText"]]
    assert len(longs) >= 20
    m = longs[0]
    assert m["text"].endswith(f'...<a href="/status/{m["id"]}">全文</a>')
    doc = client.get("/statuses/extend", params={"id": m["id"]}).json()
    assert doc["ok"] == 1 and doc["data"]["ok"] == 1
    full = doc["data"]["longTextContent"]
    assert full == m["_longtext"] and len(strip(full)) > 140
    assert strip(m["text"]).removesuffix("...全文")[:100] == strip(full)[:100]
    assert doc["data"]["reposts_count"] == m["reposts_count"]
    # the served mblogs never leak private keys
    served = flatten(search(client, strip(full)[:12])["data"]["cards"])
    assert served and all(not k.startswith("_") for mb in served for k in mb)
    assert client.get("/statuses/extend", params={"id": "5110000000000001"}).json()["ok"] == 0


def test_hotflow_pages_until_max_id_0(client, mblogs):
    comments = read_jsonl(DATA / "weibo" / "comments.jsonl.gz")
    per_post = Counter(c["_status_id"] for c in comments)
    mid, n = per_post.most_common(1)[0]
    assert n > 20
    got, max_id, pages = [], None, 0
    while True:
        params = {"id": mid, "mid": mid, "max_id_type": 0}
        if max_id:
            params["max_id"] = max_id
        doc = client.get("/comments/hotflow", params=params).json()
        assert doc["ok"] == 1
        data = doc["data"]
        assert data["total_number"] == n and data["max_id_type"] == 0
        assert 10 <= len(data["data"]) <= 20 or data["max_id"] == 0
        got += data["data"]
        pages += 1
        max_id = data["max_id"]
        if max_id == 0:
            break
        assert pages < 20
    ids = [c["id"] for c in got]
    assert len(ids) == len(set(ids)) == n and pages >= 2
    c0 = got[0]
    assert WEIBO_TIME.match(c0["created_at"]) and {"id", "text", "like_count", "user"} <= set(c0)
    assert "_status_id" not in c0
    likes = [c["like_count"] for c in got]
    assert likes == sorted(likes, reverse=True)  # hottest first
    no_comments = next(m for m in mblogs if m["id"] not in per_post)
    assert client.get("/comments/hotflow", params={"id": no_comments["id"], "mid": no_comments["id"],
                                                     "max_id_type": 0}).json() == {"ok": 0, "msg": "快来发表你的评论吧"}


def test_owned_account_replies_to_negative_posts(mblogs, truth):
    comments = read_jsonl(DATA / "weibo" / "comments.jsonl.gz")
    by_id = {m["id"]: m for m in mblogs}
    pol = {t["native_id"]: t["polarity"] for t in truth if t["source"] == "weibo"}
    cs = [c for c in comments if c["user"]["screen_name"] == "极光客服"]
    assert len(cs) >= 50
    delays = []
    for c in cs:
        post = by_id[c["_status_id"]]
        assert pol[post["id"]] == "neg"
        delays.append((wtime(c["created_at"]) - wtime(post["created_at"])).total_seconds())
    assert min(delays) > 0 and min(delays) < 3600 and max(delays) > 6 * 3600


# ---- feeds, robots, 404 ----------------------------------------------------------------------------
@pytest.mark.parametrize(("path", "ctype"), [("/rss/tech.xml", "application/rss+xml; charset=utf-8"),
                                             ("/atom/forum.xml", "application/atom+xml; charset=utf-8")])
def test_feed_conditional_get(client, path, ctype):
    r = client.get(path)
    assert r.status_code == 200 and r.headers["content-type"] == ctype
    etag, lm = r.headers["etag"], r.headers["last-modified"]
    assert etag.startswith('"') and lm.endswith("GMT")
    assert client.get(path, headers={"If-None-Match": etag}).status_code == 304
    assert client.get(path, headers={"If-Modified-Since": lm}).status_code == 304
    assert client.get(path, headers={"If-None-Match": '"stale"'}).status_code == 200
    old = format_datetime(datetime(2026, 10, 1, tzinfo=UTC), usegmt=True)
    assert client.get(path, headers={"If-Modified-Since": old}).status_code == 200
    feed = feedparser.parse(r.content)
    assert not feed.bozo, feed.get("bozo_exception")
    assert 230 <= len(feed.entries) <= 280
    e = feed.entries[0]
    assert e.title and e.link and e.id and e.published_parsed and e.get("author")
    assert any(("极光" in x.title or "極光" in x.title) for x in feed.entries)
    if path.startswith("/rss"):
        assert "+0800" in e.published and e.description.startswith("<p>")
    else:
        assert e.published.endswith("+08:00") and e.content[0].type == "text/html"


def test_robots_and_unknown_paths(client):
    r = client.get("/robots.txt")
    assert r.status_code == 200 and "Disallow: /private/" in r.text and "Crawl-delay: 0" in r.text
    assert client.get("/nope").status_code == 404
    assert client.get("/private/x").status_code == 404


# ---- fault injection ------------------------------------------------------------------------------------
def test_fault_429_once_then_normal(server, client):
    server.add_fault(SEARCH, status=429, headers={"Retry-After": "1"})
    r = client.get(SEARCH, params={"containerid": "100103type=1&q=极光", "page_type": "searchall"})
    assert r.status_code == 429 and r.headers["retry-after"] == "1"
    r = client.get(SEARCH, params={"containerid": "100103type=1&q=极光", "page_type": "searchall"})
    assert r.status_code == 200 and r.json()["ok"] == 1
    assert [s for _, p, s in server.requests if p.startswith(SEARCH)][-2:] == [429, 200]


def test_fault_status_times_and_prefix(server, client):
    server.add_fault("/statuses/extend", status=500, body={"ok": 0, "msg": "系统繁忙"}, times=2)
    assert client.get("/robots.txt").status_code == 200  # other paths unaffected
    assert [client.get("/statuses/extend", params={"id": "1"}).status_code for _ in range(3)] == [500, 500, 200]
    server.add_fault("/rss/", status=503)
    server.clear_faults()
    assert client.get("/rss/tech.xml").status_code == 200


def test_fault_truncated_json(server, client):
    server.add_fault(SEARCH, truncate=100)
    r = client.get(SEARCH, params={"containerid": "100103type=1&q=极光", "page_type": "searchall"})
    assert r.status_code == 200 and len(r.content) == 100
    with pytest.raises(json.JSONDecodeError):
        json.loads(r.content)
    r = client.get(SEARCH, params={"containerid": "100103type=1&q=极光", "page_type": "searchall"})
    assert r.json()["ok"] == 1


def test_fault_delay_provokes_timeout(server):
    server.add_fault("/statuses/extend", delay=1.5)
    with httpx.Client(base_url=server.base_url, timeout=0.3) as c:
        with pytest.raises(httpx.ReadTimeout):
            c.get("/statuses/extend", params={"id": "1"})
        assert c.get("/statuses/extend", params={"id": "1"}).json()["ok"] == 0


# ---- the corpus --------------------------------------------------------------------------------------
def test_mblog_shape(mblogs):
    ids = {m["id"] for m in mblogs}
    for m in mblogs:
        assert re.fullmatch(r"5\d{15}", m["id"]) and m["mid"] == m["id"]
        assert len(m["bid"]) == 9 and m["bid"] == mid_to_bid(m["id"])
        assert WEIBO_TIME.match(m["created_at"])
        assert isinstance(m["user"]["id"], int) and len(str(m["user"]["id"])) == 10
        assert m["region_name"].startswith("发布于 ")
        assert isinstance(m["isLongText"], bool) and isinstance(m["pic_num"], int)
        if "retweeted_status" in m:
            rt = m["retweeted_status"]
            assert rt["id"] in ids and "retweeted_status" not in rt
            assert wtime(rt["created_at"]) < wtime(m["created_at"])
    html_all = "\n".join(m["text"] for m in mblogs)
    assert "<a href='/n/" in html_all and "<br />" in html_all
    assert '<span class="url-icon"><img alt=[doge] src="https://h5.sinaimg.cn/m/emoticon/icon/others/d_doge' in html_all
    assert 'href="https://m.s.weibo.cn/search?containerid=' in html_all and "<span class='surl-text'>网页链接" in html_all
    assert any(isinstance(m["attitudes_count"], str) and m["attitudes_count"].endswith("万") for m in mblogs)
    assert any(m["attitudes_count"] == "100万+" for m in mblogs)
    assert any(isinstance(m["user"]["followers_count"], str) for m in mblogs)
    assert {m["user"]["verified_type"] for m in mblogs} >= {-1, 0, 2, 3}
    users = {m["user"]["id"] for m in mblogs}
    assert 1000 <= len(users) <= 1500
    for emoji in ("[允悲]", "🔥"):
        assert emoji in html_all


def test_corpus_volume_and_variety(mblogs, truth):
    weibo = [t for t in truth if t["source"] == "weibo"]
    assert len(weibo) == len(mblogs) >= 2600
    kinds = Counter(t["kind"] for t in weibo)
    relevant = [t for t in weibo if t["brands"] and t["kind"] not in ("spam", "irrelevant")]
    assert len(relevant) >= 2000
    assert kinds["repost"] >= 300 and kinds["spam"] >= 50 and kinds["irrelevant"] >= 150
    assert kinds["near_dup"] >= 25 and kinds["owned"] >= 10 and kinds["original"] >= 1500
    assert {b for t in weibo for b in t["brands"]} == {"aurora", "xingchen", "lanshan"}
    assert sum(1 for t in relevant if len(t["brands"]) == 2) >= 50
    assert set(Counter(t["polarity"] for t in weibo)) == {"pos", "neu", "neg"}
    # about a tenth in Traditional Chinese
    trad = sum(1 for t in weibo if t["script"] == "hant") / len(weibo)
    assert 0.07 <= trad <= 0.13
    # 14 local days, quiet nights
    days = Counter(t["created_at"][:10] for t in weibo)
    assert sorted(days) == [f"2026-11-{d:02d}" for d in range(1, 15)]
    night = sum(1 for t in weibo if 2 <= int(t["created_at"][11:13]) < 7) / len(weibo)
    assert night < 0.08
    # the negative spike on 11-10, with KOLs
    spike = [t for t in weibo if t["created_at"][:10] == "2026-11-10" and "aurora" in t["brands"]
             and t["polarity"] == "neg"]
    assert len(spike) >= 300
    other = max(n for d, n in days.items() if d != "2026-11-10")
    assert days["2026-11-10"] > 2 * other
    by_id = {m["id"]: m for m in mblogs}
    kol = [t for t in spike if count(by_id[t["native_id"]]["user"]["followers_count"]) > 1_000_000
           and t["kind"] == "original"]
    assert len(kol) >= 3
    assert sum(1 for t in spike if t["kind"] == "repost") >= 100
    # the repost storm: one campaign copied by ~30 accounts
    storm = [t for t in weibo if t["kind"] == "near_dup" and t["story"] == "aurora_double11"]
    assert 25 <= len({t["author"] for t in storm}) <= 35
    texts = {strip(by_id[t["native_id"]]["text"]) for t in storm}
    assert len(texts) > 5  # small variations, not identical copies
    # keyword hits that are not about the brands
    irr = "\n".join(strip(by_id[t["native_id"]]["text"]) for t in weibo if t["kind"] == "irrelevant")
    for w in ("北极光", "看极光", "漠河", "极光之旅", "星辰大海", "蓝山咖啡", "蓝山县"):
        assert w in irr or zhconv.convert(w, "zh-tw") in irr, w
    spam = "\n".join(strip(by_id[t["native_id"]]["text"]) for t in weibo if t["kind"] == "spam")
    assert "加V信" in spam and "QQ群" in spam
    # text lengths
    lens = [len(strip(by_id[t["native_id"]].get("_longtext") or by_id[t["native_id"]]["text"]))
            for t in weibo if not t["retweet_of"]]
    assert min(lens) >= 10 and max(lens) <= 300 and sum(1 for n in lens if n > 140) >= 30
    # the feeds
    feeds = Counter(t["source"] for t in truth)
    assert 230 <= feeds["rss"] <= 280 and 230 <= feeds["atom"] <= 280
    assert all(t["kind"] in ("original", "irrelevant") for t in truth if t["source"] in ("rss", "atom"))
    manifest = json.loads((DATA / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["weibo"]["posts"] == len(mblogs)
    size = sum(p.stat().st_size for p in DATA.rglob("*") if p.is_file())
    assert size < 5_000_000


# ---- the generator ------------------------------------------------------------------------------------
def _files(d: Path) -> dict[str, bytes]:
    return {str(p.relative_to(d)): p.read_bytes() for p in sorted(d.rglob("*")) if p.is_file()}


def test_generator_is_deterministic(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    generate(a, seed=20261101)
    generate(b, seed=20261101)
    fa, fb = _files(a), _files(b)
    assert fa.keys() == fb.keys() and len(fa) == 6
    for k in fa:
        assert fa[k] == fb[k], k
    # the committed corpus is what the generator makes (compared uncompressed: zlib builds may differ)
    committed = _files(DATA)
    for k, v in fa.items():
        if k.endswith(".gz"):
            assert gzip.decompress(committed[k]) == gzip.decompress(v), k
        else:
            assert committed[k] == v, k
    generate(tmp_path / "c", seed=7)
    assert _files(tmp_path / "c")["weibo/mblogs.jsonl.gz"] != fa["weibo/mblogs.jsonl.gz"]


def test_relative_times_option():
    now = datetime(2026, 11, 14, 23, 30, tzinfo=TZ)
    with DemoServer(relative_times=True, now=now) as s, httpx.Client(base_url=s.base_url) as c:
        shown = [m["created_at"] for m in flatten(search(c, "极光", 1)["data"]["cards"])]
        assert shown and all(re.fullmatch(r"刚刚|\d+分钟前|\d+小时前", x) for x in shown), shown
        old = flatten(search(c, "极光", 1, "custom:2026-11-02-0:2026-11-02-23")["data"]["cards"])
        assert all(m["created_at"] == "11-02" for m in old)
        y = flatten(search(c, "极光", 1, "custom:2026-11-13-0:2026-11-13-23")["data"]["cards"])
        assert all(m["created_at"].startswith("昨天 ") for m in y)

"""The weibo_comments connector: hotflow pagination, owned accounts, post selection from the lake,
incremental re-crawls and faults (demo server, real HTTP)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from support.clock import Sleeps

from listening.config import Source
from listening.core.model import Window
from listening.core.settings import Settings
from listening.lake import LocalLake
from listening.mentions.match import process_mentions
from listening.pipeline.crawl import crawl
from listening.sources.http import HttpClient
from listening.sources.weibo_comments import Comment, WeiboComments

SH = ZoneInfo("Asia/Shanghai")
HOT = "/comments/hotflow"
SPIKE = Window(datetime(2026, 11, 10, tzinfo=SH), datetime(2026, 11, 11, tzinfo=SH))


def comments_conn(config, server, lake=None, **params):
    src = Source("weibo_comments", "weibo_comments", True, server.base_url, params)
    return WeiboComments(src, config, server.base_url, HttpClient(backoff=0.01, retries=2, sleep=Sleeps()), lake)


def busiest(server, owned: str | None = None) -> str:
    items = server.corpus.comments.items()
    if owned:
        items = [(k, v) for k, v in items if any(c["user"]["screen_name"] == owned for c in v)]
    return max(items, key=lambda kv: (len(kv[1]), kv[0]))[0]


def test_all_comments_of_a_post_until_max_id_0(config, demo):
    sid = busiest(demo, owned="极光客服")
    n = len(demo.corpus.comments[sid])
    conn = comments_conn(config, demo, status_ids=[sid])
    res = conn.fetch(SPIKE)
    [sl] = res.coverage
    assert sl.status == "complete" and sl.items == n and sl.pages >= 2 and sl.query == f"comments of {sid}"
    parsed = conn.parse(res.records)
    assert not parsed.problems
    got = parsed.mentions
    assert all(isinstance(c, Comment) for c in got)
    assert len(got) == n == len({c.native_id for c in got})
    own = [c for c in got if c.owned_account]
    assert own and all(c.owned_brand == "aurora" and c.author_name == "极光客服" for c in own)
    assert all(c.status_id == sid and c.like_count == c.likes for c in got)
    assert all(c.quoted_text for c in got)  # the post's text, fetched from /statuses/extend
    assert res.cursor["totals"] == {sid: n}


def test_comments_match_brands_through_their_post(config, demo):
    sid = busiest(demo, owned="极光客服")
    conn = comments_conn(config, demo, status_ids=[sid])
    mentions = conn.parse(conn.fetch(SPIKE).records).mentions
    kept, stats = process_mentions(config, mentions, Window(datetime(2026, 11, 1, tzinfo=SH),
                                                                     datetime(2026, 11, 20, tzinfo=SH)),
                                            windowed=conn.windowed)
    assert stats["unmatched"] == 0 and all("aurora" in c.brands for c in kept)


def test_incremental_forward_run_reads_only_the_first_page_of_unchanged_posts(config, demo):
    sid = busiest(demo)
    conn = comments_conn(config, demo, status_ids=[sid])
    everything = conn.parse(conn.fetch(SPIKE).records).mentions
    newest = max(c.published_at for c in everything)
    first = conn.fetch(SPIKE)
    pages = first.coverage[0].pages
    assert pages >= 2 and first.cursor["latest"] == {sid: newest.isoformat().replace("+00:00", "Z")}
    # all the comments seen so far precede the next window and the total is unchanged: one page
    later = Window(newest + timedelta(hours=1), newest + timedelta(days=1))
    n = len(demo.requests)
    res = conn.fetch(later, first.cursor)
    assert sum(1 for _m, p, _s in demo.requests[n:] if p.startswith(HOT)) == 1
    assert "unchanged since the last crawl" in res.coverage[0].detail
    assert res.cursor["latest"] == first.cursor["latest"]  # carried forward
    # a backfill (not forward) reads everything again
    n = len(demo.requests)
    conn.fetch(SPIKE, res.cursor)
    assert sum(1 for _m, p, _s in demo.requests[n:] if p.startswith(HOT)) == pages


def test_a_crawl_after_its_window_does_not_hide_later_comments(config, demo):
    """A replay or backfill crawls a window when later comments are already there; the window drops
    them, so the next window must read every page again although the total did not change."""
    sid = busiest(demo)
    conn = comments_conn(config, demo, status_ids=[sid])
    everything = conn.parse(conn.fetch(SPIKE).records).mentions
    first_at = min(c.published_at for c in everything)
    w1 = Window(first_at.replace(minute=0, second=0, microsecond=0), first_at.replace(minute=0, second=0,
                                                                                     microsecond=0) + timedelta(hours=1))
    w2 = Window(w1.end, max(c.published_at for c in everything) + timedelta(hours=1))
    assert any(w2.contains(c.published_at) for c in everything)
    got = []
    cursor = None
    for w in (w1, w2):
        res = conn.fetch(w, cursor)
        cursor = res.cursor
        got += [c for c in conn.parse(res.records).mentions if w.contains(c.published_at)]
    assert sorted(c.native_id for c in got) == sorted(c.native_id for c in everything if c.published_at < w2.end)
    assert "unchanged" not in res.coverage[0].detail


def test_faults_and_caps(config, demo):
    sid = busiest(demo)
    demo.add_fault(HOT, status=500, times=2)
    conn = comments_conn(config, demo, status_ids=[sid])
    res = conn.fetch(SPIKE)
    assert res.coverage[0].status == "complete" and res.coverage[0].items == len(demo.corpus.comments[sid])
    res = comments_conn(config, demo, status_ids=[sid], max_pages=1).fetch(SPIKE)
    assert res.coverage[0].status == "capped" and "max_pages 1" in res.coverage[0].detail
    demo.add_fault(HOT, status=200, body={"ok": 0, "msg": "请求过于频繁"})
    res = comments_conn(config, demo, status_ids=[sid]).fetch(SPIKE)
    assert res.coverage[0].status == "failed" and "请求过于频繁" in res.coverage[0].detail
    no_comments = next(m for m in demo.corpus.by_id if m not in demo.corpus.comments)
    res = comments_conn(config, demo, status_ids=[no_comments]).fetch(SPIKE)
    assert res.coverage[0].status == "complete" and "no comments" in res.coverage[0].detail


def test_posts_come_from_the_search_source_in_the_lake(config, demo, tmp_path):
    lake = LocalLake(tmp_path / "lake")
    settings = Settings(warehouse_url="", lake_url=str(lake.root), base_url_override={"weibo": demo.base_url})
    hour = Window(datetime(2026, 11, 10, 21, tzinfo=SH), datetime(2026, 11, 10, 22, tzinfo=SH))
    summary = crawl(config, "weibo", hour, lake, settings)
    assert summary["status"] == "complete"
    conn = comments_conn(config, demo, lake=lake, posts_from="weibo", lookback_hours=1, min_comments=1,
                         max_posts=3)
    res = conn.fetch(hour)
    posts = res.coverage[0]
    assert posts.query == "(posts from weibo)" and posts.status == "capped" and "max_posts 3" in posts.detail
    # the hour before the window has no raw object: the gap is shown in the same slice
    assert "no raw/source=weibo objects for 2026-11-10T12:00:00Z..2026-11-10T13:00:00Z" in posts.detail
    crawled = res.coverage[1:]
    assert len(crawled) == 3 and all(s.status == "complete" for s in crawled)
    context = [r for r in res.records if r["purpose"] == "post"]
    assert len(context) == 3 and all(r["meta"]["brands"] for r in context)
    comments = conn.parse(res.records).mentions
    assert comments and all(c.quoted_text for c in comments)
    # no lake at all for the parent: a partial slice, not a silent nothing
    empty = comments_conn(config, demo, lake=LocalLake(tmp_path / "empty"), posts_from="weibo")
    res = empty.fetch(hour)
    assert res.coverage[0].status == "partial" and len(res.coverage) == 1

"""RSS/Atom connector: conditional GET, robots.txt, coverage (demo server, real HTTP)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from support.clock import Sleeps

from listening.config import Source
from listening.core.model import Window
from listening.core.settings import Settings
from listening.lake import LocalLake
from listening.pipeline.crawl import crawl
from listening.sources.http import HttpClient
from listening.sources.rss import RssFeed

SH = ZoneInfo("Asia/Shanghai")
DAY = Window(datetime(2026, 11, 10, tzinfo=SH), datetime(2026, 11, 11, tzinfo=SH))
NEXT = Window(datetime(2026, 11, 11, tzinfo=SH), datetime(2026, 11, 12, tzinfo=SH))


def feed(config, server, path="/rss/tech.xml", lake=None, **params):
    src = Source("technews", "rss", True, server.base_url, {"path": path, **params})
    return RssFeed(src, config, server.base_url, HttpClient(backoff=0.01, retries=2, sleep=Sleeps()), lake)


def test_feed_items_and_coverage(config, demo):
    conn = feed(config, demo)
    res = conn.fetch(DAY)
    assert [r["purpose"] for r in res.records] == ["robots", "feed"]
    [sl] = res.coverage
    assert sl.status == "complete" and sl.items > 0
    mentions = conn.parse(res.records).mentions
    assert len({m.native_id for m in mentions}) == len(mentions) > 200
    assert sum(DAY.contains(m.published_at) for m in mentions) == sl.items


def test_a_feed_that_no_longer_reaches_back_is_partial(config, demo):
    res = feed(config, demo).fetch(Window(datetime(2026, 10, 1, tzinfo=SH), datetime(2026, 10, 2, tzinfo=SH)))
    assert res.coverage[0].status == "partial" and "reaches back only to" in res.coverage[0].detail


def test_conditional_get_reuses_the_previous_body(config, demo, tmp_path):
    lake = LocalLake(tmp_path / "lake")
    settings = Settings(warehouse_url="", lake_url=str(lake.root), base_url_override={"technews": demo.base_url})
    first = crawl(config, "technews", DAY, lake, settings)
    assert first["cursor"]["etag"] and first["cursor"]["body_key"] == first["raw_key"]
    n = len(demo.requests)
    second = crawl(config, "technews", NEXT, lake, settings, cursor=first["cursor"])
    assert [s for _m, p, s in demo.requests[n:] if p.startswith("/rss/")] == [304]
    assert "304 Not Modified" in second["coverage"][0]["detail"]
    conn = feed(config, demo, lake=lake)
    again = conn.parse(lake.get_jsonl(second["raw_key"]))
    before = conn.parse(lake.get_jsonl(first["raw_key"]))
    assert {m.native_id for m in again.mentions} == {m.native_id for m in before.mentions}
    # a re-run of an earlier interval (a backfill) fetches unconditionally
    n = len(demo.requests)
    crawl(config, "technews", DAY, lake, settings, cursor=second["cursor"])
    assert [s for _m, p, s in demo.requests[n:] if p.startswith("/rss/")] == [200]


def test_robots_disallow_is_a_failed_slice_and_nothing_is_fetched(config, demo):
    n = len(demo.requests)
    res = feed(config, demo, path="/private/feed.xml").fetch(DAY)
    assert res.status == "failed" and res.coverage[0].detail.startswith("robots.txt disallows /private/feed.xml")
    assert [p for _m, p, _s in demo.requests[n:]] == ["/robots.txt"]
    # switched off explicitly: fetched (and 404 here)
    res = feed(config, demo, path="/private/feed.xml", respect_robots=False).fetch(DAY)
    assert res.coverage[0].detail == "HTTP 404"


def test_robots_unreachable_means_disallowed_and_missing_means_allowed(config, demo):
    demo.add_fault("/robots.txt", status=503, times=10)
    res = feed(config, demo).fetch(DAY)
    assert res.status == "failed" and "robots.txt unreachable" in res.coverage[0].detail
    demo.clear_faults()
    demo.add_fault("/robots.txt", status=404)
    assert feed(config, demo).fetch(DAY).status == "complete"


def test_crawl_delay_slows_the_host_down(config, demo):
    demo.add_fault("/robots.txt", status=200, body="User-agent: *\nCrawl-delay: 3\n")
    conn = feed(config, demo)
    conn.fetch(DAY)
    assert conn.client.sleep and 2.5 < conn.client.sleep[-1] <= 3.0
    demo.add_fault("/robots.txt", status=200, body="User-agent: listening-bot\nCrawl-delay: 600\n")
    res = feed(config, demo).fetch(DAY)
    assert res.status == "failed" and "max_crawl_delay" in res.coverage[0].detail

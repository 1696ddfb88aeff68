"""The web connector and the page-to-text helpers: encodings (UTF-8, GBK/GB18030, Big5, wrong
declarations), main text, title, author, publish time, conversion artefacts, robots.txt, the
incremental cursor, caps and faults.  The demo server's recorded pages and pages never seen by the
demo (tests/fixtures/sources/web), both over real HTTP on 127.0.0.1."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from support.clock import Sleeps
from support.net import StaticServer
from support.paths import FIXTURES, ROOT

from listening.config import Source
from listening.core.model import Window
from listening.sources.http import HttpClient
from listening.sources.web import WebPages
from listening.sources.webtext import clean_artefacts, decode_html, extract_article, parse_time

SH = ZoneInfo("Asia/Shanghai")
FIX = FIXTURES / "sources"
DEMO_WEEKS = Window(datetime(2026, 11, 1, tzinfo=SH), datetime(2026, 11, 15, tzinfo=SH))
FIX_DAY = Window(datetime(2025, 3, 11, tzinfo=SH), datetime(2025, 3, 12, tzinfo=SH))


def web(config, base_url, **params):
    src = Source("news", "web", True, base_url, params)
    return WebPages(src, config, base_url, HttpClient(backoff=0.01, retries=2, sleep=Sleeps()), None)


@pytest.fixture(scope="module")
def demo(server):
    """The demo site for the whole module (the module-scoped crawls below use it; no faults here)."""
    return server


# ---- the demo's recorded pages ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def cfg():
    from listening.config import load_config

    return load_config(ROOT / "include" / "brands.yaml")


@pytest.fixture(scope="module")
def demo_crawl(cfg, demo):
    config = cfg
    conn = web(config, demo.base_url, index=["/web/index.html"], link_pattern=r"/(web/(news|forum)|private)/.+\.html$")
    res = conn.fetch(DEMO_WEEKS)
    return conn, res, {m.url.rsplit("/", 1)[-1]: m for m in conn.parse(res.records).mentions}


def test_demo_pages_are_found_fetched_and_parsed(demo_crawl):
    conn, res, pages = demo_crawl
    assert set(pages) == {"2026-11-05-aurora-x5-review.html", "2026-11-06-xingchen-s3-launch.html",
                          "thread-8812-1-1.html", "2026-11-10-aurora-battery.html", "2026-11-12-aurora-founder.html"}
    review = pages["2026-11-05-aurora-x5-review.html"]
    assert review.title == "极光X5深度评测：续航大幅提升，拍照仍有短板" and review.author_name == "王小明"
    assert review.published_at == datetime(2026, 11, 5, 2, 30, tzinfo=UTC)
    assert review.text.startswith("极光手机上周发布的极光X5") and "版权所有" not in review.text
    summary = next(s for s in res.coverage if s.query == "(pages)")
    assert summary.items == 5 and summary.pages == 5


def test_encodings_gbk_big5_and_a_wrong_declaration(demo_crawl):
    _conn, res, pages = demo_crawl
    gbk = pages["2026-11-06-xingchen-s3-launch.html"]  # GBK, declared gb2312 in <meta> only
    assert "星辰S3" in gbk.text and gbk.author_name == "李华"
    assert gbk.published_at == datetime(2026, 11, 6, 6, 20, tzinfo=UTC)
    big5 = pages["thread-8812-1-1.html"]  # Big5, declared in <meta>; a Discuz thread
    assert big5.text.startswith("昨天把藍山M2更新到最新版本之後") and big5.author_name == "阿傑在臺北"
    assert big5.published_at == datetime(2026, 11, 3, 13, 5, tzinfo=UTC)
    wrong = pages["2026-11-10-aurora-battery.html"]  # GBK bytes, header and <meta> both say UTF-8
    assert "电池鼓包" in wrong.text and "\ufffd" not in wrong.text and wrong.author_name == "赵敏"
    summary = next(s for s in res.coverage if s.query == "(pages)")
    assert "declares utf-8 but the content is gb18030" in summary.detail


def test_pinyin_annotations_are_removed(demo_crawl):
    _conn, res, pages = demo_crawl
    founder = pages["2026-11-12-aurora-founder.html"]
    assert founder.title == "極光手機創業十年：從兩個人到兩千人"
    assert "創辦了極光手機" in founder.text and "(" not in founder.text
    assert "pinyin annotation(s) removed" in next(s for s in res.coverage if s.query == "(pages)").detail


def test_robots_disallowed_page_is_a_failed_slice_never_fetched(demo, demo_crawl):
    _conn, res, _pages = demo_crawl
    refused = [s for s in res.coverage if "robots.txt disallows" in s.detail]
    assert len(refused) == 1 and refused[0].status == "failed" and refused[0].query.endswith("/private/draft-2026-11-13.html")
    assert not any(p.startswith("/private/") for _m, p, _s in demo.requests)
    assert res.status == "failed"  # a gap is a gap


def test_cursor_skips_pages_known_to_be_outside_the_window(config, demo, demo_crawl):
    conn, res, _pages = demo_crawl
    later = Window(datetime(2026, 11, 20, tzinfo=SH), datetime(2026, 11, 21, tzinfo=SH))
    n = len(demo.requests)
    again = conn.fetch(later, res.cursor)
    fetched = [p for _m, p, _s in demo.requests[n:]]
    assert fetched == ["/robots.txt", "/web/index.html"]  # the articles were not fetched again
    summary = next(s for s in again.coverage if s.query == "(pages)")
    assert "5 page(s) known to be published outside the window not fetched" in summary.detail


def test_max_articles_caps(config, demo):
    conn = web(config, demo.base_url, index=["/web/index.html"], link_pattern=r"/web/news/", max_articles=2)
    res = conn.fetch(DEMO_WEEKS)
    summary = next(s for s in res.coverage if s.query == "(pages)")
    assert summary.status == "capped" and "max_articles 2" in summary.detail and summary.pages == 2


# ---- pages the demo never had --------------------------------------------------------------------
@pytest.fixture(scope="module")
def fixture_crawl(cfg):
    config = cfg
    with StaticServer(FIX / "web") as site:
        conn = web(config, site.base_url, index=["/index.html"])
        res = conn.fetch(FIX_DAY)
        requests = list(site.requests)
    parsed = conn.parse(res.records)
    return conn, res, {m.url.rsplit("/", 1)[-1]: m for m in parsed.mentions}, parsed.problems, requests


def test_unseen_pages(fixture_crawl):
    conn, res, pages, problems, requests = fixture_crawl
    assert set(pages) == {"90211.html", "s3-taiwan.html", "founders.html"}
    forum = pages["90211.html"]  # GB18030 bytes declared big5
    assert forum.text.startswith("新买的极光X5") and forum.author_name == "夜猫子阿强"
    assert forum.published_at == datetime(2025, 3, 11, 0, 15, tzinfo=UTC)
    news = pages["s3-taiwan.html"]  # Big5 bytes, header says UTF-8; a 502 first
    assert "星辰手機今天在臺北信義區" in news.text and news.author_name == "林美惠"
    assert news.published_at == datetime(2025, 3, 11, 12, 30, tzinfo=UTC)  # naive JSON-LD time: local
    ruby = pages["founders.html"]
    assert ruby.text.startswith("創業初期，極光只有兩名員工。") and "用心 和耐心" in ruby.text
    assert "\u200b" not in ruby.text and ruby.author_name == "周文"
    assert ruby.published_at == datetime(2025, 3, 11, 13, 5, tzinfo=UTC)
    assert ruby.url.endswith("/news/founders.html")  # the #fragment is not part of the id
    assert any("about.html: no publish time found" in p for p in problems)
    assert ("/news/s3-taiwan.html", 502) in requests and ("/news/s3-taiwan.html", 200) in requests
    assert not any(p.startswith("/admin/") for p, _s in requests)
    by_query = {s.query.rsplit("/", 1)[-1]: s for s in res.coverage}
    assert by_query["drafts.html"].status == "failed" and "robots.txt disallows" in by_query["drafts.html"].detail
    assert by_query["404.html"].status == "failed" and by_query["404.html"].detail == "HTTP 404"
    assert conn.client.sleep and max(conn.client.sleep) <= 1.0  # Crawl-delay: 1


def test_decode_html_cases():
    text = "极光手机今天发布了新款X5，电池续航有了明显提升。"
    page = lambda meta: f"<html><head>{meta}</head><body>{text}</body></html>"  # noqa: E731
    d = decode_html(page("").encode("gbk"), "text/html; charset=gb2312")
    assert d.encoding == "gb18030" and text in d.text and not d.note
    d = decode_html(page('<meta charset="utf-8">').encode("gbk"), None)
    assert d.encoding == "gb18030" and "declares utf-8" in d.note
    d = decode_html(page("").encode("utf-8"), "text/html; charset=iso-8859-1")
    assert d.encoding == "utf-8" and text in d.text
    d = decode_html(page("").encode("utf-8-sig"), "text/html; charset=gbk")
    assert d.where == "bom" and text in d.text
    trad = "極光手機今天發佈了新款X5"
    meta = '<meta http-equiv="Content-Type" content="text/html; charset=gb2312">'
    d = decode_html(f"<html><head>{meta}</head><body>{trad}</body></html>".encode("big5"))
    assert trad in d.text and d.encoding == "big5hkscs"
    latin = "Le café est très bon à Zürich".encode("cp1252")
    assert decode_html(latin, "text/html; charset=iso-8859-1").text == "Le café est très bon à Zürich"
    assert decode_html(b"plain ascii", None).text == "plain ascii"


def test_clean_artefacts_keeps_real_parentheses():
    assert clean_artefacts("創(chuàng)業(yè)").text == "創業"
    assert clean_artefacts("我(wo)们(men)").text == "我们"
    assert clean_artefacts("极光(Aurora)和星辰(Xingchen)").text == "极光(Aurora)和星辰(Xingchen)"
    assert clean_artefacts("中(zhong)国").text == "中(zhong)国"  # one untoned annotation: not trusted
    assert clean_artefacts("乱码锟斤拷锟斤拷在这里\ufffd").text == "乱码在这里"
    assert clean_artefacts("a\u3000b\xa0c").text == "a b c"


def test_parse_time_forms():
    assert parse_time("2025-03-11T20:30:00+08:00", SH) == datetime(2025, 3, 11, 12, 30, tzinfo=UTC)
    assert parse_time("2025年3月11日 21:05", SH) == datetime(2025, 3, 11, 13, 5, tzinfo=UTC)
    assert parse_time("2025/03/11 08:15:09", SH) == datetime(2025, 3, 11, 0, 15, 9, tzinfo=UTC)
    assert parse_time("2025-3-11", SH) == datetime(2025, 3, 10, 16, 0, tzinfo=UTC)
    assert parse_time("Tuesday", SH) is None and parse_time("2025-13-45", SH) is None


def test_extract_article_with_configured_selectors():
    body = ("<html><body><div class='t'>标题在这里</div><span class='who'>小明</span>"
            "<span class='when'>2025-03-11 10:00</span><div class='x'>正文内容，足够长的一段文字。</div>"
            "</body></html>").encode()
    art = extract_article(body, "http://h/p.html", SH, "text/html; charset=utf-8",
                          selectors={"title": ".t", "author": ".who", "published": ".when", "text": ".x"})
    assert (art.title, art.author, art.text) == ("标题在这里", "小明", "正文内容，足够长的一段文字。")
    assert art.published_at == datetime(2025, 3, 11, 2, 0, tzinfo=UTC)

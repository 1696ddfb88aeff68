"""Per-kind source params in the configuration: every kind loads, and a typo or a bad value names the key."""

from __future__ import annotations

import pytest

from listening.config import SOURCE_KINDS, ConfigError, parse_config
from listening.sources import CONNECTORS

HEAD = """
timezone: Asia/Shanghai
brands:
  - id: aurora
    name: 极光
    query: 极光
sources:
  - id: weibo
    kind: weibo_search
    base_url: https://m.weibo.cn
    pool: crawl_weibo
    params: {max_pages: 50, keywords: [极光], timeout: 20, retries: 4, min_interval: 1.0}
"""
ALL = HEAD + """
  - id: comments
    kind: weibo_comments
    base_url: https://m.weibo.cn
    connection: weibo_login
    pool: crawl_weibo
    params: {posts_from: weibo, lookback_hours: 72, min_comments: 5, max_posts: 100, max_pages: 20}
  - id: feed
    kind: rss
    base_url: https://news.example.com
    params: {path: /rss.xml, respect_robots: true}
  - id: news
    kind: web
    base_url: https://news.example.com
    params: {index: [/tech/], link_pattern: '/tech/\\d+\\.html$', max_articles: 30, encoding: gbk,
             timezone: Asia/Taipei, selectors: {text: .article}}
  - id: vendor
    kind: vendor_drop
    params: {prefix: 's3://drops/acme/', format: csv, delimiter: ';', timestamp_format: '%Y-%m-%d %H:%M',
             columns: {native_id: id, text: content, published_at: time}}
"""


def test_every_kind_has_a_connector_and_loads():
    assert set(SOURCE_KINDS) == set(CONNECTORS)
    c = parse_config(ALL, origin="t.yaml")
    assert [s.kind for s in c.sources] == ["weibo_search", "weibo_comments", "rss", "web", "vendor_drop"]
    assert c.source("vendor").base_url == ""  # optional for files


@pytest.mark.parametrize(("old", "new", "key", "problem"), [
    ("max_pages: 50", "max_page: 50", "sources[0].params.max_page", "unknown key"),
    ("max_pages: 50", "max_pages: 0", "sources[0].params.max_pages", "whole number >= 1"),
    ("timeout: 20", "timeout: -1", "sources[0].params.timeout", "number > 0"),
    ("retries: 4", "retries: many", "sources[0].params.retries", "whole number >= 0"),
    ("keywords: [极光]", "keywords: 极光", "sources[0].params.keywords", "list of non-empty strings"),
    ("posts_from: weibo", "posts_from: feed", "sources[1].params.posts_from", "not a configured weibo_search"),
    ("respect_robots: true", "respect_robots: yes please", "sources[2].params.respect_robots", "true or false"),
    ("link_pattern: '/tech/\\d+\\.html$'", "link_pattern: '(('", "sources[3].params.link_pattern",
     "invalid regular expression"),
    ("encoding: gbk", "encoding: klingon", "sources[3].params.encoding", "unknown encoding"),
    ("timezone: Asia/Taipei", "timezone: Mars/Base", "sources[3].params.timezone", "unknown time zone"),
    ("index: [/tech/], ", "", "sources[3].params", "needs 'pages'"),
    ("delimiter: ';'", "delimiter: ';;'", "sources[4].params.delimiter", "one character"),
    ("prefix: 's3://drops/acme/', ", "", "sources[4].params.prefix", "is required"),
    ("native_id: id, ", "nativeid: id, ", "sources[4].params.columns", "must map native_id"),
    ("text: content, ", "text: content, likez: x, ", "sources[4].params.columns.likez", "unknown key"),
])
def test_bad_source_params_name_the_key(old, new, key, problem):
    assert old in ALL, old
    with pytest.raises(ConfigError) as ei:
        parse_config(ALL.replace(old, new), origin="t.yaml")
    msg = str(ei.value)
    assert msg.startswith("t.yaml: ") and key in msg and problem in msg, msg


def test_base_url_still_required_for_sites():
    with pytest.raises(ConfigError, match=r"sources\[0\].base_url: is required"):
        parse_config(HEAD.replace("    base_url: https://m.weibo.cn\n", ""), origin="t.yaml")


def test_each_source_names_its_crawl_pool_and_stage():
    from listening.config import SECOND_STAGE_KINDS, crawl_groups

    c = parse_config(ALL, origin="t.yaml")
    assert {s.id: s.crawl_pool for s in c.sources} == {
        "weibo": "crawl_weibo", "comments": "crawl_weibo", "feed": "listening_feed", "news": "listening_news",
        "vendor": "listening_vendor"}
    # the stage follows the connector: the comment connector reads what the search landed
    assert {k for k, cls in CONNECTORS.items() if cls.produces_interactions} == SECOND_STAGE_KINDS
    assert crawl_groups(c) == [("first", "crawl_weibo"), ("first", "listening_feed"), ("first", "listening_news"),
                               ("first", "listening_vendor"), ("after", "crawl_weibo")]
    bad = ALL.replace("pool: crawl_weibo\n    params: {max", "pool: crawl weibo!\n    params: {max")
    with pytest.raises(ConfigError, match=r"sources\[0\]\.pool: expected an Airflow pool name"):
        parse_config(bad, origin="t.yaml")


def test_a_broken_config_still_parses_the_dag_with_fallback_pools(tmp_path, monkeypatch):
    from listening.config import FALLBACK_POOL, crawl_groups

    (tmp_path / "b.yaml").write_text("sources: [", encoding="utf-8")
    monkeypatch.setenv("LISTENING_CONFIG", str(tmp_path / "b.yaml"))
    assert crawl_groups() == [("first", FALLBACK_POOL), ("after", FALLBACK_POOL)]

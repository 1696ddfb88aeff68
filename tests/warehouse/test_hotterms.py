"""mart_hot_terms: top terms per brand and local day, with the change against the trailing week."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import Column, DateTime, Float, Integer, MetaData, String, Table, select

from listening import warehouse as wh
from listening.core.model import date_key
from listening.warehouse import hotterms


def _hot_table(engine):
    """The warehouse's mart_hot_terms, or the same columns when this checkout has no such table yet."""
    t = wh.metadata.tables.get("mart_hot_terms")
    if t is None:
        t = Table("mart_hot_terms", MetaData(),
                  Column("date_key", Integer, primary_key=True), Column("brand_id", String(40), primary_key=True),
                  Column("term", String(100), primary_key=True), Column("count", Integer, nullable=False),
                  Column("rank", Integer, nullable=False), Column("trailing_7d_avg", Float),
                  Column("change", Float), Column("built_at", DateTime(timezone=True)))
        t.create(engine)
    return t


def _facts(engine, posts):
    """posts: (day offset from 2026-11-01, brand, clean text, is_spam)."""
    base = date(2026, 11, 1)
    facts, bridges = [], []
    for i, (off, brand, text, spam) in enumerate(posts):
        d = base + timedelta(days=off)
        mid = f"weibo:{i}"
        facts.append({
            "mention_id": mid, "source_id": "weibo", "native_id": str(i), "url": f"https://x/{i}", "title": None,
            "text": text, "clean_text": text, "published_at": datetime(d.year, d.month, d.day, 4, tzinfo=UTC),
            "date_key": date_key(d), "hour_local": 12, "author_key": None, "reposts": 0, "comments": 0,
            "likes": 0, "engagement": 0, "reach": 0, "is_repost": False, "retweet_of": None, "is_spam": spam,
            "truncated": False, "content_hash": str(i), "story_id": mid, "sentiment": 0.5,
            "sentiment_label": "neutral", "model_version": "m", "interval_key": "k", "raw_ref": None,
            "loaded_at": datetime.now(UTC),
        })
        bridges.append({"mention_id": mid, "brand_id": brand, "matched_terms": "[]"})
    cols = {c.name for c in wh.fct_mention.columns}
    with engine.begin() as conn:
        conn.execute(wh.fct_mention.insert(), [{k: v for k, v in f.items() if k in cols} for f in facts])
        conn.execute(wh.bridge_mention_brand.insert(), bridges)


@pytest.fixture
def engine(tmp_path):
    """Here a SQLite warehouse with the schema created (instead of tests/conftest.py's empty one per dialect)."""
    e = wh.get_engine(f"sqlite:///{tmp_path / 'wh.db'}")
    wh.create_schema(e)
    return e


def _rows(engine, table):
    with engine.connect() as c:
        return {(r.date_key, r.brand_id, r.term): r for r in c.execute(select(table))}


def test_counts_ranks_trailing_average_and_change(engine, config):
    table = _hot_table(engine)
    posts = []
    for off in range(7):  # a quiet week: 电池 once a day, 拍照 twice a day
        posts += [(off, "aurora", "极光X5电池还行", False)]
        posts += [(off, "aurora", "极光X5拍照清晰", False)] * 2
    # day 7 (2026-11-08): a battery spike, a new term, spam and another brand
    posts += [(7, "aurora", "极光X5电池鼓包，电池发热，鼓包严重", False)] * 6
    posts += [(7, "aurora", "极光X5拍照清晰", False)] * 2
    posts += [(7, "aurora", "加V信 低价出极光X5 电池", True)] * 5
    posts += [(7, "xingchen", "星辰S3屏幕很亮", False)]
    _facts(engine, posts)
    n = hotterms.build(engine, config, 20261108, 20261108)
    rows = _rows(engine, table)
    assert n == len(rows) and {k[0] for k in rows} == {20261108}
    batt = rows[(20261108, "aurora", "电池")]
    assert batt.count == 6  # mentions containing it, spam excluded (a word twice in a post counts once)
    assert batt.trailing_7d_avg == pytest.approx(1.0)
    assert batt.change == pytest.approx(5.0)  # 6 / 1 - 1
    bulge = rows[(20261108, "aurora", "鼓包")]
    assert bulge.count == 6 and bulge.trailing_7d_avg == 0 and bulge.change is None  # new this week
    photo = rows[(20261108, "aurora", "拍照")]
    assert photo.count == 2 and photo.change == pytest.approx(0.0)
    # same count: the larger change first, new terms (no change) before any
    top3 = {t for (d, b, t), r in rows.items() if b == "aurora" and r.rank <= 3}
    assert top3 == {"x5", "鼓包", "发热"} and batt.rank == 4  # x5: in all 8 posts
    assert all("极光" not in t for (_d, b, t) in rows if b == "aurora")  # the brand's own name is not a term
    assert (20261108, "xingchen", "屏幕") in rows and (20261108, "xingchen", "星辰") not in rows
    assert (20261108, "aurora", "低价") not in rows  # only in spam


def test_rebuild_is_idempotent_and_only_touches_the_range(engine, config):
    table = _hot_table(engine)
    _facts(engine, [(0, "aurora", "极光X5电池不错", False), (1, "aurora", "极光X5屏幕不错", False)])
    hotterms.build(engine, config)  # every day with mentions
    first = _rows(engine, table)
    assert {k[0] for k in first} == {20261101, 20261102}
    hotterms.build(engine, config, 20261102, 20261102)
    assert _rows(engine, table).keys() == first.keys()
    assert hotterms.build(engine, config, 20261201, 20261231) == 0
    assert _rows(engine, table).keys() == first.keys()


def test_top_n_and_stopwords(engine, config):
    _hot_table(engine)
    words = ["电池", "屏幕", "拍照", "续航", "系统", "售后", "客服", "价格", "外观", "信号", "发热", "充电"]
    _facts(engine, [(0, "aurora", f"极光X5{w}真的转发微博哈哈", False) for w in words])
    hotterms.build(engine, config, 20261101, 20261101, top_n=5)
    rows = _rows(engine, _hot_table(engine))
    assert len(rows) == 5 and sorted(r.rank for r in rows.values()) == [1, 2, 3, 4, 5]
    assert not {"真的", "转发微博", "哈哈"} & {k[2] for k in rows}


def test_terms_of_filters():
    terms = hotterms.terms_of("极光X5的电池，123 和 ok 了 ！！")
    assert "电池" in terms and "123" not in terms and "的" not in terms and "!!" not in terms


def test_build_inside_the_callers_transaction(engine, config):
    table = _hot_table(engine)
    _facts(engine, [(0, "aurora", "极光X5电池不错", False)])
    with engine.begin() as conn:  # as build_marts would: every mart in one transaction
        assert hotterms.build(conn, config, 20261101, 20261101) > 0
    assert _rows(engine, table)

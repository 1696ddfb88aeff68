"""The marts (sql/mart_*.sql) on hand-made facts, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from support.warehouse import DAY, load_rows, mention

from listening import sales
from listening import warehouse as wh
from listening.warehouse import load as loader

T0 = datetime(2026, 11, 1, 2, 0, tzinfo=UTC)  # 10:00 local, day 2026-11-01


def _at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


@pytest.fixture
def built(config, engine, lake):
    a = {"aurora": ["极光"]}
    rows = [
        mention(config, DAY, "1", _at(0), a, author="a1", followers=1_000_000, label="positive", sentiment=0.9),
        mention(config, DAY, "2", _at(1), a, author="a2", followers=10, label="negative", sentiment=0.1),
        mention(config, DAY, "3", _at(2), a, author="a2", followers=10, label="negative", sentiment=0.2),
        mention(config, DAY, "4", _at(3), a, author="a4", followers=5, label="negative", sentiment=0.1, spam=True),
        mention(config, DAY, "5", _at(4), a, author="o1", author_name="极光客服", followers=186_000,
                label="negative", sentiment=0.1),
        mention(config, DAY, "9", _at(5), a, author="a9", followers=7, label="negative", sentiment=0.05),
        mention(config, DAY, "6", _at(6), {"xingchen": ["星辰"]}, author="a3", followers=500, label="positive",
                sentiment=0.8),
        mention(config, DAY, "7", _at(7), {"xingchen": ["星辰"]}, author="a3", followers=500, label="neutral"),
        mention(config, DAY, "8", _at(8), {"lanshan": ["蓝山"]}, author="a8", followers=1, label="neutral"),
    ]
    bad = mention(config, DAY, "99", _at(9), a)
    load_rows(config, engine, lake, DAY, rows, quarantined=[(bad, "unknown source")])

    def c(nid, status, minutes, name, owned=None, **kw):
        return {"source": "weibo", "native_id": nid, "status_id": status, "text": "...",
                "published_at": _at(minutes).strftime("%Y-%m-%dT%H:%M:%SZ"), "author_id": f"u{nid}",
                "author_name": name, "author_followers": 1, "like_count": 0, **kw}

    loader.load_interactions(config, DAY, [
        c("c1", "2", 1 + 30, "极光客服", is_owned_reply=True, owned_brand="aurora"),  # 30 min after #2
        c("c2", "3", 2 + 90, "极光手机官方"),  # 90 min after #3 (owned by account name)
        c("c3", "3", 2 + 200, "极光客服"),  # a second reply: the first one counts
        c("c4", "1", 0 + 10, "极光客服"),
        c("c5", "2", 1 + 5, "路人甲"),  # a user comment
        c("c6", "6", 6 + 3, "路人乙"),
    ], engine)
    with engine.begin() as conn:
        conn.execute(wh.fct_sales.insert(), [{"date_key": 20261101, "brand_id": "aurora", "sales_amount": 1000.0,
                                              "units": 10, "spend": 100.0, "currency": "CNY", "source_key": "k",
                                              "loaded_at": T0}])
        sales.sync_goals(conn, sales.load_sales_config(config=config), config)
    counts = wh.build_marts(engine)
    return counts


def _rows(engine, table, **where):
    t = wh.metadata.tables[table]
    with engine.connect() as c:
        q = select(t)
        for k, v in where.items():
            q = q.where(t.c[k] == v)
        return c.execute(q).all()


def test_brand_daily_and_share_of_voice(engine, built):
    daily = {r.brand_id: r for r in _rows(engine, "mart_brand_daily")}
    assert daily["aurora"].mentions == 5 and daily["aurora"].spam_excluded == 1
    assert daily["aurora"].net_sentiment == pytest.approx((1 - 4) / 5)
    sov = {r.brand_id: r for r in _rows(engine, "mart_share_of_voice", date_key=20261101)}
    assert set(sov) == {"aurora", "xingchen", "lanshan"}
    a = sov["aurora"]
    assert (a.competitors, a.mentions, a.competitor_mentions, a.set_mentions) == (2, 5, 3, 8)
    assert a.share_of_voice == pytest.approx(5 / 8)
    assert a.reach == 1_000_000 + 10 + 10 + 186_000 + 7 and a.set_reach == a.reach + 1000 + 1
    assert a.share_of_negative == pytest.approx(1.0)  # every negative post of the set is about aurora
    assert sum(r.share_of_voice for r in sov.values()) == pytest.approx(5 / 8 + 2 / 8 + 1 / 8)


def test_top_authors_rank_by_reach_weighted_mentions(engine, built):
    top = sorted(_rows(engine, "mart_top_authors", date_key=20261101, brand_id="aurora"), key=lambda r: r.rank)
    assert [(r.author_key, r.rank) for r in top] == [("weibo:a1", 1), ("weibo:o1", 2), ("weibo:a2", 3),
                                                     ("weibo:a9", 4)]  # the spam author is left out
    assert top[0].kol_tier == "mega" and top[0].reach_weighted_mentions == 1_000_000
    assert top[2].mentions == 2 and top[2].reach_weighted_mentions == 20 and top[2].net_sentiment == -1.0


def test_response_kpis(engine, built):
    r = _rows(engine, "mart_response", date_key=20261101, brand_id="aurora")[0]
    # mentions: #1 #2 #3 #9 (#4 is spam, #5 is the brand's own account)
    assert (r.mentions, r.mentions_replied) == (4, 3)
    assert r.one_to_one_rate == pytest.approx(0.75)
    assert (r.negative_mentions, r.negative_replied, r.negative_awaiting) == (3, 2, 1)
    assert r.negative_reply_rate == pytest.approx(2 / 3)
    assert r.median_first_reply_s == pytest.approx((30 * 60 + 90 * 60) / 2)
    assert (r.owned_replies, r.user_comments) == (4, 1)
    x = _rows(engine, "mart_response", date_key=20261101, brand_id="xingchen")[0]
    assert (x.mentions, x.mentions_replied, x.user_comments, x.median_first_reply_s) == (2, 0, 1, None)


def test_pipeline_health(engine, built):
    (h,) = _rows(engine, "mart_pipeline_health")
    assert (h.source_id, h.interval_key, h.date_key) == ("weibo", DAY.key, 20261101)
    assert (h.loaded, h.quarantined, h.slices, h.slices_complete, h.errors) == (9, 1, 1, 1, 0)
    assert h.quarantine_share == pytest.approx(0.1) and h.coverage_ratio == 1.0


def test_brand_kpi_follows_the_goal(engine, built):
    k = {r.brand_id: r for r in _rows(engine, "mart_brand_kpi", date_key=20261101)}
    a = k["aurora"]  # goal: sales (include/sales.yaml)
    assert (a.goal, a.kpi_1_name, a.kpi_2_name, a.kpi_3_name) == ("sales", "mentions", "net_sentiment", "sales_amount")
    assert (a.kpi_1_value, a.kpi_3_value, a.spend) == (5, 1000.0, 100.0)
    assert a.kpi_1_per_spend == pytest.approx(0.05) and a.sales_per_mention == pytest.approx(200.0)
    x = k["xingchen"]  # awareness
    assert (x.kpi_1_name, x.kpi_2_name, x.kpi_3_name) == ("mentions", "reach", "share_of_voice")
    assert x.kpi_3_value == pytest.approx(2 / 8) and x.sales_amount is None and x.kpi_1_per_spend is None
    assert k["lanshan"].kpi_1_name == "net_sentiment"  # reputation


def test_rebuilding_a_day_range_is_idempotent(engine, built):
    assert wh.build_marts(engine, 20261101, 20261101) == built
    assert wh.build_marts(engine) == built
    assert built["mart_hot_terms"] == 0 and built["mart_alerts"] == 0


def test_dialect_macros():
    assert wh.render_sql("{{ epoch(m.published_at) }}", "postgresql") == "EXTRACT(EPOCH FROM m.published_at)"
    assert "julianday(x)" in wh.render_sql("{{ epoch(x) }}", "sqlite")
    assert wh.render_sql("{{ json_len(e.errors) }}", "snowflake") == "ARRAY_SIZE(PARSE_JSON(e.errors))"
    assert wh.render_sql("{{ ident(rank) }}", "bigquery") == "`rank`"
    assert wh.render_sql("{{ ident(rank) }}", "postgresql") == '"rank"'
    for name in wh.MART_FILES:  # every mart renders for every dialect with a known form
        for dialect in ("sqlite", "postgresql", "snowflake", "bigquery", "redshift"):
            assert all("{{" not in stmt for stmt in wh.mart_statements(name, dialect))
    with pytest.raises(ValueError, match="unknown SQL macro"):
        wh.render_sql("{{ nope(x) }}", "sqlite")

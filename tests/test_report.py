"""The daily report: numbers from the marts, hostile post text inert, files or SMTP."""

from __future__ import annotations

import email
import html
from datetime import date, datetime
from email import policy
from pathlib import Path

import pytest
from sqlalchemy import select
from weibo_fixtures import mblog, raw, search_page

from listening import pipeline, report
from listening import warehouse as wh
from listening.lake import LocalLake, raw_key
from listening.model import Window

WINDOW = Window.parse("2026-11-01T16:00:00Z", "2026-11-02T16:00:00Z")  # local day 2026-11-02
HOSTILE = "极光X5 太差了，垃圾，电池爆炸 <script>alert('x')</script><img src=x onerror=alert(1)>"


@pytest.fixture
def loaded(config, tmp_path):
    lake = LocalLake(tmp_path / "lake")
    engine = wh.get_engine(f"sqlite:///{tmp_path / 'wh.db'}")
    t = datetime(2026, 11, 2, 10, 0)
    # Weibo sends user text HTML-escaped inside its HTML; the parser unescapes it for display
    posts = [mblog("6000000000000001", html.escape(HOSTILE), t, user_id=1, name="<b>bad</b>", comments=50),
             mblog("6000000000000002", "极光X5 真不错，很喜欢", t, user_id=2, likes=5),
             mblog("6000000000000003", "星辰S3 很失望，太差", t, user_id=3, likes=1)]
    key = raw_key("weibo", WINDOW)
    lake.put_jsonl(key, [raw("search", search_page(posts, None), fetched_at="2026-11-02T16:00:05Z")])
    crawls = [{"source": "weibo", "kind": "weibo_search", "raw_key": key, "fetched": 1, "pages": 1,
               "status": "complete", "errors": [], "cursor": {},
               "coverage": [{"start": "2026-11-01T16:00:00Z", "end": "2026-11-02T16:00:00Z", "status": "complete",
                             "pages": 1, "items": 3, "detail": "", "query": "极光"}]}]
    s = pipeline.Settings(warehouse_url="", lake_url=str(lake.root))
    tr = pipeline.transform(config, WINDOW, crawls, lake, s)
    sc = pipeline.score(config, WINDOW, tr["key"], lake)
    v = pipeline.validate(config, WINDOW, sc["key"], lake)
    pipeline.load(config, WINDOW, crawls, tr, v, lake, engine)
    wh.build_marts(engine)
    return engine


def test_report_numbers_match_marts_and_text_is_escaped(config, loaded, tmp_path):
    res = report.daily_report(loaded, config, date(2026, 11, 2), None, ["m@example.com"], tmp_path / "out")
    assert res["sent"] is False
    page = Path(res["html"]).read_text(encoding="utf-8")
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "<img src=x" not in page and "onerror" in page  # present only as escaped text
    assert "<b>bad</b>" not in page and "&lt;b&gt;bad&lt;/b&gt;" in page
    with loaded.connect() as c:
        rows = {r.brand_id: r for r in c.execute(select(wh.mart_brand_daily))}
    data = report.build_report_data(loaded, config, date(2026, 11, 2))
    for b in data["brands"]:
        r = rows.get(b["id"])
        assert b["mentions"] == (r.mentions if r else 0)
        assert b["negative"] == (r.negative if r else 0)
    aurora = next(b for b in data["brands"] if b["id"] == "aurora")
    assert aurora["mentions"] == 2
    assert aurora["top_negative"] and "<script>" in aurora["top_negative"][0]["text"]  # raw in data, escaped in HTML
    msg = email.message_from_bytes(Path(res["eml"]).read_bytes(), policy=policy.default)
    assert msg.get_content_type() == "multipart/alternative"
    kinds = [p.get_content_type() for p in msg.iter_parts()]
    assert kinds == ["text/plain", "text/html"]
    assert "2026-11-02" in msg["Subject"]
    assert "Completeness" in page and "weibo: 1/1 interval(s) complete" in page


def test_safe_link_only_http():
    assert report._safe_link("javascript:alert(1)") is None
    assert report._safe_link("JaVaScRiPt:alert(1)") is None
    assert report._safe_link("https://m.weibo.cn/detail/1") == "https://m.weibo.cn/detail/1"


def test_empty_day_says_so(config, loaded, tmp_path):
    res = report.daily_report(loaded, config, date(2026, 11, 20), None, [], tmp_path / "out")
    page = Path(res["html"]).read_text(encoding="utf-8")
    assert "No mentions were loaded for this day" in page
    assert "no data loaded for this day" in page
    assert res["complete"] is False

"""The daily report: numbers from the marts, hostile post text inert, the chart's CJK font, files or SMTP."""

from __future__ import annotations

import email
import html
import re
import warnings
from datetime import date, datetime, timedelta
from email import policy
from pathlib import Path

import pytest
from sqlalchemy import select
from support.weibo import mblog, raw, search_page
from support.world import World, hostile_world, local, template_engine

from listening import warehouse as wh
from listening.core.model import Window
from listening.core.settings import Settings
from listening.delivery import report
from listening.lake import LocalLake, raw_key
from listening.pipeline.load import load
from listening.pipeline.score import score
from listening.pipeline.transform import transform
from listening.pipeline.validate import validate

WINDOW = Window.parse("2026-11-01T16:00:00Z", "2026-11-02T16:00:00Z")  # local day 2026-11-02
HOSTILE = "极光X5 太差了，垃圾，电池爆炸 <script>alert('x')</script><img src=x onerror=alert(1)>"


@pytest.fixture
def loaded(config, tmp_path):
    """One local day through the real pipeline (Weibo parser, scorer, GX validation, loader, marts)."""
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
    s = Settings(warehouse_url="", lake_url=str(lake.root))
    tr = transform(config, WINDOW, crawls, lake, s)
    sc = score(config, WINDOW, tr["key"], lake)
    v = validate(config, WINDOW, sc["key"], lake)
    load(config, WINDOW, crawls, tr, v, lake, engine)
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
    assert kinds == ["text/plain", "multipart/related"]
    assert "2026-11-02" in msg["Subject"]
    assert "Completeness" in page and "weibo: 1/1 interval(s) complete, 24/24 hours loaded" in page


def test_safe_link_only_plain_http():
    assert report.safe_link("javascript:alert(1)") is None
    assert report.safe_link("JaVaScRiPt:alert(1)") is None
    assert report.safe_link(" https://x.com") is None
    assert report.safe_link("https://m.weibo.cn/detail/1\" onclick=\"x") is None
    assert report.safe_link("data:text/html,<script>") is None
    assert report.safe_link("https://m.weibo.cn/detail/1") == "https://m.weibo.cn/detail/1"


def test_empty_day_says_so(config, loaded, tmp_path):
    res = report.daily_report(loaded, config, date(2026, 11, 20), None, [], tmp_path / "out")
    page = Path(res["html"]).read_text(encoding="utf-8")
    assert "No mentions were loaded for this day" in page
    assert "no data loaded for this day" in page
    assert res["complete"] is False
    assert "no mentions loaded" in res["subject"]


def test_full_report_agrees_with_the_warehouse(config, tmp_path):
    eng, day = hostile_world(config, tmp_path)
    data = report.build_report_data(eng, config, day)
    key = wh.date_key(day)
    with eng.connect() as c:
        mart = {(r.date_key, r.brand_id): r for r in c.execute(select(wh.mart_brand_daily))}
        sov = {r.brand_id: r for r in c.execute(select(wh.metadata.tables["mart_share_of_voice"])
                                                 .where(wh.metadata.tables["mart_share_of_voice"].c.date_key == key))}
    for b in data["brands"]:
        m = mart[(key, b["id"])]
        assert (b["mentions"], b["unique_stories"], b["positive"], b["neutral"], b["negative"]) == \
               (m.mentions, m.unique_stories, m.positive, m.neutral, m.negative)
        assert b["net_sentiment"] == pytest.approx(m.net_sentiment)
        prev = [mart[(wh.date_key(day - timedelta(days=i)), b["id"])] for i in range(1, 8)]
        assert b["mentions_avg7"] == pytest.approx(sum(p.mentions for p in prev) / 7)
        net7 = sum(p.positive - p.negative for p in prev) / sum(p.mentions for p in prev)
        assert b["net_change"] == pytest.approx(m.net_sentiment - net7)
        comp = [mart[(key, c)].mentions for c in config.brand(b["id"]).competitors]
        assert b["share_of_voice"] == pytest.approx(m.mentions / (m.mentions + sum(comp)))
        if b["id"] in sov and sov[b["id"]].share_of_voice is not None:
            assert b["share_of_voice"] == pytest.approx(sov[b["id"]].share_of_voice)
        assert b["chart"]["mentions"][-1] == m.mentions and len(b["chart"]["days"]) == 14
    aurora = data["brands"][0]
    assert data["headline"]["id"] == "aurora"
    # top negative: by engagement, the brand's own account never listed, reply status from fct_interaction
    negs = aurora["top_negative"]
    assert len(negs) == 5 and negs[0]["engagement"] == 999_999 and negs[0]["url"] is None
    assert negs[0]["replied"] is True and negs[0]["reply_by"] == "极光客服"
    assert negs[1]["replied"] is False and negs[1]["url"] is None
    assert all(p["author"] != "极光手机官方" for p in negs + aurora["top_kol"])
    assert [p["author"] for p in aurora["top_kol"]] == ["数码测评君", "消费维权观察", "科技大V"]
    assert {a["kind"] for a in aurora["alerts"]} == {"volume", "negative", "kol"}
    assert data["complete"] and [s["hours"] for s in data["sources"]] == [24] * len(config.enabled_sources)


def test_html_and_text_render_everything_and_stay_inert(config, tmp_path):
    eng, day = hostile_world(config, tmp_path)
    res = report.daily_report(eng, config, day, None, ["m@example.com"], tmp_path / "out")
    page = Path(res["html"]).read_text(encoding="utf-8")
    txt = Path(res["txt"]).read_text(encoding="utf-8")
    assert res["subject"].startswith("[舆情日报] 2026-11-10: 极光手机 net sentiment -")
    assert "vs 7-day avg" in res["subject"]
    # no live markup from users: no tag, handler or javascript: link, and attribute breakouts stay quoted
    assert "<script" not in page.lower()
    assert not re.search(r"<[^>]*\son\w+\s*=", page, re.IGNORECASE)
    assert not re.search(r"href\s*=\s*[\"']?\s*javascript:", page, re.IGNORECASE)
    assert "&lt;script&gt;document.title=" in page and "&lt;b&gt;真香&lt;/b&gt;" in page
    assert "小号&#34; onmouseover=&#34;alert(1)" in page
    assert "Content-Security-Policy" in page
    for section in ("Negative posts that need a reply", "Top KOL posts", "Hot terms", "Alerts 预警",
                    "Share of voice", "replied by 极光客服", "no reply yet", "RED kol"):
        assert section in page, section
    for c in res["charts"]:
        assert Path(c).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert f'src="{Path(c).name}"' in page
    # the text part: same numbers, raw (harmless) text, every section
    aurora = report.build_report_data(eng, config, day)["brands"][0]
    assert f"Mentions:        {aurora['mentions']:,}" in txt and "NO REPLY YET" in txt and "Alerts:" in txt


def test_partial_day_says_which_hours_are_missing(config, tmp_path):
    eng = template_engine(tmp_path)
    w = World(eng)
    w.batch(local(5, 0), local(5, 12))  # only half of the day loaded
    w.batch(local(5, 12), local(5, 13), status="failed", coverage="failed")
    w.batch(local(5, 0), local(6, 0), source="technews", coverage="capped", quarantined=3)
    w.mention("aurora", local(5, 9), "negative")
    w.flush()
    res = report.daily_report(eng, config, date(2026, 11, 5), None, [], tmp_path / "out")
    page = Path(res["html"]).read_text(encoding="utf-8")
    assert res["complete"] is False and "[incomplete data]" in res["subject"]
    assert "Data for this day is incomplete" in page
    assert "only 12 of 24 hours loaded" in page and "1 interval(s) failed" in page
    assert "1 interval(s) capped" in page and "forum: no data loaded for this day" in page
    assert "Rows quarantined in total: 3" in page


def test_chart_font_is_the_vendored_cjk_font_and_draws_glyphs():
    import numpy as np
    from matplotlib import font_manager
    from matplotlib.font_manager import FontProperties

    from listening.delivery import charts

    families = charts.setup_fonts()
    assert families[0] == "Listening Sans SC"
    found = font_manager.findfont(FontProperties(family="Listening Sans SC"), fallback_to_default=False)
    assert Path(found).resolve() == charts.font_path().resolve()
    assert (charts.font_path().parent / "OFL.txt").exists()

    def ink(img):
        return int((img[..., :3].min(axis=2) < 128).sum())

    zhong, wen = charts.text_image("中"), charts.text_image("文")
    assert ink(zhong) > 50 and ink(wen) > 50
    assert not np.array_equal(zhong, wen)  # two different glyphs, not the same tofu box
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # matplotlib warns "Glyph ... missing from font(s)" for tofu
        png = charts.brand_chart("极光手机 · 近14天声量与净情感", [date(2026, 11, 1) + timedelta(days=i) for i in range(14)],
                                 list(range(14)), [0.1 * (i % 3) - 0.1 for i in range(14)], date(2026, 11, 14))
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000


def test_cli_report_out_dir(config, tmp_path, monkeypatch, capsys):
    import json

    from listening import cli

    eng, day = hostile_world(config, tmp_path, alerts_too=False)
    monkeypatch.setenv("LISTENING_WAREHOUSE_URL", str(eng.url))
    out = tmp_path / "cli-out"
    assert cli.main(["report", "--date", "2026-11-10", "--out", str(out)]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["sent"] is False
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted(["sentiment-report-2026-11-10.eml", "sentiment-report-2026-11-10.html",
                            "sentiment-report-2026-11-10.txt"]
                           + [f"sentiment-report-2026-11-10-{b}.png" for b in ("aurora", "lanshan", "xingchen")])
    assert cli.main(["report", "--date", "2026-13-01"]) == 2
    assert cli.main(["report", "--date", "2026-11-10", "--send"]) == 2  # no listening_smtp connection

"""The GX quality gates: raw schema drift, staged rows, the loaded interval, Data Docs, alert emails."""

from __future__ import annotations

import json
from datetime import datetime
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select
from support.mail import smtp_server
from support.warehouse import HOUR
from support.weibo import mblog, raw, search_page

from listening import warehouse as wh
from listening.core.settings import Settings
from listening.lake import LocalLake, raw_key
from listening.orchestration import tasks
from listening.orchestration.callbacks import alert_on_failure
from listening.pipeline.load import load
from listening.pipeline.score import score
from listening.pipeline.transform import transform
from listening.pipeline.validate import validate
from listening.quality import BatchRejected, validate_batch

RAW_KEY = raw_key("weibo", HOUR)


def _posts(n: int, drift=None) -> list[dict]:
    out = []
    for i in range(n):
        m = mblog(f"50000000000{i:05d}", f"极光X5 第{i}条 很好用", datetime(2026, 11, 1, 8, i % 60), user_id=100 + i,
                  likes=i)
        if drift and drift(i):
            m["attitudes_count"] = {"count": i}  # the API changed the shape of a field
        out.append(m)
    return out


def _run_to_validate(config, lake, posts):
    lake.put_jsonl(RAW_KEY, [raw("search", search_page(posts, next_page=None), page=1, keyword="极光")])
    crawls = [{"source": "weibo", "kind": "weibo_search", "raw_key": RAW_KEY, "fetched": 1, "pages": 1,
               "status": "complete", "errors": [], "cursor": {},
               "coverage": [{"start": "2026-11-01T00:00:00Z", "end": "2026-11-01T01:00:00Z", "status": "complete",
                             "pages": 1, "items": len(posts), "detail": "", "query": "极光"}]}]
    settings = Settings(warehouse_url="", lake_url=str(lake.root))
    t = transform(config, HOUR, crawls, lake, settings)
    s = score(config, HOUR, t["key"], lake)
    return crawls, t, s


class _Sink:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        self.messages.append(envelope)
        return "250 OK"


@pytest.fixture
def smtp(monkeypatch):
    sink = _Sink()
    with smtp_server(sink) as port:
        monkeypatch.setenv("AIRFLOW_CONN_LISTENING_SMTP", json.dumps(
            {"conn_type": "smtp", "host": "127.0.0.1", "port": port, "extra": {"from_email": "listening@example.com"}}))
        monkeypatch.setenv("LISTENING_ALERT_RECIPIENTS", "oncall@example.com, data@example.com")
        yield sink


def _context(exc, task_id="validate"):
    ti = SimpleNamespace(dag_id="ingest_mentions", task_id=task_id, try_number=3)
    return {"task_instance": ti, "exception": exc, "run_id": "manual__2026-11-01",
            "params": {"window_start": "2026-11-01T00:00:00Z", "window_end": "2026-11-01T01:00:00Z"}}


FEED = """<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>
<item><guid>tn-1</guid><title>极光X5 评测</title><link>https://news.example.com/a/1</link>
<description>极光X5 的续航很好</description><pubDate>Sun, 01 Nov 2026 00:30:00 +0000</pubDate></item>
</channel></rss>"""


def _with_feed(config, lake, posts):
    """The weibo crawl of _run_to_validate plus a technews feed crawl of the same interval."""
    fkey = raw_key("technews", HOUR)
    lake.put_jsonl(fkey, [dict(raw("feed", FEED), source="technews", kind="rss")])
    lake.put_jsonl(RAW_KEY, [raw("search", search_page(posts, next_page=None), page=1, keyword="极光")])
    crawls = [{"source": "weibo", "kind": "weibo_search", "raw_key": RAW_KEY, "fetched": 1, "pages": 1,
               "status": "complete", "errors": [], "cursor": {},
               "coverage": [{"start": "2026-11-01T00:00:00Z", "end": "2026-11-01T01:00:00Z", "status": "complete",
                             "pages": 1, "items": len(posts), "detail": "", "query": "极光"}]},
              {"source": "technews", "kind": "rss", "raw_key": fkey, "fetched": 1, "pages": 1,
               "status": "complete", "errors": [], "cursor": {},
               "coverage": [{"start": "2026-11-01T00:00:00Z", "end": "2026-11-01T01:00:00Z", "status": "complete",
                             "pages": 1, "items": 1, "detail": "", "query": ""}]}]
    # the other enabled sources crawled the interval and found nothing (a missing summary is a lost crawl)
    crawls += [{"source": src.id, "kind": src.kind, "raw_key": None, "fetched": 0, "pages": 0, "status": "complete",
                "errors": [], "cursor": {}, "coverage": []}
               for src in config.enabled_sources if src.id not in ("weibo", "technews")]
    settings = Settings(warehouse_url="", lake_url=str(lake.root))
    t = transform(config, HOUR, crawls, lake, settings)
    return crawls, t, score(config, HOUR, t["key"], lake)


def test_drifted_raw_schema_is_stopped_quarantined_and_alerted(config, engine, tmp_path, monkeypatch, smtp):
    lake = LocalLake(tmp_path / "lake")
    monkeypatch.setenv("LISTENING_LAKE_URL", str(lake.root))
    monkeypatch.setenv("LISTENING_WAREHOUSE_URL", engine.url.render_as_string(hide_password=False))
    # a few good posts were loaded before the site changed its JSON
    crawls, t, s = _run_to_validate(config, lake, _posts(3))
    v = validate(config, HOUR, s["key"], lake)
    load(config, HOUR, crawls, t, v, lake, engine)
    # now every post has attitudes_count as an object: the parser can only note a problem and count zero
    # likes -- numbers quietly wrong without the gate. The feed of the same interval is fine.
    crawls, t, s = _with_feed(config, lake, _posts(20, drift=lambda i: True))
    assert t["per_source"]["weibo"]["problems"]
    v = tasks.validate_interval(HOUR, crawls, t, s)
    assert list(v["rejected_sources"]) == ["weibo"] and "attitudes_count" in v["rejected_sources"]["weibo"]
    loaded = tasks.load_interval(HOUR, crawls, t, v)
    assert loaded["rejected_sources"] == v["rejected_sources"]
    # the load committed the other source; then the gate task fails, which alerts
    with pytest.raises(BatchRejected, match="schema drift: weibo") as info:
        tasks.quality_gate(loaded)
    assert "the other sources loaded" in str(info.value)
    with engine.connect() as c:
        batches = {r.source_id: r for r in c.execute(select(wh.etl_batch))}
        q = c.execute(select(wh.etl_quarantine).order_by(wh.etl_quarantine.c.native_id)).all()
        per_source = dict(c.execute(select(wh.fct_mention.c.source_id, func.count())
                                    .group_by(wh.fct_mention.c.source_id)).all())
    weibo = batches["weibo"]
    assert weibo.status == "rejected" and weibo.loaded == 0 and weibo.quarantined == 20
    assert "schema drift" in weibo.errors
    assert batches["technews"].status == "loaded" and batches["technews"].loaded == 1
    # what weibo loaded before stays, nothing of its drifted batch landed; the feed loaded
    assert per_source == {"weibo": 3, "technews": 1}
    assert len(q) == 20 and {r.stage for r in q} == {"raw"} and {r.source_id for r in q} == {"weibo"}
    assert all(r.raw_ref == f"{RAW_KEY}#0" for r in q)
    assert "attitudes_count" in q[0].reason and json.loads(q[0].record)["item"]["attitudes_count"] == {"count": 0}
    assert lake.exists(f"docs/gx/{HOUR.key}/raw/index.html")
    # the gate task fails; its on_failure_callback mails the on-call list
    sent = alert_on_failure(_context(info.value, task_id="quality_gate"))
    assert sent["sent"] and sent["recipients"] == ["oncall@example.com", "data@example.com"]
    assert len(smtp.messages) == 1
    env = smtp.messages[0]
    body = env.content.decode("utf-8", "replace")
    assert env.rcpt_tos == ["oncall@example.com", "data@example.com"]
    assert "quality gate stopped the batch" in body and "schema drift" in body and "ingest_mentions" in body
    # the site is fixed and the interval re-run: weibo loads, the quarantine clears
    crawls, t, s = _with_feed(config, lake, _posts(20))
    loaded = tasks.load_interval(HOUR, crawls, t, tasks.validate_interval(HOUR, crawls, t, s))
    assert tasks.quality_gate(loaded)["rejected_sources"] == {}
    with engine.connect() as c:
        assert c.execute(select(wh.etl_batch.c.status).where(wh.etl_batch.c.source_id == "weibo")).scalar_one() \
            == "loaded"
        assert c.execute(select(func.count()).select_from(wh.etl_quarantine)).scalar_one() == 0
        assert c.execute(select(func.count()).select_from(wh.fct_mention)).scalar_one() == 21


def test_a_few_bad_raw_items_are_quarantined_and_the_rest_loads(config, engine, tmp_path):
    lake = LocalLake(tmp_path / "lake")
    crawls, t, s = _run_to_validate(config, lake, _posts(40, drift=lambda i: i == 7))
    v = validate(config, HOUR, s["key"], lake)
    assert v["valid"] == 39 and v["raw_quarantined"] == 1
    res = load(config, HOUR, crawls, t, v, lake, engine)
    assert res["loaded"] == 39 and res["quarantined"] == 1
    with engine.connect() as c:
        q = c.execute(select(wh.etl_quarantine)).one()
        b = c.execute(select(wh.etl_batch)).one()
    assert q.native_id == "5000000000000007" and q.stage == "raw" and q.raw_ref == f"{RAW_KEY}#0"
    assert b.loaded == 39 and b.quarantined == 1 and b.status == "loaded"
    for stage in ("raw", "staged", "loaded"):  # Data Docs of every validation, in the lake
        html = lake.get(f"docs/gx/{HOUR.key}/{stage}/index.html").decode("utf-8")
        assert "<html" in html.lower()
    assert any(k.endswith(".html") and "/validations/" in k for k in lake.list(f"docs/gx/{HOUR.key}/staged/"))


def test_staged_rows_with_wrong_types_are_quarantined():
    good = {"mention_id": "weibo:1", "source_id": "weibo", "native_id": "1", "url": "u", "text": "t",
            "published_ts": HOUR.start.timestamp() + 10, "sentiment": 0.5, "sentiment_label": "neutral",
            "model_version": "m", "story_id": "s", "engagement": 0}
    rows = [dict(good, mention_id=f"weibo:{i}", native_id=str(i)) for i in range(30)]
    rows[3]["native_id"] = 3  # a number where the loader expects text
    out = validate_batch(rows, [{"mention_id": r["mention_id"], "brand_id": "aurora"} for r in rows], HOUR,
                         ["weibo"], ["aurora"])
    assert len(out.valid) == 29 and out.quarantined[0][1] == "native_id is not a string"


def test_staged_schema_drift_rejects_the_batch():
    rows = [{"mention_id": "weibo:1", "source_id": "weibo", "native_id": "1"}]
    with pytest.raises(BatchRejected, match="schema drift"):
        validate_batch(rows, [], HOUR, ["weibo"], ["aurora"])


def test_alert_without_smtp_is_written_to_the_reports_folder(tmp_path, monkeypatch):
    monkeypatch.delenv("AIRFLOW_CONN_LISTENING_SMTP", raising=False)
    monkeypatch.setenv("LISTENING_REPORTS_DIR", str(tmp_path / "reports"))
    res = alert_on_failure(_context(RuntimeError("warehouse unreachable"), task_id="load"))
    assert res is not None and not res["sent"]
    files = list((tmp_path / "reports" / "alerts").glob("alert-*.eml"))
    assert len(files) == 1
    text = files[0].read_text(encoding="utf-8")
    assert "ingest_mentions.load: task failed" in text and "warehouse unreachable" in text


def test_the_alert_callback_never_raises(monkeypatch):
    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr("listening.orchestration.callbacks.send_alert", boom)
    assert alert_on_failure(_context(RuntimeError("x"))) is None


def _comment_page(n: int, bad=lambda i: False) -> dict:
    items = []
    for i in range(n):
        c = {"id": f"49{i:014d}", "created_at": "Tue Nov 10 12:00:00 +0800 2026", "text": f"评论{i}",
             "like_count": i, "user": {"id": 100 + i, "screen_name": f"用户{i}"}}
        if bad(i):
            c["user"] = "deleted"
        items.append(c)
    items[0]["comments"] = [{"id": "4900000000009999", "created_at": "刚刚", "text": "回复",
                             "user": {"id": 1, "screen_name": "极光客服"}}]
    body = {"ok": 1, "data": {"data": items, "total_number": n, "max_id": 0, "max_id_type": 0}}
    return {"purpose": "comments", "body": json.dumps(body, ensure_ascii=False), "meta": {"status_id": "1"}}


def test_raw_comment_pages_are_checked_for_drift_and_bad_items():
    from listening.quality import RawInput, validate_raw

    key = "raw/source=weibo_comments/date=2026-11-10/hour=04/x.jsonl.gz"
    ok = validate_raw([RawInput("weibo_comments", "weibo_comments", key, [_comment_page(40)])])
    assert ok.items == {"weibo_comments": 41} and not ok.drifted and not ok.quarantined  # inline reply included
    one_bad = validate_raw([RawInput("weibo_comments", "weibo_comments", key,
                                     [_comment_page(40, bad=lambda i: i == 3)])])
    assert not one_bad.drifted
    [(row, why)] = one_bad.quarantined
    assert row["native_id"] == "49" + "3".zfill(14) and row["raw_ref"] == f"{key}#0" and "comment.user" in why
    drifted = validate_raw([RawInput("weibo_comments", "weibo_comments", key,
                                     [_comment_page(40, bad=lambda i: i % 2 == 0)])])
    assert "weibo_comments" in drifted.drifted and "comment.user missing" in drifted.drifted["weibo_comments"]
    not_a_list = {"purpose": "comments", "body": json.dumps({"ok": 1, "data": {"comments": []}})}
    shape = validate_raw([RawInput("weibo_comments", "weibo_comments", key, [not_a_list])])
    assert "unexpected shape" in shape.drifted["weibo_comments"]

"""dag.test() of the real DAGs against the demo server: SQLite and PostgreSQL warehouses."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from listening import warehouse as wh

SH = ZoneInfo("Asia/Shanghai")
pytestmark = pytest.mark.slow


def _day_window(day: datetime) -> dict:
    start = day.replace(tzinfo=SH).astimezone(UTC)
    return {"window_start": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "window_end": (start + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")}


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def env(request, tmp_path, monkeypatch, demo_server):
    url = f"sqlite:///{tmp_path / 'wh.db'}" if request.param == "sqlite" else request.getfixturevalue("pg_url")
    monkeypatch.setenv("LISTENING_WAREHOUSE_URL", url)
    monkeypatch.setenv("LISTENING_LAKE_URL", str(tmp_path / "lake"))
    monkeypatch.setenv("LISTENING_DEMO_URL", demo_server.base_url)
    monkeypatch.setenv("LISTENING_REPORT_RECIPIENTS", "marketing@example.com")
    return {"engine": wh.get_engine(url), "tmp": tmp_path}


def _state(dr) -> str:
    return str(getattr(dr, "state", ""))


def test_ingest_marts_report_end_to_end_and_idempotent(dags, env, demo_server):
    ingest = dags["ingest_mentions"]
    spike = _day_window(datetime(2026, 11, 10))
    start = datetime.fromisoformat(spike["window_start"].replace("Z", "+00:00"))
    dr = ingest.test(logical_date=start, run_conf=spike)
    assert "success" in _state(dr)
    engine = env["engine"]
    counts = wh.table_counts(engine)
    assert counts["fct_mention"] > 700
    with engine.connect() as c:
        per_brand = dict(c.execute(select(wh.bridge_mention_brand.c.brand_id, func.count())
                                   .group_by(wh.bridge_mention_brand.c.brand_id)).all())
        batches = c.execute(select(wh.etl_batch)).all()
        cov = c.execute(select(wh.etl_coverage.c.status, func.count()).group_by(wh.etl_coverage.c.status)).all()
    assert set(per_brand) == {"aurora", "xingchen", "lanshan"}
    assert per_brand["aurora"] > 600  # the spike day
    assert {b.source_id for b in batches} == {"weibo", "weibo_comments", "technews", "forum"}
    assert all(b.status == "loaded" for b in batches)
    assert all(b.coverage == "complete" for b in batches if b.source_id != "weibo_comments")
    # comments look back 24 h: the previous day's search was never crawled in this test, which is
    # reported as a partial slice rather than hidden
    comments = next(b for b in batches if b.source_id == "weibo_comments")
    assert comments.coverage in ("complete", "partial")
    with engine.connect() as c:
        kinds = dict(c.execute(select(wh.fct_interaction.c.kind, func.count())
                               .group_by(wh.fct_interaction.c.kind)).all())
    assert kinds.get("comment", 0) > 100 and kinds.get("owned_reply", 0) > 0  # 极光客服 answers
    # the spike day overflows the 50-page cap for 极光: the window was split, and nothing left capped
    assert dict(cov).get("split", 0) >= 1 and "capped" not in dict(cov)
    # raw responses landed in the lake before parsing
    raw = list((env["tmp"] / "lake" / "raw").rglob("*.jsonl.gz"))
    assert {p.parts[-4] for p in raw} == {"source=weibo", "source=weibo_comments", "source=technews", "source=forum"}

    # the same interval again (a re-run, as Airflow would after a clear): nothing changes
    dr = ingest.test(logical_date=start, run_conf=spike)
    assert "success" in _state(dr)
    again = wh.table_counts(engine)
    assert again == counts

    dr = dags["build_marts"].test(logical_date=datetime.now(UTC).replace(microsecond=0))
    assert "success" in _state(dr)
    with engine.connect() as c:
        mart = {r.brand_id: r for r in c.execute(select(wh.mart_brand_daily)
                                                 .where(wh.mart_brand_daily.c.date_key == 20261110))}
        facts = c.execute(select(func.count()).select_from(wh.fct_mention)
                          .join(wh.bridge_mention_brand,
                                wh.bridge_mention_brand.c.mention_id == wh.fct_mention.c.mention_id)
                          .where(wh.bridge_mention_brand.c.brand_id == "aurora",
                                 wh.fct_mention.c.date_key == 20261110,
                                 wh.fct_mention.c.is_spam.is_(False))).scalar_one()
    assert mart["aurora"].mentions == facts
    assert mart["aurora"].negative > mart["aurora"].positive  # the crisis

    dr = dags["send_daily_report"].test(
        logical_date=datetime(2026, 11, 11, 9, tzinfo=SH).astimezone(UTC), run_conf={"report_date": "2026-11-10"})
    assert "success" in _state(dr)
    html = Path(os.environ["LISTENING_REPORTS_DIR"]) / "sentiment-report-2026-11-10.html"
    assert html.exists()
    assert f"<b>{mart['aurora'].mentions:,}</b>" in html.read_text(encoding="utf-8")


def test_demo_matching_against_ground_truth(dags, env):
    """Brand matching and spam flags on three demo days, scored against the generator's truth."""
    from listening.demo.evaluate import evaluate

    for day in (3, 5, 10):
        conf = _day_window(datetime(2026, 11, day))
        start = datetime.fromisoformat(conf["window_start"].replace("Z", "+00:00"))
        assert "success" in _state(dags["ingest_mentions"].test(logical_date=start, run_conf=conf))
    # only the truth items of those days can have been loaded
    scores = evaluate(env["engine"], days=["2026-11-03", "2026-11-05", "2026-11-10"])
    assert scores["brand_precision"] >= 0.97, scores
    assert scores["brand_recall"] >= 0.99, scores
    assert scores["spam_recall"] >= 0.95 and scores["spam_precision"] >= 0.95, scores

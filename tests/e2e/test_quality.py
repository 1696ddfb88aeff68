"""dag.test() of the real DAGs: a drifted source is stopped, quarantined and alerted on; load_sales end to end."""

from __future__ import annotations

import email
import email.policy
import gzip
import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from support.paths import ROOT

from listening import warehouse as wh
from listening.lake import LocalLake

SH = ZoneInfo("Asia/Shanghai")
pytestmark = pytest.mark.slow


def _drifted_corpus(dest: Path) -> Path:
    shutil.copytree(ROOT / "include" / "demo", dest)
    path = dest / "weibo" / "mblogs.jsonl.gz"
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        posts = [json.loads(line) for line in fh]
    for p in posts:  # the site now sends the like count as an object
        p["attitudes_count"] = {"count": p.get("attitudes_count"), "display": "赞"}
    with gzip.open(path, "wt", encoding="utf-8") as fh:
        for p in posts:
            fh.write(json.dumps(p, ensure_ascii=False) + "\n")
    return dest


def _env(monkeypatch, tmp_path) -> dict:
    url = f"sqlite:///{tmp_path / 'wh.db'}"
    monkeypatch.setenv("LISTENING_WAREHOUSE_URL", url)
    monkeypatch.setenv("LISTENING_LAKE_URL", str(tmp_path / "lake"))
    monkeypatch.setenv("LISTENING_REPORTS_DIR", str(tmp_path / "reports"))
    monkeypatch.setenv("LISTENING_REPORT_RECIPIENTS", "marketing@example.com")
    monkeypatch.delenv("AIRFLOW_CONN_LISTENING_SMTP", raising=False)
    return {"engine": wh.get_engine(url), "lake": LocalLake(tmp_path / "lake"), "reports": tmp_path / "reports"}


def test_ingest_with_a_drifted_source_is_stopped_quarantined_and_alerted(dags, tmp_path, monkeypatch):
    from listening.demo.server import DemoServer

    env = _env(monkeypatch, tmp_path)
    start = datetime(2026, 11, 3, tzinfo=SH).astimezone(UTC)
    conf = {"window_start": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "window_end": (start + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")}
    with DemoServer(data_dir=_drifted_corpus(tmp_path / "demo")) as server:
        monkeypatch.setenv("LISTENING_DEMO_URL", server.base_url)
        dr = dags["ingest_mentions"].test(logical_date=start, run_conf=conf)
    assert "failed" in str(dr.state)
    states = {ti.task_id: str(ti.state) for ti in dr.get_task_instances()}
    # the drifted source is stopped alone: validate and load go on for the others, the gate fails
    assert "success" in states["validate"] and "success" in states["load"] and "failed" in states["quality_gate"]
    with env["engine"].connect() as c:
        batch = {r.source_id: r for r in c.execute(select(wh.etl_batch))}
        raw_q = c.execute(select(func.count()).select_from(wh.etl_quarantine)
                          .where(wh.etl_quarantine.c.stage == "raw")).scalar_one()
        facts = dict(c.execute(select(wh.fct_mention.c.source_id, func.count())
                               .group_by(wh.fct_mention.c.source_id)).all())
    assert batch["weibo"].status == "rejected" and "schema drift" in batch["weibo"].errors
    assert batch["weibo"].loaded == 0 and batch["technews"].status == "loaded"
    assert raw_q > 100 and "weibo" not in facts  # nothing of the drifted source landed
    assert facts.get("technews", 0) > 0 and facts.get("forum", 0) > 0  # the healthy feeds were not blocked
    alerts = list((env["reports"] / "alerts").glob("alert-*.eml"))
    assert len(alerts) == 1  # failed at once (no retries of a deterministic rejection), one alert
    msg = email.message_from_bytes(alerts[0].read_bytes(), policy=email.policy.default)
    assert "ingest_mentions.quality_gate: quality gate stopped the batch" in msg["Subject"]
    assert "attitudes_count" in msg.get_body(("plain",)).get_content()
    keys = env["lake"].list("docs/gx/")
    assert any(k.endswith("/raw/index.html") for k in keys)


def test_ingest_with_a_failed_source_loads_the_others_then_fails_and_alerts(dags, tmp_path, monkeypatch):
    """A site that blocks us (HTTP 403 on the forum feed) never gives a green run: the other sources
    load, quality_gate fails at once, and one alert names the lost source."""
    from listening.demo.server import DemoServer

    env = _env(monkeypatch, tmp_path)
    start = datetime(2026, 11, 3, tzinfo=SH).astimezone(UTC)
    conf = {"window_start": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "window_end": (start + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")}
    with DemoServer() as server:
        server.add_fault("/atom/forum.xml", status=403, times=100)
        monkeypatch.setenv("LISTENING_DEMO_URL", server.base_url)
        dr = dags["ingest_mentions"].test(logical_date=start, run_conf=conf)
    assert "failed" in str(dr.state)
    states = {ti.task_id: str(ti.state) for ti in dr.get_task_instances()}
    assert "success" in states["load"] and "failed" in states["quality_gate"]
    with env["engine"].connect() as c:
        batch = {r.source_id: r for r in c.execute(select(wh.etl_batch))}
    assert batch["forum"].status == "failed" and "403" in batch["forum"].errors
    assert batch["weibo"].status == "loaded" and batch["technews"].status == "loaded"
    alerts = list((env["reports"] / "alerts").glob("alert-*.eml"))
    assert len(alerts) == 1  # failed at once, no retries
    msg = email.message_from_bytes(alerts[0].read_bytes(), policy=email.policy.default)
    assert "ingest_mentions.quality_gate: sources failed" in msg["Subject"]
    assert "forum" in msg.get_body(("plain",)).get_content()


def test_load_sales_dag_imports_drops_and_builds_the_kpi_mart(dags, tmp_path, monkeypatch):
    env = _env(monkeypatch, tmp_path)
    env["lake"].put("drops/sales/2026-11-01.csv",
                    "date,brand,sales,units,spend\n2026-11-01,极光手机,5000,50,800\n2026-11-01,xingchen,100,1,\n"
                    .encode())
    when = datetime(2026, 11, 2, 1, 30, tzinfo=UTC)
    dr = dags["load_sales"].test(logical_date=when)
    assert "success" in str(dr.state)
    with env["engine"].connect() as c:
        got = {r.brand_id: r for r in c.execute(select(wh.mart_brand_kpi).where(wh.mart_brand_kpi.c.date_key == 20261101))}
        batch = c.execute(select(wh.etl_batch).where(wh.etl_batch.c.source_id == "sales")).one()
    assert got["aurora"].sales_amount == 5000.0 and got["aurora"].goal == "sales" and got["aurora"].mentions == 0
    assert got["xingchen"].spend is None and batch.loaded == 2 and batch.status == "loaded"
    dr = dags["load_sales"].test(logical_date=when)  # a re-run: the drop is already loaded
    assert "success" in str(dr.state)
    with env["engine"].connect() as c:
        assert c.execute(select(func.count()).select_from(wh.fct_sales)).scalar_one() == 2

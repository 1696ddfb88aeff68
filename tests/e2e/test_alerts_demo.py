"""The bundled demo, loaded one local day per run as ``make run`` does: the 11-10 crisis alerts once, quiet days
send nothing, hour-by-hour runs agree, the send_alerts DAG works, and the 11-10 report agrees with the warehouse.

Real channels: alerts go to an aiosmtpd SMTP server and a local webhook server on 127.0.0.1.
"""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from support.mail import Inbox, smtp_server
from support.paths import ROOT
from support.webhook import Hook

from listening import warehouse as wh
from listening.delivery import alerts
from listening.orchestration import tasks

SH = ZoneInfo("Asia/Shanghai")
QUIET_DAYS = (1, 2, 3, 4, 7, 8, 9)
pytestmark = pytest.mark.slow


def _window(day: int) -> dict[str, str]:
    start = datetime(2026, 11, day, tzinfo=SH).astimezone(UTC)
    return {"window_start": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "window_end": (start + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")}


def _load_day(day: int) -> None:
    from listening.core.model import Window

    w = Window.parse(**{"start": _window(day)["window_start"], "end": _window(day)["window_end"]})
    crawls = [tasks.crawl_source(sid, w) for sid in tasks.plan_sources()]
    tr = tasks.transform_interval(w, crawls)
    sc = tasks.score_interval(w, tr)
    v = tasks.validate_interval(w, crawls, tr, sc)
    tasks.load_interval(w, crawls, tr, v)


def _alert_rows(url: str) -> dict[str, dict]:
    eng = wh.get_engine(url)
    with eng.connect() as c:
        return {r.alert_id: r._asdict() for r in c.execute(select(alerts.mart_alerts))}


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    from listening.demo.server import DemoServer

    tmp = tmp_path_factory.mktemp("demo-alerts")
    url = f"sqlite:///{tmp / 'wh.db'}"
    inbox = Inbox()
    with smtp_server(inbox) as port, pytest.MonkeyPatch.context() as mp, DemoServer() as server, Hook() as hook:
        mp.setenv("LISTENING_WAREHOUSE_URL", url)
        mp.setenv("LISTENING_LAKE_URL", str(tmp / "lake"))
        mp.setenv("LISTENING_DEMO_URL", server.base_url)
        mp.setenv("LISTENING_REPORTS_DIR", str(tmp / "reports"))
        mp.setenv("AIRFLOW_CONN_LISTENING_SMTP", f"smtp://127.0.0.1:{port}")
        mp.setenv("LISTENING_ALERT_RECIPIENTS", "oncall@example.com")
        mp.setenv("AIRFLOW_CONN_LISTENING_WEBHOOK", json.dumps(
            {"conn_type": "http", "host": "127.0.0.1", "port": hook.port, "schema": "hook"}))
        days: dict[int, dict] = {}
        for day in range(1, 11):
            _load_day(day)
            if day == 10:
                shutil.copyfile(tmp / "wh.db", tmp / "before-spike.db")
            n_hook, n_mail = len(hook.bodies), len(inbox.messages)
            ev = tasks.evaluate_alerts(_window(day))
            sent = tasks.notify_alerts()
            days[day] = {"evaluated": ev, "sent": sent, "webhook": hook.bodies[n_hook:],
                         "mail": inbox.messages[n_mail:]}
        first = _alert_rows(url)
        reruns = []
        for _ in range(2):  # the same day's runs again (a cleared task, a re-triggered asset)
            n_hook, n_mail = len(hook.bodies), len(inbox.messages)
            ev = tasks.evaluate_alerts(_window(10))
            sent = tasks.notify_alerts()
            reruns.append({"evaluated": ev, "sent": sent, "webhook": len(hook.bodies) - n_hook,
                           "mail": len(inbox.messages) - n_mail})
        tasks.build_marts(None)
        yield {"tmp": tmp, "url": url, "days": days, "first": first, "reruns": reruns, "hook": hook,
               "inbox": inbox, "smtp_port": port}


def test_quiet_days_send_nothing(demo):
    for day in QUIET_DAYS:
        d = demo["days"][day]
        assert d["evaluated"]["opened"] == [], (day, d["evaluated"])
        assert d["sent"]["messages"] == [] and d["webhook"] == [] and d["mail"] == [], day


def test_spike_day_alerts_exactly_once(demo):
    d = demo["days"][10]
    opened = d["evaluated"]["opened"]
    assert sorted(a.rsplit(":", 1)[0] for a in opened) == ["aurora:kol", "aurora:negative", "aurora:volume"]
    rows = demo["first"]
    kol = next(r for r in rows.values() if r["alert_id"] in opened and r["kind"] == "kol")
    assert kol["severity"] == "red"  # the KOL crisis
    authors = {p["author"] for p in kol["payload"]["peak"]["posts"]}
    assert "极光手机官方" not in authors and authors & {"数码测评君", "手机圈扒皮王", "消费维权观察", "科技头条君"}
    vol = next(r for r in rows.values() if r["alert_id"] in opened and r["kind"] == "volume")
    assert vol["severity"] == "red"
    # one message per channel for the brand, carrying its three alerts; nothing for the other brands
    assert len(d["webhook"]) == 1 and len(d["mail"]) == 1
    assert d["webhook"][0]["text"].startswith("[舆情预警 RED] 极光手机")
    assert {m["brand"] for m in d["sent"]["messages"]} == {"aurora"}
    for aid in opened:
        notes = rows[aid]["payload"]["notifications"]
        assert sorted(n["channel"] for n in notes) == ["email", "webhook"], aid
    # re-running the day changes nothing and sends nothing
    for r in demo["reruns"]:
        assert r["webhook"] == 0 and r["mail"] == 0 and r["sent"]["messages"] == []
    after = _alert_rows(demo["url"])
    assert {k: (v["severity"], v["status"], v["notified_at"]) for k, v in after.items()} == \
           {k: (v["severity"], v["status"], v["notified_at"]) for k, v in rows.items()}


def test_hour_by_hour_replay_of_the_spike_day(demo, monkeypatch, tmp_path):
    """Production runs once an hour: same alerts, each sent once per severity it reaches, never twice."""
    db = tmp_path / "hourly.db"
    shutil.copyfile(demo["tmp"] / "before-spike.db", db)
    url = f"sqlite:///{db}"
    monkeypatch.setenv("LISTENING_WAREHOUSE_URL", url)
    monkeypatch.delenv("AIRFLOW_CONN_LISTENING_SMTP", raising=False)
    with Hook() as hook:
        monkeypatch.setenv("AIRFLOW_CONN_LISTENING_WEBHOOK", json.dumps(
            {"conn_type": "http", "host": "127.0.0.1", "port": hook.port, "schema": "hook"}))
        start = datetime(2026, 11, 10, tzinfo=SH).astimezone(UTC)
        for h in range(24):
            s = start + timedelta(hours=h)
            tasks.evaluate_alerts({"window_start": s.isoformat(), "window_end": (s + timedelta(hours=1)).isoformat()})
            tasks.notify_alerts(str(tmp_path / "mail"))
        hourly = _alert_rows(url)
        wide = demo["first"]
        key = ("severity", "status", "window_start", "window_end", "opened_at", "closed_at")
        assert {k: tuple(v[c] for c in key) for k, v in hourly.items()} == \
               {k: tuple(v[c] for c in key) for k, v in wide.items()}
        sent = [(aid, n["severity"]) for aid, r in hourly.items() for n in r["payload"].get("notifications", [])
                if n["channel"] == "webhook"]
        assert len(sent) == len(set(sent)) and {a for a, _ in sent} == set(hourly)
        assert 1 <= len(hook.bodies) <= 2 * len(hourly)


def test_send_alerts_dag_runs_on_the_demo(demo, airflow_db, monkeypatch, tmp_path):
    from airflow.dag_processing.dagbag import DagBag

    db = tmp_path / "dag.db"
    shutil.copyfile(demo["tmp"] / "before-spike.db", db)
    monkeypatch.setenv("LISTENING_WAREHOUSE_URL", f"sqlite:///{db}")
    monkeypatch.delenv("AIRFLOW_CONN_LISTENING_SMTP", raising=False)
    monkeypatch.setenv("LISTENING_REPORTS_DIR", str(tmp_path / "reports"))
    bag = DagBag(dag_folder=str(ROOT / "dags"))
    assert not bag.import_errors
    dag = bag.dags["send_alerts"]
    with Hook() as hook:
        monkeypatch.setenv("AIRFLOW_CONN_LISTENING_WEBHOOK", json.dumps(
            {"conn_type": "http", "host": "127.0.0.1", "port": hook.port, "schema": "hook"}))
        for _ in range(2):
            dr = dag.test(logical_date=datetime.now(UTC).replace(microsecond=0), run_conf=_window(10))
            assert "success" in str(dr.state)
        assert len(hook.bodies) == 1 and "极光手机" in hook.bodies[0]["text"]
    assert len(list((tmp_path / "reports" / "alerts").glob("alert-aurora-*.eml"))) == 1


def test_demo_report_for_the_spike_day_agrees_with_the_warehouse(demo, config, tmp_path, monkeypatch):
    from listening.delivery import report

    eng = wh.get_engine(demo["url"])
    res = report.daily_report(eng, config, datetime(2026, 11, 10).date(), None, [], tmp_path)
    data = report.build_report_data(eng, config, datetime(2026, 11, 10).date())
    sov_t = wh.metadata.tables["mart_share_of_voice"]
    with eng.connect() as c:
        mart = {r.brand_id: r for r in c.execute(select(wh.mart_brand_daily)
                                                  .where(wh.mart_brand_daily.c.date_key == 20261110))}
        sov = {r.brand_id: r for r in c.execute(select(sov_t).where(sov_t.c.date_key == 20261110))}
    page = Path(res["html"]).read_text(encoding="utf-8")
    for b in data["brands"]:
        m = mart[b["id"]]
        assert (b["mentions"], b["unique_stories"], b["negative"]) == (m.mentions, m.unique_stories, m.negative)
        assert f"<b>{m.mentions:,}</b>" in page
        if b["id"] in sov and sov[b["id"]].share_of_voice is not None:
            assert b["share_of_voice"] == pytest.approx(sov[b["id"]].share_of_voice)
    aurora = data["brands"][0]
    assert data["headline"]["id"] == "aurora" and aurora["negative"] > aurora["positive"]
    assert "极光手机" in res["subject"] and "2026-11-10" in res["subject"]
    assert {a["kind"] for a in aurora["alerts"]} == {"volume", "negative", "kol"}
    assert aurora["top_kol"] and all(p["author"] not in ("极光手机官方", "极光客服") for p in aurora["top_kol"])
    assert data["complete"], data["sources"]

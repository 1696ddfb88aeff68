"""``make run``: drive the real Airflow DAGs over the bundled demo window and print a summary.

1. start the demo server (recorded sources) on 127.0.0.1 and point ``LISTENING_DEMO_URL`` at it;
2. ``ingest_mentions`` with ``dag.test()``, one run per local demo day (the production schedule
   stays hourly; a run per hour would cost ~10 s of Airflow overhead each, see DESIGN.md);
3. ``build_marts`` once, then ``send_daily_report`` for the last demo day;
4. print mentions per brand and source, the sentiment split, quarantined rows, coverage, the
   report's path and a query to paste into a BI tool; stop the server.

Airflow's own task logs go to ``$AIRFLOW_HOME/logs/demo-run.log``; a failed run prints its tail.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Integer, func, select

from listening import warehouse as wh
from listening.config import load_config
from listening.core.settings import default_reports_dir, project_root
from listening.demo.evaluate import evaluate
from listening.demo.server import DemoServer
from listening.orchestration.connections import warehouse_url

DEMO_FIRST_DAY = date(2026, 11, 1)
DEMO_DAYS = 14

BI_QUERY = """SELECT d.date, b.brand_name, m.mentions, m.unique_stories,
       m.positive, m.neutral, m.negative, ROUND(m.net_sentiment, 3) AS net_sentiment
FROM mart_brand_daily m
JOIN dim_brand b ON b.brand_id = m.brand_id
JOIN dim_date d ON d.date_key = m.date_key
ORDER BY d.date, b.brand_id;"""


@contextlib.contextmanager
def _output_to(path: Path) -> Iterator[None]:
    """Send fd 1 and 2 (Airflow's structlog output included) to a file for the duration."""
    path.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with open(path, "ab") as f:
        os.dup2(f.fileno(), 1)
        os.dup2(f.fileno(), 2)
        try:
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])


def _tail(path: Path, n: int = 40) -> str:
    try:
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-n:])
    except FileNotFoundError:
        return ""


def _say(msg: str) -> None:
    print(msg, flush=True)


def _check_env() -> None:
    home = os.environ.get("AIRFLOW_HOME")
    if not home:
        raise SystemExit("AIRFLOW_HOME is not set: run this through `make run` (it sets up a project-local Airflow)")


def run_demo(days: int | None = None) -> int:
    _check_env()
    config = load_config()
    tz = config.tz
    n_days = min(days or DEMO_DAYS, DEMO_DAYS)
    log_path = Path(os.environ["AIRFLOW_HOME"]) / "logs" / "demo-run.log"
    if log_path.exists():
        log_path.unlink()
    t_all = time.monotonic()
    with DemoServer() as server:
        os.environ["LISTENING_DEMO_URL"] = server.base_url
        _say(f"demo sources served at {server.base_url} (Airflow task logs: {log_path})")
        _say("loading the DAGs ...")
        with _output_to(log_path):
            from airflow.dag_processing.dagbag import DagBag

            bag = DagBag(dag_folder=str(project_root() / "dags"))
        if bag.import_errors:
            for f, err in bag.import_errors.items():
                _say(f"DAG import error in {f}:\n{err}")
            return 1
        ingest = bag.get_dag("ingest_mentions")
        marts = bag.get_dag("build_marts")
        report = bag.get_dag("send_daily_report")
        alerts = bag.get_dag("send_alerts")
        failed = 0
        for i in range(n_days):
            day = DEMO_FIRST_DAY + timedelta(days=i)
            start = datetime(day.year, day.month, day.day, tzinfo=tz).astimezone(UTC)
            end = start + timedelta(days=1)
            t0 = time.monotonic()
            with _output_to(log_path):
                dr = ingest.test(logical_date=start, run_conf={
                    "window_start": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "window_end": end.strftime("%Y-%m-%dT%H:%M:%SZ"),
                })
            state = str(getattr(dr, "state", "unknown"))
            _say(f"ingest_mentions  {day} (local day = {start:%m-%d %H:%M}Z..{end:%m-%d %H:%M}Z): "
                 f"{state} in {time.monotonic() - t0:.1f}s")
            if "success" not in state:
                failed += 1
                _say(_tail(log_path))
                continue
            # what the asset event would trigger after each load: the alert state machine
            with _output_to(log_path):
                dr = alerts.test(logical_date=end, run_conf={
                    "window_start": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "window_end": end.strftime("%Y-%m-%dT%H:%M:%SZ"),
                })
            if "success" not in str(getattr(dr, "state", "")):
                failed += 1
                _say(f"send_alerts for {day}: {getattr(dr, 'state', 'unknown')}")
                _say(_tail(log_path))
        t0 = time.monotonic()
        with _output_to(log_path):
            dr = marts.test(logical_date=datetime.now(UTC).replace(microsecond=0))
        _say(f"build_marts: {getattr(dr, 'state', 'unknown')} in {time.monotonic() - t0:.1f}s")
        if "success" not in str(getattr(dr, "state", "")):
            failed += 1
            _say(_tail(log_path))
        last_day = DEMO_FIRST_DAY + timedelta(days=n_days - 1)
        run_at = datetime(last_day.year, last_day.month, last_day.day, 9, tzinfo=tz) + timedelta(days=1)
        t0 = time.monotonic()
        with _output_to(log_path):
            dr = report.test(logical_date=run_at.astimezone(UTC))
        _say(f"send_daily_report for {last_day}: {getattr(dr, 'state', 'unknown')} in {time.monotonic() - t0:.1f}s")
        if "success" not in str(getattr(dr, "state", "")):
            failed += 1
            _say(_tail(log_path))
    os.environ.pop("LISTENING_DEMO_URL", None)
    _say(f"demo server stopped; pipeline time {time.monotonic() - t_all:.0f}s\n")
    print_summary(config, last_day)
    return 1 if failed else 0


def summary_data(engine: Any, config: Any) -> dict[str, Any]:
    f, br, q = wh.fct_mention, wh.bridge_mention_brand, wh.etl_quarantine
    with engine.connect() as conn:
        by_brand_source = conn.execute(
            select(br.c.brand_id, f.c.source_id, func.count(), func.sum(f.c.is_spam.cast(Integer)))
            .join(f, f.c.mention_id == br.c.mention_id)
            .group_by(br.c.brand_id, f.c.source_id).order_by(br.c.brand_id, f.c.source_id)
        ).all()
        split = conn.execute(
            select(br.c.brand_id, f.c.sentiment_label, func.count())
            .join(f, f.c.mention_id == br.c.mention_id).where(f.c.is_spam.is_(False))
            .group_by(br.c.brand_id, f.c.sentiment_label)
        ).all()
        quarantine = conn.execute(select(q.c.reason, func.count()).group_by(q.c.reason)).all()
        coverage = conn.execute(
            select(wh.etl_batch.c.source_id, wh.etl_batch.c.status, wh.etl_batch.c.coverage, func.count())
            .group_by(wh.etl_batch.c.source_id, wh.etl_batch.c.status, wh.etl_batch.c.coverage)
        ).all()
        totals = {
            "mentions": conn.execute(select(func.count()).select_from(f)).scalar_one(),
            "stories": conn.execute(select(func.count(func.distinct(f.c.story_id)))).scalar_one(),
            "spam": conn.execute(select(func.count()).select_from(f).where(f.c.is_spam.is_(True))).scalar_one(),
        }
        alerts_t = wh.metadata.tables.get("mart_alerts")
        alerts = conn.execute(select(alerts_t).order_by(alerts_t.c.opened_at)).all() if alerts_t is not None else []
    return {"by_brand_source": by_brand_source, "split": split, "quarantine": quarantine,
            "coverage": coverage, "totals": totals, "alerts": alerts}


def print_summary(config: Any, report_day: date) -> None:
    url = warehouse_url()
    engine = wh.get_engine(url)
    s = summary_data(engine, config)
    names = {b.id: b.name for b in config.brands}
    _say("=" * 72)
    _say(f"Warehouse: {engine.url.render_as_string(hide_password=True)}")
    t = s["totals"]
    _say(f"Unique mentions: {t['mentions']}  (stories: {t['stories']}, flagged spam: {t['spam']})")
    _say("\nMentions per brand and source (spam included / of which spam):")
    for brand_id, source_id, n, spam in s["by_brand_source"]:
        _say(f"  {names.get(brand_id, brand_id):<10} {source_id:<10} {n:>6}  ({int(spam or 0)} spam)")
    _say("\nSentiment split (spam excluded):")
    split: dict[str, dict[str, int]] = {}
    for brand_id, label, n in s["split"]:
        split.setdefault(brand_id, {})[label] = n
    for brand_id, d in sorted(split.items()):
        total = sum(d.values())
        pos, neu, neg = d.get("positive", 0), d.get("neutral", 0), d.get("negative", 0)
        _say(f"  {names.get(brand_id, brand_id):<10} positive {pos:>5} ({pos / total:5.1%})  neutral {neu:>5}  "
             f"negative {neg:>5} ({neg / total:5.1%})  no text {d.get('none', 0)}")
    if s["alerts"]:
        _say("\nAlerts (mart_alerts):")
        for a in s["alerts"]:
            _say(f"  {a.severity:<7} {a.brand_id:<9} {a.kind:<9} opened {a.opened_at:%Y-%m-%d %H:%M} UTC  "
                 f"status {a.status}")
    else:
        _say("\nAlerts: none")
    qn = sum(n for _r, n in s["quarantine"])
    _say(f"\nQuarantined rows: {qn}")
    for reason, n in s["quarantine"]:
        _say(f"  {n:>5}  {reason}")
    _say("\nSource intervals (status / coverage):")
    for source_id, status, cov, n in s["coverage"]:
        _say(f"  {source_id:<10} {status:<9} {cov:<9} {n:>4}")
    ev = evaluate(engine)
    _say(f"\nAgainst the demo's ground truth ({ev['items']} items): brand links precision "
         f"{ev['brand_precision']:.1%}, recall {ev['brand_recall']:.1%}; spam precision {ev['spam_precision']:.1%}, "
         f"recall {ev['spam_recall']:.1%}; sentiment label agrees with the intended tone for "
         f"{ev['sentiment_agreement']:.1%} of {ev['sentiment_compared']} mentions (stock SnowNLP)")
    reports = default_reports_dir()
    _say(f"\nDaily report for {report_day}: {reports / f'sentiment-report-{report_day}.html'}")
    _say(f"                      (also .txt and .eml in {reports})")
    _say("\nPaste into a BI tool / SQL client (SQLite file: data/warehouse.db):\n")
    _say(BI_QUERY)
    _say("=" * 72)

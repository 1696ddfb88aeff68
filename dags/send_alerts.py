"""
### send_alerts

Runs whenever `ingest_mentions` loads an interval (the `listening_mentions` asset), like
`build_marts`. `evaluate` walks every hour of the loaded window per brand: volume against the
same hour on the previous 7 days (Poisson z-score), a jump in the negative share, mentions by
KOLs (default 1,000,000+ followers, the brand's own accounts excluded); severities yellow /
orange / red. Alert state lives in the warehouse table `mart_alerts`: an alert is opened once,
escalates, closes after quiet hours, and is never duplicated by re-runs. `notify` then sends the
open alerts that no channel has carried yet (e-mail through `listening_smtp`, a DingTalk- or
Slack-compatible webhook in the connection `listening_webhook`); quiet hours send nothing.
Thresholds: `alerts:` in include/brands.yaml. A manual run evaluates the last 24 loaded hours,
or the `window_start` / `window_end` params (ISO 8601, UTC).
"""

from __future__ import annotations

from datetime import UTC, datetime

from airflow.sdk import Param, dag, get_current_context, task

from listening.orchestration.assets import MENTIONS
from listening.orchestration.defaults import dag_defaults


@dag(
    schedule=[MENTIONS],
    start_date=datetime(2026, 10, 1, tzinfo=UTC),
    catchup=False,
    max_active_runs=1,
    tags=["listening", "alerts"],
    default_args=dag_defaults(),
    params={
        "window_start": Param(None, type=["null", "string"], description="override: first hour, ISO UTC"),
        "window_end": Param(None, type=["null", "string"], description="override: end, ISO UTC"),
    },
    doc_md=__doc__,
)
def send_alerts():
    @task
    def evaluate() -> dict:
        from listening.orchestration.tasks import evaluate_alerts

        ctx = get_current_context()
        return evaluate_alerts(ctx["params"], ctx.get("triggering_asset_events"))

    @task
    def notify(evaluated: dict) -> dict:
        from listening.orchestration.tasks import notify_alerts

        return notify_alerts()

    notify(evaluate())


send_alerts()

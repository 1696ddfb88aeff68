"""
### build_marts

Runs whenever `ingest_mentions` loads an interval (the `listening_mentions` asset) and
rebuilds the marts (`sql/mart_*.sql`, then `mart_hot_terms`)
for the local days that interval touched, in one transaction (the schema is upgraded to head
first). A manual run rebuilds every day. A failure sends an alert email.
"""

from __future__ import annotations

from datetime import UTC, datetime

from airflow.sdk import dag, get_current_context, task

from listening.orchestration.assets import MENTIONS
from listening.orchestration.defaults import dag_defaults


@dag(
    schedule=[MENTIONS],
    start_date=datetime(2026, 10, 1, tzinfo=UTC),
    catchup=False,
    max_active_runs=1,
    tags=["listening", "marts"],
    default_args=dag_defaults(),
    doc_md=__doc__,
)
def build_marts():
    @task
    def build() -> dict:
        from listening.orchestration.context import dates_from_asset_events
        from listening.orchestration.tasks import build_marts as rebuild

        dates = dates_from_asset_events(get_current_context().get("triggering_asset_events"))
        return rebuild(dates)

    build()


build_marts()

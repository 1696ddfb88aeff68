"""
### load_sales

Daily: import sales or campaign-spend drops (CSV or JSON Lines) from the lake prefix of
`include/sales.yaml` (column mapping, brand aliases, per-brand goal), then rebuild
`mart_brand_kpi` for the days they cover, so social figures and sales sit side by side.

Only new or changed files load (sha256 in `etl_sales_file`); a file restates the days and
brands it contains, so re-runs and re-delivered drops never double count. Rows that fail the
GX suite `sales_rows` go to `etl_quarantine`; a file with a missing mapped column or too many
bad rows is rejected and the task fails with an alert email.
"""

from __future__ import annotations

from datetime import UTC, datetime

from airflow.sdk import CronDataIntervalTimetable, dag, get_current_context, task

from listening.orchestration.context import window_from
from listening.orchestration.defaults import dag_defaults


@dag(
    schedule=CronDataIntervalTimetable("30 1 * * *", timezone="UTC"),
    start_date=datetime(2026, 10, 1, tzinfo=UTC),
    catchup=False,
    max_active_runs=1,
    tags=["listening", "sales"],
    default_args=dag_defaults(),
    doc_md=__doc__,
)
def load_sales():
    @task
    def upgrade() -> dict:
        from listening.orchestration.tasks import upgrade_warehouse

        return upgrade_warehouse()

    @task
    def import_drops() -> dict:
        from listening.orchestration.tasks import import_sales

        ctx = get_current_context()
        window = window_from(ctx["params"], ctx.get("data_interval_start"), ctx.get("data_interval_end"))
        return import_sales(window)

    @task
    def kpi(imported: dict) -> dict:
        from listening.orchestration.tasks import build_marts

        dates = imported.get("dates") or []
        return build_marts(dates, only=["mart_brand_kpi.sql"]) if dates else {}

    imported = import_drops()
    upgrade() >> imported
    kpi(imported)


load_sales()

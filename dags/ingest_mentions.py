"""
### ingest_mentions

Hourly: crawl every enabled source for the data interval (a task per Airflow pool, mapped
over the pool's sources; each source names its pool in `brands.yaml`, default `listening_<id>`),
land the raw responses in the lake, then parse, match brands, normalise and dedupe,
score sentiment (SnowNLP), validate (Great Expectations) and load the warehouse in one
transaction. Emits the `listening_mentions` asset, which triggers `build_marts`.

The first task runs `listening warehouse upgrade` (Alembic migrations to head). A failed task
(a batch stopped by a quality gate included) sends an alert email (`on_failure_callback`). A lost
source never ends green: one whose raw records drifted is quarantined alone, or one whose crawl
failed is recorded as failed; the others load, then `quality_gate` fails (no retries) and alerts.

The window is the run's data interval (`CronDataIntervalTimetable`), so re-runs and
backfills are idempotent. The `window_start` / `window_end` params (ISO 8601, UTC)
override it for wide manual runs, such as the demo drive of `make run`.
"""

from __future__ import annotations

from datetime import UTC, datetime

from airflow.sdk import CronDataIntervalTimetable, Param, dag, get_current_context, task

from listening.config import crawl_group_key, crawl_groups  # brands.yaml: the crawl tasks follow its pools
from listening.orchestration.assets import MENTIONS
from listening.orchestration.context import window_from
from listening.orchestration.defaults import CRAWL_TIMEOUT, dag_defaults, ingest_cron

GROUPS = crawl_groups()


def _window():
    ctx = get_current_context()
    return window_from(ctx["params"], ctx.get("data_interval_start"), ctx.get("data_interval_end"))


@dag(
    schedule=CronDataIntervalTimetable(ingest_cron(), timezone="UTC"),  # LISTENING_INGEST_EVERY_MINUTES
    start_date=datetime(2026, 10, 1, tzinfo=UTC),
    catchup=False,
    max_active_runs=1,
    tags=["listening", "ingest"],
    default_args=dag_defaults(),
    params={
        "window_start": Param(None, type=["null", "string"], description="override: window start, ISO UTC"),
        "window_end": Param(None, type=["null", "string"], description="override: window end, ISO UTC"),
    },
    doc_md=__doc__,
)
def ingest_mentions():
    @task
    def upgrade() -> dict:
        from listening.orchestration.tasks import upgrade_warehouse

        return upgrade_warehouse()

    @task
    def plan(stage: str, pool: str) -> list[str]:
        from listening.orchestration.tasks import plan_crawl_groups

        return plan_crawl_groups(GROUPS)[crawl_group_key(stage, pool)]

    @task(max_active_tis_per_dagrun=2, execution_timeout=CRAWL_TIMEOUT)
    def crawl(source_id: str) -> dict:
        from listening.orchestration.tasks import crawl_source

        return crawl_source(source_id, _window())

    @task(trigger_rule="all_done")
    def transform(crawls: list) -> dict:
        from listening.orchestration.tasks import flatten_crawls, transform_interval

        return transform_interval(_window(), flatten_crawls(crawls))

    @task
    def score(transformed: dict) -> dict:
        from listening.orchestration.tasks import score_interval

        return score_interval(_window(), transformed)

    @task
    def validate(crawls: list, transformed: dict, scored: dict) -> dict:
        from listening.orchestration.tasks import flatten_crawls, validate_interval

        return validate_interval(_window(), flatten_crawls(crawls), transformed, scored)

    @task(outlets=[MENTIONS])
    def load(crawls: list, transformed: dict, validated: dict) -> dict:
        from listening.orchestration.tasks import flatten_crawls, load_interval

        result = load_interval(_window(), flatten_crawls(crawls), transformed, validated)
        get_current_context()["outlet_events"][MENTIONS].extra = {"interval": result["interval"],
                                                                  "dates": result["dates"]}
        return result

    @task
    def quality_gate(loaded: dict) -> dict:
        from listening.orchestration.tasks import quality_gate

        return quality_gate(loaded)

    schema = upgrade()
    # one crawl task per (stage, pool), mapped over that pool's sources: Airflow pools apply per
    # task, not per mapped instance. Comment connectors ("after") read what the first stage landed.
    first, after = [], []
    for stage, pool in GROUPS:
        planned = plan.override(task_id=f"plan_{stage}_{pool}")(stage, pool)
        schema >> planned
        t = crawl.override(task_id=f"crawl_{stage}_{pool}", pool=pool, trigger_rule=(
            "all_done" if stage == "after" else "all_success")).expand(source_id=planned)
        (after if stage == "after" else first).append(t)
    for t in after:
        first >> t
    crawls = first + after
    transformed = transform(crawls)
    loaded = load(crawls, transformed, validate(crawls, transformed, score(transformed)))
    quality_gate(loaded)


ingest_mentions()

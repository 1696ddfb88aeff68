"""
### send_daily_report

Daily at 09:00 in the configured timezone (`timezone:` of include/brands.yaml, Asia/Shanghai):
the sentiment report for the previous local day. Per brand: mentions against the 7-day
average, unique stories, the sentiment split, net sentiment and its change, share of voice
against the brand's competitors, a 14-day chart (inline PNG), the top negative posts that need
a reply, the top KOL posts, hot terms and the day's alerts; then a completeness footer (sources
OK / failed / capped, hours loaded, rows quarantined). Sent through the SMTP connection
`listening_smtp` to the variable `listening_report_recipients` as multipart/alternative (text
and HTML with inline charts); always also written to `data/reports/` as `.eml`, `.html` (charts
as `.png` beside it) and `.txt`. The `report_date` param picks another day.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from airflow.sdk import CronTriggerTimetable, Param, dag, get_current_context, task

from listening.config import config_timezone
from listening.orchestration.context import report_day
from listening.orchestration.defaults import dag_defaults

LOCAL_TZ = config_timezone()  # brands.yaml `timezone:` (a cheap YAML read; the default if unreadable)


@dag(
    schedule=CronTriggerTimetable("0 9 * * *", timezone=LOCAL_TZ),
    start_date=datetime(2026, 10, 1, tzinfo=ZoneInfo(LOCAL_TZ)),
    catchup=False,
    tags=["listening", "report"],
    default_args=dag_defaults(),
    params={"report_date": Param(None, type=["null", "string"], description="local day YYYY-MM-DD")},
    doc_md=__doc__,
)
def send_daily_report():
    @task
    def report() -> dict:
        from listening.config import load_config
        from listening.orchestration.tasks import send_daily_report as send

        ctx = get_current_context()
        day = report_day(ctx["params"], ctx.get("logical_date") or ctx.get("run_after"), load_config().tz)
        return send(day)

    report()


send_daily_report()

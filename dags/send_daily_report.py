"""
### send_daily_report

Daily at 09:00 Asia/Shanghai: the sentiment report for the previous local day, per
brand (volume, sentiment split and change, top negative posts, completeness). Sent
through the SMTP connection `listening_smtp` to the variable
`listening_report_recipients`; without that connection it is written to
`data/reports/` as `.eml`, `.html` and `.txt`. The `report_date` param picks another day.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from airflow.sdk import CronTriggerTimetable, Param, dag, get_current_context, task

LOCAL_TZ = "Asia/Shanghai"


@dag(
    schedule=CronTriggerTimetable("0 9 * * *", timezone=LOCAL_TZ),
    start_date=datetime(2026, 10, 1, tzinfo=ZoneInfo(LOCAL_TZ)),
    catchup=False,
    tags=["listening", "report"],
    default_args={"owner": "data-eng", "retries": 2, "retry_delay": timedelta(minutes=5)},
    params={"report_date": Param(None, type=["null", "string"], description="local day YYYY-MM-DD")},
    doc_md=__doc__,
)
def send_daily_report():
    @task
    def report() -> dict:
        from listening.config import load_config
        from listening.tasks import report_day
        from listening.tasks import send_daily_report as send

        ctx = get_current_context()
        day = report_day(ctx["params"], ctx.get("logical_date") or ctx.get("run_after"), load_config().tz)
        return send(day)

    report()


send_daily_report()

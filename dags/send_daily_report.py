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

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from airflow.sdk import CronTriggerTimetable, Param, dag, get_current_context, task


def _config_timezone(default: str = "Asia/Shanghai") -> str:
    """The ``timezone:`` of the configuration file (a cheap YAML read; the default if unreadable)."""
    try:
        import yaml

        from listening.config import default_config_path

        tz = (yaml.safe_load(default_config_path().read_text(encoding="utf-8")) or {}).get("timezone") or default
        ZoneInfo(tz)
        return str(tz)
    except Exception:  # noqa: BLE001 - a broken file fails the task with a clear error, not the DAG parse
        return default


LOCAL_TZ = _config_timezone()


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

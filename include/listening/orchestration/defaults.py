"""What every DAG shares: default task arguments (owner, retries, the failure alert, time budgets)
and the ingest schedule.

Recovery budget: a task whose worker died is retried ``RETRY_DELAY`` after the scheduler notices
(``[scheduler] task_instance_heartbeat_timeout`` of the deployment); every task also has an
``execution_timeout``, so one slow site or a stuck load cannot hold an interval forever.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from listening.core.settings import env
from listening.orchestration.callbacks import alert_on_failure

OWNER = "data-eng"
RETRIES = 2
RETRY_DELAY = timedelta(seconds=30)
#: the longest a task may run (a day-wide backfill window included) before it fails and retries
EXECUTION_TIMEOUT = timedelta(minutes=30)
CRAWL_TIMEOUT = timedelta(minutes=20)


def dag_defaults(**overrides: Any) -> dict[str, Any]:
    """``default_args`` of a DAG: owner, retries, retry delay, execution timeout, the failure alert."""
    return {"owner": OWNER, "retries": RETRIES, "retry_delay": RETRY_DELAY,
            "execution_timeout": EXECUTION_TIMEOUT, "on_failure_callback": alert_on_failure, **overrides}


def ingest_every_minutes() -> int:
    """``LISTENING_INGEST_EVERY_MINUTES`` (a divisor of 60: 5, 10, 15, 20, 30 or 60; default 60)."""
    raw = env("LISTENING_INGEST_EVERY_MINUTES") or "60"
    try:
        minutes = int(raw)
    except ValueError:
        minutes = -1
    if minutes < 5 or 60 % minutes:
        raise ValueError(f"LISTENING_INGEST_EVERY_MINUTES={raw!r}: expected 5, 10, 15, 20, 30 or 60 "
                         "(minutes between ingest runs, a divisor of an hour)")
    return minutes


def ingest_cron() -> str:
    """The ingest DAG's cron: hourly by default, every N minutes with ``LISTENING_INGEST_EVERY_MINUTES``."""
    minutes = ingest_every_minutes()
    return "0 * * * *" if minutes == 60 else f"*/{minutes} * * * *"

"""The failure callback every DAG shares: an alert e-mail naming the task, the interval and the reason."""

from __future__ import annotations

import logging
from typing import Any

from listening.config import load_config
from listening.core.errors import BatchRejected, SourcesFailed
from listening.delivery.email import send_alert
from listening.orchestration.connections import smtp_settings
from listening.orchestration.recipients import alert_recipients

log = logging.getLogger(__name__)


def failure_recipients() -> list[str]:
    """The alert recipients (brands.yaml first); a configuration that does not load -- maybe the
    very failure being reported -- falls back to the variables."""
    try:
        config = load_config()
    except Exception:  # noqa: BLE001 - report the failure to someone rather than no one
        config = None
    return alert_recipients(config)


def alert_on_failure(context: Any) -> dict[str, Any] | None:
    """``on_failure_callback`` of the DAGs: an alert email through ``listening_smtp`` (or a file in
    ``<reports dir>/alerts/`` without it) naming the task, the interval and the reason; to the same
    people as the spike and crisis alerts.  Never raises."""
    try:
        ti = context.get("task_instance") or context.get("ti")
        dag_id = getattr(ti, "dag_id", None) or getattr(context.get("dag"), "dag_id", "?")
        task_id = getattr(ti, "task_id", "?")
        exc = context.get("exception")
        params = context.get("params") or {}
        start = params.get("window_start") or context.get("data_interval_start")
        end = params.get("window_end") or context.get("data_interval_end")
        kind = ("quality gate stopped the batch" if isinstance(exc, BatchRejected)
                else "sources failed" if isinstance(exc, SourcesFailed) else "task failed")
        reason = f"{type(exc).__name__}: {exc}" if exc is not None else "(no exception in the context)"
        subject = f"[listening] {dag_id}.{task_id}: {kind} ({str(exc)[:120] if exc else 'failed'})"
        body = "\n".join([
            f"DAG:       {dag_id}",
            f"task:      {task_id} (try {getattr(ti, 'try_number', '?')})",
            f"run:       {context.get('run_id', '?')}",
            f"interval:  {start} .. {end}",
            "",
            f"what:      {kind}",
            f"reason:    {reason}",
            "",
            "Nothing of a stopped batch was loaded; its rows are in etl_quarantine with the reason and a",
            "reference to the raw record, and etl_batch records the attempt. The GX Data Docs of the",
            "validation are in the lake under docs/gx/<interval>/.",
        ])
        return send_alert(subject, body, smtp_settings(), failure_recipients())
    except Exception:  # noqa: BLE001 - a failing alert must not hide the task's own failure
        log.exception("could not send the failure alert")
        return None

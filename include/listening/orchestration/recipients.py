"""Who receives e-mail: resolved here once, for the daily report, the alerts and the failure alerts.

* report: ``LISTENING_REPORT_RECIPIENTS``, else the Airflow variable ``listening_report_recipients``;
* alerts (spike and crisis alerts *and* failed tasks): brands.yaml ``alerts.channels.recipients``,
  else ``LISTENING_ALERT_RECIPIENTS``, else the Airflow variable ``listening_alert_recipients``,
  else the report's recipients.

Every list goes through :func:`listening.core.settings.parse_recipients`.
"""

from __future__ import annotations

import logging

from listening.config import Config
from listening.core.settings import parse_recipients, recipients_from_env

log = logging.getLogger(__name__)

REPORT_RECIPIENTS_VAR = "listening_report_recipients"
ALERT_RECIPIENTS_VAR = "listening_alert_recipients"


def variable(name: str) -> str:
    """An Airflow variable, "" when it is not set or Airflow is not running."""
    try:
        from airflow.sdk import Variable

        return str(Variable.get(name, default="") or "")
    except Exception as exc:  # noqa: BLE001 - not running under Airflow, or no such variable
        log.debug("variable %s not available: %s", name, exc)
        return ""


def report_recipients() -> list[str]:
    got = recipients_from_env("LISTENING_REPORT_RECIPIENTS")
    return got if got is not None else parse_recipients(variable(REPORT_RECIPIENTS_VAR))


def alert_recipients(config: Config | None) -> list[str]:
    if config is not None and config.alerts.recipients:
        return list(config.alerts.recipients)
    got = recipients_from_env("LISTENING_ALERT_RECIPIENTS")
    if got is None:
        got = parse_recipients(variable(ALERT_RECIPIENTS_VAR))
    return got or report_recipients()

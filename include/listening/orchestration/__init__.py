"""The only package that imports Airflow: what the DAG files call.

| module | job |
|---|---|
| ``tasks`` | every DAG task body: resolve config and settings, call one step of the package |
| ``context`` | the run's window, report day and triggering intervals from params and context |
| ``connections`` | Airflow connections -> settings (warehouse, lake, source auth, SMTP, webhook) |
| ``recipients`` | who gets the report and the alerts (one resolution for every kind of alert) |
| ``callbacks`` | the failure callback the DAGs share |
| ``assets`` | the ``listening_mentions`` asset the DAGs share |
| ``airflow_settings`` | ``airflow_settings.yaml`` applied to the metadata DB |

Importing the package makes a rejected batch fail its task at once (no retries): see
:func:`listening.core.errors.fail_fast_with`.
"""

from __future__ import annotations

from airflow.sdk.exceptions import AirflowFailException

from listening.core.errors import fail_fast_with

fail_fast_with(AirflowFailException)

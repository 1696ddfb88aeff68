"""The asset every DAG shares: ``ingest_mentions`` emits it when it loads an interval, and it
triggers ``build_marts`` and ``send_alerts``."""

from __future__ import annotations

from airflow.sdk import Asset

MENTIONS = Asset(name="listening_mentions", uri="file:///listening/warehouse/fct_mention")

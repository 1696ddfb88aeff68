"""What each DAG task does, as plain functions: config and settings resolution, then a pipeline step.

DAG files call these with the run's window; nothing here needs a running Airflow
(connections are looked up through :mod:`listening.airflow_glue`, which falls back to
environment variables and defaults).
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from typing import Any

from listening.config import Config, load_config
from listening.lake import Lake, open_lake
from listening.model import Window, utc

log = logging.getLogger(__name__)


def _setup() -> tuple[Config, Any, Lake]:
    from listening.airflow_glue import resolve_settings

    config = load_config()
    settings = resolve_settings(config)
    lake = open_lake(settings.lake_url, settings.s3_client_kwargs)
    return config, settings, lake


def window_from(params: dict[str, Any] | None, data_interval_start: datetime | None,
                data_interval_end: datetime | None) -> Window:
    """The run's window: ``params.window_start/window_end`` when given (demo drives, manual
    re-runs of a wide window), else the DAG run's data interval."""
    params = params or {}
    if params.get("window_start") or params.get("window_end"):
        if not (params.get("window_start") and params.get("window_end")):
            raise ValueError("give both window_start and window_end (ISO 8601, UTC), or neither")
        return Window.parse(str(params["window_start"]), str(params["window_end"]))
    if data_interval_start is None or data_interval_end is None:
        raise ValueError("the run has no data interval and no window_start/window_end params")
    return Window(utc(data_interval_start), utc(data_interval_end))


def plan_sources() -> list[str]:
    config = load_config()
    ids = [s.id for s in config.enabled_sources]
    if not ids:
        raise ValueError(f"{config.path}: no enabled sources")
    return ids


def crawl_source(source_id: str, window: Window) -> dict[str, Any]:
    from listening import pipeline
    from listening.warehouse import get_cursor, get_engine

    config, settings, lake = _setup()
    cursor = get_cursor(get_engine(settings.warehouse_url), source_id)
    return pipeline.crawl(config, source_id, window, lake, settings, cursor=cursor)


def complete_crawls(config: Config, window: Window, crawls: list[dict[str, Any] | None]) -> list[dict[str, Any]]:
    """Crawl summaries for every enabled source; a crawl task that died leaves a 'failed' one."""
    got = {c["source"]: c for c in crawls if c}
    out = []
    for s in config.enabled_sources:
        out.append(got.get(s.id) or {
            "source": s.id, "kind": s.kind, "window": [window.start.isoformat(), window.end.isoformat()],
            "raw_key": None, "fetched": 0, "pages": 0, "status": "failed", "cursor": {},
            "errors": ["crawl task failed (see its log)"],
            "coverage": [{"start": window.start.isoformat(), "end": window.end.isoformat(), "status": "failed",
                          "pages": 0, "items": 0, "detail": "crawl task failed", "query": ""}],
        })
    return out


def transform_interval(window: Window, crawls: list[dict[str, Any] | None]) -> dict[str, Any]:
    from listening import pipeline

    config, settings, lake = _setup()
    return pipeline.transform(config, window, complete_crawls(config, window, crawls), lake, settings)


def score_interval(window: Window, transformed: dict[str, Any]) -> dict[str, Any]:
    from listening import pipeline

    config, _settings, lake = _setup()
    return pipeline.score(config, window, transformed["key"], lake)


def validate_interval(window: Window, crawls: list[dict[str, Any] | None], transformed: dict[str, Any],
                      scored: dict[str, Any]) -> dict[str, Any]:
    """Validate; a rejected batch is recorded (etl_batch status 'rejected', rows quarantined) then fails."""
    from listening import pipeline
    from listening.quality import BatchRejected
    from listening.warehouse import get_engine

    config, settings, lake = _setup()
    try:
        return pipeline.validate(config, window, scored["key"], lake)
    except BatchRejected as exc:
        pipeline.load(config, window, complete_crawls(config, window, crawls), transformed, None, lake,
                      get_engine(settings.warehouse_url), status="rejected", error=str(exc))
        raise


def load_interval(window: Window, crawls: list[dict[str, Any] | None], transformed: dict[str, Any],
                  validated: dict[str, Any]) -> dict[str, Any]:
    from listening import pipeline
    from listening.warehouse import get_engine

    config, settings, lake = _setup()
    return pipeline.load(config, window, complete_crawls(config, window, crawls), transformed, validated, lake,
                         get_engine(settings.warehouse_url))


def build_marts(dates: list[str] | None = None) -> dict[str, int]:
    """Rebuild the marts for the given local days (ISO dates), or for every day when None/empty."""
    from listening import warehouse as wh
    from listening.airflow_glue import warehouse_url

    load_config()  # a broken config fails here, not later
    engine = wh.get_engine(warehouse_url())
    wh.create_schema(engine)
    if dates:
        ds = sorted(date.fromisoformat(d) for d in dates)
        return wh.build_marts(engine, wh.date_key(ds[0]), wh.date_key(ds[-1]))
    return wh.build_marts(engine)


def report_day(params: dict[str, Any] | None, logical_date: datetime | None, tz: Any) -> date:
    """``params.report_date`` when given, else the local day before the run's logical date."""
    if params and params.get("report_date"):
        return date.fromisoformat(str(params["report_date"]))
    if logical_date is None:
        raise ValueError("no logical date and no report_date param")
    return (utc(logical_date).astimezone(tz) - timedelta(days=1)).date()


def send_daily_report(day: date, out_dir: str | None = None) -> dict[str, Any]:
    from pathlib import Path

    from listening import report
    from listening import warehouse as wh
    from listening.airflow_glue import report_recipients, smtp_settings, warehouse_url

    config = load_config()
    engine = wh.get_engine(warehouse_url())
    return report.daily_report(engine, config, day, smtp_settings(), report_recipients(),
                               Path(out_dir) if out_dir else None)


def dates_from_asset_events(events: Any) -> list[str]:
    """Local days touched by the loads that triggered a build_marts run (empty: rebuild all)."""
    out: set[str] = set()
    try:
        for _asset, evs in (events or {}).items():
            for ev in evs:
                out.update((getattr(ev, "extra", None) or {}).get("dates") or [])
    except (AttributeError, TypeError):
        return []
    return sorted(out)



"""Every DAG task body, as a plain function: resolve the configuration and settings (environment,
Airflow connections and variables, defaults), then call one step of the package.

The DAG files call these with the run's window (:mod:`listening.orchestration.context`); nothing
here needs a running Airflow (connections fall back to environment variables and defaults).
"""

from __future__ import annotations

import logging
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from listening import sales
from listening import warehouse as wh
from listening.config import Config, load_config
from listening.config.alerts import AlertConfig
from listening.core.model import Window
from listening.core.perf import batch_stage
from listening.core.settings import Settings
from listening.delivery import alerts, notify, report
from listening.delivery.email import alerts_dir
from listening.lake import Lake, open_lake
from listening.orchestration.connections import (
    resolve_settings,
    smtp_settings,
    warehouse_url,
    webhook_settings,
)
from listening.orchestration.context import window_from, windows_from_asset_events
from listening.orchestration.recipients import alert_recipients, report_recipients
from listening.pipeline import crawl, load, plan, score, transform, validate
from listening.pipeline.gate import quality_gate  # noqa: F401 - the quality_gate task body
from listening.pipeline.plan import flatten_crawls  # noqa: F401 - used by the DAG file
from listening.sentiment import retrain
from listening.warehouse import hotterms
from listening.warehouse.feedback import load_feedback

log = logging.getLogger(__name__)


def _setup() -> tuple[Config, Settings, Lake]:
    config = load_config()
    settings = resolve_settings(config)
    lake = open_lake(settings.lake_url, settings.s3_client_kwargs)
    return config, settings, lake


# ---- ingest_mentions ---------------------------------------------------------------------------------
def upgrade_warehouse() -> dict[str, Any]:
    """``listening warehouse upgrade``: create or migrate the warehouse schema to head (DAGs run it first)."""
    engine = wh.get_engine(warehouse_url())
    res = wh.upgrade(engine)
    log.info("warehouse %s at revision %s (was %s)", engine.url.render_as_string(hide_password=True),
             res["to"], res["from"])
    return res


def plan_sources() -> list[str]:
    config = load_config()
    ids = [s.id for s in config.enabled_sources]
    if not ids:
        raise ValueError(f"{config.path}: no enabled sources")
    return ids


def plan_crawl_groups(groups: list[tuple[str, str]] | list[list[str]]) -> dict[str, list[str]]:
    """Enabled source ids per crawl task of the DAG (see :func:`listening.pipeline.plan.plan_crawl_groups`)."""
    return plan.plan_crawl_groups(load_config(), groups)


def crawl_source(source_id: str, window: Window) -> dict[str, Any]:
    config, settings, lake = _setup()
    cursor = wh.get_cursor(wh.get_engine(settings.warehouse_url), source_id)
    return crawl.crawl(config, source_id, window, lake, settings, cursor=cursor)


@batch_stage
def transform_interval(window: Window, crawls: list[dict[str, Any] | None]) -> dict[str, Any]:
    config, settings, lake = _setup()
    return transform.transform(config, window, plan.complete_crawls(config, window, crawls), lake, settings)


@batch_stage
def score_interval(window: Window, transformed: dict[str, Any]) -> dict[str, Any]:
    config, _settings, lake = _setup()
    return score.score(config, window, transformed["key"], lake)


@batch_stage
def validate_interval(window: Window, crawls: list[dict[str, Any] | None], transformed: dict[str, Any],
                      scored: dict[str, Any]) -> dict[str, Any]:
    """Validate; a rejected batch is recorded (etl_batch status 'rejected', rows quarantined) then fails."""
    config, settings, lake = _setup()
    return validate.validate_or_record(config, window, plan.complete_crawls(config, window, crawls), transformed,
                                       scored["key"], lake, wh.get_engine(settings.warehouse_url))


@batch_stage
def load_interval(window: Window, crawls: list[dict[str, Any] | None], transformed: dict[str, Any],
                  validated: dict[str, Any]) -> dict[str, Any]:
    config, settings, lake = _setup()
    return load.load(config, window, plan.complete_crawls(config, window, crawls), transformed, validated, lake,
                     wh.get_engine(settings.warehouse_url))


# ---- build_marts -------------------------------------------------------------------------------------
def build_marts(dates: list[str] | None = None, only: list[str] | None = None) -> dict[str, int]:
    """Rebuild the marts for the given local days (ISO dates), or for every day when None/empty.

    The dimensions and brand goals follow the config first (share of voice and the KPI mart read
    them); then ``mart_hot_terms`` (:mod:`listening.warehouse.hotterms`) unless ``only`` names marts.
    """
    config = load_config()  # a broken config fails here, not later
    engine = wh.get_engine(warehouse_url())
    wh.create_schema(engine)
    with engine.begin() as conn:
        wh.sync_dimensions(conn, config)
        sales.sync_goals(conn, sales.load_sales_config(config=config), config)
    lo = hi = None
    if dates:
        ds = sorted(date.fromisoformat(d) for d in dates)
        lo, hi = wh.date_key(ds[0]), wh.date_key(ds[-1])
    counts = wh.build_marts(engine, lo, hi, only=only)
    if only is None:
        counts["mart_hot_terms"] = hotterms.build(engine, config, lo, hi)
    return counts


# ---- load_sales --------------------------------------------------------------------------------------
def import_sales(window: Window) -> dict[str, Any]:
    """The load_sales DAG: load new or changed sales / spend drops, then rebuild mart_brand_kpi for their days."""
    config, settings, lake = _setup()
    engine = wh.get_engine(settings.warehouse_url)
    return sales.import_drops(engine, config, lake, window)


# ---- send_daily_report -------------------------------------------------------------------------------
def send_daily_report(day: date, out_dir: str | None = None) -> dict[str, Any]:
    config = load_config()
    engine = wh.get_engine(warehouse_url())
    return report.daily_report(engine, config, day, smtp_settings(), report_recipients(),
                               Path(out_dir) if out_dir else None)


# ---- send_alerts -------------------------------------------------------------------------------------
def alert_window(params: dict[str, Any] | None, events: Any, engine: Any, lookback_hours: int) -> Window | None:
    """What to evaluate: the ``window_start``/``window_end`` params; else the span of the triggering
    loads; else (a manual run) the last ``lookback_hours`` hours of loaded data.  None: nothing loaded."""
    params = params or {}
    if params.get("window_start") or params.get("window_end"):
        return window_from(params, None, None)
    wins = windows_from_asset_events(events)
    if wins:
        return Window(min(w.start for w in wins), max(w.end for w in wins))
    with engine.connect() as conn:
        last = conn.execute(select(func.max(wh.etl_batch.c.window_end))
                            .where(wh.etl_batch.c.status == "loaded")).scalar()
    if last is None:
        return None
    end = wh.model_utc(last)
    return Window(end - timedelta(hours=lookback_hours), end)


def evaluate_alerts(params: dict[str, Any] | None = None, events: Any = None) -> dict[str, Any]:
    """Run the alert state machine over the hours of the triggering load (see listening.delivery.alerts)."""
    config = load_config()
    acfg: AlertConfig = config.alerts
    engine = wh.get_engine(warehouse_url())
    wh.create_schema(engine)
    window = alert_window(params, events, engine, acfg.manual_lookback_hours)
    if window is None:
        log.info("nothing loaded yet: no alerts to evaluate")
        return {"window": None}
    result = alerts.evaluate(engine, config, acfg, window).as_dict()
    log.info("alerts over %s..%s: %s", result["start"], result["end"], result)
    return result


def notify_alerts(out_dir: str | None = None) -> dict[str, Any]:
    """Send every open alert a channel has not carried yet (e-mail via listening_smtp, webhook)."""
    config = load_config()
    acfg = config.alerts
    engine = wh.get_engine(warehouse_url())
    wh.create_schema(engine)
    out = Path(out_dir) if out_dir else alerts_dir()
    return notify.notify_pending(engine, config, acfg, smtp_settings(), alert_recipients(config),
                                 webhook_settings(acfg.webhook_connection), out)


# ---- retrain_sentiment -------------------------------------------------------------------------------
def train_sentiment(params: dict[str, Any] | None = None) -> dict[str, Any]:
    p = params or {}
    engine = wh.get_engine(warehouse_url())
    return retrain.train_candidate(load_feedback(engine), p.get("corpus") or None,
                                   feedback_weight=int(p.get("feedback_weight") or 3),
                                   min_feedback=int(p.get("min_feedback") or 0))


def evaluate_sentiment(candidate: dict[str, Any], params: dict[str, Any] | None = None) -> dict[str, Any]:
    return retrain.evaluate_candidate(candidate, load_config(), (params or {}).get("gold") or None)


def activate_sentiment(evaluation: dict[str, Any], params: dict[str, Any] | None = None) -> dict[str, Any]:
    return retrain.activate_if_better(evaluation, min_gain=float((params or {}).get("min_gain") or 0.0))

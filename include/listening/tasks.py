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
from listening.perf import batch_stage

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


def plan_crawl_groups(groups: list[tuple[str, str]] | list[list[str]]) -> dict[str, list[str]]:
    """Enabled source ids per crawl task of the DAG, keyed ``<stage>__<pool>`` (the groups the DAG
    was parsed with: :func:`listening.config.crawl_groups`).  ``first`` crawls the sites; ``after``
    holds the connectors that read what the first stage landed in the lake (comments of the
    posts a search found).  A source whose group the parsed DAG lacks (the configuration changed
    since the last parse) is logged; the transform records it as a failed crawl."""
    from listening.config import crawl_group_key

    config = load_config()
    if not config.enabled_sources:
        raise ValueError(f"{config.path}: no enabled sources")
    plan: dict[str, list[str]] = {crawl_group_key(st, pool): [] for st, pool in groups}
    for s in config.enabled_sources:
        key = crawl_group_key(s.crawl_stage, s.crawl_pool)
        if key in plan:
            plan[key].append(s.id)
        else:
            log.warning("source %s (pool %s) has no crawl task in the parsed DAG yet; it is recorded as "
                        "failed for this interval and crawls once the DAG is parsed again", s.id, s.crawl_pool)
    return plan


def flatten_crawls(groups: list[Any] | None) -> list[dict[str, Any] | None]:
    """The crawl summaries of every crawl task (each task's mapped results, in task order)."""
    return [c for group in (groups or []) for c in (group or [])]


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


@batch_stage
def transform_interval(window: Window, crawls: list[dict[str, Any] | None]) -> dict[str, Any]:
    from listening import pipeline

    config, settings, lake = _setup()
    return pipeline.transform(config, window, complete_crawls(config, window, crawls), lake, settings)


@batch_stage
def score_interval(window: Window, transformed: dict[str, Any]) -> dict[str, Any]:
    from listening import pipeline

    config, _settings, lake = _setup()
    return pipeline.score(config, window, transformed["key"], lake)


@batch_stage
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


@batch_stage
def load_interval(window: Window, crawls: list[dict[str, Any] | None], transformed: dict[str, Any],
                  validated: dict[str, Any]) -> dict[str, Any]:
    from listening import pipeline
    from listening.warehouse import get_engine

    config, settings, lake = _setup()
    return pipeline.load(config, window, complete_crawls(config, window, crawls), transformed, validated, lake,
                         get_engine(settings.warehouse_url))


def quality_gate(loaded: dict[str, Any]) -> dict[str, Any]:
    """Fail (no retries: the alert goes out at once) when the load stopped a source whose raw
    records drifted from their schema; the other sources of the interval are loaded by then,
    and the load's asset event has already triggered the marts."""
    from listening.quality import BatchRejected

    rejected = (loaded or {}).get("rejected_sources") or {}
    if rejected:
        raise BatchRejected(f"{'; '.join(rejected.values())} (interval {loaded.get('interval')}: "
                            f"{', '.join(sorted(rejected))} rejected and quarantined, the other sources loaded)")
    return {"interval": (loaded or {}).get("interval"), "rejected_sources": {}}


def build_marts(dates: list[str] | None = None, only: list[str] | None = None) -> dict[str, int]:
    """Rebuild the marts for the given local days (ISO dates), or for every day when None/empty.

    The dimensions and brand goals follow the config first (share of voice and the KPI mart read
    them); ``mart_hot_terms`` is filled by ``listening.hotterms.build`` when that module exists.
    """
    from listening import sales
    from listening import warehouse as wh
    from listening.airflow_glue import warehouse_url

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
        counts.update(build_hot_terms(engine, config, lo, hi))
    return counts


def build_hot_terms(engine: Any, config: Config, start_key: int | None, end_key: int | None) -> dict[str, int]:
    """``listening.hotterms.build(engine, config, start_key, end_key)`` when the module is installed
    (None = every day); nothing otherwise."""
    import importlib
    import importlib.util

    if importlib.util.find_spec("listening.hotterms") is None:
        return {}
    hotterms = importlib.import_module("listening.hotterms")
    res = hotterms.build(engine, config, start_key, end_key)
    if isinstance(res, dict):
        return {k: v for k, v in res.items() if isinstance(v, int)}
    return {"mart_hot_terms": int(res)} if isinstance(res, int) else {}


def upgrade_warehouse() -> dict[str, Any]:
    """``listening warehouse upgrade``: create or migrate the warehouse schema to head (DAGs run it first)."""
    from listening import warehouse as wh
    from listening.airflow_glue import warehouse_url

    engine = wh.get_engine(warehouse_url())
    res = wh.upgrade(engine)
    log.info("warehouse %s at revision %s (was %s)", engine.url.render_as_string(hide_password=True),
             res["to"], res["from"])
    return res


def import_sales(window: Window) -> dict[str, Any]:
    """The load_sales DAG: load new or changed sales / spend drops, then rebuild mart_brand_kpi for their days."""
    from listening import sales
    from listening.warehouse import get_engine

    config, settings, lake = _setup()
    engine = get_engine(settings.warehouse_url)
    return sales.import_drops(engine, config, lake, window)


def alert_recipients() -> list[str]:
    """``LISTENING_ALERT_RECIPIENTS``, else the Airflow variable ``listening_alert_recipients``, else the
    report recipients."""
    import os

    from listening.airflow_glue import report_recipients

    raw = os.environ.get("LISTENING_ALERT_RECIPIENTS")
    if raw is None:
        try:
            from airflow.sdk import Variable

            raw = Variable.get("listening_alert_recipients", default="")
        except Exception:  # noqa: BLE001 - not running under Airflow, or no variable
            raw = ""
    got = [r.strip() for r in str(raw).replace(";", ",").split(",") if r.strip()]
    return got or report_recipients()


def alert_on_failure(context: Any) -> dict[str, Any] | None:
    """``on_failure_callback`` of the DAGs: an alert email through ``listening_smtp`` (or a file in
    ``<reports dir>/alerts/`` without it) naming the task, the interval and the reason.  Never raises."""
    try:
        from listening.airflow_glue import smtp_settings
        from listening.quality import BatchRejected, send_alert

        ti = context.get("task_instance") or context.get("ti")
        dag_id = getattr(ti, "dag_id", None) or getattr(context.get("dag"), "dag_id", "?")
        task_id = getattr(ti, "task_id", "?")
        exc = context.get("exception")
        params = context.get("params") or {}
        start = params.get("window_start") or context.get("data_interval_start")
        end = params.get("window_end") or context.get("data_interval_end")
        kind = "quality gate stopped the batch" if isinstance(exc, BatchRejected) else "task failed"
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
        return send_alert(subject, body, smtp_settings(), alert_recipients())
    except Exception:  # noqa: BLE001 - a failing alert must not hide the task's own failure
        log.exception("could not send the failure alert")
        return None


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




# ---- alerts (send_alerts DAG) ------------------------------------------------------------------------
def windows_from_asset_events(events: Any) -> list[Window]:
    """The data intervals of the loads that triggered a run (asset event extra ``interval``)."""
    out: list[Window] = []
    try:
        for _asset, evs in (events or {}).items():
            for ev in evs:
                key = (getattr(ev, "extra", None) or {}).get("interval")
                if not key or "_" not in str(key):
                    continue
                s, e = str(key).split("_", 1)
                out.append(Window(datetime.strptime(s, "%Y%m%dT%H%MZ"), datetime.strptime(e, "%Y%m%dT%H%MZ")))
    except (AttributeError, TypeError, ValueError):
        return []
    return out


def alert_window(params: dict[str, Any] | None, events: Any, engine: Any, lookback_hours: int) -> Window | None:
    """What to evaluate: the ``window_start``/``window_end`` params; else the span of the triggering
    loads; else (a manual run) the last ``lookback_hours`` hours of loaded data.  None: nothing loaded."""
    params = params or {}
    if params.get("window_start") or params.get("window_end"):
        return window_from(params, None, None)
    wins = windows_from_asset_events(events)
    if wins:
        return Window(min(w.start for w in wins), max(w.end for w in wins))
    from sqlalchemy import func, select

    from listening import warehouse as wh

    with engine.connect() as conn:
        last = conn.execute(select(func.max(wh.etl_batch.c.window_end))
                            .where(wh.etl_batch.c.status == "loaded")).scalar()
    if last is None:
        return None
    end = wh.model_utc(last)
    return Window(end - timedelta(hours=lookback_hours), end)


def evaluate_alerts(params: dict[str, Any] | None = None, events: Any = None) -> dict[str, Any]:
    """Run the alert state machine over the hours of the triggering load (see listening.alerts)."""
    from listening import alerts
    from listening import warehouse as wh
    from listening.airflow_glue import warehouse_url

    config = load_config()
    acfg = alerts.load_alert_config(config)
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
    from pathlib import Path

    from listening import alerts, notify
    from listening import warehouse as wh
    from listening.airflow_glue import smtp_settings, warehouse_url
    from listening.report import default_reports_dir

    config = load_config()
    acfg = alerts.load_alert_config(config)
    engine = wh.get_engine(warehouse_url())
    wh.create_schema(engine)
    out = Path(out_dir) if out_dir else default_reports_dir() / "alerts"
    return notify.notify_pending(engine, config, acfg, smtp_settings(), notify.alert_recipients(acfg),
                                 notify.webhook_settings(acfg.webhook_connection), out)

"""What a run is about, from its params and Airflow context: the window, the report day, the days
and intervals of the loads that triggered it (asset events)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from listening.core.model import Window, utc


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


def report_day(params: dict[str, Any] | None, logical_date: datetime | None, tz: Any) -> date:
    """``params.report_date`` when given, else the local day before the run's logical date."""
    if params and params.get("report_date"):
        return date.fromisoformat(str(params["report_date"]))
    if logical_date is None:
        raise ValueError("no logical date and no report_date param")
    return (utc(logical_date).astimezone(tz) - timedelta(days=1)).date()


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


def windows_from_asset_events(events: Any) -> list[Window]:
    """The data intervals of the loads that triggered a run (asset event extra ``interval``)."""
    out: list[Window] = []
    try:
        for _asset, evs in (events or {}).items():
            for ev in evs:
                key = (getattr(ev, "extra", None) or {}).get("interval")
                if not key or "_" not in str(key):
                    continue
                out.append(Window.from_key(str(key)))
    except (AttributeError, TypeError, ValueError):
        return []
    return out

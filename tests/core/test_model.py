"""Local days and date keys: written once, in listening.core.model."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pendulum

from listening.core.model import Window, date_key, key_to_date, local_day_bounds


def test_date_key_round_trip():
    for d in (date(2026, 1, 1), date(2026, 12, 31), date(2024, 2, 29)):
        assert key_to_date(date_key(d)) == d
    assert date_key(date(2026, 11, 5)) == 20261105
    assert date_key(datetime(2026, 11, 5, 23, 59, tzinfo=UTC)) == 20261105


def test_window_local_days_from_pendulum_intervals():
    """The scheduler passes pendulum DateTimes; the local days must not depend on the host's zone."""
    sh = ZoneInfo("Asia/Shanghai")
    w = Window(pendulum.datetime(2026, 11, 1, 16, tz="UTC"), pendulum.datetime(2026, 11, 2, 16, tz="UTC"))
    assert w.local_days(sh) == {date(2026, 11, 2)}
    w = Window(pendulum.datetime(2026, 11, 1, 15, tz="UTC"), pendulum.datetime(2026, 11, 1, 17, tz="UTC"))
    assert w.local_days(sh) == {date(2026, 11, 1), date(2026, 11, 2)}


def test_window_key_round_trip_and_day_bounds():
    w = Window(datetime(2026, 11, 1, 16, tzinfo=UTC), datetime(2026, 11, 2, 16, tzinfo=UTC))
    assert Window.from_key(w.key) == w
    lo, hi = local_day_bounds(date(2026, 3, 29), ZoneInfo("Europe/Berlin"))  # a 23-hour day
    assert hi - lo == timedelta(hours=23)


def test_scheduler_intervals_become_stdlib_utc_on_a_shanghai_host(monkeypatch):
    """The scheduler's pendulum data intervals: plain UTC datetimes at the task boundary, so window
    arithmetic keeps its zone and local days do not depend on the host's time zone."""
    import time

    from listening.orchestration.context import report_day, window_from

    monkeypatch.setenv("TZ", "Asia/Shanghai")
    time.tzset()
    try:
        start = pendulum.datetime(2026, 11, 1, 15, tz="UTC")
        w = window_from(None, start, start.add(hours=2))
        assert type(w.start) is datetime and type(w.end) is datetime
        assert (w.end - timedelta(hours=24)).tzinfo is not None  # pendulum would have dropped it
        assert w.end - timedelta(hours=24) < w.start  # comparable: no naive/aware TypeError
        assert w.local_days(ZoneInfo("Asia/Shanghai")) == {date(2026, 11, 1), date(2026, 11, 2)}
        assert report_day(None, pendulum.datetime(2026, 11, 2, 1, tz="UTC"), ZoneInfo("Asia/Shanghai")) \
            == date(2026, 11, 1)
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()

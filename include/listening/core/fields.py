"""Parsers for the loose field formats social sites use: counts and timestamps."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from listening.core.model import utc

_COUNT_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(万|w|W|亿|千|k|K)?\s*\+?\s*$")
_UNITS = {None: 1, "千": 1_000, "k": 1_000, "K": 1_000, "万": 10_000, "w": 10_000, "W": 10_000, "亿": 100_000_000}
_ZERO_WORDS = {"", "转发", "评论", "赞", "点赞", "-", "null", "none"}


class FieldError(ValueError):
    pass


def type_name(v: Any) -> str:
    """The type of a value as the quality suites check it (``null`` for None and NaN)."""
    if v is None or (isinstance(v, float) and v != v):
        return "null"
    if isinstance(v, bool):
        return "bool"
    return type(v).__name__


def parse_count(value: object) -> int:
    """``12``, ``"12"``, ``"1.2万"``, ``"1万+"``, ``"3.2w"``, ``"1亿"``, ``"100万+"`` → int.

    The labels Weibo shows instead of a zero (``"转发"``, ``"评论"``, ``"赞"``) and
    None give 0; anything else raises :class:`FieldError`.  ``"1万+"`` gives the
    lower bound 10000.
    """
    if value is None:
        return 0
    if isinstance(value, bool):
        raise FieldError(f"not a count: {value!r}")
    if isinstance(value, int):
        if value < 0:
            raise FieldError(f"negative count: {value!r}")
        return value
    if isinstance(value, float):
        if value < 0 or value != value or value == float("inf"):
            raise FieldError(f"not a count: {value!r}")
        return int(value)
    if not isinstance(value, str):
        raise FieldError(f"not a count: {value!r}")
    s = value.strip().replace(",", "")
    if s.lower() in _ZERO_WORDS:
        return 0
    m = _COUNT_RE.match(s)
    if not m:
        raise FieldError(f"not a count: {value!r}")
    number, unit = m.group(1), m.group(2)
    # exact decimal arithmetic: "1.2万" is 12000, never 11999
    if "." in number:
        whole, frac = number.split(".")
        scale = 10 ** len(frac)
        return (int(whole) * scale + int(frac)) * _UNITS[unit] // scale
    return int(number) * _UNITS[unit]


_WEIBO_ABS = "%a %b %d %H:%M:%S %z %Y"
_REL_MIN = re.compile(r"^(\d+)\s*分钟前$")
_REL_HOUR = re.compile(r"^(\d+)\s*小时前$")
_REL_SEC = re.compile(r"^(\d+)\s*秒前$")
_YESTERDAY = re.compile(r"^昨天\s*(\d{1,2}):(\d{2})$")
_TODAY = re.compile(r"^今天\s*(\d{1,2}):(\d{2})$")
_MD = re.compile(r"^(\d{1,2})-(\d{1,2})(?:\s+(\d{1,2}):(\d{2}))?$")
_YMD = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:\s+(\d{1,2}):(\d{2})(?::(\d{2}))?)?$")


def parse_weibo_time(value: str, fetched_at: datetime, tz: ZoneInfo) -> datetime:
    """Every ``created_at`` form Weibo uses, resolved against the fetch time in ``tz``; returns UTC.

    ``"Tue Jan 01 12:00:00 +0800 2024"``, ``"刚刚"``, ``"5分钟前"``, ``"3小时前"``,
    ``"今天 08:00"``, ``"昨天 12:30"``, ``"01-05"`` (this year, or last year when that
    would be in the future), ``"2023-01-05"``.  Date-only forms give local midnight.
    """
    if not isinstance(value, str) or not value.strip():
        raise FieldError(f"not a Weibo time: {value!r}")
    s = value.strip()
    now_local = utc(fetched_at).astimezone(tz)
    try:
        return utc(datetime.strptime(s, _WEIBO_ABS))
    except ValueError:
        pass
    if s == "刚刚":
        return utc(fetched_at)
    for rx, unit in ((_REL_SEC, "seconds"), (_REL_MIN, "minutes"), (_REL_HOUR, "hours")):
        m = rx.match(s)
        if m:
            return utc(fetched_at) - timedelta(**{unit: int(m.group(1))})
    m = _TODAY.match(s) or _YESTERDAY.match(s)
    if m:
        day = now_local.date() - (timedelta(days=1) if s.startswith("昨天") else timedelta())
        return _local(day.year, day.month, day.day, int(m.group(1)), int(m.group(2)), 0, tz)
    m = _YMD.match(s)
    if m:
        y, mo, d = int(m.group(1)), int(m.group(2)), int(m.group(3))
        hh, mm, ss = int(m.group(4) or 0), int(m.group(5) or 0), int(m.group(6) or 0)
        return _local(y, mo, d, hh, mm, ss, tz)
    m = _MD.match(s)
    if m:
        mo, d = int(m.group(1)), int(m.group(2))
        hh, mm = int(m.group(3) or 0), int(m.group(4) or 0)
        dt = _local(now_local.year, mo, d, hh, mm, 0, tz)
        if dt > utc(fetched_at) + timedelta(days=1):  # "12-31" read in January is last year
            dt = _local(now_local.year - 1, mo, d, hh, mm, 0, tz)
        return dt
    raise FieldError(f"unrecognised Weibo time: {value!r}")


def _local(y: int, mo: int, d: int, hh: int, mm: int, ss: int, tz: ZoneInfo) -> datetime:
    try:
        return utc(datetime(y, mo, d, hh, mm, ss, tzinfo=tz))
    except ValueError as exc:
        raise FieldError(f"invalid date {y}-{mo}-{d} {hh}:{mm}: {exc}") from None

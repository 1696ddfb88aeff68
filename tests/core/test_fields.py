from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from listening.core.fields import FieldError, parse_count, parse_weibo_time

SH = ZoneInfo("Asia/Shanghai")
FETCH = datetime(2026, 11, 10, 4, 30, tzinfo=UTC)  # 12:30 in Shanghai


@pytest.mark.parametrize(
    "value, expected",
    [
        (12, 12), ("12", 12), ("1,234", 1234), ("1.2万", 12000), ("1万+", 10000), ("3.2万", 32000),
        ("1亿", 100_000_000), ("100万+", 1_000_000), ("2.5w", 25000), ("1.05亿", 105_000_000),
        ("转发", 0), ("评论", 0), ("赞", 0), (None, 0), ("", 0), (7.0, 7), ("3千", 3000),
    ],
)
def test_parse_count(value, expected):
    assert parse_count(value) == expected


@pytest.mark.parametrize("value", ["abc", "-5", -1, True, "1.2.3万", [], "万", float("inf"), float("nan")])
def test_parse_count_rejects(value):
    with pytest.raises(FieldError):
        parse_count(value)


@given(st.integers(min_value=0, max_value=10**12))
def test_count_roundtrip_plain(n):
    assert parse_count(str(n)) == n
    assert parse_count(n) == n


@given(st.integers(min_value=0, max_value=9999), st.integers(min_value=0, max_value=9))
def test_count_wan_is_exact(whole, tenth):
    assert parse_count(f"{whole}.{tenth}万") == whole * 10000 + tenth * 1000


@pytest.mark.parametrize(
    "value, expected_local",
    [
        ("Tue Nov 10 12:00:00 +0800 2026", datetime(2026, 11, 10, 12, 0)),
        ("刚刚", datetime(2026, 11, 10, 12, 30)),
        ("5分钟前", datetime(2026, 11, 10, 12, 25)),
        ("3小时前", datetime(2026, 11, 10, 9, 30)),
        ("今天 08:05", datetime(2026, 11, 10, 8, 5)),
        ("昨天 12:30", datetime(2026, 11, 9, 12, 30)),
        ("01-05", datetime(2026, 1, 5, 0, 0)),
        ("11-09 23:10", datetime(2026, 11, 9, 23, 10)),
        ("12-31", datetime(2025, 12, 31, 0, 0)),  # not in the future: last year
        ("2023-01-05", datetime(2023, 1, 5, 0, 0)),
        ("2023-01-05 07:08", datetime(2023, 1, 5, 7, 8)),
    ],
)
def test_parse_weibo_time(value, expected_local):
    got = parse_weibo_time(value, FETCH, SH)
    assert got.tzinfo is not None and got.utcoffset() == timedelta(0)
    assert got == expected_local.replace(tzinfo=SH).astimezone(UTC)


@pytest.mark.parametrize("value", ["", "明天", "13-45", "2023-02-30", "25小时后", None])
def test_parse_weibo_time_rejects(value):
    with pytest.raises(FieldError):
        parse_weibo_time(value, FETCH, SH)


@given(st.datetimes(min_value=datetime(2010, 1, 1), max_value=datetime(2035, 1, 1)))
def test_absolute_form_roundtrip(dt):
    local = dt.replace(microsecond=0, tzinfo=SH)
    s = local.strftime("%a %b %d %H:%M:%S +0800 %Y")
    assert parse_weibo_time(s, FETCH, SH) == local.astimezone(UTC)


@given(st.integers(min_value=0, max_value=59))
def test_minutes_ago(n):
    assert parse_weibo_time(f"{n}分钟前", FETCH, SH) == FETCH - timedelta(minutes=n)

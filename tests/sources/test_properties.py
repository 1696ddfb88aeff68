"""Property-based tests (hypothesis) of the parsers the connectors rely on: Weibo times as the site
displays them, counts, and the brand query language against a reference evaluator."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from listening.config.query import QuerySyntaxError, parse_query
from listening.core.fields import FieldError, parse_count, parse_weibo_time
from listening.demo.server import relative_time
from listening.sources.weibo import lenient_count, resolve_time, time_range

SH = ZoneInfo("Asia/Shanghai")
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]


def weibo_abs(t: datetime) -> str:
    local = t.astimezone(SH)
    return (f"{DAYS[local.weekday()]} {MONTHS[local.month - 1]} {local.day:02d} {local:%H:%M:%S} +0800 "
            f"{local.year}")


truths = st.datetimes(min_value=datetime(2005, 1, 1), max_value=datetime(2034, 12, 1), timezones=st.just(UTC))
ages = st.one_of(st.integers(0, 59), st.integers(60, 3600 * 30), st.integers(3600 * 30, 86400 * 800))


# ---- times ------------------------------------------------------------------------------------------
@given(truths, ages)
@settings(max_examples=400)
def test_every_displayed_form_brackets_the_true_time(truth, age):
    truth = truth.replace(microsecond=0)
    fetched = truth + timedelta(seconds=age)
    shown = relative_time(weibo_abs(truth), fetched)  # what the site displays at fetch time
    resolved = parse_weibo_time(shown, fetched, SH)
    lo, hi = time_range(shown, resolved)
    assert lo - timedelta(seconds=1) <= truth <= hi + timedelta(seconds=1), (shown, truth, lo, hi)
    assert resolved <= fetched + timedelta(days=1)


@given(truths, ages, st.integers(0, 23), st.sampled_from([1, 1, 2, 6, 24]))
@settings(max_examples=400)
def test_resolved_time_stays_in_the_slice_that_holds_the_post(truth, age, back, hours):
    truth = truth.replace(microsecond=0)
    fetched = truth + timedelta(seconds=age)
    local = truth.astimezone(SH).replace(minute=0, second=0)
    start = (local - timedelta(hours=back % hours)).astimezone(UTC)
    end = start + timedelta(hours=hours)
    assume(start <= truth < end)
    shown = relative_time(weibo_abs(truth), fetched)
    t = resolve_time(shown, fetched, SH, start, end)
    lo, hi = time_range(shown, parse_weibo_time(shown, fetched, SH))
    assert start <= t < end and lo <= t <= hi, (shown, truth, t)


@given(st.text(max_size=12), st.datetimes(timezones=st.just(UTC)))
def test_time_parser_fails_only_with_field_error(s, fetched):
    try:
        t = parse_weibo_time(s, fetched, SH)
    except FieldError:
        return
    assert t.tzinfo is not None


# ---- counts -----------------------------------------------------------------------------------------
units = st.sampled_from([("", 1), ("万", 10_000), ("w", 10_000), ("W", 10_000), ("亿", 100_000_000),
                         ("千", 1_000), ("k", 1_000), ("K", 1_000)])


@given(st.integers(0, 99_999), st.integers(0, 99), units, st.booleans())
def test_counts_with_units_are_exact(whole, frac, unit, plus):
    suffix, mult = unit
    text = f"{whole}.{frac:02d}{suffix}" if suffix else str(whole)
    expected = (whole * 100 + frac) * mult // 100 if suffix else whole
    assert parse_count(text + ("+" if plus and suffix else "")) == expected


@given(st.integers(0, 10**15))
def test_comma_grouped_counts(n):
    assert parse_count(f"{n:,}") == n and parse_count(f" {n} ") == n


@given(st.one_of(st.text(max_size=10), st.integers(), st.floats(allow_nan=True), st.none(), st.booleans()))
def test_lenient_count_never_raises_and_reports(value):
    problems: list[str] = []
    n = lenient_count(value, "x", problems)
    assert isinstance(n, int) and n >= 0
    assert (n == 0) or not problems


# ---- the query language against a reference evaluator ------------------------------------------------
WORDS = ["极光", "星辰", "蓝山", "电池", "屏幕", "aurora", "发热"]
FILL = ["，", "的", "很", " ", "x5", "！", "好"]


def queries():
    term = st.sampled_from(WORDS).map(lambda w: ("term", w))
    phrase = st.tuples(st.sampled_from(WORDS), st.sampled_from(WORDS)).map(lambda p: ("term", f"{p[0]} {p[1]}"))
    near = st.tuples(st.sampled_from(WORDS), st.sampled_from(WORDS), st.integers(0, 6)).map(
        lambda t: ("near", t[0], t[1], t[2]))
    leaf = st.one_of(term, term, phrase, near)
    return st.recursive(leaf, lambda kids: st.one_of(
        st.tuples(st.just("and"), kids, kids), st.tuples(st.just("or"), kids, kids),
        st.tuples(st.just("andnot"), kids, kids)), max_leaves=6)


def render(node) -> str:
    kind = node[0]
    if kind == "term":
        return f'"{node[1]}"' if " " in node[1] else node[1]
    if kind == "near":
        return f"{node[1]} NEAR/{node[3]} {node[2]}"
    op = {"and": "AND", "or": "OR", "andnot": "NOT"}[kind]
    return f"({render(node[1])} {op} {render(node[2])})"


def spans(text: str, word: str) -> list[tuple[int, int]]:
    if word.isascii():
        rx = re.compile(r"(?<![a-z0-9_])" + r"\s*".join(map(re.escape, word.split())) + r"(?![a-z0-9_])")
    else:
        rx = re.compile(r"\s*".join(map(re.escape, word.split())))
    return [m.span() for m in rx.finditer(text)]


def reference(node, text: str) -> bool:
    kind = node[0]
    if kind == "term":
        return bool(spans(text, node[1]))
    if kind == "near":
        a, b = spans(text, node[1]), spans(text, node[2])
        gap = lambda x, y: max(0, y[0] - x[1], x[0] - y[1])  # noqa: E731
        return any(gap(x, y) <= node[3] for x in a for y in b)
    left, right = reference(node[1], text), reference(node[2], text)
    return {"and": left and right, "or": left or right, "andnot": left and not right}[kind]


texts = st.lists(st.sampled_from(WORDS + FILL), max_size=12).map("".join)


@given(queries(), texts)
@settings(max_examples=400)
def test_query_matches_like_the_reference(node, text):
    q = parse_query(render(node))
    got = q.match(text)
    # queries match the documented match form: whitespace runs count as one space
    # (hypothesis found '极光 NEAR/3 星辰' on '极光蓝山  星辰', where the raw gap is 4 and the squeezed one 3)
    assert (got is not None) == reference(node, " ".join(text.split())), (render(node), text)
    if got is not None:
        positive = set(q.positive_terms())
        assert set(got) <= positive and all(spans(text, t) for t in got)


@given(queries())
def test_an_unclosed_parenthesis_is_reported_at_the_end(node):
    q = "(" + render(node)
    with pytest.raises(QuerySyntaxError) as ei:
        parse_query(q)
    assert ei.value.position == len(q) + 1 and "missing ')'" in str(ei.value)


@given(queries())
def test_a_stray_closing_parenthesis_is_reported_where_it_is(node):
    q = render(node) + " )"
    with pytest.raises(QuerySyntaxError) as ei:
        parse_query(q)
    assert ei.value.position == len(q) and "unmatched ')'" in str(ei.value)

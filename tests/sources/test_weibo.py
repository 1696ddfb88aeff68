"""The weibo_search connector against the demo server (real HTTP on 127.0.0.1), with faults."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
from support.clock import Sleeps

from listening.config import Source
from listening.core.fields import parse_weibo_time as fields_time
from listening.core.model import Window, iso
from listening.demo.server import DemoServer, parse_timescope, parse_weibo_time
from listening.sources.http import HttpClient
from listening.sources.weibo import WeiboSearch, resolve_time, time_range

SH = ZoneInfo("Asia/Shanghai")
SEARCH = "/api/container/getIndex"
DAY = Window(datetime(2026, 11, 4, tzinfo=SH), datetime(2026, 11, 5, tzinfo=SH))  # local 2026-11-04
DAY_SCOPE = "custom:2026-11-04-0:2026-11-04-23"


def connector(config, server, keywords=("蓝山",), timeout=5.0, retries=3, clock=None, **params):
    sleeps = Sleeps()
    client = HttpClient(timeout=timeout, retries=retries, backoff=0.01, sleep=sleeps, clock=clock)
    src = Source("weibo", "weibo_search", True, server.base_url, {"keywords": list(keywords), **params})
    conn = WeiboSearch(src, config, server.base_url, client, None)
    conn.sleeps = sleeps  # type: ignore[attr-defined]
    return conn


def expected_ids(server, q: str, scope: str) -> set[str]:
    c = server.corpus
    return {c.ids[i] for i in c.search(q, parse_timescope(scope))}


def ids(conn, res) -> list[str]:
    return [m.native_id for m in conn.parse(res.records).mentions]


def test_a_day_is_complete_and_matches_the_site(config, demo):
    conn = connector(config, demo)
    res = conn.fetch(DAY)
    got = ids(conn, res)
    assert len(got) == len(set(got)) and set(got) == expected_ids(demo, "蓝山", DAY_SCOPE)
    assert res.status == "complete" and not res.errors
    [sl] = res.coverage
    assert (sl.status, sl.pages, sl.items, sl.query) == ("complete", 5, 48, "蓝山")
    assert res.cursor["last_window_end"] == iso(DAY.end)
    assert all(r["meta"]["slice_start"] == iso(DAY.start) for r in res.records if r["purpose"] == "search")


def test_capped_day_is_split_into_hours_and_loses_nothing(config):
    with DemoServer(page_cap=3) as capped:
        conn = connector(config, capped)
        res = conn.fetch(DAY)
        got = ids(conn, res)
        want = expected_ids(capped, "蓝山", DAY_SCOPE)
    assert len(want) == 48 and set(got) == want and len(got) == len(set(got))
    assert res.coverage[0].status == "split" and "ok=0 at page 4 although more was announced" in res.coverage[0].detail
    hours = res.coverage[1:]
    assert len(hours) == 24 and all(s.status == "complete" for s in hours)
    assert [s.end - s.start for s in hours] == [timedelta(hours=1)] * 24
    assert sum(s.items for s in hours) == 48 and res.status == "complete"


def test_max_pages_caps_too_and_an_hour_that_stays_capped_is_reported(config, demo):
    hour = Window(datetime(2026, 11, 10, 21, tzinfo=SH), datetime(2026, 11, 10, 22, tzinfo=SH))
    conn = connector(config, demo, keywords=("极光",), max_pages=2)
    res = conn.fetch(hour)
    [sl] = res.coverage
    assert sl.status == "capped" and sl.pages == 2 and sl.items == 20
    assert "max_pages 2" in sl.detail and "finest time scope" in sl.detail
    assert res.status == "capped" and any("capped" in e for e in res.errors)


def test_429_with_retry_after_is_honoured(config, demo):
    demo.add_fault(SEARCH, status=429, headers={"Retry-After": "2"})
    conn = connector(config, demo)
    res = conn.fetch(DAY)
    assert 2.0 in conn.sleeps  # waited what the site asked for
    assert set(ids(conn, res)) == expected_ids(demo, "蓝山", DAY_SCOPE) and res.status == "complete"
    assert res.records[0]["attempts"] == 2


def test_a_retry_after_beyond_the_limit_fails_the_slice_instead_of_hammering(config, demo):
    demo.add_fault(SEARCH, status=429, headers={"Retry-After": "3600"}, times=5)
    conn = connector(config, demo)
    res = conn.fetch(DAY)
    assert res.status == "failed" and "Retry-After 3600s" in res.coverage[0].detail
    assert sum(1 for _m, p, _s in demo.requests if p.startswith(SEARCH)) >= 1
    assert not conn.sleeps or max(conn.sleeps) < 3600


def test_500_then_success_and_a_timeout_then_success(config, demo):
    demo.add_fault(SEARCH, status=500, body={"ok": 0, "msg": "系统繁忙"}, times=2)
    conn = connector(config, demo)
    res = conn.fetch(DAY)
    assert res.records[0]["attempts"] == 3 and set(ids(conn, res)) == expected_ids(demo, "蓝山", DAY_SCOPE)
    demo.add_fault(SEARCH, delay=1.5)
    conn = connector(config, demo, timeout=0.5)
    res = conn.fetch(DAY)
    assert res.records[0]["attempts"] == 2 and res.status == "complete"
    assert set(ids(conn, res)) == expected_ids(demo, "蓝山", DAY_SCOPE)


def test_persistent_failure_fails_its_slice_only(config, demo):
    demo.add_fault(SEARCH + "?containerid=100103type%3D1%26q%3D%E8%93%9D%E5%B1%B1", status=503, times=50)
    conn = connector(config, demo, keywords=("蓝山", "星辰"), retries=2)
    res = conn.fetch(DAY)
    by_kw = {s.query: s for s in res.coverage}
    assert by_kw["蓝山"].status == "failed" and "HTTP 503 after 3 attempts" in by_kw["蓝山"].detail
    assert by_kw["星辰"].status == "complete" and by_kw["星辰"].items == 53
    assert res.status == "failed" and any("蓝山" in e and "503" in e for e in res.errors)


def test_blocked_418_is_not_retried_and_says_why(config, demo):
    demo.add_fault(SEARCH, status=418, times=5)
    before = len(demo.requests)
    conn = connector(config, demo)
    res = conn.fetch(DAY)
    assert len(demo.requests) - before == 1
    assert res.status == "failed" and "cookies" in res.coverage[0].detail


def test_truncated_json_is_fetched_again_and_not_parsed(config, demo):
    demo.add_fault(SEARCH, truncate=100)
    conn = connector(config, demo)
    res = conn.fetch(DAY)
    bad = [r for r in res.records if r["meta"].get("superseded")]
    assert len(bad) == 1 and "invalid JSON (100 bytes" in bad[0]["meta"]["superseded"]
    parsed = conn.parse(res.records)
    assert not parsed.problems and {m.native_id for m in parsed.mentions} == expected_ids(demo, "蓝山", DAY_SCOPE)
    demo.add_fault(SEARCH, truncate=100, times=10)
    res = conn.fetch(DAY)
    assert res.status == "failed" and "invalid JSON" in res.coverage[0].detail


def test_html_instead_of_json_names_the_login_problem(config, demo):
    demo.add_fault(SEARCH, status=200, headers={"Content-Type": "text/html; charset=utf-8"},
                   body="<html>请登录</html>", times=10)
    conn = connector(config, demo)
    res = conn.fetch(DAY)
    assert res.status == "failed" and "login" in res.coverage[0].detail


def test_ok_0_records_the_message(config, demo):
    demo.add_fault(SEARCH, status=200, body={"ok": 0, "msg": "请求过于频繁，歇歇吧"})
    conn = connector(config, demo, keywords=("蓝山", "星辰"))
    res = conn.fetch(DAY)
    by_kw = {s.query: s for s in res.coverage}
    assert by_kw["蓝山"].status == "failed" and "请求过于频繁" in by_kw["蓝山"].detail
    assert by_kw["星辰"].status == "complete"
    # "no content" on page 1 is an empty result, not a failure
    conn = connector(config, demo, keywords=("完全不存在的词",))
    res = conn.fetch(DAY)
    assert res.coverage[0].status == "complete" and "no results" in res.coverage[0].detail
    assert res.coverage[0].items == 0


def _page_prefix(server, q: str, page: int) -> str:
    params = {"containerid": f"100103type=1&q={q}", "page_type": "searchall", "page": page, "timescope": DAY_SCOPE}
    return httpx.URL(server.base_url + SEARCH, params=params).raw_path.decode()


def test_an_empty_page_in_the_middle_is_fetched_again(config, demo):
    demo.add_fault(_page_prefix(demo, "蓝山", 2), status=200,
                   body={"ok": 1, "data": {"cardlistInfo": {"page": 3}, "cards": []}})
    conn = connector(config, demo)
    res = conn.fetch(DAY)
    assert set(ids(conn, res)) == expected_ids(demo, "蓝山", DAY_SCOPE)
    assert res.coverage[0].status == "complete" and res.coverage[0].pages == 6
    # empty pages that keep coming while the site announces more: the slice is capped (then split), not "complete"
    for page in range(2, 5):
        demo.add_fault(_page_prefix(demo, "蓝山", page), status=200,
                       body={"ok": 1, "data": {"cardlistInfo": {"page": page + 1}, "cards": []}}, times=2)
    res = connector(config, demo).fetch(DAY)
    assert res.coverage[0].status == "split" and "empty pages" in res.coverage[0].detail


def test_long_text_completed_or_flagged(config, demo):
    conn = connector(config, demo, keywords=("极光",))
    res = conn.fetch(DAY)
    longs = [r for r in res.records if r["purpose"] == "longtext"]
    assert longs, "the day has long posts"
    mentions = {m.native_id: m for m in conn.parse(res.records).mentions}
    assert not any(m.truncated for m in mentions.values())
    lid = longs[0]["meta"]["id"]
    if lid in mentions:
        assert "全文" not in mentions[lid].text
    demo.add_fault("/statuses/extend", status=500, times=10_000)
    res = conn.fetch(DAY)
    mentions = conn.parse(res.records).mentions
    cut = [m for m in mentions if m.truncated]
    assert cut and all("全文" not in m.text for m in cut)
    part = [s for s in res.coverage if s.query == "(long text)"]
    assert part and part[0].status == "partial" and res.status == "partial"


def test_response_size_cap(config, demo):
    conn = connector(config, demo)
    conn.client.max_bytes = 500
    res = conn.fetch(DAY)
    assert res.status == "failed" and "> 500)" in res.coverage[0].detail  # declared Content-Length


def test_relative_times_resolve_inside_their_slice(config):
    """The site shows 刚刚 / N分钟前 / N小时前 / 昨天 HH:MM / MM-DD; pinned clock = the site's now."""
    now = datetime(2026, 11, 14, 23, 30, tzinfo=SH)
    with DemoServer(relative_times=True, now=now) as site:
        for window, q in ((Window(datetime(2026, 11, 14, 20, tzinfo=SH), datetime(2026, 11, 14, 23, tzinfo=SH)), "极光"),
                          (Window(datetime(2026, 11, 13, tzinfo=SH), datetime(2026, 11, 14, tzinfo=SH)), "星辰"),
                          (Window(datetime(2026, 11, 4, tzinfo=SH), datetime(2026, 11, 5, tzinfo=SH)), "蓝山")):
            conn = connector(config, site, keywords=(q,), clock=lambda: now.astimezone(UTC))
            res = conn.fetch(window)
            shown = {mb["id"]: mb["created_at"] for r in res.records if r["purpose"] == "search"
                     for c in json.loads(r["body"])["data"]["cards"] for mb in _mblogs(c)}
            mentions = conn.parse(res.records).mentions
            assert mentions and all(window.contains(m.published_at) for m in mentions), q
            for m in mentions:
                truth = datetime.fromtimestamp(parse_weibo_time(site.corpus.by_id[m.native_id]["created_at"]), UTC)
                form = shown[m.native_id]
                lo, hi = time_range(form, fields_time(form, now, SH))
                # the form's range holds the true time, and the stored time stays in that range
                assert lo - timedelta(seconds=1) <= truth <= hi + timedelta(seconds=1), (form, truth)
                assert lo <= m.published_at <= hi, (form, m.published_at)
            forms = set(shown.values())
            assert any(f.startswith(("昨天", "11-04")) or "前" in f for f in forms)


def _mblogs(card):
    if card.get("card_type") == 9:
        yield card["mblog"]
    for c in card.get("card_group") or []:
        yield from _mblogs(c)


def test_resolve_time_clamps_only_when_the_form_is_imprecise(config):
    fetched = datetime(2026, 11, 14, 15, 30, tzinfo=UTC)  # 23:30 local
    s, e = datetime(2026, 11, 14, 11, tzinfo=UTC), datetime(2026, 11, 14, 12, tzinfo=UTC)  # 19:00-20:00 local
    # "4小时前" = 19:30 local exactly by arithmetic; inside the slice: unchanged
    assert resolve_time("4小时前", fetched, SH, s, e) == datetime(2026, 11, 14, 11, 30, tzinfo=UTC)
    # "3小时前" stands for 3-4 hours ago (19:30-20:30 local): the slice says it was before 20:00
    assert resolve_time("3小时前", fetched, SH, s, e) == e - timedelta(seconds=1)
    # a date-only form inside the slice's day: the slice start
    assert resolve_time("11-14", fetched, SH, s, e) == s
    # an absolute time is never moved, even outside the slice
    out = "Fri Nov 14 08:00:00 +0800 2026"
    assert resolve_time(out, fetched, SH, s, e) == datetime(2026, 11, 14, 0, 0, tzinfo=UTC)

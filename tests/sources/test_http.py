"""The polite HTTP client: retries, Retry-After, rate limit, size cap, secrets (real HTTP on 127.0.0.1)."""

from __future__ import annotations

import gzip
import logging
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from support.clock import Sleeps
from support.net import free_port

from listening.sources.http import FetchError, HttpClient, redact_url


def client(**kw) -> HttpClient:
    kw.setdefault("sleep", Sleeps())
    kw.setdefault("backoff", 0.01)
    return HttpClient(**kw)


def test_retry_after_seconds_and_http_date(demo):
    c = client()
    demo.add_fault("/robots.txt", status=429, headers={"Retry-After": "7"})
    r = c.get(demo.base_url + "/robots.txt")
    assert r.status == 200 and r.attempts == 2 and c.sleep == [7.0]
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    demo.add_fault("/robots.txt", status=503, headers={"Retry-After": when})
    c = client()
    c.get(demo.base_url + "/robots.txt")
    assert 25 <= c.sleep[0] <= 31
    assert c.stats["retries"] == 1 and c.stats["requests"] == 2


def test_backoff_is_exponential_with_jitter_and_bounded(demo):
    demo.add_fault("/robots.txt", status=502, times=4)
    c = client(retries=4, backoff=1.0, max_backoff=3.0)
    c.get(demo.base_url + "/robots.txt")
    caps = [1.0, 2.0, 3.0, 3.0]  # full jitter in [0, min(max_backoff, backoff * 2^n)]
    assert len(c.sleep) == 4 and all(0 <= s <= cap for s, cap in zip(c.sleep, caps, strict=True))


def test_gives_up_after_retries_with_the_reason(demo):
    demo.add_fault("/robots.txt", status=500, times=10)
    c = client(retries=2)
    with pytest.raises(FetchError, match="HTTP 500 after 3 attempts") as ei:
        c.get(demo.base_url + "/robots.txt")
    assert ei.value.status == 500


def test_timeout_is_retried(demo):
    demo.add_fault("/robots.txt", delay=1.0)
    c = client(timeout=0.3)
    r = c.get(demo.base_url + "/robots.txt")
    assert r.attempts == 2
    demo.add_fault("/robots.txt", delay=1.0, times=3)
    with pytest.raises(FetchError, match="timeout after 2 attempts"):
        client(timeout=0.3, retries=1).get(demo.base_url + "/robots.txt")


def test_connection_refused_is_a_reason_not_a_crash():
    port = free_port()
    with pytest.raises(FetchError, match="connection error"):
        client(retries=1).get(f"http://127.0.0.1:{port}/x")


def test_not_retried_statuses(demo):
    for status, hint in ((404, None), (403, "forbidden"), (432, "blocks the crawler")):
        demo.add_fault("/robots.txt", status=status)
        c = client()
        with pytest.raises(FetchError) as ei:
            c.get(demo.base_url + "/robots.txt")
        assert c.stats["requests"] == 1 and ei.value.status == status
        assert hint is None or hint in ei.value.reason


def test_size_cap_declared_and_streamed(demo):
    with pytest.raises(FetchError, match="too large"):
        client(max_bytes=10).get(demo.base_url + "/robots.txt")
    # a small gzip body that inflates past the cap (a "zip bomb") is cut off while streaming
    bomb = gzip.compress(b"0" * 200_000)
    demo.add_fault("/robots.txt", status=200, headers={"Content-Encoding": "gzip"}, body=bomb)
    with pytest.raises(FetchError, match="larger than 50000 bytes"):
        client(max_bytes=50_000).get(demo.base_url + "/robots.txt")


def test_per_host_rate_limit_and_crawl_delay(demo):
    c = client(min_interval=0.5)
    for _ in range(3):
        c.get(demo.base_url + "/robots.txt")
    assert len(c.sleep) == 2 and all(0.3 < s <= 0.5 for s in c.sleep)
    c = client()
    c.set_host_interval(f"127.0.0.1:{demo.port}", 2.0)
    c.get(demo.base_url + "/robots.txt")
    c.get(demo.base_url + "/robots.txt")
    assert len(c.sleep) == 1 and 1.5 < c.sleep[0] <= 2.0


def test_secrets_are_not_in_repr_logs_or_urls(demo, caplog):
    c = client(headers={"Authorization": "Bearer TOPSECRET"}, cookies={"SUB": "COOKIESECRET"})
    assert "TOPSECRET" not in repr(c) and "COOKIESECRET" not in repr(c)
    demo.add_fault("/robots.txt", status=500)
    with caplog.at_level(logging.WARNING):
        r = c.get(demo.base_url + "/robots.txt", params={"access_token": "URLSECRET", "q": "极光"})
    assert "URLSECRET" not in caplog.text and "TOPSECRET" not in caplog.text
    assert "URLSECRET" not in r.url and "access_token=REDACTED" in r.url and "q=" in r.url
    assert redact_url("https://user:pw@h/p?token=1&page=2") == "https://h/p?token=REDACTED&page=2"
    demo.add_fault("/robots.txt", status=404)
    with pytest.raises(FetchError) as ei:
        c.get(demo.base_url + "/robots.txt?token=URLSECRET")
    assert "URLSECRET" not in str(ei.value) and "URLSECRET" not in ei.value.url

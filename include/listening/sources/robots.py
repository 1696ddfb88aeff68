"""robots.txt for web pages and feeds (RFC 9309), cached per host for one crawl.

* ``200``: the rules apply (``urllib.robotparser``), matched on the product token of
  the client's User-Agent (``listening-bot``);
* other ``4xx`` (no robots.txt): everything is allowed;
* ``5xx``, timeouts, connection errors ("unreachable"): everything is disallowed for
  this crawl, as RFC 9309 asks;
* ``Crawl-delay`` (or ``Request-rate``) becomes the minimum interval between two
  requests to that host; a delay longer than ``max_crawl_delay`` seconds makes the
  host's URLs skipped for this crawl rather than crawled impolitely.

A disallowed URL is never fetched: the connector records it as a ``failed`` slice whose
detail starts with "robots.txt disallows", so the gap is visible.
"""

from __future__ import annotations

import logging
import urllib.robotparser
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from listening.sources.http import FetchError, HttpClient, Response, host_of

log = logging.getLogger(__name__)


@dataclass
class _HostRules:
    parser: urllib.robotparser.RobotFileParser | None
    verdict: str | None  # None: use the parser; else a fixed reason to refuse every URL ("" = allow all)


class Robots:
    def __init__(self, client: HttpClient, enabled: bool = True, max_crawl_delay: float = 60.0,
                 on_response: Callable[[Response], None] | None = None):
        self.client = client
        self.enabled = enabled
        self.max_crawl_delay = max_crawl_delay
        self.on_response = on_response
        self._hosts: dict[str, _HostRules] = {}
        self.agent = (client.user_agent or "listening-bot").split()[0]

    def _rules(self, url: str) -> _HostRules:
        parts = urlsplit(url)
        host = host_of(url)
        key = f"{parts.scheme}://{host}"
        if key in self._hosts:
            return self._hosts[key]
        robots_url = f"{parts.scheme}://{parts.netloc.rsplit('@', 1)[-1]}/robots.txt"
        try:
            resp = self.client.get(robots_url, ok_status=(200, *range(400, 500)))
        except FetchError as exc:
            rules = _HostRules(None, f"robots.txt disallows (robots.txt unreachable: {exc.reason}; "
                                     "RFC 9309 says assume everything is disallowed)")
            self._hosts[key] = rules
            return rules
        if self.on_response is not None:
            self.on_response(resp)
        if resp.status != 200:
            rules = _HostRules(None, "")  # no robots.txt: all allowed
        else:
            rp = urllib.robotparser.RobotFileParser(robots_url)
            rp.parse(resp.body.decode("utf-8", errors="replace").splitlines())
            rules = _HostRules(rp, None)
            delay = rp.crawl_delay(self.agent)
            rate = rp.request_rate(self.agent)
            interval = float(delay) if delay is not None else 0.0
            if rate is not None and rate.requests:
                interval = max(interval, rate.seconds / rate.requests)
            if interval > self.max_crawl_delay:
                rules = _HostRules(None, f"robots.txt disallows crawling faster than one request per "
                                         f"{interval:g}s (more than max_crawl_delay {self.max_crawl_delay:g}s)")
            elif interval > 0:
                self.client.set_host_interval(host, interval)
                log.info("robots.txt of %s: Crawl-delay %.1fs", host, interval)
        self._hosts[key] = rules
        return rules

    def refusal(self, url: str) -> str | None:
        """None when ``url`` may be fetched, else the reason (starting with "robots.txt disallows")."""
        if not self.enabled:
            return None
        rules = self._rules(url)
        if rules.verdict is not None:
            return rules.verdict or None
        assert rules.parser is not None
        if rules.parser.can_fetch(self.agent, url):
            return None
        return f"robots.txt disallows {urlsplit(url).path or '/'} for {self.agent}"

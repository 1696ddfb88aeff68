"""The ``crawl`` task: one source, one interval; every raw response lands in the lake first.

    crawl(source) -> raw/source=<id>/date=/hour=/<interval>.jsonl.gz

Never raises for a source problem: the failure is returned in the summary (and stored by the load
in ``etl_batch``), so one broken source does not block the others.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from listening.config import Config, Source
from listening.core.errors import PipelineError
from listening.core.model import Window, iso
from listening.core.settings import Settings, demo_url
from listening.lake import Lake, raw_key
from listening.sources import connector_class
from listening.sources.base import Connector, Slice
from listening.sources.http import HttpClient

log = logging.getLogger(__name__)


def resolve_base_url(source: Source, settings: Settings | None = None) -> str:
    if settings and source.id in settings.base_url_override:
        return settings.base_url_override[source.id]
    if source.base_url == "demo":
        url = demo_url()
        if not url:
            raise PipelineError(
                f"source {source.id!r} uses base_url 'demo' but no demo server is running: start one with "
                "`listening demo serve` and set LISTENING_DEMO_URL, or run `make run`"
            )
        return url.rstrip("/")
    return source.base_url


def make_connector(config: Config, source: Source, settings: Settings, lake: Lake | None,
                   client: HttpClient | None = None) -> Connector:
    p = source.params
    auth = settings.source_auth.get(source.id, {})
    client = client or HttpClient(
        headers=dict(auth.get("headers") or {}),
        cookies=dict(auth.get("cookies") or {}),
        timeout=float(p.get("timeout", 20)),
        retries=int(p.get("retries", 4)),
        backoff=float(p.get("backoff", 1.0)),
        min_interval=float(p.get("min_interval", 0.0)),
        max_bytes=int(p.get("max_bytes", 20 * 1024 * 1024)),
    )
    return connector_class(source.kind)(source, config, resolve_base_url(source, settings), client, lake)


def crawl(config: Config, source_id: str, window: Window, lake: Lake, settings: Settings,
          cursor: dict[str, Any] | None = None, client: HttpClient | None = None) -> dict[str, Any]:
    """Crawl one source for one interval; the raw responses land in the lake before anything else.

    Never raises for a source problem: a failure is returned (and later stored) with its reason,
    so one broken source does not block the others.
    """
    source = config.source(source_id)
    key = raw_key(source.id, window)
    summary: dict[str, Any] = {
        "source": source.id, "kind": source.kind, "window": [iso(window.start), iso(window.end)],
        "raw_key": None, "fetched": 0, "pages": 0, "coverage": [], "errors": [], "status": "failed",
        "cursor": dict(cursor or {}), "seconds": 0.0,
    }
    t0 = time.monotonic()
    try:
        conn = make_connector(config, source, settings, lake, client)
        result = conn.fetch(window, cursor)
    except Exception as exc:  # noqa: BLE001 - recorded, not swallowed: the batch row says failed
        log.exception("crawl of %s failed", source.id)
        summary["errors"] = [f"{type(exc).__name__}: {exc}"]
        summary["coverage"] = [Slice(window.start, window.end, "failed", detail=str(exc)[:500]).to_json()]
        summary["seconds"] = round(time.monotonic() - t0, 3)
        return summary
    lake.put_jsonl(key, result.records)
    new_cursor = dict(result.cursor)
    if any(r.get("purpose") == "feed" and r.get("body") for r in result.records):
        new_cursor["body_key"] = key
    summary.update(
        raw_key=key,
        fetched=len(result.records),
        pages=result.pages,
        coverage=[s.to_json() for s in result.coverage],
        errors=result.errors,
        status=result.status,
        cursor=new_cursor,
        seconds=round(time.monotonic() - t0, 3),
    )
    log.info("crawled %s %s: %d responses, %d pages, coverage %s, %d errors", source.id, window.key,
             len(result.records), result.pages, result.status, len(result.errors))
    return summary

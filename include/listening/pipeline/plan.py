"""The ``plan_*`` tasks: which enabled sources each crawl task of the DAG crawls, and the crawl
summaries the later steps read (a crawl task that died leaves a ``failed`` one)."""

from __future__ import annotations

import logging
from typing import Any

from listening.config import Config, crawl_group_key
from listening.core.model import Window

log = logging.getLogger(__name__)


def plan_crawl_groups(config: Config, groups: list[tuple[str, str]] | list[list[str]]) -> dict[str, list[str]]:
    """Enabled source ids per crawl task of the DAG, keyed ``<stage>__<pool>`` (the groups the DAG
    was parsed with: :func:`listening.config.crawl_groups`).  ``first`` crawls the sites; ``after``
    holds the connectors that read what the first stage landed in the lake (comments of the
    posts a search found).  A source whose group the parsed DAG lacks (the configuration changed
    since the last parse) is logged; the transform records it as a failed crawl."""
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

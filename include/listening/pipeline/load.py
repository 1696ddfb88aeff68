"""The ``load`` task: one interval into the warehouse in a single transaction, reconciled.

Prepares the batch (:mod:`listening.warehouse.load`), writes it, runs the ``loaded`` quality gate
(the warehouse's counts against the audit rows; a mismatch rolls everything back), then merges the
interval's comments and replies.  Returns the local days touched, for the marts (the asset event).
"""

from __future__ import annotations

import logging
import time
from typing import Any

from sqlalchemy.engine import Engine

from listening import quality
from listening.config import Config
from listening.core.model import Window
from listening.core.perf import batch_stage
from listening.lake import Lake
from listening.warehouse.engine import create_schema
from listening.warehouse.load import (
    checkpoint,
    load_interactions,
    prepare,
    reconcile_rows,
    record_failure,
    write_batch,
)

log = logging.getLogger(__name__)


@batch_stage
def load(config: Config, window: Window, crawls: list[dict[str, Any]], transformed: dict[str, Any],
         validated: dict[str, Any] | None, lake: Lake, engine: Engine, status: str = "loaded",
         error: str | None = None, *, reconcile: bool = True) -> dict[str, Any]:
    """Write one interval to the warehouse in a single transaction (idempotent: merges and replaces).

    ``status`` is ``loaded`` for a validated batch, or ``rejected`` to record a batch the quality
    gate stopped (audit rows and quarantine only; no facts change).  With ``reconcile`` the
    ``loaded`` gate runs inside the transaction and its Data Docs go to ``docs/gx/<interval>/loaded/``.
    """
    create_schema(engine)
    t0 = time.monotonic()
    b = prepare(config, window, crawls, transformed, validated, lake, status, error)
    gate = reconcile and status == "loaded"
    if gate:
        quality.import_gx()  # seconds: before the transaction, not while it holds locks
    results: list[dict[str, Any]] = []
    try:
        with engine.begin() as conn:
            write_batch(conn, config, b)
            if gate:
                results = quality.validate_loaded(
                    reconcile_rows(conn, b), len({c["source"] for c in b.crawls} - set(b.rejected)),
                    docs=quality.DocsTarget(lake, quality.docs_prefix(window, "loaded")))
            checkpoint("before_commit")
    except Exception as exc:
        record_failure(engine, b, f"{type(exc).__name__}: {exc}")
        raise
    # comments and replies (after the facts they hang under): an idempotent merge of their own
    inter: dict[str, Any] = {}
    ikey = transformed.get("interactions_key")
    if status == "loaded" and ikey and lake.exists(ikey):
        records = [r for r in lake.get_jsonl(ikey) if r.get("source") not in b.rejected]
        inter = load_interactions(config, window, records, engine)
    secs = time.monotonic() - t0
    log.info("loaded %s: %d mentions, %d brand links, %d authors, %d quarantined, %d interactions in %.2fs",
             window.key, len(b.facts), len(b.bridges), len(b.authors), len(b.quarantine),
             inter.get("interactions", 0), secs)
    dates = {d.isoformat() for d in b.days | window.local_days(config.tz)}
    dates.update(inter.get("mention_dates", []))  # mart_response is dated by the post
    return {"interval": window.key, "loaded": len(b.facts), "brand_links": len(b.bridges),
            "quarantined": len(b.quarantine), "status": status, "seconds": round(secs, 3),
            "reconciled": results, "interactions": inter.get("interactions", 0),
            "rejected_sources": b.rejected,
            "failed_sources": {c["source"]: "; ".join(map(str, c.get("errors") or []))[:500] or "crawl failed"
                               for c in crawls if c.get("status") == "failed"},
            "owned_replies": inter.get("replies", 0), "dates": sorted(dates)}

"""The ``validate`` task: the raw and staged quality gates (Great Expectations).

    staged/<interval>/scored.jsonl.gz -> staged/<interval>/validated.jsonl.gz + quarantine.jsonl.gz

A batch the gates stop is recorded before the task fails (:func:`record_rejection`: audit rows
with status ``rejected`` and the quarantined rows; no facts change), so the warehouse says why
the interval is missing.
"""

from __future__ import annotations

import logging
from typing import Any

from listening.config import Config
from listening.core.errors import BatchRejected
from listening.core.model import Mention, Window
from listening.lake import Lake, raw_key, staged_key
from listening.pipeline.load import load
from listening.quality import DocsTarget, RawInput, docs_prefix, validate_batch, validate_raw
from listening.warehouse.load import fact_rows

log = logging.getLogger(__name__)


def validate(config: Config, window: Window, scored_key: str, lake: Lake) -> dict[str, Any]:
    """Run the GX gates on the raw records and the staged mentions; write the rows to load and the
    quarantined rows to the lake, and the Data Docs to ``docs/gx/<interval>/{raw,staged}/``.

    A source whose raw records drifted from their schema is returned in ``rejected_sources``
    (source id -> why) with all its rows quarantined; the others go on.  Raises
    :class:`~listening.core.errors.BatchRejected` (after writing the quarantine file) when the batch
    must not load: the staged columns are not what the loader needs, or more than
    ``quality.max_bad_share`` of the rows are bad.
    """
    rows = fact_rows([Mention.from_json(d) for d in lake.get_jsonl(scored_key)], config, window)
    qkey = staged_key(window, "quarantine")

    def reject(bad: list[tuple[dict[str, Any], str]], why: str) -> None:
        lake.put_jsonl(qkey, ({"row": r, "reason": reason} for r, reason in bad))
        lake.put_jsonl(staged_key(window, "rejected"), [{"reason": why, "rows": len(rows)}])

    raw_inputs = []
    for s in config.enabled_sources:
        key = raw_key(s.id, window)
        if lake.exists(key):
            raw_inputs.append(RawInput(s.id, s.kind, key, lake.get_jsonl(key)))
    raw = validate_raw(raw_inputs, config.max_bad_share, docs=DocsTarget(lake, docs_prefix(window, "raw")))
    raw_bad = raw.quarantined_ids()
    # A source whose raw records drifted from their schema is stopped alone: its rows are
    # quarantined, its audit row says 'rejected' and the DAG's quality_gate task fails (alert);
    # the other sources of the interval load (one source failing never blocks the others).
    rejected = {sid: f"schema drift: {sid}: {msg}" for sid, msg in sorted(raw.drifted.items())}
    for why in rejected.values():
        log.error("interval %s: %s; its rows are quarantined, the other sources load", window.key, why)
    drift_rows = [(r, f"batch rejected: {rejected[r['source_id']]}") for r in rows
                  if r["source_id"] in rejected and (r["source_id"], r["native_id"]) not in raw_bad]
    # a mention parsed from a raw item that failed its schema does not load
    rows = [r for r in rows if (r["source_id"], r["native_id"]) not in raw_bad and r["source_id"] not in rejected]
    brand_rows = [{"mention_id": r["mention_id"], "brand_id": b} for r in rows for b in r["brands"]]
    try:
        outcome = validate_batch(
            rows, brand_rows, window,
            known_sources=[s.id for s in config.sources],
            known_brands=[b.id for b in config.brands],
            max_bad_share=config.max_bad_share,
            docs=DocsTarget(lake, docs_prefix(window, "staged")),
        )
    except BatchRejected as exc:
        bad = exc.outcome.quarantined if exc.outcome else [(r, f"batch rejected: {exc}") for r in rows]
        reject(raw.quarantined + drift_rows + bad, str(exc))
        raise
    vkey = staged_key(window, "validated")
    lake.put_jsonl(vkey, outcome.valid)
    lake.put_jsonl(qkey, ({"row": r, "reason": why}
                          for r, why in raw.quarantined + drift_rows + outcome.quarantined))
    failed = [r for r in outcome.results + raw.results if not r["success"]]
    valid_per_source: dict[str, int] = {}
    for r in outcome.valid:
        valid_per_source[r["source_id"]] = valid_per_source.get(r["source_id"], 0) + 1
    log.info("validated %s: %d valid, %d quarantined (%d raw items); failed expectations: %s", window.key,
             len(outcome.valid), len(outcome.quarantined), len(raw.quarantined), failed)
    return {"key": vkey, "quarantine_key": qkey, "valid": len(outcome.valid),
            "quarantined": len(outcome.quarantined) + len(raw.quarantined) + len(drift_rows),
            "raw_quarantined": len(raw.quarantined), "rejected_sources": rejected,
            "valid_per_source": valid_per_source, "expectations": outcome.results + raw.results,
            "docs": raw.docs + outcome.docs}


def validate_or_record(config: Config, window: Window, crawls: list[dict[str, Any]], transformed: dict[str, Any],
                       scored_key: str, lake: Lake, engine: Any) -> dict[str, Any]:
    """:func:`validate`; when the gates reject the batch, :func:`record_rejection` then re-raise."""
    try:
        return validate(config, window, scored_key, lake)
    except BatchRejected as exc:
        record_rejection(config, window, crawls, transformed, lake, engine, str(exc))
        raise


def record_rejection(config: Config, window: Window, crawls: list[dict[str, Any]], transformed: dict[str, Any],
                     lake: Lake, engine: Any, error: str) -> dict[str, Any]:
    """Write the rejected batch's audit rows (status ``rejected``) and quarantine; no facts change."""
    return load(config, window, crawls, transformed, None, lake, engine, status="rejected", error=error)

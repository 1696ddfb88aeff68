"""The quality gates (GX Core 1.x); suites are JSON in ``include/gx/expectations``.

Three gates per data interval, each a GX validation whose Data Docs (HTML) are written to the
lake under ``docs/gx/<interval>/<stage>/index.html``:

``raw``     the raw responses of every source, one row per item (a Weibo mblog, a feed entry), against
            the suite of the source's kind (``raw_weibo_search``, ``raw_rss``): required fields and
            their types.  Items that fail are quarantined (reason + ``raw_ref`` = lake key#record);
            when more than ``max_bad_share`` of a source's items fail, or its pages no longer have
            the expected shape, the source's schema drifted and that source is rejected.
``staged``  the staged mentions (``staged_mentions``) and their brand links (``mention_brands``):
            a failing table-level expectation (the loader's columns are missing) is schema drift and
            rejects the batch; rows that fail a row-level expectation are quarantined; more than
            ``max_bad_share`` bad rows rejects the batch.
``loaded``  inside the load transaction, the interval as it is in the warehouse against its audit
            rows (``loaded_interval``): loaded / quarantined / brand-link counts must reconcile, or
            the transaction is rolled back.

A rejected batch raises :class:`~listening.core.errors.BatchRejected`; the DAG task fails and its
``on_failure_callback`` sends an alert.  The raw items of a source come from its connector
(``raw_suite`` and ``raw_items``, :mod:`listening.sources`).

``great_expectations`` and ``pandas`` are imported inside the functions: they cost seconds and
must never load at DAG-parse time.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from listening.core.errors import BatchRejected
from listening.core.fields import type_name
from listening.core.model import Window
from listening.core.perf import batch_stage
from listening.quality.gx import DocsTarget, expectation_label, load_suite, result_summaries, run_suites
from listening.sources import connector_class

log = logging.getLogger(__name__)

REQUIRED_MENTION_COLUMNS = ("mention_id", "source_id", "native_id", "url", "text", "published_ts",
                            "sentiment", "sentiment_label", "model_version", "story_id")


@dataclass
class ValidationOutcome:
    valid: list[dict[str, Any]]
    quarantined: list[tuple[dict[str, Any], str]]
    results: list[dict[str, Any]] = field(default_factory=list)  # one summary per expectation
    docs: list[str] = field(default_factory=list)  # lake keys of the Data Docs index pages

    @property
    def bad_share(self) -> float:
        total = len(self.valid) + len(self.quarantined)
        return len(self.quarantined) / total if total else 0.0


# ---- staged mentions -----------------------------------------------------------------------------------
@batch_stage
def validate_batch(
    mentions: list[dict[str, Any]],
    brand_rows: list[dict[str, Any]],
    window: Window,
    known_sources: list[str],
    known_brands: list[str],
    max_bad_share: float = 0.05,
    directory: Path | None = None,
    docs: DocsTarget | None = None,
) -> ValidationOutcome:
    """Validate one interval's staged mentions; returns the rows to load and the rows to quarantine."""
    import pandas as pd

    if mentions:
        missing = [c for c in REQUIRED_MENTION_COLUMNS if c not in mentions[0]]
        if missing:
            raise BatchRejected(f"schema drift: staged mentions lack columns {missing}")
    staged_suite = load_suite("staged_mentions", directory)
    # Only the columns the suite reads go into the frame, built column by column: the full rows carry
    # dicts (``brands``) that make GX's batch fingerprint fall back to pickling the whole frame.
    cols = [c for c in _suite_columns(staged_suite) if not c.endswith("__type")]
    cols += [c for c in REQUIRED_MENTION_COLUMNS if c not in cols]
    data: dict[str, list[Any]] = {c: [m.get(c) for m in mentions] for c in cols}
    for c in _TYPED:
        data[f"{c}__type"] = [type_name(m.get(c)) for m in mentions]
    df = pd.DataFrame(data)
    bdf = pd.DataFrame(brand_rows, columns=["mention_id", "brand_id"])
    params = {
        "window_start_ts": window.start.timestamp(),
        "window_end_ts": window.end.timestamp(),
        "known_sources": list(known_sources),
        "known_brands": list(known_brands),
    }
    frames = [(staged_suite, df)]
    summaries: list[dict[str, Any]] = []
    if bdf.empty:
        summaries.append({"suite": "mention_brands", "expectation": "(empty batch)", "success": True,
                          "unexpected": 0})
    else:
        frames.append((load_suite("mention_brands", directory), bdf))
    if df.empty:
        summaries.append({"suite": "staged_mentions", "expectation": "(empty batch)", "success": True,
                          "unexpected": 0})
        return ValidationOutcome([], [], summaries)
    results = run_suites(frames, params, docs)
    reasons: dict[int, list[str]] = {}
    for suite_name, res_list in results.items():
        summaries.extend(result_summaries(suite_name, res_list))
        for res in res_list:
            cfg = res.expectation_config
            label = expectation_label(cfg)
            info = res.exception_info or {}
            if info.get("raised_exception"):
                raise BatchRejected(f"{suite_name}: {label} could not run: {info.get('exception_message')}")
            if res.success:
                continue
            if (cfg.meta or {}).get("level") == "table" or "column" not in cfg.kwargs:
                raise BatchRejected(f"schema drift: {suite_name}: {label} failed: "
                                    f"{json.dumps(res.result, default=str)[:500]}")
            for i in res.result.get("unexpected_index_list") or []:
                if suite_name == "mention_brands":
                    # a bad brand row quarantines its mention
                    mid = bdf["mention_id"].iloc[int(i)]
                    for j in df.index[df["mention_id"] == mid]:
                        reasons.setdefault(int(j), []).append(label)
                else:
                    reasons.setdefault(int(i), []).append(label)
    valid, quarantined = [], []
    for i, row in enumerate(mentions):
        if i in reasons:
            quarantined.append((row, "; ".join(dict.fromkeys(reasons[i]))))
        else:
            valid.append(row)
    outcome = ValidationOutcome(valid, quarantined, summaries, [docs.index_key()] if docs else [])
    if outcome.bad_share > max_bad_share:
        top = quarantined[0][1] if quarantined else ""
        raise BatchRejected(
            f"{len(quarantined)} of {len(mentions)} rows failed validation ({outcome.bad_share:.1%} > "
            f"{max_bad_share:.0%}); first reason: {top}",
            outcome,
        )
    return outcome


#: staged columns whose Python type is checked (pandas infers one dtype per column and hides it)
_TYPED = ("native_id", "text", "published_ts", "sentiment", "engagement")


def _suite_columns(suite_json: dict[str, Any]) -> list[str]:
    """Every column a suite's expectations name (``column`` and ``column_set`` kwargs), in order."""
    out: list[str] = []
    for e in suite_json.get("expectations", []):
        kw = e.get("kwargs", {})
        for c in [kw.get("column"), *(kw.get("column_set") or [])]:
            if isinstance(c, str) and c not in out:
                out.append(c)
    return out


# ---- raw records (schema drift per source) -------------------------------------------------------------
@dataclass
class RawInput:
    source_id: str
    kind: str
    raw_key: str
    records: list[dict[str, Any]]


@dataclass
class RawOutcome:
    quarantined: list[tuple[dict[str, Any], str]] = field(default_factory=list)
    drifted: dict[str, str] = field(default_factory=dict)  # source id -> why
    items: dict[str, int] = field(default_factory=dict)  # source id -> items checked
    results: list[dict[str, Any]] = field(default_factory=list)
    docs: list[str] = field(default_factory=list)

    def quarantined_ids(self) -> set[tuple[str, str]]:
        return {(r["source_id"], r["native_id"]) for r, _why in self.quarantined}


@batch_stage
def validate_raw(inputs: list[RawInput], max_bad_share: float = 0.05, directory: Path | None = None,
                 docs: DocsTarget | None = None) -> RawOutcome:
    """Check the raw items of each source against its kind's suite; find drift and bad items."""
    import pandas as pd

    out = RawOutcome()
    frames: list[tuple[dict[str, Any], Any]] = []
    per_source: list[tuple[RawInput, list[dict[str, Any]], list[tuple[int, str]], str]] = []
    for inp in inputs:
        connector = connector_class(inp.kind)
        suite_name = connector.raw_suite
        if suite_name is None:
            continue
        items, bad_pages = connector.raw_items(inp.records)
        out.items[inp.source_id] = len(items)
        pages = sum(1 for r in inp.records if r.get("purpose") == connector.raw_page_purpose)
        for rec_no, why in bad_pages:
            out.quarantined.append(({"source_id": inp.source_id, "native_id": f"raw#{rec_no}",
                                     "raw_ref": f"{inp.raw_key}#{rec_no}", "stage": "raw"}, why))
        if pages and len(bad_pages) / pages > max_bad_share:
            out.drifted[inp.source_id] = (f"{len(bad_pages)} of {pages} raw pages of {inp.source_id} have an "
                                          f"unexpected shape: {bad_pages[0][1]}")
        per_source.append((inp, items, bad_pages, suite_name))
        if items:
            suite = load_suite(suite_name, directory)
            suite = {**suite, "name": f"{suite_name}.{inp.source_id}"}
            cols = [k for k in items[0] if k != "_item"]
            frames.append((suite, pd.DataFrame([{k: it.get(k) for k in cols} for it in items], columns=cols)))
    if not frames:
        return out
    results = run_suites(frames, {}, docs)
    if docs is not None:
        out.docs.append(docs.index_key())
    for inp, items, _bad_pages, suite_name in per_source:
        res_list = results.get(f"{suite_name}.{inp.source_id}", [])
        out.results.extend(result_summaries(f"{suite_name}.{inp.source_id}", res_list))
        reasons: dict[int, list[str]] = {}
        for res in res_list:
            label = expectation_label(res.expectation_config)
            if res.success:
                continue
            idx = res.result.get("unexpected_index_list")
            if idx is None:  # a table-level expectation: the shape itself changed
                out.drifted.setdefault(inp.source_id, f"raw {inp.kind} records of {inp.source_id}: {label} failed")
                continue
            for i in idx:
                reasons.setdefault(int(i), []).append(label)
        if items and len(reasons) / len(items) > max_bad_share:
            first = "; ".join(dict.fromkeys(next(iter(reasons.values()))))
            out.drifted.setdefault(
                inp.source_id,
                f"{len(reasons)} of {len(items)} raw {inp.kind} items of {inp.source_id} fail the schema "
                f"({len(reasons) / len(items):.0%} > {max_bad_share:.0%}): {first}")
        for i, why in sorted(reasons.items()):
            it = items[i]
            row = {"source_id": inp.source_id, "native_id": it["native_id"] or f"raw#{it['record_no']}.{i}",
                   "raw_ref": f"{inp.raw_key}#{it['record_no']}", "stage": "raw",
                   "item": json.loads(json.dumps(it["_item"], ensure_ascii=False, default=str))}
            out.quarantined.append((row, "schema: " + "; ".join(dict.fromkeys(why))))
    return out


# ---- the loaded interval -------------------------------------------------------------------------------
RECONCILE_COLUMNS = ("source_id", "status", "staged_valid", "audit_loaded", "warehouse_loaded",
                     "audit_quarantined", "warehouse_quarantined", "audit_brand_links", "warehouse_brand_links")


@batch_stage
def validate_loaded(rows: list[dict[str, Any]], sources: int, directory: Path | None = None,
                    docs: DocsTarget | None = None) -> list[dict[str, Any]]:
    """Counts of the interval in the warehouse against its audit rows (``sources`` = sources of the
    batch, one row each); raises BatchRejected on a mismatch."""
    import pandas as pd

    df = pd.DataFrame(rows, columns=list(RECONCILE_COLUMNS))
    suite = load_suite("loaded_interval", directory)
    results = run_suites([(suite, df)], {"sources": sources}, docs)[suite["name"]]
    failed = [r for r in results if not r.success]
    if failed:
        what = ", ".join(expectation_label(r.expectation_config) for r in failed)
        raise BatchRejected(f"loaded interval does not reconcile with its audit rows: {what}; counts: "
                            f"{json.dumps(rows, default=str)[:800]}")
    return result_summaries(suite["name"], results)

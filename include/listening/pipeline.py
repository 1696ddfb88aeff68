"""The steps of ``ingest_mentions``; each is a plain function a DAG task (or the CLI) calls.

Data moves between steps through the lake, and only small summaries through
XCom::

    crawl(source)  -> raw/source=<id>/date=/hour=/<interval>.jsonl.gz   (one per source, mapped)
    transform      -> staged/<interval>/transformed.jsonl.gz           parse, match, normalise, dedupe
    score          -> staged/<interval>/scored.jsonl.gz
    validate       -> staged/<interval>/validated.jsonl.gz + quarantine.jsonl.gz
    load           -> warehouse, one transaction, one etl_batch row per source
"""

from __future__ import annotations

import functools
import logging
import os
import re
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from listening.config import Config, Source
from listening.lake import Lake, raw_key, staged_key
from listening.model import Mention, Window, iso
from listening.perf import batch_stage
from listening.sources import connector_class
from listening.sources.base import Connector, Slice
from listening.sources.http import HttpClient
from listening.text import content_key, normalise

log = logging.getLogger(__name__)

TRIVIAL_REPOST = ("转发微博", "轉發微博", "repost", "转发", "轉發")


class PipelineError(RuntimeError):
    pass


@dataclass
class Settings:
    """Where things live; resolved by the caller (env vars, Airflow connections, defaults)."""

    warehouse_url: str
    lake_url: str
    s3_client_kwargs: dict[str, Any] = field(default_factory=dict)
    source_auth: dict[str, dict[str, Any]] = field(default_factory=dict)  # source id -> headers/cookies
    base_url_override: dict[str, str] = field(default_factory=dict)  # source id -> base URL


def resolve_base_url(source: Source, settings: Settings | None = None) -> str:
    if settings and source.id in settings.base_url_override:
        return settings.base_url_override[source.id]
    if source.base_url == "demo":
        url = os.environ.get("LISTENING_DEMO_URL")
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


# ---- crawl --------------------------------------------------------------------------------------------
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


# ---- transform ----------------------------------------------------------------------------------------
def _score_text(m: Mention, own_clean: str, quoted_clean: str | None = None) -> str:
    """What the model reads: the post's own words, or the original's when the repost adds none."""
    if not m.quoted_text:
        return own_clean
    core = own_clean
    for t in TRIVIAL_REPOST:
        core = core.replace(t, "")
    core = core.strip(" /:：,，.。!！")
    if len(core) >= 2 or not m.quoted_text:
        return own_clean
    return quoted_clean if quoted_clean is not None else normalise(m.quoted_text).clean


_INLINE_FLAGS = re.compile(r"^\(\?([imsx]+)\)")


@functools.lru_cache(maxsize=16)
def combined_patterns(patterns: tuple[re.Pattern[str], ...]) -> tuple[re.Pattern[str], ...]:
    """The patterns as one alternation (one scan of a text instead of one per pattern) when that is
    equivalent: no groups (their numbers would shift) and only the scoped-able flags i, m, s, x."""
    if len(patterns) < 2:
        return patterns
    parts = []
    for p in patterns:
        if p.groups:
            return patterns
        src, flags = p.pattern, ""
        m = _INLINE_FLAGS.match(src)
        if m:
            src, flags = src[m.end():], m.group(1)
        extra = p.flags & ~(re.UNICODE | re.IGNORECASE | re.MULTILINE | re.DOTALL | re.VERBOSE)
        # any other inline construct ((?i) further in, (?P...), (?#...)) is not rewritten
        if extra or "(?" in src.replace("(?:", "").replace("(?<", "").replace("(?=", "").replace("(?!", ""):
            return patterns
        for flag, letter in ((re.IGNORECASE, "i"), (re.MULTILINE, "m"), (re.DOTALL, "s"), (re.VERBOSE, "x")):
            if p.flags & flag and letter not in flags:
                flags += letter
        parts.append(f"(?{flags}:{src})" if flags else f"(?:{src})")
    try:
        return (re.compile("|".join(parts)),)
    except re.error:
        return patterns


@batch_stage
def process_mentions(config: Config, mentions: list[Mention], window: Window, windowed: bool = True,
                     unmatched_ids: list[str] | None = None) -> tuple[list[Mention], dict[str, int]]:
    """Normalise, match brands, flag spam, keep only the window (for sources that are not windowed).

    The native ids of posts that match no brand are appended to ``unmatched_ids`` when given.
    A post with no text left after normalisation is kept with an empty ``clean_text`` (the
    "no text" outcome: scored ``None``, label ``none``) and counted in ``no_text``.
    ``story_id`` is a first, exact grouping (the same core text; a repost joins its original);
    :mod:`listening.stories` refines it with near-duplicates when the interval is scored.
    """
    stats = {"parsed": len(mentions), "out_of_window": 0, "unmatched": 0, "no_text": 0}
    out: list[Mention] = []
    from listening.text import normalise_cached, query_prefilter

    brands = [(b.id, b.query, query_prefilter(b.query)) for b in config.brands]
    spam = combined_patterns(config.spam_patterns)
    for m in mentions:
        if not windowed and not window.contains(m.published_at):
            stats["out_of_window"] += 1
            continue
        own = normalise(m.text)
        quoted = normalise_cached(m.quoted_text) if m.quoted_text else None
        match_text = own.match
        if quoted is not None:
            match_text = f"{match_text} // {quoted.match}"
        if m.title:
            match_text = f"{normalise(m.title).match} {match_text}"
        matched = {}
        for bid, query, needs in brands:
            if needs is not None and not any(w in match_text for w in needs):
                continue  # none of the words this query needs: it cannot match
            terms = query.match(match_text, normalised=True)
            if terms is not None:
                matched[bid] = terms
        if not matched:
            stats["unmatched"] += 1
            if unmatched_ids is not None:
                unmatched_ids.append(m.native_id)
            continue
        m.brands = sorted(matched)
        m.matched_terms = matched
        m.clean_text = _score_text(m, own.clean, quoted.clean if quoted is not None else None)
        if not m.clean_text:
            stats["no_text"] += 1
        m.hashtags = list(own.hashtags)
        m.is_spam = any(p.search(own.display) or p.search(own.clean) for p in spam)
        m.content_hash = content_key(own.clean.casefold())
        # a repost belongs to the story of its original; identical copies share one story
        if quoted is not None and m.retweet_of:
            m.story_id = content_key(quoted.clean.casefold())
        else:
            m.story_id = m.content_hash
        out.append(m)
    return out, stats


@batch_stage
def dedupe(mentions: list[Mention]) -> tuple[list[Mention], int]:
    """Drop duplicates; returns the mentions kept (in input order) and how many were dropped.

    Tier 1: one mention per (source, native id), the most recently fetched wins.
    Tier 2: the same item under another id (the same canonical URL *and* the same content or
    title, e.g. a feed that re-publishes an entry with a new guid): the earliest published
    is kept.  The same content from different authors is not dropped: it is one story (tier 2
    of story grouping), as are near-duplicates (tier 3, :mod:`listening.stories`).
    """
    from listening.stories import url_key

    best: dict[tuple[str, str], Mention] = {}
    for m in mentions:
        k = (m.source, m.native_id)
        cur = best.get(k)
        if cur is None or (m.fetched_at or datetime.min) >= (cur.fetched_at or datetime.min):
            best[k] = m
    kept: list[Mention] = []
    seen: dict[tuple[str, str, str], Mention] = {}
    for m in sorted(best.values(), key=lambda x: (x.published_at, x.native_id)):
        url = url_key(m)
        if url:
            keys = [(m.source, url, "c:" + m.content_hash)] if m.content_hash else []
            if m.title:
                keys.append((m.source, url, "t:" + m.title.strip()))
            if any(k in seen for k in keys):
                continue
            for k in keys:
                seen.setdefault(k, m)
        kept.append(m)
    order = {id(m): i for i, m in enumerate(mentions)}
    kept.sort(key=lambda x: order[id(x)])
    return kept, len(mentions) - len(kept)


def transform(config: Config, window: Window, crawls: list[dict[str, Any]], lake: Lake,
              settings: Settings) -> dict[str, Any]:
    """Parse every crawled source's raw responses into canonical, matched, deduplicated mentions."""
    all_mentions: list[Mention] = []
    dropped: list[dict[str, str]] = []
    interactions: list[dict[str, Any]] = []
    per_source: dict[str, dict[str, Any]] = {}
    for c in crawls:
        sid = c["source"]
        st = {"parsed": 0, "out_of_window": 0, "unmatched": 0, "no_text": 0, "duplicates": 0, "problems": []}
        per_source[sid] = st
        if not c.get("raw_key"):
            continue
        source = config.source(sid)
        conn = connector_class(source.kind)(source, config, source.base_url, client=None, lake=lake)  # type: ignore[arg-type]
        records = lake.get_jsonl(c["raw_key"])
        parsed = conn.parse(records, window)
        for m in parsed.mentions:
            m.raw_ref = c["raw_key"]
        if getattr(conn, "produces_interactions", False):
            # comments and replies are interactions with a post, not mentions: every comment of the
            # window goes to fct_interaction (a brand's reply must count even if it names no brand)
            st.update(_collect_interactions(config, parsed.mentions, window, interactions))
            st["problems"] = parsed.problems[:50]
            continue
        unmatched: list[str] = []
        kept, stats = process_mentions(config, parsed.mentions, window, windowed=conn.windowed,
                                       unmatched_ids=unmatched)
        dropped.extend({"mention_id": f"{sid}:{nid}", "reason": "matches no brand"} for nid in unmatched)
        kept, dups = dedupe(kept)
        st.update(stats)
        st["duplicates"] = dups
        st["problems"] = parsed.problems[:50]
        all_mentions.extend(kept)
    key = staged_key(window, "transformed")
    lake.put_jsonl(key, (m.to_json() for m in all_mentions))
    dropped_key = staged_key(window, "dropped")
    lake.put_jsonl(dropped_key, dropped)
    out = {"key": key, "dropped_key": dropped_key, "mentions": len(all_mentions), "per_source": per_source}
    if interactions:
        out["interactions_key"] = lake.put_jsonl(staged_key(window, "interactions"), interactions)
        out["interactions"] = len(interactions)
    log.info("transform %s: %d mentions kept, %d match no brand, %d interactions", window.key,
             len(all_mentions), len(dropped), len(interactions))
    return out


def _collect_interactions(config: Config, comments: list[Mention], window: Window,
                          out: list[dict[str, Any]]) -> dict[str, int]:
    """Comments of the window, normalised and brand-matched (through their post), as canonical dicts."""
    from listening.sources.base import canonical

    stats = {"parsed": len(comments), "out_of_window": 0, "unmatched": 0, "no_text": 0, "duplicates": 0}
    seen: set[str] = set()
    todo: list[Mention] = []
    for m in comments:
        if not window.contains(m.published_at):
            stats["out_of_window"] += 1
            continue
        if m.native_id in seen:
            stats["duplicates"] += 1
            continue
        seen.add(m.native_id)
        todo.append(m)
    # one pass for all of them: process_mentions fills in the matched comments in place and leaves
    # the others as parsed (a brand's reply counts even when it names no brand)
    unmatched: list[str] = []
    process_mentions(config, todo, window, windowed=True, unmatched_ids=unmatched)
    stats["unmatched"] = len(unmatched)
    out.extend(canonical(m) for m in todo)
    return stats


# ---- score --------------------------------------------------------------------------------------------
def score(config: Config, window: Window, transformed_key: str, lake: Lake,
          model_path: str | None = None) -> dict[str, Any]:
    """Stories (near-duplicates, across intervals: :mod:`listening.stories`), then sentiment.

    Every mention gets ``sentiment`` (exactly SnowNLP's P(positive) of its clean text, from the
    fast scorer; ``None`` when there is no text), ``label`` from the configured thresholds
    (``none`` without text) and the active ``model_version``.
    """
    from listening.sentiment import Scorer
    from listening.stories import assign_interval

    mentions = [Mention.from_json(d) for d in lake.get_jsonl(transformed_key)]
    t0 = time.monotonic()
    stories = assign_interval(mentions, lake, window)
    t1 = time.monotonic()
    scorer = Scorer(model_path)
    values = scorer.score([m.clean_text for m in mentions])
    for m, v in zip(mentions, values, strict=True):
        m.sentiment = v
        m.label = config.sentiment.label(v) if v is not None else "none"
        m.model_version = scorer.model_version
    key = staged_key(window, "scored")
    lake.put_jsonl(key, (m.to_json() for m in mentions))
    secs = time.monotonic() - t0
    log.info("scored %d mentions in %.1fs (stories %.1fs) with %s", len(mentions), secs, t1 - t0,
             scorer.model_version)
    return {"key": key, "scored": sum(v is not None for v in values), "mentions": len(mentions),
            "model_version": scorer.model_version, "seconds": round(secs, 3),
            "stories": stories["stories"]}


# ---- validate -----------------------------------------------------------------------------------------
@batch_stage
def fact_rows(mentions: list[Mention], config: Config, window: Window) -> list[dict[str, Any]]:
    return [fact_row(m, config, window) for m in mentions]


def fact_row(m: Mention, config: Config, window: Window) -> dict[str, Any]:
    local = m.published_at.astimezone(config.tz)
    followers = m.author_followers or 0
    return {
        "mention_id": f"{m.source}:{m.native_id}",
        "source_id": m.source,
        "native_id": m.native_id,
        "url": m.url,
        "title": m.title,
        "text": m.text,
        "clean_text": m.clean_text,
        "published_at": iso(m.published_at),
        "published_ts": m.published_at.timestamp(),
        "date_key": local.year * 10000 + local.month * 100 + local.day,
        "hour_local": local.hour,
        "author_key": f"{m.source}:{m.author_id}" if m.author_id else None,
        "author_id": m.author_id,
        "author_name": m.author_name,
        "author_followers": m.author_followers,
        "author_verified": m.author_verified,
        "author_verified_type": m.author_verified_type,
        "reposts": m.reposts,
        "comments": m.comments,
        "likes": m.likes,
        "engagement": m.reposts + m.comments + m.likes,
        "reach": followers,
        "is_repost": m.retweet_of is not None,
        "retweet_of": m.retweet_of,
        "is_spam": m.is_spam,
        "truncated": m.truncated,
        "content_hash": m.content_hash,
        "story_id": m.story_id,
        "sentiment": m.sentiment,
        "sentiment_label": m.label or "none",
        "model_version": m.model_version,
        "interval_key": window.key,
        "raw_ref": m.raw_ref,
        "brands": {b: m.matched_terms.get(b, []) for b in m.brands},
    }


def validate(config: Config, window: Window, scored_key: str, lake: Lake) -> dict[str, Any]:
    """Run the GX gates on the raw records and the staged mentions; write the rows to load and the
    quarantined rows to the lake, and the Data Docs to ``docs/gx/<interval>/{raw,staged}/``.

    A source whose raw records drifted from their schema is returned in ``rejected_sources``
    (source id -> why) with all its rows quarantined; the others go on.  Raises
    :class:`listening.quality.BatchRejected` (after writing the quarantine file) when the batch
    must not load: the staged columns are not what the loader needs, or more than
    ``quality.max_bad_share`` of the rows are bad.
    """
    from listening.quality import (
        BatchRejected,
        DocsTarget,
        RawInput,
        docs_prefix,
        validate_batch,
        validate_raw,
    )

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


# ---- load ---------------------------------------------------------------------------------------------
def load(config: Config, window: Window, crawls: list[dict[str, Any]], transformed: dict[str, Any],
         validated: dict[str, Any] | None, lake: Lake, engine: Any, status: str = "loaded",
         error: str | None = None) -> dict[str, Any]:
    """Write one interval to the warehouse in a single transaction (see :func:`listening.loader.load`)."""
    from listening import loader

    return loader.load(config, window, crawls, transformed, validated, lake, engine, status=status, error=error)


def window_local_days(window: Window, config: Config) -> set[Any]:
    """Every local day (config timezone) the window overlaps: the marts to rebuild after a load."""
    from datetime import timedelta

    first = window.start.astimezone(config.tz).date()
    last = (window.end - timedelta(microseconds=1)).astimezone(config.tz).date()
    return {first + timedelta(days=i) for i in range((last - first).days + 1)}

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

import json
import logging
import os
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from listening.config import Config, Source
from listening.lake import Lake, raw_key, staged_key
from listening.model import Mention, Window, iso, parse_iso
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
def _score_text(m: Mention, own_clean: str) -> str:
    """What the model reads: the post's own words, or the original's when the repost adds none."""
    core = own_clean
    for t in TRIVIAL_REPOST:
        core = core.replace(t, "")
    core = core.strip(" /:：,，.。!！")
    if len(core) >= 2 or not m.quoted_text:
        return own_clean
    return normalise(m.quoted_text).clean


def process_mentions(config: Config, mentions: list[Mention], window: Window, windowed: bool = True,
                     unmatched_ids: list[str] | None = None) -> tuple[list[Mention], dict[str, int]]:
    """Normalise, match brands, flag spam, keep only the window (for sources that are not windowed).

    The native ids of posts that match no brand are appended to ``unmatched_ids`` when given.
    """
    stats = {"parsed": len(mentions), "out_of_window": 0, "unmatched": 0, "no_text": 0}
    out: list[Mention] = []
    for m in mentions:
        if not windowed and not window.contains(m.published_at):
            stats["out_of_window"] += 1
            continue
        own = normalise(m.text)
        match_text = own.match
        if m.quoted_text:
            match_text = f"{match_text} // {normalise(m.quoted_text).match}"
        if m.title:
            match_text = f"{normalise(m.title).match} {match_text}"
        matched = {}
        for b in config.brands:
            terms = b.query.match(match_text, normalised=True)
            if terms is not None:
                matched[b.id] = terms
        if not matched:
            stats["unmatched"] += 1
            if unmatched_ids is not None:
                unmatched_ids.append(m.native_id)
            continue
        m.brands = sorted(matched)
        m.matched_terms = matched
        m.clean_text = _score_text(m, own.clean)
        if not m.clean_text:
            stats["no_text"] += 1
        m.hashtags = list(own.hashtags)
        m.is_spam = any(p.search(own.display) or p.search(own.clean) for p in config.spam_patterns)
        m.content_hash = content_key(own.clean.casefold())
        # a repost belongs to the story of its original; identical copies share one story
        basis = normalise(m.quoted_text).clean if m.quoted_text and m.retweet_of else own.clean
        basis = basis.casefold()
        m.story_id = content_key(basis)
        out.append(m)
    return out, stats


def dedupe(mentions: list[Mention]) -> tuple[list[Mention], int]:
    """Tier 1: one mention per (source, native id), the most recently fetched wins."""
    best: dict[tuple[str, str], Mention] = {}
    for m in mentions:
        k = (m.source, m.native_id)
        cur = best.get(k)
        if cur is None or (m.fetched_at or datetime.min) >= (cur.fetched_at or datetime.min):
            best[k] = m
    return list(best.values()), len(mentions) - len(best)


def transform(config: Config, window: Window, crawls: list[dict[str, Any]], lake: Lake,
              settings: Settings) -> dict[str, Any]:
    """Parse every crawled source's raw responses into canonical, matched, deduplicated mentions."""
    all_mentions: list[Mention] = []
    dropped: list[dict[str, str]] = []
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
    log.info("transform %s: %d mentions kept, %d match no brand", window.key, len(all_mentions), len(dropped))
    return {"key": key, "dropped_key": dropped_key, "mentions": len(all_mentions), "per_source": per_source}


# ---- score --------------------------------------------------------------------------------------------
def score(config: Config, window: Window, transformed_key: str, lake: Lake,
          model_path: str | None = None) -> dict[str, Any]:
    from listening.sentiment import Scorer

    mentions = [Mention.from_json(d) for d in lake.get_jsonl(transformed_key)]
    t0 = time.monotonic()
    scorer = Scorer(model_path)
    values = scorer.score([m.clean_text for m in mentions])
    for m, v in zip(mentions, values, strict=True):
        m.sentiment = v
        m.label = config.sentiment.label(v) if v is not None else "none"
        m.model_version = scorer.model_version
    key = staged_key(window, "scored")
    lake.put_jsonl(key, (m.to_json() for m in mentions))
    secs = time.monotonic() - t0
    log.info("scored %d mentions in %.1fs with %s", len(mentions), secs, scorer.model_version)
    return {"key": key, "scored": sum(v is not None for v in values), "mentions": len(mentions),
            "model_version": scorer.model_version, "seconds": round(secs, 3)}


# ---- validate -----------------------------------------------------------------------------------------
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
    """Run the GX suites; write the rows to load and the quarantined rows to the lake.

    Raises :class:`listening.quality.BatchRejected` (after writing the quarantine file)
    when the batch must not load.
    """
    from listening.quality import BatchRejected, validate_batch

    rows = [fact_row(Mention.from_json(d), config, window) for d in lake.get_jsonl(scored_key)]
    brand_rows = [{"mention_id": r["mention_id"], "brand_id": b} for r in rows for b in r["brands"]]
    qkey = staged_key(window, "quarantine")
    try:
        outcome = validate_batch(
            rows, brand_rows, window,
            known_sources=[s.id for s in config.sources],
            known_brands=[b.id for b in config.brands],
            max_bad_share=config.max_bad_share,
        )
    except BatchRejected as exc:
        bad = exc.outcome.quarantined if exc.outcome else [(r, f"batch rejected: {exc}") for r in rows]
        lake.put_jsonl(qkey, ({"row": r, "reason": why} for r, why in bad))
        lake.put_jsonl(staged_key(window, "rejected"), [{"reason": str(exc), "rows": len(rows)}])
        raise
    vkey = staged_key(window, "validated")
    lake.put_jsonl(vkey, outcome.valid)
    lake.put_jsonl(qkey, ({"row": r, "reason": why} for r, why in outcome.quarantined))
    failed = [r for r in outcome.results if not r["success"]]
    log.info("validated %s: %d valid, %d quarantined; failed expectations: %s", window.key,
             len(outcome.valid), len(outcome.quarantined), failed)
    return {"key": vkey, "quarantine_key": qkey, "valid": len(outcome.valid),
            "quarantined": len(outcome.quarantined), "expectations": outcome.results}


# ---- load ---------------------------------------------------------------------------------------------
def load(config: Config, window: Window, crawls: list[dict[str, Any]], transformed: dict[str, Any],
         validated: dict[str, Any] | None, lake: Lake, engine: Any, status: str = "loaded",
         error: str | None = None) -> dict[str, Any]:
    """Write one interval to the warehouse in a single transaction (idempotent: upserts and replaces)."""
    from listening import warehouse as wh

    rows = lake.get_jsonl(validated["key"]) if validated else []
    qkey = (validated or {}).get("quarantine_key") or staged_key(window, "quarantine")
    quarantined = lake.get_jsonl(qkey) if lake.exists(qkey) else []
    dkey = transformed.get("dropped_key")
    dropped = lake.get_jsonl(dkey) if dkey and lake.exists(dkey) else []
    now = wh.now_utc()
    wh.create_schema(engine)
    loaded_per_source: dict[str, int] = {}
    q_per_source: dict[str, int] = {}
    for r in rows:
        loaded_per_source[r["source_id"]] = loaded_per_source.get(r["source_id"], 0) + 1
    for q in quarantined:
        sid = q["row"]["source_id"]
        q_per_source[sid] = q_per_source.get(sid, 0) + 1

    authors: dict[str, dict[str, Any]] = {}
    facts, bridges, days = [], [], set()
    for r in rows:
        pub = parse_iso(r["published_at"])
        local_day = pub.astimezone(config.tz).date()
        days.add(local_day)
        if r["author_key"]:
            a = authors.get(r["author_key"])
            if a is None:
                a = authors[r["author_key"]] = {
                    "author_key": r["author_key"], "source_id": r["source_id"], "author_id": r["author_id"],
                    "author_name": r["author_name"], "followers": r["author_followers"],
                    "verified": r["author_verified"], "verified_type": r["author_verified_type"],
                    "kol_tier": wh.kol_tier(r["author_followers"]), "first_seen_at": pub, "last_seen_at": pub,
                }
            else:
                a["first_seen_at"] = min(a["first_seen_at"], pub)
                if pub >= a["last_seen_at"]:
                    a.update(last_seen_at=pub, author_name=r["author_name"], followers=r["author_followers"],
                             verified=r["author_verified"], verified_type=r["author_verified_type"],
                             kol_tier=wh.kol_tier(r["author_followers"]))
        fact = {c: r.get(c) for c in wh.FACT_COLUMNS if c not in ("loaded_at", "published_at")}
        fact["published_at"] = pub
        fact["loaded_at"] = now
        facts.append(fact)
        for b, terms in r["brands"].items():
            bridges.append({"mention_id": r["mention_id"], "brand_id": b,
                            "matched_terms": json.dumps(terms, ensure_ascii=False)})

    with engine.begin() as conn:
        wh.sync_dimensions(conn, config)
        wh.ensure_dates(conn, days)
        if authors:
            # first_seen keeps the earliest ever seen; the rest follows the latest crawl
            existing = {}
            keys = list(authors)
            for i in range(0, len(keys), 500):
                part = keys[i:i + 500]
                for row in conn.execute(wh.select(wh.dim_author.c.author_key, wh.dim_author.c.first_seen_at,
                                                  wh.dim_author.c.last_seen_at)
                                        .where(wh.dim_author.c.author_key.in_(part))):
                    existing[row[0]] = (row[1], row[2])
            for k, a in authors.items():
                if k in existing:
                    first, last = (wh.model_utc(x) for x in existing[k])
                    a["first_seen_at"] = min(a["first_seen_at"], first)
                    if last > a["last_seen_at"]:
                        a["last_seen_at"] = last
            wh.upsert(conn, wh.dim_author, list(authors.values()), ["author_key"])
        # Re-processing can change a verdict: a post that no longer matches any brand (the query
        # changed) or that now fails validation must not stay in the facts from an earlier load.
        # (Posts that a re-crawl simply does not return are kept: nothing is lost.)
        gone = [d["mention_id"] for d in dropped] + [f"{q['row']['source_id']}:{q['row']['native_id']}"
                                                    for q in quarantined]
        if status == "loaded":
            for i in range(0, len(gone), 500):
                part = gone[i:i + 500]
                conn.execute(wh.delete(wh.bridge_mention_brand).where(wh.bridge_mention_brand.c.mention_id.in_(part)))
                conn.execute(wh.delete(wh.fct_mention).where(wh.fct_mention.c.mention_id.in_(part)))
        wh.upsert(conn, wh.fct_mention, facts, ["mention_id"])
        mention_ids = [f["mention_id"] for f in facts]
        for i in range(0, len(mention_ids), 500):
            conn.execute(wh.delete(wh.bridge_mention_brand)
                         .where(wh.bridge_mention_brand.c.mention_id.in_(mention_ids[i:i + 500])))
        if bridges:
            conn.execute(wh.bridge_mention_brand.insert(), bridges)
        conn.execute(wh.delete(wh.etl_quarantine).where(wh.etl_quarantine.c.interval_key == window.key))
        if quarantined:
            qrows = {}
            for q in quarantined:
                r = q["row"]
                qrows[(r["source_id"], r["native_id"])] = {
                    "interval_key": window.key, "source_id": r["source_id"], "native_id": r["native_id"],
                    "reason": q["reason"], "record": json.dumps(r, ensure_ascii=False, default=str),
                    "raw_ref": r.get("raw_ref"), "quarantined_at": now,
                }
            conn.execute(wh.etl_quarantine.insert(), list(qrows.values()))
        per_source = transformed.get("per_source", {})
        for c in crawls:
            sid = c["source"]
            st = per_source.get(sid, {})
            src_status = status
            if status == "loaded" and c["status"] == "failed":
                src_status = "failed"
            batch_id = f"{sid}/{window.key}"
            prev = conn.execute(wh.select(wh.etl_batch.c.attempts, wh.etl_batch.c.first_loaded_at)
                                .where(wh.etl_batch.c.batch_id == batch_id)).first()
            errors = list(c.get("errors") or []) + ([error] if error else []) + list(st.get("problems") or [])[:20]
            wh.upsert(conn, wh.etl_batch, [{
                "batch_id": batch_id, "source_id": sid, "interval_key": window.key,
                "window_start": window.start, "window_end": window.end,
                "status": src_status, "coverage": c["status"],
                "fetched": c.get("fetched", 0), "parsed": st.get("parsed", 0),
                "out_of_window": st.get("out_of_window", 0), "unmatched": st.get("unmatched", 0),
                "duplicates": st.get("duplicates", 0), "quarantined": q_per_source.get(sid, 0),
                "loaded": loaded_per_source.get(sid, 0) if status == "loaded" else 0,
                "errors": json.dumps(errors, ensure_ascii=False), "raw_key": c.get("raw_key"),
                "attempts": (prev[0] + 1) if prev else 1,
                "first_loaded_at": wh.model_utc(prev[1]) if prev else now, "last_loaded_at": now,
            }], ["batch_id"])
            conn.execute(wh.delete(wh.etl_coverage).where(wh.etl_coverage.c.source_id == sid,
                                                          wh.etl_coverage.c.interval_key == window.key))
            cov = [{
                "source_id": sid, "interval_key": window.key, "slice_no": i,
                "slice_start": parse_iso(s["start"]), "slice_end": parse_iso(s["end"]),
                "query": s.get("query", ""), "status": s["status"], "pages": s.get("pages", 0),
                "items": s.get("items", 0), "detail": s.get("detail", ""),
            } for i, s in enumerate(c.get("coverage") or [])]
            if cov:
                conn.execute(wh.etl_coverage.insert(), cov)
            if status == "loaded" and c.get("raw_key"):
                old = wh.get_cursor_conn(conn, sid)
                new = dict(c.get("cursor") or {})
                # a backfill never moves the cursor backwards
                if (old.get("last_window_end") and new.get("last_window_end")
                        and parse_iso(old["last_window_end"]) > parse_iso(new["last_window_end"])):
                    new = old
                wh.save_cursor(conn, sid, new)
    log.info("loaded %s: %d mentions, %d brand links, %d quarantined", window.key, len(facts), len(bridges),
             len(quarantined))
    return {"interval": window.key, "loaded": len(facts), "brand_links": len(bridges),
            "quarantined": len(quarantined), "status": status,
            "dates": sorted(d.isoformat() for d in days | window_local_days(window, config))}


def window_local_days(window: Window, config: Config) -> set[Any]:
    """Every local day (config timezone) the window overlaps: the marts to rebuild after a load."""
    from datetime import timedelta

    first = window.start.astimezone(config.tz).date()
    last = (window.end - timedelta(microseconds=1)).astimezone(config.tz).date()
    return {first + timedelta(days=i) for i in range((last - first).days + 1)}

"""The ``transform`` task: parse every crawled source's raw responses, match brands, normalise, dedupe.

    raw/...  -> staged/<interval>/transformed.jsonl.gz   mentions
             -> staged/<interval>/dropped.jsonl.gz       posts that match no brand
             -> staged/<interval>/interactions.jsonl.gz  comments and replies (comment connectors)
"""

from __future__ import annotations

import logging
from typing import Any

from listening.config import Config
from listening.core.model import Mention, Window
from listening.core.settings import Settings
from listening.lake import Lake, staged_key
from listening.mentions.dedupe import dedupe
from listening.mentions.match import collect_interactions, process_mentions
from listening.sources import connector_class

log = logging.getLogger(__name__)


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
            st.update(collect_interactions(config, parsed.mentions, window, interactions))
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

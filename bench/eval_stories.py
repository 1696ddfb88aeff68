#!/usr/bin/env python
"""How well do SimHash stories group the demo corpus?  Scored against ``include/demo/truth.jsonl.gz``.

The demo corpus (Weibo posts, RSS and Atom items) is parsed by the real connectors, matched
and normalised by :func:`listening.mentions.match.process_mentions`, deduplicated by
:func:`listening.mentions.dedupe.dedupe`, then assigned to stories one local day at a time (as the
demo drive's daily windows would, through a lake-side index) by :mod:`listening.mentions.stories`.

Truth groups: the copies of a marketing campaign (``near_dup`` items and the owned post they
copy) are one group; a repost belongs to its original's group; every other item is its own.

* ``campaign stories``: how many stories each campaign's copies landed in (1 is right);
* ``false merges``: pairs of mentions put in one story whose truth groups differ, split into
  pairs with the *same* core text (the generator writes many posts from one sentence template:
  different accounts, identical words; tier 2 groups them by design), pairs with different texts
  (what SimHash merged), and among those the pairs whose texts are really unlike (character-bigram
  Jaccard < 0.5, printed); ``impure stories``: stories that hold more than one truth group with
  different texts;
* ``missed``: truth pairs (same group) put in different stories.

    .venv/bin/python bench/eval_stories.py [--distance 3] [--ngram 3] [--min-chars 10]
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
import tempfile
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from itertools import combinations
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "include" / "demo"
SOURCE_IDS = {"weibo": "weibo", "rss": "technews", "atom": "forum"}


def demo_mentions(config: Any) -> list[Any]:
    """Every demo Weibo post and feed item as the pipeline's transform sees them (matched, deduped)."""
    from listening.core.model import Window
    from listening.mentions.dedupe import dedupe
    from listening.mentions.match import process_mentions
    from listening.sources import connector_class

    fetched = "2026-11-15T00:00:00Z"
    with gzip.open(DEMO / "weibo" / "mblogs.jsonl.gz", "rt", encoding="utf-8") as f:
        mblogs = [json.loads(line) for line in f if line.strip()]
    records = []
    for mb in mblogs:
        lt = mb.pop("_longtext", None)
        if lt:
            records.append({"purpose": "longtext", "fetched_at": fetched, "meta": {"id": mb["id"]},
                            "body": json.dumps({"ok": 1, "data": {"longTextContent": lt}}, ensure_ascii=False)})
    cards = [{"card_type": 9, "mblog": mb} for mb in mblogs]
    records.append({"purpose": "search", "fetched_at": fetched, "url": "demo", "meta": {},
                    "body": json.dumps({"ok": 1, "data": {"cards": cards}}, ensure_ascii=False)})
    feeds = {"technews": DEMO / "feeds" / "tech.xml", "forum": DEMO / "feeds" / "forum.xml"}
    window = Window(datetime(2026, 10, 31, 16, tzinfo=UTC), datetime(2026, 11, 14, 16, tzinfo=UTC))
    out = []
    for source in config.sources:
        if source.id not in SOURCE_IDS.values():
            continue  # comment connectors yield interactions, not mentions
        conn = connector_class(source.kind)(source, config, "http://demo", client=None, lake=None)
        if source.id == "weibo":
            recs = records
        else:
            recs = [{"purpose": "feed", "fetched_at": fetched, "url": "demo", "meta": {},
                     "body": feeds[source.id].read_text(encoding="utf-8")}]
        parsed = conn.parse(recs, window)
        kept, _ = process_mentions(config, parsed.mentions, window, windowed=False)
        kept, _ = dedupe(kept)
        out += kept
    return out


def truth_groups() -> dict[str, str]:
    """mention id -> truth group."""
    with gzip.open(DEMO / "truth.jsonl.gz", "rt", encoding="utf-8") as f:
        truth = [json.loads(line) for line in f if line.strip()]
    truth = [t for t in truth if t["source"] in SOURCE_IDS]
    campaigns = {t["story"] for t in truth if t["kind"] == "near_dup"}
    by_id = {t["native_id"]: t for t in truth if t["source"] == "weibo"}
    groups: dict[str, str] = {}

    def group(t: dict[str, Any]) -> str:
        if t.get("retweet_of") and t["retweet_of"] in by_id:
            return group(by_id[t["retweet_of"]])
        if t["story"] in campaigns and t["kind"] in ("near_dup", "owned"):
            return f"campaign:{t['story']}"
        return f"{SOURCE_IDS[t['source']]}:{t['native_id']}"

    for t in truth:
        groups[f"{SOURCE_IDS[t['source']]}:{t['native_id']}"] = group(t)
    return groups


def assign_daily(mentions: list[Any], config: Any, **kwargs: Any) -> None:
    """Stories one local day at a time through a lake-side index, as the daily demo windows do."""
    from listening.core.model import Window
    from listening.lake import LocalLake
    from listening.mentions.stories import assign_interval

    with tempfile.TemporaryDirectory() as tmp:
        lake = LocalLake(tmp)
        day0 = datetime(2026, 10, 31, 16, tzinfo=UTC)
        for d in range(14):
            w = Window(day0 + timedelta(days=d), day0 + timedelta(days=d + 1))
            assign_interval([m for m in mentions if w.contains(m.published_at)], lake, w, **kwargs)


def jaccard(a: str, b: str) -> float:
    """Jaccard similarity of the character-bigram sets of two core texts."""
    ga = {a[i:i + 2] for i in range(max(len(a) - 1, 1))}
    gb = {b[i:i + 2] for i in range(max(len(b) - 1, 1))}
    return len(ga & gb) / len(ga | gb) if ga | gb else 1.0


def evaluate(mentions: list[Any]) -> dict[str, Any]:
    from listening.mentions.stories import _basis, story_core

    groups = truth_groups()
    core = {f"{m.source}:{m.native_id}": story_core(_basis(m)) for m in mentions}
    by_story: dict[str, list[str]] = defaultdict(list)
    for m in mentions:
        by_story[m.story_id].append(f"{m.source}:{m.native_id}")
    by_group: dict[str, set[str]] = defaultdict(set)
    for m in mentions:
        mid = f"{m.source}:{m.native_id}"
        by_group[groups.get(mid, mid)].add(m.story_id)
    false_same = false_diff = false_unlike = 0
    impure = []
    unlike_examples = []
    for sid, members in by_story.items():
        bad = False
        for a, b in combinations(members, 2):
            if groups.get(a, a) != groups.get(b, b):
                if core[a] == core[b]:
                    false_same += 1
                else:
                    false_diff += 1
                    bad = True
                    j = jaccard(core[a], core[b])
                    if j < 0.5:
                        false_unlike += 1
                        unlike_examples.append((round(j, 2), core[a][:50], core[b][:50]))
        if bad:
            impure.append(sid)
    missed = 0
    for g, sids in by_group.items():
        if len(sids) > 1:
            members = [f"{m.source}:{m.native_id}" for m in mentions if groups.get(f"{m.source}:{m.native_id}") == g]
            counts = Counter(s for m in mentions if f"{m.source}:{m.native_id}" in set(members) for s in [m.story_id])
            n = sum(counts.values())
            missed += n * (n - 1) // 2 - sum(c * (c - 1) // 2 for c in counts.values())
    campaigns = {g: len(s) for g, s in by_group.items() if g.startswith("campaign:")}
    campaign_sizes = {g: sum(1 for m in mentions if groups.get(f"{m.source}:{m.native_id}") == g) for g in campaigns}
    return {
        "mentions": len(mentions),
        "stories": len(by_story),
        "truth_groups": len({groups.get(f"{m.source}:{m.native_id}", "") for m in mentions}),
        "campaign_stories": campaigns,
        "campaign_mentions": campaign_sizes,
        "false_merge_pairs_same_text": false_same,
        "false_merge_pairs_different_text": false_diff,
        "false_merge_pairs_unlike_text": false_unlike,
        "impure_stories": len(impure),
        "impure_examples": impure[:5],
        "unlike_examples": sorted(set(unlike_examples))[:10],
        "missed_pairs": missed,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--distance", type=int, default=None, help="max Hamming distance (default: the module's)")
    ap.add_argument("--ngram", type=int, default=None)
    ap.add_argument("--min-chars", type=int, default=None)
    ap.add_argument("--show", action="store_true", help="print the texts of impure stories")
    ap.add_argument("--baseline", action="store_true",
                    help="the exact grouping of process_mentions only (same core text), no SimHash")
    args = ap.parse_args(argv)
    from listening.config import load_config

    config = load_config(ROOT / "include" / "brands.yaml")
    mentions = demo_mentions(config)
    kwargs = {k: v for k, v in (("max_distance", args.distance), ("ngram", args.ngram),
                                ("min_core_chars", args.min_chars)) if v is not None}
    if not args.baseline:
        assign_daily(mentions, config, **kwargs)
    res = evaluate(mentions)
    print(json.dumps({k: v for k, v in res.items() if k != "impure_examples"}, ensure_ascii=False, indent=1))
    if args.show:
        for sid in res["impure_examples"]:
            print("--", sid)
            for m in mentions:
                if m.story_id == sid:
                    print("  ", m.native_id, (m.quoted_text if m.retweet_of else m.clean_text)[:90])
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Compare what the pipeline loaded with the demo corpus's ground truth (``include/demo/truth.jsonl.gz``).

Brand matching and spam flags are scored as precision / recall over (item, brand) pairs and
items; sentiment labels as agreement with the generator's intended polarity.  Used by the
``make run`` summary and by the end-to-end tests, so a change that degrades matching shows.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

from sqlalchemy import select

from listening import warehouse as wh
from listening.demo import default_data_dir

# truth "source" -> the pipeline's source id in include/brands.yaml
SOURCE_IDS = {"weibo": "weibo", "rss": "technews", "atom": "forum"}
POLARITY = {"pos": "positive", "neu": "neutral", "neg": "negative"}


def load_truth(data_dir: Path | None = None) -> list[dict[str, Any]]:
    path = (data_dir or default_data_dir()) / "truth.jsonl.gz"
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def _ratio(a: int, b: int) -> float:
    return a / b if b else 1.0


def evaluate(engine: Any, data_dir: Path | None = None, days: list[str] | None = None) -> dict[str, Any]:
    """Scores over the truth items (of the given local days, ISO dates, when ``days`` is set)."""
    truth = [t for t in load_truth(data_dir) if t["source"] in SOURCE_IDS
             and (days is None or t["created_at"][:10] in days)]
    with engine.connect() as conn:
        facts = {r.mention_id: r for r in conn.execute(
            select(wh.fct_mention.c.mention_id, wh.fct_mention.c.is_spam, wh.fct_mention.c.sentiment_label))}
        links: dict[str, set[str]] = {}
        for mid, brand in conn.execute(select(wh.bridge_mention_brand.c.mention_id,
                                              wh.bridge_mention_brand.c.brand_id)):
            links.setdefault(mid, set()).add(brand)
    tp = fp = fn = 0
    spam_tp = spam_fp = spam_fn = 0
    agree = scored = 0
    for t in truth:
        mid = f"{SOURCE_IDS[t['source']]}:{t['native_id']}"
        want = set(t.get("brands") or []) if t["kind"] != "irrelevant" else set()
        got = links.get(mid, set())
        tp += len(want & got)
        fp += len(got - want)
        fn += len(want - got)
        is_spam = t["kind"] == "spam"
        row = facts.get(mid)
        flagged = bool(row and row.is_spam)
        spam_tp += is_spam and flagged
        spam_fp += flagged and not is_spam
        spam_fn += is_spam and not flagged and bool(want)
        if row is not None and not is_spam and want and row.sentiment_label in POLARITY.values():
            scored += 1
            agree += row.sentiment_label == POLARITY.get(t.get("polarity", ""), "")
    return {
        "items": len(truth),
        "brand_precision": round(_ratio(tp, tp + fp), 4),
        "brand_recall": round(_ratio(tp, tp + fn), 4),
        "false_brand_links": fp,
        "missed_brand_links": fn,
        "spam_precision": round(_ratio(spam_tp, spam_tp + spam_fp), 4),
        "spam_recall": round(_ratio(spam_tp, spam_tp + spam_fn), 4),
        "sentiment_agreement": round(_ratio(agree, scored), 4),
        "sentiment_compared": scored,
    }

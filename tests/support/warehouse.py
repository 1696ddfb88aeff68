"""Validated fact rows and the load task on them: the helpers of the warehouse, marts, sales and gate tests.

``mention`` builds a row exactly as validate writes it; ``load_rows`` stages rows in a lake and
loads them like the load task does.  HOUR and DAY are the usual intervals.
"""

from __future__ import annotations

from datetime import UTC, datetime

from listening.core.model import Mention, Window
from listening.lake import staged_key
from listening.pipeline.load import load
from listening.warehouse.load import fact_row

HOUR = Window.parse("2026-11-01T00:00:00Z", "2026-11-01T01:00:00Z")  # 08:00-09:00 in Shanghai
DAY = Window.parse("2026-10-31T16:00:00Z", "2026-11-01T16:00:00Z")  # the local day 2026-11-01


def mention(config, window, nid: str, at: datetime, brands: dict[str, list[str]], *, author: str | None = "a1",
            followers: int = 1000, label: str = "neutral", sentiment: float | None = 0.5, spam: bool = False,
            source: str = "weibo", text_: str = "极光X5 不错", likes: int = 0, author_name: str | None = None) -> dict:
    """A validated row, exactly as validate writes it (fact_row)."""
    m = Mention(source=source, native_id=nid, url=f"https://example.com/{nid}", text=text_,
                published_at=at.astimezone(UTC), author_id=author, author_name=author_name or author,
                author_followers=followers, likes=likes)
    m.brands = sorted(brands)
    m.matched_terms = brands
    m.clean_text = text_
    m.content_hash = f"h{nid}"
    m.story_id = f"s{nid}"
    m.is_spam = spam
    m.sentiment = sentiment
    m.label = label
    m.model_version = "test"
    m.raw_ref = f"raw/source={source}/x.jsonl.gz"
    return fact_row(m, config, window)


def crawl(source: str = "weibo", status: str = "complete") -> dict:
    return {"source": source, "kind": "weibo_search", "raw_key": f"raw/source={source}/x.jsonl.gz", "fetched": 1,
            "pages": 1, "status": status, "errors": [], "cursor": {},
            "coverage": [{"start": "2026-11-01T00:00:00Z", "end": "2026-11-01T01:00:00Z", "status": status,
                          "pages": 1, "items": 1, "detail": "", "query": "极光"}]}


def load_rows(config, engine, lake, window, rows, *, quarantined=(), dropped=(), sources=("weibo",),
              status="loaded", reconcile=True) -> dict:
    """Put the staged files of an interval in the lake and load them like the load task does."""
    vkey, qkey, dkey = (staged_key(window, s) for s in ("validated", "quarantine", "dropped"))
    lake.put_jsonl(vkey, rows)
    lake.put_jsonl(qkey, ({"row": r, "reason": why} for r, why in quarantined))
    lake.put_jsonl(dkey, ({"mention_id": m, "reason": "matches no brand"} for m in dropped))
    per_source: dict[str, int] = {}
    for r in rows:
        per_source[r["source_id"]] = per_source.get(r["source_id"], 0) + 1
    validated = {"key": vkey, "quarantine_key": qkey, "valid_per_source": per_source} if status == "loaded" else None
    transformed = {"dropped_key": dkey, "per_source": {s: {"parsed": per_source.get(s, 0)} for s in sources}}
    return load(config, window, [crawl(s) for s in sources], transformed, validated, lake, engine,
                       status=status, reconcile=reconcile)


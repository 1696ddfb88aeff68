"""Dedupe tiers 1 and 2: drop the rows that are the same item (tier 3, near-duplicates, groups them
into stories instead: :mod:`listening.mentions.stories`)."""

from __future__ import annotations

from datetime import datetime

from listening.core.model import Mention
from listening.core.perf import batch_stage
from listening.mentions.stories import url_key


@batch_stage
def dedupe(mentions: list[Mention]) -> tuple[list[Mention], int]:
    """Drop duplicates; returns the mentions kept (in input order) and how many were dropped.

    Tier 1: one mention per (source, native id), the most recently fetched wins.
    Tier 2: the same item under another id (the same canonical URL *and* the same content or
    title, e.g. a feed that re-publishes an entry with a new guid): the earliest published
    is kept.  The same content from different authors is not dropped: it is one story (tier 2
    of story grouping), as are near-duplicates (tier 3, :mod:`listening.mentions.stories`).
    """
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

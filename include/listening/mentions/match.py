"""Normalise, match brands, flag spam: what makes a parsed post a mention of a brand.

``story_id`` set here is a first, exact grouping (the same core text; a repost joins its
original); :mod:`listening.mentions.stories` refines it with near-duplicates when the interval is scored.
"""

from __future__ import annotations

import functools
import re
from typing import Any

from listening.config import Config
from listening.core.model import Mention, Window
from listening.core.perf import batch_stage
from listening.core.text import content_key, normalise, normalise_cached, query_prefilter
from listening.sources.base import canonical

TRIVIAL_REPOST = ("转发微博", "轉發微博", "repost", "转发", "轉發")


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
    :mod:`listening.mentions.stories` refines it with near-duplicates when the interval is scored.
    """
    stats = {"parsed": len(mentions), "out_of_window": 0, "unmatched": 0, "no_text": 0}
    out: list[Mention] = []
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


def collect_interactions(config: Config, comments: list[Mention], window: Window,
                          out: list[dict[str, Any]]) -> dict[str, int]:
    """Comments of the window, normalised and brand-matched (through their post), as canonical dicts."""
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

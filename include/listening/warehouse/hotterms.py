"""Hot terms: per brand and local day, the terms most mentioned, and how that compares with the week before.

``build(engine, config, start_key, end_key)`` rebuilds ``mart_hot_terms`` (columns ``date_key``,
``brand_id``, ``term``, ``count``, ``rank``, ``trailing_7d_avg``, ``change``, ``built_at``) for the
local days ``start_key`` .. ``end_key`` (``YYYYMMDD``, inclusive), in one transaction:

* the text is ``fct_mention.clean_text`` (Simplified, no links, handles or emoji), spam excluded,
  each mention counted for every brand it matched (``bridge_mention_brand``);
* terms come from jieba (precise mode); kept: words of two or more characters with a letter,
  not a stop word (SnowNLP's list plus ``include/stopwords_zh.txt``: fillers, Weibo boilerplate,
  generic shopping words) and not the brand's own name (its id, name and search keywords, and
  any word containing them: every post of the brand has those);
* ``count`` is the number of mentions that day containing the term (a term repeated in one post
  counts once); ``trailing_7d_avg`` the mean daily count over the seven days before (days without
  it count as 0); ``change`` = ``count / trailing_7d_avg - 1`` (NULL when the term was absent
  that week: a new term);
* ``rank`` 1..``top_n`` (20) by count, then by change, then by term.

Each distinct text is tokenised once per build (reposts share their original's text).
"""

from __future__ import annotations

import logging
import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from datetime import timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import and_, delete, func, select
from sqlalchemy.engine import Connection, Engine

from listening.config import Config
from listening.core.model import date_key, key_to_date
from listening.core.settings import project_root
from listening.warehouse.engine import now_utc
from listening.warehouse.schema import bridge_mention_brand, fct_mention, mart_hot_terms

log = logging.getLogger(__name__)

TOP_N = 20
TRAILING_DAYS = 7
_HAS_LETTER = re.compile(r"[^\W\d_]")
_MAX_TERM = 100  # mart_hot_terms.term is String(100)
# words jieba's dictionary cuts in two that matter in social listening
_EXTRA_WORDS = ("双十一", "双11", "以旧换新", "国补", "鼓包", "掉帧", "发烫", "翻车", "种草", "拔草", "避雷", "智商税")


@lru_cache(maxsize=1)
def stopwords() -> frozenset[str]:
    """SnowNLP's stop words plus the project's (``include/stopwords*.txt``), case folded."""
    import importlib.util

    words: set[str] = set()
    spec = importlib.util.find_spec("snownlp")
    paths = []
    if spec and spec.submodule_search_locations:
        paths.append(Path(next(iter(spec.submodule_search_locations))) / "normal" / "stopwords.txt")
    paths += sorted((project_root() / "include").glob("stopwords*.txt"))
    for p in paths:
        try:
            text = p.read_text(encoding="utf-8")
        except OSError:
            continue
        words.update(w.strip().casefold() for w in text.splitlines() if w.strip() and not w.startswith("#"))
    return frozenset(words)


@lru_cache(maxsize=1)
def _tokenizer() -> Any:
    import jieba

    jieba.setLogLevel(logging.WARNING)
    tok = jieba.Tokenizer()
    tok.initialize()
    for word in _EXTRA_WORDS:
        tok.add_word(word)
    return tok


def brand_words(config: Config) -> dict[str, tuple[str, ...]]:
    """Per brand, the words every one of its mentions contains (excluded from its hot terms)."""
    out = {}
    for b in config.brands:
        words = {b.id, b.name, *b.search_keywords}
        out[b.id] = tuple(sorted({w.casefold().strip() for w in words if w.strip()}))
    return out


def terms_of(text: str, stop: frozenset[str] | None = None) -> set[str]:
    """The distinct candidate terms of one text."""
    stop = stopwords() if stop is None else stop
    out = set()
    for w in _tokenizer().lcut(text):
        w = w.strip().casefold()
        if len(w) < 2 or len(w) > _MAX_TERM or w in stop or not _HAS_LETTER.search(w):
            continue
        out.add(w)
    return out


def day_counts(rows: Iterable[tuple[int, str, str]], config: Config) -> dict[tuple[int, str], Counter[str]]:
    """``(date_key, brand_id, clean_text)`` rows -> per (day, brand) the number of mentions per term."""
    stop = stopwords()
    excluded = brand_words(config)
    cache: dict[str, frozenset[str]] = {}
    counts: dict[tuple[int, str], Counter[str]] = defaultdict(Counter)
    for day, brand, text in rows:
        if not text:
            continue
        terms = cache.get(text)
        if terms is None:
            terms = cache[text] = frozenset(terms_of(text, stop))
        own = excluded.get(brand, ())
        counts[(day, brand)].update(t for t in terms if not any(w in t for w in own))
    return counts


def hot_terms(counts: dict[tuple[int, str], Counter[str]], start_key: int, end_key: int,
              top_n: int = TOP_N) -> list[dict[str, Any]]:
    """Mart rows for the days in [start_key, end_key] from per-day counts (which include the week before)."""
    rows = []
    for (day, brand), counter in sorted(counts.items()):
        if not start_key <= day <= end_key or not counter:
            continue
        d = key_to_date(day)
        prev = [counts.get((date_key(d - timedelta(days=i)), brand)) for i in range(1, TRAILING_DAYS + 1)]
        scored = []
        for term, n in counter.items():
            avg = sum(p.get(term, 0) for p in prev if p) / TRAILING_DAYS
            change = (n / avg - 1.0) if avg > 0 else None
            scored.append((term, n, avg, change))
        scored.sort(key=lambda x: (-x[1], -(x[3] if x[3] is not None else float("inf")), x[0]))
        for rank, (term, n, avg, change) in enumerate(scored[:top_n], start=1):
            rows.append({"date_key": day, "brand_id": brand, "term": term, "count": n, "rank": rank,
                         "trailing_7d_avg": round(avg, 6), "change": round(change, 6) if change is not None else None})
    return rows


def build(engine: Engine | Connection, config: Config, start_key: int | None = None, end_key: int | None = None,
          top_n: int = TOP_N) -> int:
    """Rebuild ``mart_hot_terms`` for local days [start_key, end_key] (every day with mentions when None).

    ``engine`` may also be a ``Connection`` inside the caller's transaction (``build_marts`` rebuilding
    every mart in one transaction); with an ``Engine`` the rebuild is its own transaction.
    """
    if isinstance(engine, Connection):
        return _build(engine, config, start_key, end_key, top_n)
    with engine.begin() as conn:
        return _build(conn, config, start_key, end_key, top_n)


def _build(conn: Connection, config: Config, start_key: int | None, end_key: int | None, top_n: int) -> int:
    table = mart_hot_terms
    f, b = fct_mention, bridge_mention_brand
    lo = 0 if start_key is None else start_key
    hi = 99991231 if end_key is None else end_key
    first_day, last_day = conn.execute(select(func.min(f.c.date_key), func.max(f.c.date_key))).one()
    conn.execute(delete(table).where(table.c.date_key.between(lo, hi)))
    if first_day is None or hi < first_day or lo > last_day:
        return 0
    start, end = max(lo, first_day), min(hi, last_day)
    first = date_key(key_to_date(start) - timedelta(days=TRAILING_DAYS))
    q = (select(f.c.date_key, b.c.brand_id, f.c.clean_text)
         .join(b, b.c.mention_id == f.c.mention_id)
         .where(and_(f.c.date_key.between(first, end), f.c.is_spam.is_(False))))
    counts = day_counts(conn.execute(q), config)
    rows = hot_terms(counts, start, end, top_n)
    now = now_utc()
    for r in rows:
        r["built_at"] = now
    for i in range(0, len(rows), 2000):
        conn.execute(table.insert(), rows[i:i + 2000])
    log.info("mart_hot_terms %s..%s: %d rows", start, end, len(rows))
    return len(rows)

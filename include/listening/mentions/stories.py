"""Stories: copies and near-copies of a post grouped under one ``story_id`` (dedupe tier 3).

Dedupe has three tiers (tiers 1 and 2 drop rows in :func:`listening.mentions.dedupe.dedupe`):

1. ``source`` + native id: the same post fetched twice is one mention (the other is dropped);
2. the canonical URL (:func:`url_key`) with the same content or title: the same item under another
   id is dropped; the same *core text* (:func:`story_core`: clean text, case folded, letters and
   digits only) from other accounts, or the same URL in another source, is one story;
3. near-duplicates: a 64-bit SimHash of the character bigrams of the core text; a post whose
   fingerprint is within ``MAX_DISTANCE`` (7) bits of an earlier one joins that post's story.
   A multi-index makes this fast and exact: the 64 bits are cut into ``k + 2`` blocks, two
   fingerprints within ``k`` bits agree on at least two blocks, so every pair of blocks is a table
   (36 for k = 7) and the candidates are the fingerprints sharing a table key
   (:func:`nearest_earlier`, vectorised with numpy).  Texts with fewer than ``MIN_CORE_CHARS`` (10)
   core characters only join a story by exact text: their SimHash says little.

Why bigrams and 7 bits (``bench/eval_stories.py`` on the demo corpus and its truth): the copies of
the demo's marketing campaigns differ by a prefix, a swapped word, punctuation or an emoticon;
64-bit SimHash puts such copies of a 60-character post 5 to 17 bits apart (median 5), while
unrelated posts sit about 30 bits apart.  With trigrams and 3 bits the 31-post campaign split into
15 stories; with bigrams and 7 bits both campaigns are one story each (nothing missed), and the
merges of really different texts (bigram Jaccard < 0.5) are 4 pairs among 3,517 mentions (the other
merged pairs are the generator's template posts: the same sentence from different accounts).

A repost belongs to its original's story (found by id when the original is known, else by the
quoted original's text).  Each mention keeps the raw volume; the marts count
``COUNT(DISTINCT story_id)`` as unique stories.

**Story ids are stable.** A story's id is the mention id of the earliest member known when the
story was founded (``weibo:5110000694610550``; ``sha1:...`` when the id is longer than 64
characters), and it never changes afterwards.  Intervals are processed one at a time, so each
interval's assignments are kept in the lake under ``state/stories/date=YYYY-MM-DD/<interval>.json.gz``
(one compact object per interval: mention ids, story ids, fingerprints, content keys, canonical
URLs, times); the next interval loads the ones within ``LOOKBACK`` (7 days) of its window first.  A
re-run of an interval finds its own earlier assignments, so it gives the same ids.  (Two intervals
processed at the same moment do not see each other; ``ingest_mentions`` runs one at a time.)
"""

from __future__ import annotations

import gzip
import hashlib
import json
import logging
import re
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from itertools import combinations
from typing import Any

import numpy as np

from listening.core.perf import batch_stage
from listening.core.text import canonical_url, normalise_cached

log = logging.getLogger(__name__)

NGRAM = 2
MAX_DISTANCE = 7
MIN_CORE_CHARS = 10  # shorter texts only join a story by exact content (their SimHash is noise)
LOOKBACK = timedelta(days=7)
STATE_PREFIX = "state/stories"
_NON_WORD_RE = re.compile(r"[\W_]+")
_PAD = "\U0010ffff"  # a noncharacter: pads texts shorter than the n-gram
_GRAMS_PER_CHUNK = 400_000
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
# nibble value -> its 4 bits spread into four 16-bit lanes
_NIBBLE_LANES = np.array([sum(((v >> j) & 1) << (16 * j) for j in range(4)) for v in range(16)], np.uint64)


def story_core(text: str | None) -> str:
    """Case-folded text without punctuation, symbols, spaces or control characters (letters and digits)."""
    return _NON_WORD_RE.sub("", text.casefold()) if text else ""


def core_key(core: str) -> str:
    return hashlib.sha1(core.encode("utf-8")).hexdigest()[:16]


def story_id_for(mention_id: str) -> str:
    """A story founded by ``mention_id`` is called after it (hashed when it would not fit 64 chars)."""
    if len(mention_id) <= 64:
        return mention_id
    return "sha1:" + hashlib.sha1(mention_id.encode("utf-8")).hexdigest()


def _splitmix64(z: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        z = z + _GOLDEN
        z = (z ^ (z >> np.uint64(30))) * _M1
        z = (z ^ (z >> np.uint64(27))) * _M2
        return z ^ (z >> np.uint64(31))


def simhash(cores: Sequence[str], n: int = NGRAM) -> np.ndarray:
    """64-bit SimHash per text over its character ``n``-grams (each gram counted once per occurrence).

    Vectorised over the batch; the gram hash is SplitMix64 of the gram's code points, so a
    fingerprint is the same in every process and on every machine.  Empty text gives 0.
    """
    out = np.zeros(len(cores), np.uint64)
    lens = np.fromiter(map(len, cores), np.int64, len(cores))
    ngrams = np.where(lens > 0, np.maximum(lens - n + 1, 1), 0)
    done = np.cumsum(ngrams)
    i = 0
    while i < len(cores):
        # a chunk of texts with about _GRAMS_PER_CHUNK grams (at least one text)
        before = int(done[i - 1]) if i else 0
        j = max(i + 1, int(np.searchsorted(done, before + _GRAMS_PER_CHUNK, side="right")))
        _simhash_chunk(cores[i:j], lens[i:j], ngrams[i:j], n, out[i:j])
        i = j
    return out


def _simhash_chunk(cores: Sequence[str], lens: np.ndarray, ngrams: np.ndarray, n: int, out: np.ndarray) -> None:
    pad = _PAD * (n - 1)
    text = pad.join(cores) + pad
    cps = np.frombuffer(text.encode("utf-32-le"), np.uint32).astype(np.uint64)
    starts = np.zeros(len(cores), np.int64)
    np.cumsum(lens[:-1] + (n - 1), out=starts[1:])
    total = int(ngrams.sum())
    if total == 0:
        return
    first = np.zeros(len(cores), np.int64)
    np.cumsum(ngrams[:-1], out=first[1:])
    pos = np.repeat(starts - first, ngrams) + np.arange(total)
    g = cps[pos]
    for k in range(1, n):
        if k < 3:
            g = (g << np.uint64(21)) | cps[pos + k]
        else:  # longer grams: mix instead of packing (63 bits hold three code points)
            g = _splitmix64(g) ^ cps[pos + k]
    h = _splitmix64(g)
    has = ngrams > 0
    starts_has = first[has]
    half = ngrams[has].astype(np.uint64)
    fp = np.zeros(int(has.sum()), np.uint64)
    # per text and bit, how many grams set it: 4 bits at a time, each in its own 16-bit lane of a
    # uint64 (a text has < 65,536 grams), summed per text with one 1-D reduceat per nibble
    for nib in range(16):
        lanes = _NIBBLE_LANES[(h >> np.uint64(4 * nib)) & np.uint64(0xF)]
        sums = np.add.reduceat(lanes, starts_has)
        for j in range(4):
            cnt = (sums >> np.uint64(16 * j)) & np.uint64(0xFFFF)
            fp |= (cnt * np.uint64(2) > half).astype(np.uint64) << np.uint64(4 * nib + j)
    out[has] = fp


def hamming(a: int, b: int) -> int:
    return (a ^ b).bit_count()


def _block_tables(max_distance: int) -> list[tuple[int, int, int, int, int]]:
    """Multi-index tables for Hamming distance <= k: 64 bits in k + 2 blocks; two fingerprints within
    k differ in at most k blocks, so they agree on at least two, and every pair of blocks is a table.
    Each entry: (shift_a, mask_a, shift_b, mask_b, width_a)."""
    nb = max_distance + 2
    widths = [64 // nb + (1 if b < 64 % nb else 0) for b in range(nb)]
    shifts = [sum(widths[:b]) for b in range(nb)]
    return [(shifts[a], (1 << widths[a]) - 1, shifts[b], (1 << widths[b]) - 1, widths[a])
            for a, b in combinations(range(nb), 2)]


def nearest_earlier(fps: np.ndarray, queries: np.ndarray, max_distance: int,
                    cap: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """For each position in ``queries`` (sorted), the nearest fingerprint at a *smaller* position of
    ``fps`` within ``max_distance`` bits (ties: the smallest position), or -1; and its distance.

    ``fps`` is in processing order (older first); 0 means "no fingerprint".  Candidates come from
    the multi-index tables of :func:`_block_tables`, so no pair within the distance is missed,
    except inside a bucket of more than ``cap`` earlier fingerprints, where only the ``cap``
    closest in order are compared (a flood of near-identical posts: they are found anyway).
    """
    m = len(fps)
    best = np.full(len(queries), -1, np.int64)
    best_d = np.full(len(queries), 64, np.int64)
    if m == 0 or len(queries) == 0:
        return best, best_d
    has = fps != 0
    is_query = np.zeros(m, bool)
    is_query[queries] = True
    pos = np.flatnonzero(has)
    f = fps[pos]
    rows_all, cols_all, d_all = [], [], []
    for sa, ma, sb, mb, wa in _block_tables(max_distance):
        key = ((f >> np.uint64(sa)) & np.uint64(ma)) | (((f >> np.uint64(sb)) & np.uint64(mb)) << np.uint64(wa))
        if (ma << wa | mb) < 1 << 16:
            key = key.astype(np.uint16)  # a radix sort
        order = np.argsort(key, kind="stable")  # stable: equal keys stay in processing order
        k_sorted = key[order]
        p_sorted = pos[order]
        new_run = np.empty(len(order), bool)
        new_run[0] = True
        np.not_equal(k_sorted[1:], k_sorted[:-1], out=new_run[1:])
        run_start = np.maximum.accumulate(np.where(new_run, np.arange(len(order)), 0))
        qsel = np.flatnonzero(is_query[p_sorted])
        cnt = np.minimum(qsel - run_start[qsel], cap)
        keep = cnt > 0
        qsel, cnt = qsel[keep], cnt[keep]
        if not len(qsel):
            continue
        total = int(cnt.sum())
        rows = np.repeat(qsel, cnt)
        first = np.repeat(qsel - cnt, cnt)
        offs = np.arange(total) - np.repeat(np.cumsum(cnt) - cnt, cnt)
        cols = first + offs
        r, c = p_sorted[rows], p_sorted[cols]
        d = np.bitwise_count(fps[r] ^ fps[c]).astype(np.int64)
        ok = d <= max_distance
        rows_all.append(r[ok])
        cols_all.append(c[ok])
        d_all.append(d[ok])
    if not rows_all:
        return best, best_d
    r = np.concatenate(rows_all)
    c = np.concatenate(cols_all)
    d = np.concatenate(d_all)
    if not len(r):
        return best, best_d
    o = np.lexsort((c, d, r))  # per query: smallest distance, then earliest
    r, c, d = r[o], c[o], d[o]
    head = np.ones(len(r), bool)
    head[1:] = r[1:] != r[:-1]
    qi = np.searchsorted(queries, r[head])
    best[qi] = c[head]
    best_d[qi] = d[head]
    return best, best_d


@dataclass
class Assignment:
    mention_id: str
    story_id: str
    fingerprint: int
    key: str
    url: str
    ts: float
    how: str  # known | repost | url | exact | near | new | empty


class StoryIndex:
    """The mentions already assigned (ids, fingerprints, exact keys, URLs) with their story ids."""

    def __init__(self, max_distance: int = MAX_DISTANCE, min_core_chars: int = MIN_CORE_CHARS,
                 ngram: int = NGRAM):
        if not 0 <= max_distance <= 14:
            raise ValueError("max_distance must be in 0..14")
        self.max_distance = max_distance
        self.min_core_chars = min_core_chars
        self.ngram = ngram
        self._fp = np.zeros(0, np.uint64)
        self._fp_story: list[str] = []
        self._ts = np.zeros(0, np.float64)
        self.by_mention: dict[str, str] = {}
        self.by_key: dict[str, str] = {}
        self.by_url: dict[str, str] = {}
        self._log: deque[tuple[float, str, str, str]] = deque()  # (ts, mention id, key, url), oldest first

    def __len__(self) -> int:
        return len(self.by_mention)

    def _extend(self, entries: Sequence[tuple[str, str, int, str, str, float]]) -> None:
        fps = []
        log_ = self._log
        for mid, sid, fp, key, url, ts in entries:
            if mid not in self.by_mention:
                log_.append((ts, mid, key, url))
            self.by_mention.setdefault(mid, sid)
            if key:
                self.by_key.setdefault(key, sid)
            if url:
                self.by_url.setdefault(url, sid)
            if fp:
                fps.append((fp, sid, ts))
        if fps:
            self._fp = np.concatenate([self._fp, np.fromiter((f for f, _, _ in fps), np.uint64, len(fps))])
            self._fp_story += [s for _, s, _ in fps]
            self._ts = np.concatenate([self._ts, np.fromiter((t for _, _, t in fps), np.float64, len(fps))])

    def forget_before(self, ts: float) -> None:
        """Forget the mentions published before ``ts`` (epoch seconds): a long stream keeps a bounded index."""
        log_ = self._log
        while log_ and log_[0][0] < ts:
            _t, mid, key, url = log_.popleft()
            self.by_mention.pop(mid, None)
            if key:
                self.by_key.pop(key, None)
            if url:
                self.by_url.pop(url, None)
        keep = self._ts >= ts
        if not keep.all():
            self._fp = self._fp[keep]
            self._ts = self._ts[keep]
            self._fp_story = [s for s, k in zip(self._fp_story, keep.tolist(), strict=True) if k]

    @batch_stage
    def assign(self, mentions: Iterable[Any]) -> list[Assignment]:
        """Set ``story_id`` on each mention and index them; returns the decisions, oldest first.

        Each mention, oldest first, joins: the story it already has in the index (a re-run); its
        original's (a repost); the story of the same canonical URL; of the same core text; of the
        nearest earlier fingerprint within ``max_distance``; or founds a new story named after it.
        """
        ordered = sorted(mentions, key=lambda m: (m.published_at, m.source, m.native_id))
        q = len(ordered)
        cores = [story_core(_basis(m)) for m in ordered]
        fps = simhash(cores, self.ngram)
        n0 = len(self._fp)
        fixed: list[str | None] = [None] * q
        parent = [-1] * q
        how = ["new"] * q
        mids = [f"{m.source}:{m.native_id}" for m in ordered]
        keys = [core_key(c) if c else "" for c in cores]
        urls = [url_key(m) for m in ordered]
        first_pos: dict[str, int] = {}
        first_key: dict[str, int] = {}
        first_url: dict[str, int] = {}
        near_query = []
        searchable = np.zeros(q, bool)
        for i, m in enumerate(ordered):
            mid, key, url, core = mids[i], keys[i], urls[i], cores[i]
            long_core = len(core) >= self.min_core_chars
            if key and long_core and key not in first_key:
                searchable[i] = True
            orig = f"{m.source}:{m.retweet_of}" if m.retweet_of else None
            if mid in self.by_mention:
                fixed[i], how[i] = self.by_mention[mid], "known"
            elif orig and orig in self.by_mention:
                fixed[i], how[i] = self.by_mention[orig], "repost"
            elif orig and orig in first_pos:
                parent[i], how[i] = first_pos[orig], "repost"
            elif url and url in self.by_url:
                fixed[i], how[i] = self.by_url[url], "url"
            elif url and url in first_url:
                parent[i], how[i] = first_url[url], "url"
            elif key and key in self.by_key:
                fixed[i], how[i] = self.by_key[key], "exact"
            elif key and key in first_key:
                parent[i], how[i] = first_key[key], "exact"
            elif long_core:
                near_query.append(i)
            elif not core:
                how[i] = "empty"
            first_pos.setdefault(mid, i)
            if key:
                first_key.setdefault(key, i)
            if url:
                first_url.setdefault(url, i)
        if near_query:
            all_fp = np.concatenate([self._fp, np.where(searchable, fps, np.uint64(0))])
            queries = np.asarray(near_query, np.int64) + n0
            found, _ = nearest_earlier(all_fp, queries, self.max_distance)
            for i, j in zip(near_query, found.tolist(), strict=True):
                if j < 0:
                    continue
                how[i] = "near"
                if j < n0:
                    fixed[i] = self._fp_story[j]
                else:
                    parent[i] = j - n0
        stories: list[str] = []
        out = []
        fp_list = fps.tolist()
        for i, m in enumerate(ordered):
            sid = fixed[i] or (stories[parent[i]] if parent[i] >= 0 else story_id_for(mids[i]))
            stories.append(sid)
            m.story_id = sid
            fp = fp_list[i] if searchable[i] else 0
            out.append(Assignment(mids[i], sid, fp, keys[i], urls[i], m.published_at.timestamp(), how[i]))
        self._extend([(a.mention_id, a.story_id, a.fingerprint, a.key, a.url, a.ts) for a in out])
        return out

    # ---- persistence (one compact object per interval) ------------------------------------------
    @staticmethod
    def encode(assignments: Sequence[Assignment]) -> bytes:
        doc = {
            "v": 1,
            "m": [a.mention_id for a in assignments],
            "s": [a.story_id for a in assignments],
            "f": [format(a.fingerprint, "x") for a in assignments],
            "k": [a.key for a in assignments],
            "u": [a.url for a in assignments],
            "t": [a.ts for a in assignments],
        }
        return gzip.compress(json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode("utf-8"), mtime=0)

    def load(self, data: bytes) -> int:
        doc = json.loads(gzip.decompress(data))
        self._extend([(mid, sid, int(fp, 16), key, url, ts) for mid, sid, fp, key, url, ts
                      in zip(doc["m"], doc["s"], doc["f"], doc["k"], doc["u"], doc["t"], strict=True)])
        return len(doc["m"])


def url_key(m: Any) -> str:
    """The canonical URL of a mention when it can tell two items apart (tier 2), else ``""``.

    A repost has no URL of its own worth comparing; a URL that contains the native id (a Weibo
    status URL, a feed entry whose guid is its link) is already unique per item (tier 1).
    """
    if m.retweet_of or not m.url or (len(m.native_id) >= 6 and m.native_id in m.url):
        return ""
    return canonical_url(m.url)


def _basis(m: Any) -> str:
    """The text a mention's story is recognised by: the original's for a repost, else its own."""
    if m.retweet_of and m.quoted_text:
        return normalise_cached(m.quoted_text).clean
    return m.clean_text or ""


def state_key(window: Any) -> str:
    return f"{STATE_PREFIX}/date={window.start:%Y-%m-%d}/{window.key}.json.gz"


def load_index(lake: Any, window: Any, lookback: timedelta = LOOKBACK, **kwargs: Any) -> StoryIndex:
    """The index of every interval stored within ``lookback`` of ``window`` (its own earlier run included)."""
    index = StoryIndex(**kwargs)
    first = f"{(window.start - lookback).date():%Y-%m-%d}"
    last = f"{(window.end + lookback).date():%Y-%m-%d}"
    for key in lake.list(f"{STATE_PREFIX}/"):  # one listing; the date is in the key
        day = key[len(STATE_PREFIX) + 6:len(STATE_PREFIX) + 16]  # ".../date=YYYY-MM-DD/..."
        if first <= day <= last and key.endswith(".json.gz"):
            index.load(lake.get(key))
    return index


def assign_interval(mentions: list[Any], lake: Any, window: Any, **kwargs: Any) -> dict[str, Any]:
    """Assign stories to one interval's mentions and store the assignments in the lake."""
    index = load_index(lake, window, **kwargs)
    known = len(index)
    decided = index.assign(mentions)
    lake.put(state_key(window), StoryIndex.encode(decided))
    how: dict[str, int] = {}
    for a in decided:
        how[a.how] = how.get(a.how, 0) + 1
    stats = {"stories": len({a.story_id for a in decided}), "indexed_before": known, "how": how}
    log.info("stories %s: %d mentions in %d stories (%s); %d indexed before", window.key, len(decided),
             stats["stories"], how, known)
    return stats

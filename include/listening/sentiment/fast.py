"""Exact, fast re-implementation of ``SnowNLP(text).sentiments``.

:class:`FastSentiment` returns, for every ``str``, the bit-identical float that
``snownlp.SnowNLP(text).sentiments`` (SnowNLP 0.12.3) returns.  Scoring batches
(:meth:`FastSentiment.score_batch`) is about 100-150x faster than SnowNLP on one core
(``bench/bench_sentiment.py``: ~1 µs per character instead of ~150 µs); a lone
:meth:`FastSentiment.score` call pays numpy's per-call overhead and is ~15-20x faster.
Instances are not thread-safe (they keep per-instance caches); use one per thread.

What SnowNLP does (and what is reproduced here, step by step):

1. ``seg.seg``: the text is split by ``re.split('([\\u4E00-\\u9FA5]+)')``.  Non-Chinese
   pieces are whitespace-split into words; each maximal run of Chinese characters is
   segmented by ``CharacterBasedGenerativeModel.tag``, a second-order Viterbi over the
   tags b/m/e/s.  Its transition score ``log_prob(s1, s2, s3)`` depends on the last two
   (character, tag) pairs and the current one, so it is looked up per position from
   tables precomputed with :func:`math.log` (never ``numpy.log``, whose last bit may
   differ) and stored on disk.  The Viterbi itself runs in numpy across many runs at
   once, with back-pointers.  Ties keep the first candidate in SnowNLP's dict order
   (previous-previous tag b, m, e, s; states ordered current-tag-major).
2. Unknown characters (no count for any tag): SnowNLP does not add a score; for every
   (previous tag, tag) state it keeps the value of the *last* predecessor in its dict
   order, i.e. the one whose previous-previous tag is ``s``, whatever its score.  After
   two unknown characters in a row all 16 states carry the same value, which may be
   ``-inf`` -- then every later tie (among ``-inf`` values) is resolved by order, which is
   reproduced exactly.
3. Tags become words the way ``Seg.seg`` does: a word starts at ``b`` or ``s`` or after
   ``e``; so ``s`` followed by ``m``/``e`` is glued into one word.
4. ``normal.filter_stop`` drops stop words (the installed ``stopwords.txt``).
5. ``Bayes.classify``: per class ``log(sum_k) - log(total)`` plus, in word order, one
   ``log(freq)`` per word -- accumulated here with plain sequential float additions
   (``functools.reduce(operator.add, ...)``) in the same order, then the same
   ``exp``/``1/x``/``OverflowError`` dance and ``prob`` or ``1 - prob``.

Inputs that are not a ``str`` raise ``TypeError`` (as SnowNLP does for ``None``, bytes,
numbers, lists).  The empty string raises ``ZeroDivisionError``, exactly as
``SnowNLP('')`` does (its BM25 constructor divides by ``len(doc)``).  Whitespace-only
text (and any text whose words are all stop words) scores the class prior, e.g.
``0.5262327818078083`` with the stock model, which is what SnowNLP returns.

Precomputed tables are cached under ``$LISTENING_CACHE_DIR/fastsentiment`` (default
``~/.cache/listening/fastsentiment``), keyed by the sha256 of the model files, so only
the first construction on a machine pays the build (a few seconds).
"""

from __future__ import annotations

import gc
import gzip
import hashlib
import importlib.util
import itertools
import marshal
import math
import operator
import os
import re
import tempfile
import threading
import time
import zipfile
from collections.abc import Iterable
from functools import reduce
from pathlib import Path

import numpy as np

from listening.core.settings import cache_root

__all__ = ["FastSentiment", "default_cache_dir", "snownlp_sentiment"]

_RE_ZH = re.compile("([\u4e00-\u9fa5]+)")
_ZH_LO = 0x4E00
_ZH_HI = 0x9FA5
_TAGS = ("b", "m", "e", "s")
_BOS = ("", "BOS")
_BOS_ID = 0  # the BOS pseudo character; its only tag BOS is stored as tag index 0
_UNK_ID = 1  # a Chinese character the segmenter model has never seen
_FORMAT = 2  # bump when the cached table layout changes
_SEG_KEYS = {"format", "n_ids", "cp2id", "known", "ulogT"} | {
    p + k for p in ("p", "t") for k in ("_keys", "_hkeys", "_hvals", "_bits", "_off", "_slot", "_val")
}
_SENT_KEYS = {"format", "classes", "base", "unknown", "words"}
_HASH_MULT = np.uint64(0x9E3779B97F4A7C15)
_CHUNK_CHARS = 1 << 13  # characters per vectorised Viterbi pass (keeps the work arrays in cache)
_SLICE_TEXTS = 20_000  # distinct texts handled per internal slice of a batch
_ALL_S = (3,) * 16  # back-pointers of an unknown character
_SMALL_LOOKUP = 2048  # query counts up to this use binary search instead of the hash table
_TAIL_RUNS = 3  # at most this many runs left: finish them in plain Python

_sha_memo: dict[tuple[str, int, int], str] = {}


def snownlp_sentiment(text: str) -> float:
    """The reference: what the real SnowNLP returns (slow; for tests and benchmarks)."""
    from snownlp import SnowNLP

    return SnowNLP(text).sentiments


def default_cache_dir() -> Path:
    """``$LISTENING_CACHE_DIR/fastsentiment`` or ``~/.cache/listening/fastsentiment``."""
    return cache_root() / "fastsentiment"


def _snownlp_dir() -> Path:
    spec = importlib.util.find_spec("snownlp")  # does not import (and load) snownlp
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("snownlp is not installed")
    return Path(next(iter(spec.submodule_search_locations)))


def _snownlp_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("snownlp")
    except PackageNotFoundError:  # pragma: no cover - vendored copies
        return "unknown"


def _resolve_model(fname: str | os.PathLike[str]) -> Path:
    """A model name as SnowNLP's ``load(fname)`` takes it (it reads ``fname + '.3'``), or the file itself."""
    fname = os.fspath(fname)
    for candidate in (fname + ".3", fname):
        if os.path.isfile(candidate):
            return Path(candidate).resolve()
    raise FileNotFoundError(f"no SnowNLP model file {fname + '.3'!r} (nor {fname!r})")


def _sha256_file(path: Path) -> str:
    st = path.stat()
    memo_key = (str(path), st.st_size, st.st_mtime_ns)
    digest = _sha_memo.get(memo_key)
    if digest is None:
        h = hashlib.sha256()
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
        digest = _sha_memo[memo_key] = h.hexdigest()
    return digest


def _load_marshal(path: Path):
    """Like SnowNLP's ``load(..., iszip=True)``: gzip first, plain marshal when it is not gzip."""
    try:
        with gzip.open(path, "rb") as f:
            data = f.read()
    except OSError:
        with open(path, "rb") as f:
            data = f.read()
    return marshal.loads(data)


def _read_stopwords(path: Path) -> set[str]:
    # snownlp.normal: codecs.open(stop_path, 'r', 'utf-8'); stop.add(line.strip()) per line
    with open(path, encoding="utf-8", newline="") as f:
        return {line.strip() for line in f.read().splitlines()}


def _atomic_write(path: Path, writer) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            writer(f)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        with _suppress_oserror():
            os.unlink(tmp)
        raise


class _suppress_oserror:
    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        return exc_type is not None and issubclass(exc_type, OSError)


# --------------------------------------------------------------------------------------
# segmenter tables
# --------------------------------------------------------------------------------------


def _div(v1, v2):
    # CharacterBasedGenerativeModel.div
    if v2 == 0:
        return 0
    return float(v1) / v2


def _hash_slots(keys: np.ndarray, shift: int) -> np.ndarray:
    return ((keys.astype(np.uint64) * _HASH_MULT) >> np.uint64(shift)).astype(np.int64)


def _build_hash(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """Open-addressing (linear probing) table of distinct non-negative int64 keys -> their index."""
    bits = max(4, int(math.ceil(math.log2(max(1, len(keys)) * 2.5))))
    size = 1 << bits
    mask = size - 1
    table_keys = np.full(size, -1, np.int64)
    table_vals = np.full(size, -1, np.int32)
    pending = np.arange(len(keys))
    slots = _hash_slots(keys, 64 - bits)
    while pending.size:
        sp = slots[pending]
        free = table_keys[sp] == -1
        contenders, cslots = pending[free], sp[free]
        won_slots, first = np.unique(cslots, return_index=True)
        winners = contenders[first]
        table_keys[won_slots] = keys[winners]
        table_vals[won_slots] = winners
        placed = np.zeros(len(keys), bool)
        placed[winners] = True
        pending = pending[~placed[pending]]
        slots[pending] = (slots[pending] + 1) & mask
    return table_keys, table_vals, bits


def _build_seg_tables(model: dict) -> dict[str, np.ndarray]:
    """Everything ``CharacterBasedGenerativeModel.tag`` needs, as arrays of exact ``math.log`` values.

    ``log_prob(s1, s2, s3) = log(l1*uni.freq(s3) + div(l2*bi(s2, s3), uni(s2)) + div(l3*tri(s1, s2, s3),
    bi(s1, s2)))`` (``-inf`` when the sum is 0), evaluated with the same float operations in the
    same order.  It only depends on s1 when the trigram was counted, and only on s2 when the
    bigram was counted, so three sparse levels cover every case: per (char, tag) [``ulogT``],
    per counted bigram [``p_*``] and per counted trigram [``t_*``].
    """
    if tuple(model["status"]) != _TAGS:
        raise ValueError(f"unsupported segmenter status {model['status']!r} (expected {_TAGS})")
    for name in ("uni", "bi", "tri"):
        if model[name].get("none", 0) != 0:
            raise ValueError(f"unsupported segmenter model: {name}.none != 0")
    l1, l2, l3 = model["l1"], model["l2"], model["l3"]
    ud, utotal = model["uni"]["d"], model["uni"]["total"]
    bd, td = model["bi"]["d"], model["tri"]["d"]
    log = math.log
    neg_inf = float("-inf")

    def log_prob(uni, bi, tri):
        # the tail of CharacterBasedGenerativeModel.log_prob, verbatim
        if uni + bi + tri == 0:
            return neg_inf
        return log(uni + bi + tri)

    chars = sorted(
        {
            k[0]
            for k in ud
            if isinstance(k, tuple)
            and len(k) == 2
            and isinstance(k[0], str)
            and len(k[0]) == 1
            and _ZH_LO <= ord(k[0]) <= _ZH_HI
        }
    )
    ids = {c: i + 2 for i, c in enumerate(chars)}
    n_ids = len(chars) + 2
    # code of a (char, tag): id * 4 + tag index; BOS is code 0
    code = {(c, s): i * 4 + t for c, i in ids.items() for t, s in enumerate(_TAGS)}
    code[_BOS] = _BOS_ID * 4
    ucount = [0] * (n_ids * 4)  # uni.get(key)[1]
    for key, i in code.items():
        ucount[i] = ud.get(key, 0)
    # uni term of log_prob(_, _, s3): l1 * uni.freq(s3)
    uni_term = [l1 * (float(n) / utotal) for n in ucount]
    cp2id = np.full(_ZH_HI - _ZH_LO + 1, _UNK_ID, np.int32)
    known = np.zeros(n_ids, bool)
    ulog = np.full((n_ids, 4), neg_inf)
    for c, i in ids.items():
        cp2id[ord(c) - _ZH_LO] = i
        # the "not_found" test of tag(): uni.freq((w, s)) != 0 for some s
        known[i] = any(float(ucount[i * 4 + t]) / utotal != 0 for t in range(4))
        for t in range(4):
            # log_prob(s1, s2, (c, s)) when neither (s2, s3) nor (s1, s2, s3) was counted: bi = tri = 0
            ulog[i, t] = log_prob(uni_term[i * 4 + t], 0, 0)

    shift = 1 << 16  # > any code
    bcount: dict[int, int] = {}  # bi.get((s2, s3))[1], keyed by code2 * shift + code3
    pk, ps, pv = [], [], []
    for (s2, s3), n in bd.items():
        c2, c3 = code.get(s2), code.get(s3)
        if c2 is None or c3 is None:
            continue  # never queried: runs hold only Chinese characters
        bcount[c2 * shift + c3] = n
        if c3 == 0:
            continue  # (x, BOS) is never a current character
        pk.append((c2 >> 2) * n_ids + (c3 >> 2))
        ps.append((c2 & 3) * 4 + (c3 & 3))
        # bi = div(l2 * count, uni(s2)); tri = div(l3 * 0, ...) = 0 whenever the trigram is unseen
        pv.append(log_prob(uni_term[c3], _div(l2 * n, ucount[c2]), 0))
    tk, ts, tv = [], [], []
    for (s1, s2, s3), n in td.items():
        c1, c2, c3 = code.get(s1), code.get(s2), code.get(s3)
        if c1 is None or c2 is None or c3 is None or c3 == 0:
            continue
        tk.append(((c1 >> 2) * n_ids + (c2 >> 2)) * n_ids + (c3 >> 2))
        ts.append((c1 & 3) * 16 + (c2 & 3) * 4 + (c3 & 3))
        bi = _div(l2 * bcount.get(c2 * shift + c3, 0), ucount[c2])
        tri = _div(l3 * n, bcount.get(c1 * shift + c2, 0))
        tv.append(log_prob(uni_term[c3], bi, tri))
    out: dict[str, np.ndarray] = {
        "format": np.array([_FORMAT], np.int64),
        "n_ids": np.array([n_ids], np.int64),
        "cp2id": cp2id,
        "known": known,
        "ulogT": np.ascontiguousarray(ulog.T),
    }
    for prefix, keys, slots, vals in (("p", pk, ps, pv), ("t", tk, ts, tv)):
        keys_a = np.array(keys, np.int64)
        slots_a = np.array(slots, np.int8)
        vals_a = np.array(vals, np.float64)
        order = np.lexsort((slots_a, keys_a))
        keys_a, slots_a, vals_a = keys_a[order], slots_a[order], vals_a[order]
        uniq, first = np.unique(keys_a, return_index=True)
        hkeys, hvals, bits = _build_hash(uniq)
        out[prefix + "_keys"] = uniq
        out[prefix + "_hkeys"] = hkeys
        out[prefix + "_hvals"] = hvals
        out[prefix + "_bits"] = np.array([bits], np.int64)
        out[prefix + "_off"] = np.append(first, len(keys_a)).astype(np.int64)
        out[prefix + "_slot"] = slots_a
        out[prefix + "_val"] = vals_a
    return out


class _HashIndex:
    __slots__ = ("keys", "vals", "mask", "shift", "off", "slot", "val", "sorted_keys")

    def __init__(self, t: dict[str, np.ndarray], prefix: str):
        self.keys = t[prefix + "_hkeys"]
        self.vals = t[prefix + "_hvals"]
        bits = int(t[prefix + "_bits"][0])
        self.mask = (1 << bits) - 1
        self.shift = 64 - bits
        self.off = t[prefix + "_off"]
        self.slot = t[prefix + "_slot"]
        self.val = t[prefix + "_val"]
        self.sorted_keys = t[prefix + "_keys"]

    def lookup(self, q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(rows of ``q`` that are present, their entry-group index)."""
        if len(q) <= _SMALL_LOOKUP:  # binary search: fewer numpy calls than probing
            sk = self.sorted_keys
            idx = np.searchsorted(sk, q)
            np.minimum(idx, len(sk) - 1, out=idx)
            rows = np.flatnonzero(sk[idx] == q)
            return rows, idx[rows]
        h = _hash_slots(q, self.shift)
        rows = np.arange(len(q))
        found_rows, found_idx = [], []
        keys = self.keys
        while rows.size:
            k = keys[h]
            hit = k == q
            if hit.any():
                found_rows.append(rows[hit])
                found_idx.append(self.vals[h[hit]])
            cont = ~hit & (k != -1)
            rows, h, q = rows[cont], (h[cont] + 1) & self.mask, q[cont]
        if not found_rows:
            return rows, rows
        if len(found_rows) == 1:
            return found_rows[0], found_idx[0].astype(np.int64)
        r = np.concatenate(found_rows)
        i = np.concatenate(found_idx).astype(np.int64)
        order = np.argsort(r, kind="stable")
        return r[order], i[order]

    def entries(self, q: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """All (row, slot, value) entries for the keys ``q``; rows ascending."""
        rows, idx = self.lookup(q)
        lo = self.off[idx]
        cnt = self.off[idx + 1] - lo
        if rows.size == 0 or int(cnt.max()) == 1:
            return rows, self.slot[lo], self.val[lo]
        rep_rows = np.repeat(rows, cnt)
        starts = np.repeat(lo - (np.cumsum(cnt) - cnt), cnt)
        ent = starts + np.arange(len(rep_rows))
        return rep_rows, self.slot[ent], self.val[ent]


class _Segmenter:
    """Vectorised ``CharacterBasedGenerativeModel.tag`` + ``Seg.seg`` over many Chinese runs."""

    def __init__(self, t: dict[str, np.ndarray]):
        self.n_ids = int(t["n_ids"][0])
        self.cp2id = t["cp2id"]
        self.known = t["known"]
        self.ulogT = t["ulogT"]
        self.pairs = _HashIndex(t, "p")
        self.triples = _HashIndex(t, "t")

    def word_bounds(self, runs: list[str]) -> tuple[str, list[int], list[int]]:
        """Segment ``runs`` (non-empty, only U+4E00..U+9FA5, sorted by length descending).

        Returns the concatenated text, the word boundaries (positions in it, plus its end) and,
        per run, the index of its first word in the boundary list (plus the total).
        """
        lens = np.fromiter(map(len, runs), np.int64, len(runs))
        n_runs = len(runs)
        maxlen = int(lens[0])
        text = "".join(runs)
        cps = np.frombuffer(text.encode("utf-32-le"), np.uint32).astype(np.int64)
        ids = self.cp2id[cps - _ZH_LO].astype(np.int64)
        starts = np.zeros(n_runs, np.int64)
        np.cumsum(lens[:-1], out=starts[1:])
        # step-major layout: all runs' i-th characters are contiguous; runs active at step i
        # (length > i) are a prefix because runs are sorted by length descending.
        nact = np.searchsorted(-lens, -np.arange(maxlen + 1), side="left")
        off = np.zeros(maxlen + 1, np.int64)
        np.cumsum(nact[:-1], out=off[1:])
        total = int(off[-1])
        step = np.repeat(np.arange(maxlen), nact[:-1])
        rank = np.arange(total) - np.repeat(off[:-1], nact[:-1])
        gidx = starts[rank] + step
        c3 = ids[gidx]
        c2 = ids.take(gidx - 1, mode="clip")
        c2[: off[1]] = _BOS_ID
        c1 = ids.take(gidx - 2, mode="clip")
        c1[: off[min(2, maxlen)]] = _BOS_ID
        n_ids = self.n_ids

        # bigram level: bl[t2*4 + t3, pos] = log_prob(?, (c2, t2), (c3, t3)) with no trigram
        ulog3 = self.ulogT[:, c3]
        bl = np.concatenate((ulog3, ulog3, ulog3, ulog3))
        prow, pslot, pval = self.pairs.entries(c2 * n_ids + c3)
        bl[pslot, prow] = pval
        # trigram entries (only where the bigram (c2, c3) exists), kept sparse
        cand_rows = prow[np.append(True, prow[1:] != prow[:-1])] if prow.size else prow  # prow is sorted
        trow, tslot, tval = self.triples.entries(
            (c1[cand_rows] * n_ids + c2[cand_rows]) * n_ids + c3[cand_rows]
        )
        tpos = cand_rows[trow]
        tslot = tslot.astype(np.int64)
        tb = np.searchsorted(tpos, off)
        unk_pos = np.flatnonzero(~self.known[c3])
        ub = np.searchsorted(unk_pos, off)

        nact_l, off_l, tb_l, ub_l = nact.tolist(), off.tolist(), tb.tolist(), ub.tolist()
        fin = np.zeros(n_runs, np.int64)  # per run, its best final state as p*4 + s
        tags_sm = np.empty(total, np.int8)
        bps: list[np.ndarray | None] = [None, None]
        # step 0: from (BOS, BOS), one predecessor; value 0.0 + log_prob
        n = nact_l[0]
        v = bl[0:4, 0:n].copy()
        if tb_l[1] > tb_l[0]:
            h = slice(tb_l[0], tb_l[1])
            v[tslot[h], tpos[h]] = tval[h]  # slots < 4 here (t1 = t2 = BOS)
        if ub_l[1] > ub_l[0]:
            v[:, unk_pos[ub_l[0] : ub_l[1]]] = 0.0
        done = nact_l[1]
        if done < n:
            fin[done:n] = v[:, done:n].argmax(axis=0) * 5  # p is irrelevant; store (s, s)
        stop = maxlen
        if maxlen > 1:
            # step 1: predecessors (BOS, t0), one each
            n, o = nact_l[1], off_l[1]
            vv = v[:, :n]
            v = (vv.reshape(4, 1, n) + bl[:, o : o + n].reshape(4, 4, n)).reshape(16, n)
            if tb_l[2] > tb_l[1]:
                h = slice(tb_l[1], tb_l[2])
                r = tpos[h] - o
                v[tslot[h], r] = vv[tslot[h] >> 2, r] + tval[h]
            if ub_l[2] > ub_l[1]:
                u = unk_pos[ub_l[1] : ub_l[2]] - o
                v[:, u] = np.repeat(vv[:, u], 4, axis=0)
            if nact_l[2] < n:
                self._finals(v, nact_l[2], n, fin)
        for i in range(2, maxlen):
            n, o = nact_l[i], off_l[i]
            if n <= _TAIL_RUNS:
                # few long runs left: per-step numpy overhead dominates, finish them in plain Python
                self._tail(
                    i,
                    v,
                    bl,
                    off_l,
                    lens[:n].tolist(),
                    tpos[tb_l[i] :].tolist(),
                    tslot[tb_l[i] :].tolist(),
                    tval[tb_l[i] :].tolist(),
                    set(unk_pos[ub_l[i] :].tolist()),
                    tags_sm,
                    fin,
                )
                stop = i
                break
            vv = v[:, :n]
            cand = (vv.reshape(4, 4, 1, n) + bl[:, o : o + n].reshape(1, 4, 4, n)).reshape(64, n)
            if tb_l[i + 1] > tb_l[i]:
                h = slice(tb_l[i], tb_l[i + 1])
                r = tpos[h] - o
                cand[tslot[h], r] = vv[tslot[h] >> 2, r] + tval[h]
            # max over the previous-previous tag, first maximum wins (SnowNLP updates on strict '>')
            c0, c1, c2_, c3_ = cand[0:16], cand[16:32], cand[32:48], cand[48:64]
            a01 = c1 > c0
            a23 = c3_ > c2_
            m01 = np.maximum(c0, c1)
            m23 = np.maximum(c2_, c3_)
            hi = m23 > m01
            v = np.maximum(m01, m23)
            bp = np.where(hi, a23.view(np.int8) + np.int8(2), a01.view(np.int8))
            if ub_l[i + 1] > ub_l[i]:
                u = unk_pos[ub_l[i] : ub_l[i + 1]] - o
                # SnowNLP quirk: the last predecessor (previous-previous tag 's') wins, score unchanged
                v[:, u] = np.repeat(vv[12:16, u], 4, axis=0)
                bp[:, u] = 3
            bps.append(bp)
            if nact_l[i + 1] < n:
                self._finals(v, nact_l[i + 1], n, fin)

        # backtrack (step-major tags), then scatter to text order
        cur_s = np.zeros(n_runs, np.int64)
        cur_p = np.zeros(n_runs, np.int64)
        for i in range(stop - 1, -1, -1):
            n, o = nact_l[i], off_l[i]
            nn = nact_l[i + 1] if i + 1 < stop else 0
            if nn < n:
                cur_p[nn:n] = fin[nn:n] >> 2
                cur_s[nn:n] = fin[nn:n] & 3
            tags_sm[o : o + n] = cur_s[:n]
            if i >= 2:
                pp = bps[i][cur_p[:n] * 4 + cur_s[:n], np.arange(n)]
                cur_s[:n] = cur_p[:n]
                cur_p[:n] = pp
            elif i == 1:
                cur_s[:n] = cur_p[:n]
        tags = np.empty(total, np.int8)
        tags[gidx] = tags_sm
        # Seg.seg: a word starts at 'b' or 's', after 'e', and at each run start
        brk = (tags == 0) | (tags == 3)
        brk[1:] |= tags[:-1] == 2
        brk[starts] = True
        bounds = np.flatnonzero(brk)
        wcount = np.add.reduceat(brk.astype(np.int64), starts)
        first_word = np.zeros(n_runs + 1, np.int64)
        np.cumsum(wcount, out=first_word[1:])
        return text, np.append(bounds, total).tolist(), first_word.tolist()

    @staticmethod
    def _tail(i0, v, bl, off, lens, tpos, tslot, tval, unk, tags_sm, fin) -> None:
        """Steps ``i0..`` of the runs still active at step ``i0`` (>= 2), one run at a time in Python.

        Same arithmetic and tie-breaking as the numpy steps: ``a + x`` on floats, strict ``>``
        in previous-previous tag order b, m, e, s.  Writes the tags of those steps and, in
        ``fin``, the state at step ``i0 - 1`` the best path goes through.
        """
        overrides: dict[int, list[tuple[int, float]]] = {}
        for pos, slot, val in zip(tpos, tslot, tval):  # noqa: B905
            overrides.setdefault(pos, []).append((slot, val))
        for r, length in enumerate(lens):
            vr = v[:, r].tolist()
            positions = [off[i] + r for i in range(i0, length)]
            cols = bl[:, positions].T.tolist()
            bps = []
            for pos, col in zip(positions, cols):  # noqa: B905
                if pos in unk:
                    a, b, c, d = vr[12], vr[13], vr[14], vr[15]
                    vr = [a, a, a, a, b, b, b, b, c, c, c, c, d, d, d, d]
                    bps.append(_ALL_S)
                    continue
                nv = [0.0] * 16
                bp = [0] * 16
                ov = overrides.get(pos)
                if ov is None:
                    for p in range(4):
                        a, b, c, d = vr[p], vr[4 + p], vr[8 + p], vr[12 + p]
                        for j in range(p * 4, p * 4 + 4):
                            x = col[j]
                            best, arg = a + x, 0
                            y = b + x
                            if y > best:
                                best, arg = y, 1
                            y = c + x
                            if y > best:
                                best, arg = y, 2
                            y = d + x
                            if y > best:
                                best, arg = y, 3
                            nv[j] = best
                            bp[j] = arg
                else:
                    full = col * 4  # full[pp*16 + p*4 + s]
                    for slot, val in ov:
                        full[slot] = val
                    for p in range(4):
                        a, b, c, d = vr[p], vr[4 + p], vr[8 + p], vr[12 + p]
                        for j in range(p * 4, p * 4 + 4):
                            best, arg = a + full[j], 0
                            y = b + full[16 + j]
                            if y > best:
                                best, arg = y, 1
                            y = c + full[32 + j]
                            if y > best:
                                best, arg = y, 2
                            y = d + full[48 + j]
                            if y > best:
                                best, arg = y, 3
                            nv[j] = best
                            bp[j] = arg
                vr = nv
                bps.append(bp)
            # max(now, key=prob): states in SnowNLP's dict order (current tag major), first max wins
            best, cp, cs = vr[0], 0, 0
            for s_ in range(4):
                for p in range(4):
                    if vr[p * 4 + s_] > best:
                        best, cp, cs = vr[p * 4 + s_], p, s_
            tags = []
            for bp in reversed(bps):
                tags.append(cs)
                cs, cp = cp, bp[cp * 4 + cs]
            tags_sm[positions] = tags[::-1]
            fin[r] = cp * 4 + cs

    @staticmethod
    def _finals(v: np.ndarray, lo: int, hi: int, fin: np.ndarray) -> None:
        # runs [lo, hi) end here: max(now, key=prob) over states in dict order (tag-major)
        if lo >= hi:
            return
        k = v[:, lo:hi].reshape(4, 4, hi - lo).transpose(1, 0, 2).reshape(16, hi - lo).argmax(axis=0)
        fin[lo:hi] = (k & 3) * 4 + (k >> 2)  # p*4 + s


# --------------------------------------------------------------------------------------
# the public class
# --------------------------------------------------------------------------------------

_POOL_PARENT: FastSentiment | None = None
_POOL_MODEL: FastSentiment | None = None


def _pool_init(ident: tuple, args: tuple) -> None:
    global _POOL_MODEL
    parent = _POOL_PARENT
    if parent is not None and parent._ident == ident:  # forked: reuse the parent's tables
        _POOL_MODEL = parent
    else:
        _POOL_MODEL = FastSentiment(*args)


def _pool_score(texts: list[str]) -> list[float]:
    assert _POOL_MODEL is not None
    return _POOL_MODEL.score_batch(texts)


class FastSentiment:
    """Bit-exact, vectorised ``SnowNLP(text).sentiments``.

    ``seg_model`` / ``sentiment_model`` name model files the way ``snownlp.seg.load`` /
    ``snownlp.sentiment.load`` take them (``fname`` for the file ``fname + '.3'``); the
    file path itself is accepted too.  Defaults: the installed SnowNLP models.  So after
    ``snownlp.sentiment.train(neg, pos); snownlp.sentiment.save(path)``,
    ``FastSentiment(sentiment_model=path)`` scores like SnowNLP after
    ``snownlp.sentiment.load(path)``.

    Attributes: ``model_version`` (``"snownlp-<version>+<sha256[:12] of the sentiment
    model file>"``, plus ``"+seg.<sha[:12]>"`` for a non-default segmenter),
    ``cache_hits`` (``{"seg": bool, "sentiment": bool}``: tables read from the disk
    cache), ``cache_paths``, ``construction_seconds``.

    Empty string: raises ``ZeroDivisionError`` like ``SnowNLP('').sentiments``; non-``str``
    input raises ``TypeError``.  Whitespace-only text returns SnowNLP's float for no words.
    """

    def __init__(
        self,
        seg_model: str | os.PathLike[str] | None = None,
        sentiment_model: str | os.PathLike[str] | None = None,
        cache_dir: str | os.PathLike[str] | None = None,
        *,
        cache_size: int = 200_000,
    ):
        t0 = time.perf_counter()
        snow = _snownlp_dir()
        default_seg = _resolve_model(snow / "seg" / "seg.marshal")
        self.seg_path = _resolve_model(seg_model) if seg_model is not None else default_seg
        self.sentiment_path = (
            _resolve_model(sentiment_model)
            if sentiment_model is not None
            else _resolve_model(snow / "sentiment" / "sentiment.marshal")
        )
        self.stopwords_path = snow / "normal" / "stopwords.txt"
        self.cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
        self._args = (str(self.seg_path), str(self.sentiment_path), str(self.cache_dir))
        seg_sha = _sha256_file(self.seg_path)
        sent_sha = _sha256_file(self.sentiment_path)
        stop_sha = _sha256_file(self.stopwords_path)
        self._ident = (seg_sha, sent_sha, stop_sha)
        self.model_version = f"snownlp-{_snownlp_version()}+{sent_sha[:12]}"
        if self.seg_path != default_seg:
            self.model_version += f"+seg.{seg_sha[:12]}"
        self.cache_paths = {
            "seg": self.cache_dir / f"seg-v{_FORMAT}-{seg_sha[:32]}.npz",
            "sentiment": self.cache_dir / f"sentiment-v{_FORMAT}-{sent_sha[:32]}-{stop_sha[:16]}.marshal",
        }
        self.cache_hits = {"seg": False, "sentiment": False}
        self._seg = _Segmenter(self._seg_tables())
        self._init_bayes(self._sentiment_tables())
        self.cache_size = cache_size
        self._text_cache: dict[str, float] = {}
        self._part_cache: dict[str, tuple] = {}  # text piece -> per-word log-frequency tuples
        self.construction_seconds = time.perf_counter() - t0

    # ---------------------------------------------------------------- tables (cached)
    def _seg_tables(self) -> dict[str, np.ndarray]:
        path = self.cache_paths["seg"]
        try:
            with np.load(path, allow_pickle=False) as z:
                tables = {k: z[k] for k in z.files}
            if int(tables["format"][0]) == _FORMAT and tables.keys() >= _SEG_KEYS:
                self.cache_hits["seg"] = True
                return tables
        except (OSError, ValueError, KeyError, IndexError, EOFError, zipfile.BadZipFile):
            pass  # missing, truncated or foreign: rebuild
        tables = _build_seg_tables(_load_marshal(self.seg_path))
        with _suppress_oserror():
            _atomic_write(path, lambda f: np.savez(f, **tables))
        return tables

    def _sentiment_tables(self) -> dict:
        path = self.cache_paths["sentiment"]
        try:
            with open(path, "rb") as f:
                tables = marshal.loads(f.read())
            if isinstance(tables, dict) and tables.get("format") == _FORMAT and tables.keys() >= _SENT_KEYS:
                self.cache_hits["sentiment"] = True
                return tables
        except (OSError, ValueError, EOFError, TypeError):
            pass  # missing, truncated or foreign: rebuild
        tables = self._build_sentiment_tables()
        with _suppress_oserror():
            _atomic_write(path, lambda f: f.write(marshal.dumps(tables)))
        return tables

    def _build_sentiment_tables(self) -> dict:
        model = _load_marshal(self.sentiment_path)
        classes = list(model["d"])
        probs = [model["d"][k] for k in classes]
        stop = _read_stopwords(self.stopwords_path)
        base: list[float] | None
        try:
            # Bayes.classify: tmp[k] = log(self.d[k].getsum()) - log(self.total)
            base = [math.log(p["total"]) - math.log(model["total"]) for p in probs]
            unknown = tuple(math.log(float(p["none"]) / p["total"]) for p in probs)
        except (ValueError, ZeroDivisionError):
            base, unknown = None, None  # SnowNLP raises on every text; so do we (see score)
        words: dict = {}
        if base is not None:
            for w in {w for p in probs for w in p["d"]}:
                # log(self.d[k].freq(word)) with AddOneProb.get: count, or .none when absent
                words[w] = tuple(math.log(float(p["d"].get(w, p["none"])) / p["total"]) for p in probs)
        for w in stop:
            words[w] = None
        return {"format": _FORMAT, "classes": classes, "base": base, "unknown": unknown, "words": words}

    def _init_bayes(self, t: dict) -> None:
        self.classes = list(t["classes"])
        self._base = None if t["base"] is None else tuple(t["base"])
        self._unknown = t["unknown"]
        self._words = t["words"]
        self._nclass = len(self.classes)
        self._pos_index = next((i for i, k in enumerate(self.classes) if k == "pos"), None)

    # ---------------------------------------------------------------- scoring
    def score(self, text: str) -> float:
        """``SnowNLP(text).sentiments``, bit for bit."""
        hit = self._text_cache.get(text) if isinstance(text, str) else None
        return hit if hit is not None else self.score_batch([text])[0]

    def score_batch(self, texts: Iterable[str]) -> list[float]:
        """Scores for ``texts`` in order; identical texts are scored once."""
        out, todo = self._prepare(texts)
        if todo:
            self._store(out, todo, self._compute(list(todo)))
        return out

    def _compute(self, new: list[str]) -> list[float]:
        results: list[float] = []
        gc_was_enabled = gc.isenabled()
        gc.disable()  # only acyclic tuples and strings are created here; collections just cost time
        try:
            for i in range(0, len(new), _SLICE_TEXTS):
                results += self._score_new(new[i : i + _SLICE_TEXTS])
        finally:
            if gc_was_enabled:
                gc.enable()
        return results

    def score_parallel(
        self, texts: Iterable[str], processes: int | None = None, chunk_size: int | None = None
    ) -> list[float]:
        """Like :meth:`score_batch` (same order, same floats), spread over ``processes`` worker processes.

        Distinct uncached texts are cut into chunks of ``chunk_size`` (default: about four
        chunks per process); each worker scores its chunks with :meth:`score_batch`.  Workers
        are forked when the platform allows it (sharing the tables), else they rebuild the
        model from the disk cache.
        """
        global _POOL_PARENT
        import multiprocessing as mp

        processes = processes or os.cpu_count() or 1
        out, todo = self._prepare(texts)
        new = list(todo)
        if processes <= 1 or len(new) < 2 * (chunk_size or 500) or mp.current_process().daemon:
            # (a daemonic process, e.g. a pool worker, may not start children: score in-process)
            results = self._compute(new)
        else:
            chunk_size = chunk_size or max(500, min(_SLICE_TEXTS, -(-len(new) // (processes * 4))))
            chunks = [new[i : i + chunk_size] for i in range(0, len(new), chunk_size)]
            # fork shares the tables for free, but forking a process that runs other threads (an
            # Airflow worker, an HTTP server, a DB pool) can deadlock a child on a lock held at fork
            # time: then start clean workers that load the tables from the disk cache instead.
            methods = mp.get_all_start_methods()
            if "fork" in methods and threading.active_count() == 1:
                ctx = mp.get_context("fork")
            else:
                ctx = mp.get_context("forkserver" if "forkserver" in methods else "spawn")
            _POOL_PARENT = self
            try:
                with ctx.Pool(processes, initializer=_pool_init, initargs=(self._ident, self._args)) as pool:
                    results = [x for r in pool.map(_pool_score, chunks, chunksize=1) for x in r]
            finally:
                _POOL_PARENT = None
        if new:
            self._store(out, todo, results)
        return out

    def _prepare(self, texts: Iterable[str]) -> tuple[list, dict[str, list[int]]]:
        if isinstance(texts, str):
            raise TypeError("texts must be an iterable of str, not a str")
        cache = self._text_cache
        out: list = []
        todo: dict[str, list[int]] = {}
        for i, t in enumerate(texts):
            v = cache.get(t)
            out.append(v)
            if v is None:
                if not isinstance(t, str):
                    raise TypeError(f"expected str, got {type(t).__name__}")
                if not t:
                    raise ZeroDivisionError("division by zero")  # SnowNLP('') -> BM25: sum(...) / len('')
                todo.setdefault(t, []).append(i)
        return out, todo

    def _store(self, out: list, todo: dict[str, list[int]], results: list[float]) -> None:
        cache = self._text_cache
        if len(cache) + len(todo) > self.cache_size:
            cache.clear()
        for (t, idx), v in zip(todo.items(), results, strict=True):
            cache[t] = v
            for i in idx:
                out[i] = v

    def clear_caches(self) -> None:
        self._text_cache.clear()
        self._part_cache.clear()

    def _segment_runs(self, runs: list[str]) -> None:
        """Fill the part cache for Chinese runs: their non-stop words' per-class log-frequencies."""
        runs.sort(key=len, reverse=True)
        wget = self._words.get
        unknown = self._unknown
        rc = self._part_cache
        i = 0
        while i < len(runs):
            j, chars = i, 0
            while j < len(runs) and (chars < _CHUNK_CHARS or j == i):
                chars += len(runs[j])
                j += 1
            chunk = runs[i:j]
            text, bounds, first = self._seg.word_bounds(chunk)
            words = map(text.__getitem__, map(slice, bounds, bounds[1:]))
            ents = list(map(wget, words, itertools.repeat(unknown)))  # None for stop words
            per_run = map(ents.__getitem__, map(slice, first, first[1:]))
            rc.update(zip(chunk, map(tuple, map(filter, itertools.repeat(None), per_run))))  # noqa: B905
            i = j

    def words(self, texts: Iterable[str]) -> list[list[str]]:
        """The words SnowNLP's sentiment model reads of each text, exactly
        ``snownlp.normal.filter_stop(snownlp.seg.seg(text))`` (``Sentiment.handle``), batched.

        What :mod:`listening.sentiment.retrain` trains on: the same segmentation as SnowNLP's own
        ``Sentiment.train``, about a hundred times faster.
        """
        texts = list(texts)
        for t in texts:
            if not isinstance(t, str):
                raise TypeError(f"expected str, got {type(t).__name__}")
        parts_list = [_RE_ZH.split(t) for t in texts]
        runs = sorted({p for parts in parts_list for p in parts if p and _ZH_LO <= ord(p[0]) <= _ZH_HI},
                      key=len, reverse=True)
        seg_of: dict[str, list[str]] = {}
        i = 0
        while i < len(runs):
            j, chars = i, 0
            while j < len(runs) and (chars < _CHUNK_CHARS or j == i):
                chars += len(runs[j])
                j += 1
            chunk = runs[i:j]
            text, bounds, first = self._seg.word_bounds(chunk)
            for r, run in enumerate(chunk):
                seg_of[run] = [text[bounds[k]:bounds[k + 1]] for k in range(first[r], first[r + 1])]
            i = j
        wd = self._words
        out = []
        for parts in parts_list:
            ws: list[str] = []
            for p in parts:
                if p and _ZH_LO <= ord(p[0]) <= _ZH_HI:
                    ws += seg_of[p]
                else:
                    ws += p.split()
            # filter_stop: stop words are stored as None in the word table
            out.append([w for w in ws if not (w in wd and wd[w] is None)])
        return out

    def _score_new(self, texts: list[str]) -> list[float]:
        base = self._base
        if base is None:
            # Bayes.classify computes log(self.d[k].getsum()) - log(self.total) first: math domain error
            raise ValueError("math domain error")
        rc = self._part_cache
        if len(rc) > self.cache_size:
            rc.clear()
        parts_list = list(map(_RE_ZH.split, texts))
        need = set(itertools.chain.from_iterable(parts_list)).difference(rc)
        if need:
            wget = self._words.get
            unknown = self._unknown
            runs = []
            for part in need:
                if part and _ZH_LO <= ord(part[0]) <= _ZH_HI:
                    runs.append(part)
                else:
                    # seg.seg: a non-Chinese piece is stripped and whitespace-split into words
                    rc[part] = tuple(e for w in part.split() if (e := wget(w, unknown)) is not None)
            if runs:
                self._segment_runs(runs)
        add = operator.add
        finish = self._finish
        getpart = rc.__getitem__
        chain = itertools.chain.from_iterable
        out = []
        for parts in parts_list:
            ents = list(chain(map(getpart, parts)))
            if ents:
                # tmp[k] += log(freq(word)) for word in x: plain sequential float additions
                tmp = [reduce(add, col, b) for col, b in zip(zip(*ents), base)]  # noqa: B905
            else:
                tmp = list(base)
            out.append(finish(tmp))
        return out

    def _finish(self, tmp: list[float]):
        # Bayes.classify's tail, then Sentiment.classify: prob if 'pos' else 1 - prob
        exp = math.exp
        ret, prob = None, 0
        for k in range(self._nclass):
            now = 0
            try:
                for other in tmp:
                    now += exp(other - tmp[k])
                now = 1 / now
            except OverflowError:
                now = 0
            if now > prob:
                ret, prob = k, now
        if ret is not None and ret == self._pos_index:
            return prob
        return 1 - prob

